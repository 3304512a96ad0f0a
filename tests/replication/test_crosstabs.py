from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from civmodels.replication import crosstabs, default_outcomes
from civmodels.replication._outcomes import contingency


def test_contingency_matches_pandas_crosstab(survey):
    counts, rows, cols = contingency(survey["size_group"], survey["mot_cost_effectiveness"])
    ref = pd.crosstab(survey["size_group"], survey["mot_cost_effectiveness"])
    np.testing.assert_array_equal(counts, ref.to_numpy())
    assert rows == list(ref.index) and cols == list(ref.columns)


def test_crosstabs_cover_every_grouping_with_scipy_tests(survey):
    tabs, tests = crosstabs(survey)
    assert set(default_outcomes(survey)) == set(tests["outcome"])
    assert set(tests["by"]) == {"size_group", "pressure_high", "region", "bloc", "area"}
    row = tests.query("outcome == 'mot_quality' and by == 'region'").iloc[0]
    ref = stats.chi2_contingency(
        pd.crosstab(survey["region"], survey["mot_quality"]).to_numpy(), correction=False
    )
    assert row["statistic"] == pytest.approx(ref.statistic, rel=1e-12)
    assert row["p_value"] == pytest.approx(ref.pvalue, rel=1e-10)
    assert row["n"] + row["n_missing"] == len(survey)
    sub = tabs.query("outcome == 'mot_quality' and by == 'region'")
    assert sub["count"].sum() == row["n"]
    np.testing.assert_allclose(sub.groupby("group")["row_pct"].sum(), 100.0)


def test_count_items_are_banded_for_tabulation(survey):
    tabs, _ = crosstabs(survey, outcomes=["n_ongoing_collaborations"], by=["size_group"])
    # registry bands: 0-4, 5-9, 10-19, 20+
    assert set(tabs["category"]) <= {"0-4", "5-9", "10-19", "20+"}
