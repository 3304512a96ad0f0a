"""Predictions, comparisons and slopes: R emmeans / glm fixtures, statsmodels, hand checks."""

from __future__ import annotations

import json
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import special, stats

import civmodels as cm
from civmodels.predictions import PosteriorDraws, p_adjust, predictions

REF = Path(__file__).parent / "reference"
R = json.loads((REF / "postfit" / "postfit_reference.json").read_text())
FULL = "x1 + x2 + region + bloc + area"
COLS = ["estimate", "std_error", "statistic", "p_value", "ci_lower", "ci_upper"]


@pytest.fixture(scope="module")
def sim() -> pd.DataFrame:
    d = pd.read_csv(REF / "ordinal" / "survey_sim.csv")
    d["y"] = pd.Categorical(d["y"], ordered=True)
    d["red"] = (d["bloc"] == "red").astype(int)
    return d


@pytest.fixture(scope="module")
def clm(sim):
    return cm.Ordinal(f"y ~ {FULL}", sim).fit()


@pytest.fixture(scope="module")
def glm(sim):
    return cm.Logistic(f"z ~ {FULL}", sim).fit()


# -- against R ------------------------------------------------------------------------------
def test_glm_counterfactual_predictions_match_emmeans(glm):
    tab = glm.predictions(by="area")
    ref = R["glm_predictions_area"]
    assert list(tab["area"]) == ref["area"]
    assert tab["estimate"].to_numpy() == pytest.approx(ref["prob"], rel=1e-7)
    # both are delta-method SEs; ours takes the Jacobian by central differences
    assert tab["std_error"].to_numpy() == pytest.approx(ref["SE"], rel=1e-5)


def test_clm_counterfactual_predictions_match_emmeans(clm):
    tab = clm.predictions(by="area")
    ref = pd.DataFrame(R["clm_predictions_area"]).rename(columns={"y": "outcome"})
    got = tab.merge(ref, on=["area", "outcome"])
    assert len(got) == 16
    assert got["estimate"].to_numpy() == pytest.approx(got["prob"].to_numpy(), rel=1e-6)
    assert got["std_error"].to_numpy() == pytest.approx(got["SE"].to_numpy(), rel=1e-4)


@pytest.mark.parametrize("adjust", ["holm", "none"])
def test_glm_pairwise_contrasts_match_emmeans(glm, adjust):
    tab = glm.comparisons(
        "area", hypothesis="pairwise", p_adjust=None if adjust == "none" else adjust
    )
    ref = R[f"glm_pairwise_area_{adjust}"]
    want = {}
    for c, est, se, p in zip(
        ref["contrast"], ref["estimate"], ref["SE"], ref["p.value"], strict=True
    ):
        a, b = c.split(" - ")  # emmeans: earlier - later; ours: later - earlier
        want[f"{b} - {a}"] = (-est, se, p)
    assert set(tab["contrast"]) == set(want)
    for _, row in tab.iterrows():
        est, se, p = want[row["contrast"]]
        assert row["estimate"] == pytest.approx(est, rel=1e-6)
        assert row["std_error"] == pytest.approx(se, rel=1e-5)
        assert row["p_value"] == pytest.approx(p, rel=1e-4)


def test_glm_row_predictions_match_predict_glm(glm, sim):
    tab = glm.predictions(sim.head(5))
    ref = R["glm_unit"]
    assert tab["estimate"].to_numpy() == pytest.approx(ref["prob"], rel=1e-7)
    assert tab["std_error"].to_numpy() == pytest.approx(ref["se_prob"], rel=1e-5)
    # the interval is the link-scale (eta +- z se) interval, transformed
    z = stats.norm.ppf(0.975)
    eta, se = np.array(ref["eta"]), np.array(ref["se_eta"])
    assert tab["ci_lower"].to_numpy() == pytest.approx(special.expit(eta - z * se), rel=1e-5)
    assert tab["ci_upper"].to_numpy() == pytest.approx(special.expit(eta + z * se), rel=1e-5)
    lin = glm.predictions(sim.head(5), type="linear")
    assert lin["std_error"].to_numpy() == pytest.approx(se, rel=1e-5)
    via_predict = glm.predict(sim.head(5), se=True, interval="confidence")
    assert via_predict["ci_upper"].to_numpy() == pytest.approx(tab["ci_upper"].to_numpy())


