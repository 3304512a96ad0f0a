"""δ-adjustment tipping-point analysis."""

from __future__ import annotations

from types import SimpleNamespace

import matplotlib
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from civmodels.exceptions import DataError
from civmodels.logistic import Logistic
from civmodels.nonresponse import DeltaAnalysis, tipping_point
from civmodels.nonresponse.imputation import PooledResult
from tests.nonresponse.test_imputation import make_data

matplotlib.use("Agg")


def linear_analysis(slope: float, at0: float, se: float = 0.1):
    """A stand-in analysis whose estimate moves linearly in δ with a fixed SE."""

    def run(delta: float) -> PooledResult:
        s = lambda v: pd.Series([v], index=["b"])  # noqa: E731
        return PooledResult(
            params=s(at0 + slope * delta),
            vcov=pd.DataFrame([[se**2]], index=["b"], columns=["b"]),
            within=s(se**2),
            between=s(0.0),
            df=s(np.inf),
            riv=s(0.0),
            lambda_=s(0.0),
            fmi=s(0.0),
            m=5,
            df_complete=np.inf,
        )

    return run


def test_interpolated_tipping_points_are_exact_for_linear_estimates():
    z = stats.norm.ppf(0.975)
    tp = tipping_point(linear_analysis(-0.2, 0.5), deltas=np.linspace(-3, 3, 13), term="b")
    assert tp.baseline_significant
    # lower CI limit 0.5 - 0.2 δ - z·0.1 reaches 0 at δ = (0.5 - 0.1 z) / 0.2
    assert tp.lose_significance["above"] == pytest.approx((0.5 - 0.1 * z) / 0.2, rel=1e-9)
    assert tp.lose_significance["below"] is None
    assert tp.sign_flip["above"] == pytest.approx(2.5, rel=1e-9)
    assert tp.sign_flip["below"] is None
    assert tp.table.shape[0] == 13 and tp.table.loc[0.0, "significant"]


def test_not_significant_baseline_reports_gain():
    tp = tipping_point(linear_analysis(0.2, 0.05), deltas=[-2, -1, 0, 1, 2], term="b")
    assert not tp.baseline_significant
    z = stats.norm.ppf(0.975)
    assert tp.lose_significance["above"] == pytest.approx((0.1 * z - 0.05) / 0.2, rel=1e-9)
    assert tp.lose_significance["below"] == pytest.approx((-0.1 * z - 0.05) / 0.2, rel=1e-9)
    assert "gains significance" in str(tp.summary())


def test_delta_analysis_end_to_end():
    df, _ = make_data(3, n=300)
    an = DeltaAnalysis(
        df,
        ["q"],
        fit=lambda d: Logistic("top ~ x", d.assign(top=(d["q"] >= "high").astype(float))).fit(),
        term="Intercept",
        predictors=["x"],
        m=3,
        n_iter=1,
        random_seed=2,
    )
    tp = tipping_point(an, deltas=[-2, 0, 2])
    est = tp.table["estimate"]
    assert est[-2.0] < est[0.0] < est[2.0]  # shifting nonrespondents up raises the share
    fig = tp.plot()
    assert len(fig.axes) == 1
    with pytest.raises(DataError, match="not a parameter"):
        tipping_point(an, deltas=[0], term="nope")


def test_term_required():
    with pytest.raises(DataError, match="term= is required"):
        tipping_point(lambda d: SimpleNamespace(), deltas=[0])
