"""Execute examples/02_ordinal_logistic.py and examples/03_mixed.py end to end: both model the
bundled survey's own items."""

from __future__ import annotations

import itertools
import runpy
from pathlib import Path

import numpy as np
import pytest

from civmodels.data import codebook, load_survey

EXAMPLES = Path(__file__).parents[2] / "examples"


@pytest.mark.example
def test_ordinal_logistic_example_runs_on_the_survey():
    ns = runpy.run_path(str(EXAMPLES / "02_ordinal_logistic.py"), run_name="__main__")
    survey = load_survey()
    item = "mot_cost_effectiveness"
    res, designed, logit = ns["res"], ns["designed"], ns["logit"]
    assert res.nobs == survey[item].notna().sum() and res.n_dropped == survey[item].isna().sum()
    labels = codebook[item].labels_da
    assert list(res.thresholds.index) == [f"{a}|{b}" for a, b in itertools.pairwise(labels)]
    # the design-based fit is weighted by the raked weights and clustered by municipality
    assert designed.summary().stats["weights"] == "design weights"
    assert np.allclose(designed.weights, ns["survey"].loc[survey[item].notna(), "w_rake"])
    assert designed.n_clusters == survey.loc[survey[item].notna(), "municipality_code"].nunique()
    assert np.isclose(ns["survey"]["w_rake"].sum(), len(ns["load_frame"]()))
    assert logit.nobs == survey["partner_volunteer_centres"].notna().sum()
    assert "Konstantled (basisodds)" in ns["regression_table"](
        ns["clustered"], logit, exponentiate=True, labels="da", output="markdown"
    )


@pytest.mark.example
def test_mixed_example_runs_on_the_survey():
    ns = runpy.run_path(str(EXAMPLES / "03_mixed.py"), run_name="__main__")
    survey = load_survey()
    agq, lap, binary = ns["agq"], ns["lap"], ns["binary"]
    used = survey.loc[survey["val_trust"].notna()]
    assert agq.nobs == len(used)
    assert agq.summary().stats["n_groups"] == {"municipality": used["municipality"].nunique()}
    assert agq.re_sd.iloc[0] > 0.1  # not a boundary fit
    assert abs(lap.re_sd.iloc[0] - agq.re_sd.iloc[0]) < 0.05
    # conditional modes are labelled by municipality name
    assert set(ns["modes"].index) <= set(survey["municipality"])
    preds = ns["agq"].predict(ns["new"], conditional=False)
    assert np.allclose(preds.sum(axis=1), 1.0)
    assert binary.re_sd.iloc[0] > 0
