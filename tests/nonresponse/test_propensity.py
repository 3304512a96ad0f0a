"""Response-propensity weights."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from sklearn.linear_model import LogisticRegression

from civmodels.design import SurveyDesign
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
    assert pw.weights.index.name == "position_id"
    assert pw.weights.index.equals(pd.Index(frame.loc[resp, "position_id"]))
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
        resp = f[f["responded"] == 1]
        naive.append(resp["y"].mean())
        ipw.append(np.average(resp["y"], weights=pw.attach(resp)))
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


# ----------------------------------------------------------------------------- weights by key
def test_weights_attach_by_key_whatever_the_row_order(frame):
    pw = propensity_weights(frame)
    survey = frame[frame["responded"] == 1].sample(frac=1.0, random_state=3)
    survey = survey.reset_index(drop=True)  # row labels no longer match the frame's
    w = pw.attach(survey)
    assert w.index.equals(survey.index)
    expected = 1 / pw.propensity[frame["responded"] == 1]
    expected = expected * len(frame) / expected.sum()
    by_pos = pd.Series(expected.to_numpy(), index=frame.loc[frame["responded"] == 1, "position_id"])
    np.testing.assert_allclose(w.to_numpy(), by_pos.loc[survey["position_id"]].to_numpy())
    # ids stored as text still match
    np.testing.assert_allclose(pw.attach(survey.astype({"position_id": str})), w)
    # the design refuses the weights Series attached by position, and says how to attach
    with pytest.raises(DesignError, match=r"pw\.attach\(survey\)"):
        SurveyDesign(survey, weights=pw.weights)
    d = SurveyDesign(survey, weights=pw.attach(survey), cluster="municipality_code")
    assert d.weights.sum() == pytest.approx(len(frame))


def test_attach_names_respondents_without_a_position(frame):
    pw = propensity_weights(frame)
    survey = frame[frame["responded"] == 1].copy()
    survey.loc[survey.index[:2], "position_id"] = [1, 2]
    with pytest.raises(DesignError, match=r"2 survey rows have a position_id that is not .*: 1, 2"):
        pw.attach(survey)
    nonresp = frame[frame["responded"] == 0].head(1)
    with pytest.raises(DesignError, match="not a responding position"):
        pw.attach(nonresp)
    with pytest.raises(DesignError, match="no column 'position_id'"):
        pw.attach(survey.drop(columns="position_id"))
    dup = pd.concat([survey.head(2), survey.head(1)])
    with pytest.raises(DesignError, match="share a position_id"):
        pw.attach(dup)
    with pytest.raises(DataError, match=r"no column 'pos'.*key=None"):
        propensity_weights(frame, key="pos")
    by_row = propensity_weights(frame, key=None)
    assert by_row.weights.index.equals(frame.index[frame["responded"] == 1])


# ----------------------------------------------------------------------------- replicates
def test_replicate_design_reestimates_propensities(frame):
    pw = propensity_weights(frame)
    survey = frame[frame["responded"] == 1].reset_index(drop=True)
    rep = pw.replicate_design(survey, "jk1")
    assert rep.n_replicates == frame["municipality_code"].nunique()
    assert "re-estimated in each replicate" in rep.weights_kind
    np.testing.assert_allclose(rep.weights, pw.attach(survey))
    # a replicate whose factors are all 1 reproduces the full-sample weights: the refit
    # (Newton on the weighted logit) agrees with the Logistic fit
    from civmodels.nonresponse.propensity import _refit_propensity

    spec = pw._spec
    p1 = _refit_propensity(spec, spec["X"], spec["r"], np.ones(len(frame)))
    np.testing.assert_allclose(p1, pw.propensity, rtol=1e-8)
    # deleted municipality: its respondents get weight 0 in that replicate
    first = frame["municipality_code"].iloc[0]
    rw = rep.replicate_weights
    zero_cols = (rw.loc[survey["municipality_code"] == first] == 0).all()
    assert zero_cols.sum() == 1
    # standard errors with the weighting step re-estimated differ from weights held fixed
    fixed = SurveyDesign(survey, weights=pw.attach(survey), cluster="municipality_code")
    se_rep = rep.mean("y").std_error.iloc[0]
    se_fixed = fixed.replicate("jk1").mean("y").std_error.iloc[0]
    assert se_rep != pytest.approx(se_fixed, rel=1e-6)
    assert 0.5 < se_rep / se_fixed < 1.5


def test_replicate_design_refuses_mixed_propensities(frame):
    pw = propensity_weights(frame, method="mixed")
    with pytest.raises(DesignError, match=r"mixed.*not offered"):
        pw.replicate_design(frame[frame["responded"] == 1], "jk1")