# -- against statsmodels --------------------------------------------------------------------
def test_slopes_match_statsmodels_margeff(sim):
    import statsmodels.formula.api as smf

    res = cm.Logistic("z ~ x1 + x2 + red", sim).fit()
    sm = smf.logit("z ~ x1 + x2 + red", sim).fit(disp=0, tol=1e-12)
    me = sm.get_margeff(at="overall", method="dydx", dummy=True).summary_frame()
    tab = res.slopes().set_index("variable")
    assert tab.loc["red", "contrast"] == "1 - 0"
    assert tab.loc["x1", "contrast"] == "dY/dX"
    for v in ("x1", "x2", "red"):
        assert tab.loc[v, "estimate"] == pytest.approx(me.loc[v, "dy/dx"], rel=1e-6)
        assert tab.loc[v, "std_error"] == pytest.approx(me.loc[v, "Std. Err."], rel=1e-4)


def test_p_adjust_matches_statsmodels():
    from statsmodels.stats.multitest import multipletests

    p = np.array([0.001, 0.04, 0.03, 0.2, 0.5, 0.012, np.nan])
    for ours, theirs in [
        ("holm", "holm"),
        ("bonferroni", "bonferroni"),
        ("hochberg", "simes-hochberg"),
        ("BH", "fdr_bh"),
        ("BY", "fdr_by"),
    ]:
        got = p_adjust(p, ours)
        assert np.isnan(got[-1])
        assert got[:-1] == pytest.approx(multipletests(p[:-1], method=theirs)[1], rel=1e-12)
    with pytest.raises(cm.SpecificationError, match="p_adjust='tukey'"):
        p_adjust(p, "tukey")


# -- hand checks ----------------------------------------------------------------------------
def test_ratio_is_a_ratio_of_averages_with_a_log_scale_interval(glm, sim):
    tab = glm.comparisons({"area": ("children", "culture")}, comparison="ratio")
    pr = glm.predictions(by="area").set_index("area")["estimate"]
    row = tab.iloc[0]
    assert row["contrast"] == "culture / children"
    assert row["estimate"] == pytest.approx(pr["culture"] / pr["children"], rel=1e-12)
    # analytic delta method for the logit: d mean(p) / d beta = mean(p (1 - p) x)
    X_hi = glm.model.frame.fixed.transform(sim.assign(area="culture"))
    X_lo = glm.model.frame.fixed.transform(sim.assign(area="children"))
    b = glm.params.to_numpy()
    p_hi, p_lo = special.expit(X_hi @ b), special.expit(X_lo @ b)
    g_hi = (p_hi * (1 - p_hi)) @ X_hi / len(sim)
    g_lo = (p_lo * (1 - p_lo)) @ X_lo / len(sim)
    r = p_hi.mean() / p_lo.mean()
    grad = g_hi / p_lo.mean() - r * g_lo / p_lo.mean()
    se = float(np.sqrt(grad @ glm.vcov.to_numpy() @ grad))
    assert row["std_error"] == pytest.approx(se, rel=1e-5)
    z = stats.norm.ppf(0.975)
    assert row["ci_lower"] == pytest.approx(r * np.exp(-z * se / r), rel=1e-5)
    assert row["p_value"] == pytest.approx(2 * stats.norm.sf(abs(np.log(r) / (se / r))), rel=1e-4)


def test_probability_intervals_stay_inside_0_1():
    # three events in 60 rows, spread over x (no separation)
    d = pd.DataFrame({"x": np.linspace(-2, 2, 60), "y": 0})
    d.loc[[5, 40, 59], "y"] = 1
    res = cm.Logistic("y ~ x", d).fit()
    tab = res.predictions(pd.DataFrame({"x": [-2.0, 0.0, 2.0]}))
    assert (tab["ci_lower"] > 0).all()
    assert (tab["ci_upper"] < 1).all()
    # the symmetric Wald interval would go below 0 here
    assert (tab["estimate"] - 1.96 * tab["std_error"] < 0).any()


