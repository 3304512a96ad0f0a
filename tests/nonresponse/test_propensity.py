"""Response-propensity weights."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
import statsmodels.api as sm
from sklearn.linear_model import LogisticRegression

from civmodels.exceptions import DataError, DesignError, FormulaError, SpecificationError
from civmodels.nonresponse import propensity_weights

matplotlib.use("Agg")


def test_logit_matches_statsmodels(frame):
    pw = propensity_weights(frame, normalize=False)
    X = sm.add_constant(
        np.column_stack(
            [
                (frame[v] == lev).to_numpy(float)
                for v in ("area", "size_group", "region")
                for lev in sorted(frame[v].unique())[1:]
            ]
        )
    )
    ref = sm.GLM(frame["responded"], X, family=sm.families.Binomial()).fit()
    # both are Newton solutions of the same likelihood, converged to ~1e-10 in the gradient
    np.testing.assert_allclose(pw.propensity.to_numpy(), ref.fittedvalues, rtol=1e-7)
    resp = frame["responded"] == 1
    assert pw.weights.index.equals(frame.index[resp])
    np.testing.assert_allclose(pw.weights.to_numpy(), 1 / ref.fittedvalues[resp], rtol=1e-7)


def test_normalised_weights_and_balance(frame):
    pw = propensity_weights(frame)
    np.testing.assert_allclose(pw.weights.sum(), len(frame))
    bal = pw.balance
    # social is over-represented among respondents before weighting and balanced after
    assert bal.loc["area[social]", "std_diff_before"] > 0.1
    assert abs(bal["std_diff_after"]).max() < 0.05
    assert pw.kish_deff == pytest.approx(1 + (pw.weights.std(ddof=0) / pw.weights.mean()) ** 2)
    assert pw.n_respondents == int(frame["responded"].sum())
    s = pw.summary()
    assert "Kish ESS" in s.info and "Balance" in s.blocks
    fig = pw.plot()
    assert len(fig.axes) == 2


@pytest.mark.slow
def test_weighted_mean_recovers_frame_mean_under_mar(frame):
    """Across replications the IPW mean of y is unbiased for the frame mean; naive is not."""
    from tests.nonresponse.conftest import make_frame

    naive, ipw, truth = [], [], []
    for seed in range(40):
        f = make_frame(seed=100 + seed)
        pw = propensity_weights(f)
        y = f.loc[pw.weights.index, "y"]
        naive.append(y.mean())
        ipw.append(np.average(y, weights=pw.weights))
        truth.append(f["y"].mean())
    bias_naive = np.mean(np.subtract(naive, truth))
    bias_ipw = np.mean(np.subtract(ipw, truth))
    assert bias_naive > 0.01  # social responds more and scores higher
    assert abs(bias_ipw) < bias_naive / 3


def test_sklearn_estimator(frame):
    est = LogisticRegression(C=1e8, tol=1e-10, max_iter=5000)
    pw = propensity_weights(frame, method=est)
    ref = propensity_weights(frame)
    np.testing.assert_allclose(pw.propensity, ref.propensity, atol=1e-3)
    assert not hasattr(est, "coef_")  # the estimator passed in is cloned, not fitted
    assert pw.method == "LogisticRegression"


def test_trim_caps_and_keeps_sum(frame):
    pw = propensity_weights(frame, trim=1.5)
    assert pw.n_trimmed > 0
    assert pw.weights.max() <= 1.5 * pw.weights.mean() * (1 + 1e-9)
    np.testing.assert_allclose(pw.weights.sum(), len(frame))


def test_errors(frame):
    with pytest.raises(FormulaError, match="did you mean 'region'"):
        propensity_weights(frame, "responded ~ area + regio")
    with pytest.raises(DataError, match="missing covariates"):
        propensity_weights(frame.assign(area=frame["area"].where(frame.index != 5)))
    with pytest.raises(DataError, match="0/1 or boolean"):
        propensity_weights(frame.assign(responded=frame["responded"] + 1))
    with pytest.raises(SpecificationError, match="choose 'logit'"):
        propensity_weights(frame, method="probit")
    with pytest.raises(DesignError, match="must be > 1"):
        propensity_weights(frame, trim=0.5)
    # a covariate pattern that almost never responds -> separation
    f = frame.copy()
    f.loc[f["area"] == "citizen", "responded"] = 0
    f.loc[f.index[f["area"] == "citizen"][0], "responded"] = 1
    f["tiny"] = (f.index == f.index[f["area"] == "citizen"][1]).astype(int)
    with pytest.raises(Exception):  # noqa: B017 - SeparationError or DesignError, both ValueError
        propensity_weights(f, "responded ~ area + tiny", min_propensity=0.02)


def test_mixed_random_intercept(frame):
    pw = propensity_weights(frame, method="mixed")
    assert pw.method == "mixed"
    assert "municipality_code" in pw.model.re_sd.index
    # conditional propensities vary within covariate cells (municipality intercepts)
    cell = frame.groupby(["area", "size_group", "region"], observed=True)
    spread = pw.propensity.groupby(
        [frame[c] for c in ("area", "size_group", "region")], observed=True
    ).std()
    assert cell.ngroups > 0 and np.nanmax(spread) > 0
    np.testing.assert_allclose(pw.weights.sum(), len(frame))
    with pytest.raises(FormulaError):
        propensity_weights(frame, method="mixed", group="kommune")