def test_counterfactual_by_differs_from_observed_groups(glm, sim):
    cf = glm.predictions(by="area").set_index("area")["estimate"]
    obs = glm.predictions(by="area", counterfactual=False).set_index("area")["estimate"]
    p = glm.predict()
    want_obs = p.groupby(sim["area"]).mean()
    want_cf = {a: glm.predict(sim.assign(area=a)).mean() for a in cf.index}
    assert obs.to_numpy() == pytest.approx(want_obs[obs.index].to_numpy(), rel=1e-12)
    assert cf.to_numpy() == pytest.approx([want_cf[a] for a in cf.index], rel=1e-12)
    # the existing observed-group method agrees with counterfactual=False
    old = glm.average_predictions(by="area").set_index("area")
    assert old["std_error"].to_numpy() == pytest.approx(
        glm.predictions(by="area", counterfactual=False)["std_error"].to_numpy(), rel=1e-6
    )


def test_at_grid_and_by_true(clm, sim):
    tab = clm.predictions(by=True, at={"bloc": ["blue", "red"], "x1": 0.0})
    assert len(tab) == 2 * 4
    assert set(tab.columns) >= {"bloc", "x1", "outcome", *COLS}
    red = clm.predict(sim.assign(bloc="red", x1=0.0)).mean()
    got = tab[tab["bloc"] == "red"].set_index("outcome")["estimate"]
    assert got.to_numpy() == pytest.approx(red.to_numpy(), rel=1e-12)
    # probabilities of the categories sum to one, and their uncertainty cancels
    assert got.sum() == pytest.approx(1.0)


def test_weighted_and_design_based_averages(sim):
    design = cm.SurveyDesign(sim, weights="weight", cluster="municipality")
    res = cm.Ordinal(f"y ~ {FULL}", sim).fit(design=design)
    tab = res.predictions(by=True)
    w = sim["weight"].to_numpy()
    want = (res.predict().to_numpy() * w[:, None]).sum(axis=0) / w.sum()
    assert tab["estimate"].to_numpy() == pytest.approx(want, rel=1e-12)
    # t reference with the design df: a wider interval than the normal one
    s = res.slopes("x1").iloc[0]
    q = stats.t.ppf(0.975, res.df_resid)
    assert s["ci_upper"] - s["estimate"] == pytest.approx(q * s["std_error"], rel=1e-10)


def test_slopes_of_a_factor_are_reference_changes(clm):
    tab = clm.slopes("area")
    assert sorted(set(tab["contrast"])) == [
        "culture - children",
        "elderly - children",
        "social - children",
    ]
    pr = clm.predictions(by="area")
    hi = pr[pr["area"] == "social"]["estimate"].to_numpy()
    lo = pr[pr["area"] == "children"]["estimate"].to_numpy()
    got = tab[tab["contrast"] == "social - children"]["estimate"].to_numpy()
    assert got == pytest.approx(hi - lo, rel=1e-10)


def test_continuous_slope_is_the_derivative_of_the_average(glm, sim):
    h = 1e-3
    up = glm.predict(sim.assign(x1=sim["x1"] + h)).mean()
    dn = glm.predict(sim.assign(x1=sim["x1"] - h)).mean()
    s = glm.slopes("x1", by="bloc").set_index("bloc")
    assert len(s) == 2
    overall = glm.slopes("x1").iloc[0]["estimate"]
    assert overall == pytest.approx((up - dn) / (2 * h), rel=1e-5)
    # a numeric step comparison
    c = glm.comparisons({"x1": 0.5}).iloc[0]
    assert c["contrast"] == "+0.5"
    want = glm.predict(sim.assign(x1=sim["x1"] + 0.5)).mean() - glm.predict().mean()
    assert c["estimate"] == pytest.approx(want, rel=1e-10)


def test_sequential_contrasts_and_bad_inputs(clm, sim):
    seq = clm.comparisons("area", hypothesis="sequential")
    assert list(dict.fromkeys(seq["contrast"])) == [
        "culture - children",
        "elderly - culture",
        "social - elderly",
    ]
    with pytest.raises(cm.SpecificationError, match=r"'harbour' is not a level of 'area'"):
        clm.predictions(by=True, at={"area": "harbour"})
    with pytest.raises(cm.SpecificationError, match=r"'municipality' is not a predictor"):
        clm.predictions(by="municipality")
    ok = clm.predictions(by="municipality", counterfactual=False)
    assert ok["municipality"].nunique() == sim["municipality"].nunique()
    with pytest.warns(UserWarning, match="outside the range"):
        clm.predictions(by=True, at={"x1": 50.0})
    with pytest.raises(cm.SpecificationError, match="hypothesis='all'"):
        clm.comparisons("area", hypothesis="all")
    with pytest.raises(cm.SpecificationError, match="both compared and fixed"):
        clm.comparisons("area", at={"area": "social"})
    with pytest.raises(cm.SpecificationError, match="not a predictor"):
        clm.slopes("weight")


# -- mixed models ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def mixed(sim):
    return cm.Ordinal("y ~ x1 + area + (1 | municipality)", sim).fit()


def test_mixed_predictions_reuse_marginal_and_conditional_predict(mixed, sim):
    for cond in (False, True):
        tab = mixed.predictions(by="area", conditional=cond)
        got = tab[tab["area"] == "social"]["estimate"].to_numpy()
        want = mixed.predict(sim.assign(area="social"), conditional=cond).mean().to_numpy()
        assert got == pytest.approx(want, rel=1e-8)
    se = mixed.predict(sim.head(3), se=True)
    assert (se["std_error"] > 0).all()


def test_mixed_results_have_the_fixed_results_margins(mixed):
    ap = mixed.average_predictions()
    assert ap["estimate"].sum() == pytest.approx(1.0)
    me = mixed.marginal_effects("x1")
    assert len(me) == 4
    with pytest.raises(cm.SpecificationError, match=r"fixed-effect model.*nominal_test"):
        mixed.nominal_test()


def test_mixed_binary_nominal_test_explains(sim):
    res = cm.Logistic("z ~ x1 + (1 | municipality)", sim).fit()
    with pytest.raises(cm.SpecificationError, match="single threshold"):
        res.nominal_test()


# -- posterior hook -------------------------------------------------------------------------
def test_posterior_draws_hook(glm):
    pm = glm._prediction_model()
    rng = np.random.default_rng(20261130)
    draws = rng.multivariate_normal(pm.theta, pm.uncertainty.vcov, size=2000)
    post = predictions(replace(pm, uncertainty=PosteriorDraws(draws)), by="area")
    delta = glm.predictions(by="area")
    # posterior of a smooth function of near-normal draws: median and SD close to the delta
    # method (Monte Carlo error of an SD from 2000 draws is ~1.6%)
    assert post["estimate"].to_numpy() == pytest.approx(delta["estimate"].to_numpy(), abs=0.01)
    assert post["std_error"].to_numpy() == pytest.approx(delta["std_error"].to_numpy(), rel=0.08)
    assert post["p_value"].isna().all()
    assert ((post["ci_lower"] >= 0) & (post["ci_upper"] <= 1)).all()


# -- one API for every result class ---------------------------------------------------------
def _battery_fit(d: pd.DataFrame) -> object:
    """Two items on one scale: y and a seeded perturbation of it (one category either way)."""
    y = d["y"]
    shift = np.random.default_rng(7).integers(-1, 2, len(d))
    codes = np.clip(y.cat.codes.to_numpy() + shift, 0, len(y.cat.categories) - 1)
    items = d.assign(y2=pd.Categorical.from_codes(codes, y.cat.categories, ordered=True))
    return cm.bayes.Battery(["y", "y2"], "~ x1 + area + (1 | municipality)", items).fit(
        draws=200, tune=300, chains=2, random_seed=6
    )


def _joint_fit(d: pd.DataFrame) -> object:
    """The respondents plus 150 nonrespondent positions (outcome missing)."""
    non = d.sample(n=150, replace=True, random_state=8).reset_index(drop=True)
    non["y"] = pd.Categorical([None] * len(non), categories=d["y"].cat.categories, ordered=True)
    frame = pd.concat([d.assign(responded=True), non.assign(responded=False)], ignore_index=True)
    model = cm.bayes.JointResponse("y ~ x1 + area + (1 | municipality)", "~ x1 + area", frame)
    return model.fit(draws=200, tune=300, chains=2, random_seed=9)


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda d, s: cm.Ordinal("y ~ x1 + area", d).fit(), id="ordinal"),
        pytest.param(lambda d, s: cm.Logistic("z ~ x1 + area", d).fit(), id="logistic"),
        pytest.param(
            lambda d, s: cm.Ordinal("y ~ x1 + area", d).fit(design=s), id="ordinal-design"
        ),
        pytest.param(
            lambda d, s: cm.Logistic("z ~ x1 + area", d, weights="weight").fit(),
            id="logistic-weighted",
        ),
        pytest.param(
            lambda d, s: cm.Ordinal("y ~ x1 + area + (1 | municipality)", d).fit(),
            id="ordinal-mixed",
        ),
        pytest.param(
            lambda d, s: cm.Logistic("z ~ x1 + area + (1 | municipality)", d).fit(),
            id="logistic-mixed",
        ),
        pytest.param(
            lambda d, s: cm.Logistic("z ~ x1 + area + (1 + x3 | municipality)", d).fit(),
            id="logistic-random-slope",
        ),
        pytest.param(
            lambda d, s: cm.Ordinal(
                "y ~ x1 + area + (1 | municipality)",
                d,
                weights="weight",
                group_weights="gw",
            ).fit(),
            id="ordinal-mixed-sampling-weights",
        ),
        pytest.param(
            lambda d, s: cm.bayes.Ordinal("y ~ x1 + area + (1 | municipality)", d).fit(
                draws=200, tune=300, chains=2, random_seed=4
            ),
            id="bayes-ordinal",
            marks=pytest.mark.bayes,
        ),
        pytest.param(
            lambda d, s: cm.bayes.Logistic("z ~ x1 + area", d).fit(
                draws=200, tune=300, chains=2, random_seed=5
            ),
            id="bayes-logistic",
            marks=pytest.mark.bayes,
        ),
        pytest.param(lambda d, s: _battery_fit(d), id="bayes-battery", marks=pytest.mark.bayes),
        pytest.param(lambda d, s: _joint_fit(d), id="bayes-joint", marks=pytest.mark.bayes),
    ],
)
def test_every_result_class_has_the_postfit_api(sim, make):
    design = cm.SurveyDesign(sim, weights="weight", cluster="municipality")
    # one weight per municipality for the two-level weighted fit
    # and a respondent-level covariate for the random slope
    sim = sim.assign(
        gw=sim.groupby("municipality")["weight"].transform("mean"),
        x3=np.random.default_rng(1).normal(size=len(sim)),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sampler diagnostics of the short Bayesian runs
        res = make(sim, design)
    terms = res.wald_test_terms()
    assert "area" in terms.index and (terms["p_value"].between(0, 1)).all()
    for tab in (
        res.predictions(by="area"),
        res.comparisons("area", hypothesis="pairwise", p_adjust="holm"),
        res.slopes(),
        res.predict(sim.head(2), interval="confidence").reset_index(),
    ):
        assert {"estimate", "std_error"} <= set(tab.columns)
        assert np.isfinite(tab["estimate"]).all() and (tab["std_error"] > 0).all()


def test_prediction_hypotheses_equal_comparisons(glm, clm):
    a = glm.predictions(by="area", hypothesis="pairwise", p_adjust="holm")
    b = glm.comparisons("area", hypothesis="pairwise", p_adjust="holm")
    assert list(a["term"]) == list(b["contrast"])
    for col in ("estimate", "std_error", "p_value"):
        assert a[col].to_numpy() == pytest.approx(b[col].to_numpy(), rel=1e-8)
    seq = clm.predictions(by=True, at={"bloc": ["blue", "red"]}, hypothesis="reference")
    assert list(seq["term"].unique()) == ["red - blue"]
    assert seq["estimate"].sum() == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(cm.SpecificationError, match="at least two"):
        glm.predictions(by=True, hypothesis="pairwise")


def test_options_are_checked(glm, mixed):
    with pytest.raises(cm.SpecificationError, match="conditional= applies to models with random"):
        glm.predictions(by="area", conditional=True)
    with pytest.raises(cm.SpecificationError, match=r"unexpected options \['conditonal'\]"):
        mixed.slopes("x1", conditonal=True)


def test_posterior_prediction_model_uses_the_median_and_the_draws():
    from civmodels.predictions import PosteriorDraws, PredictionModel

    draws = np.random.default_rng(3).normal(size=(201, 3)) ** 2
    pm = PredictionModel.from_posterior(
        draws,
        prepare=lambda data: data,
        prob=lambda t, d: np.zeros((1, 1)),
        linear=None,
        data=pd.DataFrame({"x": [1.0]}),
        outcomes=["1"],
        variables=["x"],
    )
    np.testing.assert_array_equal(pm.theta, np.median(draws, axis=0))
    assert pm.theta[0] != draws[:, 0].mean()  # the median, not the mean (skewed draws)
    assert isinstance(pm.uncertainty, PosteriorDraws) and pm.uncertainty.draws is draws
    assert pm.weights is None
