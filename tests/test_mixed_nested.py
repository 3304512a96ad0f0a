"""Nested random intercepts ``(1 | a/b)`` against R (fixtures in tests/reference/mixed,
made by make_nested.R on the simulated nested.csv: 15 regions ``a`` x 4 units ``b``, the
unit labels b1..b4 repeated in every region, 10 rows per unit).

lme4 and ordinal expand ``(1 | a/b)`` to ``(1 | b:a) + (1 | a)``; civmodels names the
interaction grouping ``a:b`` with levels ``"A01:b1"``, so the tests map R's names.

Random slopes: the uncorrelated ``(0 + x | g)`` (alone or with ``(1 | g)``) is checked here
against ``glmer`` on slopes.csv (40 groups of 15); correlated ``(1 + x | g)`` in
tests/test_mixed_slopes.py.

Agreement observed (and tested):

* ``ordinal::clmm`` Laplace (observed, tested): estimates 1.4e-5 relative (5e-5; clmm stops
  that far short of the optimum: our log-likelihood is 7e-9 higher), SDs 1.1e-5 (5e-5),
  log-likelihood 1e-11 (1e-10), SEs of estimates 6e-6 and of SDs 4e-6 (2e-5).
* ``lme4::glmer`` nAGQ = 1 (observed, tested): estimates 5e-9 (1e-6), SDs 3e-7 (1e-6),
  log-likelihood 5e-11 (5e-10), SEs 1.5e-6 (1e-5), conditional modes 1e-7 absolute (1e-6).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

import civmodels as cm
from civmodels.exceptions import FormulaError, SpecificationError
from civmodels.formula import parse_formula

REF = Path(__file__).resolve().parent / "reference" / "mixed"


def _ref(case: str) -> dict:
    return json.loads((REF / f"{case}.json").read_text())


def _r_name(g: str) -> str:
    """civmodels' grouping name -> R's (lme4 writes the nested interaction as b:a)."""
    return ":".join(reversed(g.split(":")))


def _r_level(label: str) -> str:
    return ":".join(reversed(label.split(":")))


@pytest.fixture(scope="module")
def nested() -> pd.DataFrame:
    df = pd.read_csv(REF / "nested.csv")
    df["y"] = pd.Categorical(df["y"], categories=[1, 2, 3, 4], ordered=True)
    df["high"] = (df["y"].astype(int) >= 3).astype(int)
    return df


@pytest.fixture(scope="module")
def ordinal_fit(nested):
    return cm.Ordinal("y ~ x + (1 | a/b)", data=nested).fit()


@pytest.fixture(scope="module")
def logistic_fit(nested):
    return cm.Logistic("high ~ x + (1 | a/b)", data=nested).fit()


# -- the formula layer ----------------------------------------------------------------------
def test_slash_expands_as_lme4():
    p = parse_formula("y ~ x + (1 | a/b)")
    assert [str(t) for t in p.random] == ["(1 | a)", "(1 | a:b)"]
    assert p.variables() == ["y", "x", "a", "b"]
    p3 = parse_formula("y ~ x + (1|a / b/c)")
    assert [t.group for t in p3.random] == ["a", "a:b", "a:b:c"]
    assert p3.random[2].factors == ("a", "b", "c")
    assert parse_formula("y ~ (1 | a:b)").random[0].group == "a:b"


def test_bad_groupings_are_refused():
    with pytest.raises(FormulaError, match="twice"):
        parse_formula("y ~ x + (1 | a/b) + (1 | a)")
    with pytest.raises(FormulaError, match="names a column twice"):
        parse_formula("y ~ x + (1 | a/a)")
    with pytest.raises(FormulaError, match="nesting 'a/b'"):
        parse_formula("y ~ x + (1 | a*b)")


def test_interaction_levels_distinguish_repeated_labels(ordinal_fit, nested):
    codes, levels = ordinal_fit.model.frame.groups["a:b"]
    assert len(levels) == 60  # b1..b4 within each of 15 regions, not 4 levels
    assert levels[0] == "A01:b1"
    labels = nested["a"] + ":" + nested["b"]
    assert (levels[codes] == labels.to_numpy()).all()


# -- agreement with R -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("formula", "case"),
    [
        ("y ~ x + (1 | a/b)", "nested_clmm_slash"),
        ("y ~ x + (1 | a) + (1 | a:b)", "nested_clmm_colon"),
    ],
)
def test_ordinal_nested_against_clmm(nested, ordinal_fit, formula, case):
    ref = _ref(case)
    res = ordinal_fit if "/" in formula else cm.Ordinal(formula, data=nested).fit()
    assert res.converged
    assert res.group_names == ["a", "a:b"]
    r_par = np.array([*ref["thresholds"].values(), *ref["coef"].values()])
    se = res.std_errors.to_numpy()
    # clmm stops ~1e-5 short of the optimum (our log-likelihood is 7e-9 higher)
    np.testing.assert_allclose(res.params.to_numpy(), r_par, rtol=5e-5)
    np.testing.assert_allclose(se, list(ref["se"].values()), rtol=2e-5)
    assert res.loglik == pytest.approx(ref["loglik"], rel=1e-10)
    for g in res.group_names:
        name = g if g in ref["re_sd"] else _r_name(g)
        assert res.re_sd[g] == pytest.approx(ref["re_sd"][name], rel=5e-5)
        assert res.re_sd_se[g] == pytest.approx(ref["se_sd"][name], rel=2e-5)
    assert res.nobs == ref["nobs"] == 600


def test_logistic_nested_against_glmer(logistic_fit):
    ref = _ref("nested_glmer_slash")
    res = logistic_fit
    assert res.converged
    np.testing.assert_allclose(res.params.to_numpy(), list(ref["coef"].values()), rtol=1e-6)
    np.testing.assert_allclose(res.std_errors.to_numpy(), list(ref["se"].values()), rtol=1e-5)
    assert res.loglik == pytest.approx(ref["loglik"], rel=5e-10)
    modes = res.conditional_modes()
    for g in res.group_names:
        rg = _r_name(g)
        assert res.re_sd[g] == pytest.approx(ref["re_sd"][rg]["(Intercept)"], rel=1e-6)
        want = ref["modes"][rg]["(Intercept)"]
        tab = modes.loc[g]
        got = pd.Series(tab["mode"].to_numpy(), index=[_r_level(str(v)) for v in tab.index])
        np.testing.assert_allclose(got[list(want)].to_numpy(), list(want.values()), atol=1e-6)


def test_nested_options_refused_clearly(nested):
    m = cm.Ordinal("y ~ x + (1 | a/b)", data=nested)
    with pytest.raises(SpecificationError, match="single random intercept"):
        m.fit(method="agq")
    with pytest.raises(SpecificationError, match="exactly one random intercept"):
        m.fit(cov_type="cluster")


def test_nested_weights(nested):
    """Frequency weights fit; sampling weights (a sandwich over one grouping) are refused."""
    dup = pd.concat([nested, nested.iloc[:100]], ignore_index=True)
    w = nested.assign(fw=np.r_[np.full(100, 2.0), np.ones(500)])
    a = cm.Ordinal("y ~ x + (1 | a/b)", data=dup).fit()
    b = cm.Ordinal("y ~ x + (1 | a/b)", data=w, freq_weights="fw").fit()
    np.testing.assert_allclose(b.params.to_numpy(), a.params.to_numpy(), rtol=1e-6)
    assert b.loglik == pytest.approx(a.loglik, rel=1e-9)
    with pytest.raises(SpecificationError, match=r"sampling weights.*nested \(1 \| a/b\) is two"):
        cm.Ordinal("y ~ x + (1 | a/b)", data=w, weights="fw").fit()


def test_bayesian_models_refuse_nesting(nested):
    with pytest.raises(SpecificationError, match="nested or interaction groupings"):
        cm.bayes.Ordinal("y ~ x + (1 | a/b)", data=nested)


# -- predictions ----------------------------------------------------------------------------
def test_conditional_predictions_use_both_modes(logistic_fit, nested):
    res = logistic_fit
    modes = res.conditional_modes()["mode"]
    rows = nested.iloc[[0, 137, 599]]
    eta = res.params["Intercept"] + res.params["x"] * rows["x"].to_numpy()
    u = (
        modes.loc["a"].loc[rows["a"]].to_numpy()
        + modes.loc["a:b"].loc[(rows["a"] + ":" + rows["b"]).to_numpy()].to_numpy()
    )
    got = np.asarray(res.predict(rows, conditional=True), dtype=float).ravel()
    np.testing.assert_allclose(got, expit(eta + u), rtol=1e-12)
    # a unit unseen in the fit (b9 within A01) keeps its region's mode only
    new = rows.iloc[[0]].assign(b="b9")
    got_new = np.asarray(res.predict(new, conditional=True), dtype=float).ravel()
    want_new = expit(eta[0] + modes.loc[("a", "A01")])
    np.testing.assert_allclose(got_new, want_new, rtol=1e-12)


def test_marginal_predictions_integrate_both_terms(ordinal_fit, nested):
    """Marginal category probabilities against an independent two-dimensional
    Gauss-Hermite integral over (u_a, u_ab)."""
    res = ordinal_fit
    x, w = np.polynomial.hermite_e.hermegauss(30)
    w = w / w.sum()
    sa, sab = res.re_sd["a"], res.re_sd["a:b"]
    u = (sa * x[:, None] + sab * x[None, :]).ravel()
    wu = (w[:, None] * w[None, :]).ravel()
    xb = res.coef["x"] * nested["x"].to_numpy()[:5]
    cut = np.r_[-np.inf, res.thresholds.to_numpy(), np.inf]
    cdf = expit(cut[None, :, None] - xb[:, None, None] - u[None, None, :]) @ wu
    want = np.diff(cdf, axis=1)
    got = res.predict(nested.head(5), conditional=False).to_numpy()
    np.testing.assert_allclose(got, want, atol=1e-10)
    tab = res.predictions(by=True, conditional=False)
    avg = res.predict(conditional=False).mean().to_numpy()
    np.testing.assert_allclose(tab["estimate"].to_numpy(), avg, rtol=1e-10)


def test_comparisons_and_slopes_run_on_nested_fits(logistic_fit):
    sl = logistic_fit.slopes("x")
    assert np.isfinite(sl["estimate"]).all() and (sl["std_error"] > 0).all()
    cmp_ = logistic_fit.comparisons("x")
    assert np.isfinite(cmp_["estimate"]).all()


# -- random slopes ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def slopes_data() -> pd.DataFrame:
    return pd.read_csv(REF / "slopes.csv")


@pytest.fixture(scope="module")
def slope_fit(slopes_data):
    return cm.Logistic("yb ~ x + (1 | g) + (0 + x | g)", data=slopes_data).fit()


def test_uncorrelated_slope_against_glmer(slope_fit):
    """glmer(yb ~ x + (1 | g) + (0 + x | g), nAGQ = 1). Observed: estimates 1.5e-7, SDs
    2.5e-7, log-likelihood 4e-11, SEs 1.2e-6 relative; conditional modes 2.3e-7 absolute."""
    ref = _ref("slopes_glmer_uncorr")
    res = slope_fit
    assert res.converged
    assert res.group_names == ["g", "x|g"]
    np.testing.assert_allclose(res.params.to_numpy(), list(ref["coef"].values()), rtol=2e-6)
    np.testing.assert_allclose(res.std_errors.to_numpy(), list(ref["se"].values()), rtol=2e-5)
    assert res.loglik == pytest.approx(ref["loglik"], rel=1e-10)
    assert res.re_sd["g"] == pytest.approx(ref["re_sd"]["g"]["(Intercept)"], rel=2e-6)
    assert res.re_sd["x|g"] == pytest.approx(ref["re_sd"]["g.1"]["x"], rel=2e-6)
    modes = res.conditional_modes()
    for name, col in [("g", "(Intercept)"), ("x|g", "x")]:
        want = ref["modes"]["g"][col]
        got = modes.loc[name]["mode"]
        np.testing.assert_allclose(got[list(want)].to_numpy(), list(want.values()), atol=1e-6)
    assert res.icc.isna().all()  # the share of variance depends on x
    assert "sd(x|g)" in str(res.summary())


def test_slope_gradient_is_exact(slopes_data):
    """The analytic Laplace gradient with a slope term against central differences."""
    from civmodels import _glmm

    codes = pd.factorize(slopes_data["g"], sort=True)[0]
    x = slopes_data["x"].to_numpy()
    d = _glmm.GLMMData(
        y=slopes_data["yb"].to_numpy(),
        X=np.column_stack([np.ones(len(x)), x]),
        tjac=np.zeros((1, 0)),
        toff=np.zeros(1),
        groups=[codes, codes],
        dist=_glmm.get_dist("logit", reflect=True),
        zvals=[None, x],
    )
    phi = np.array([-0.3, 0.7, np.log(0.6), np.log(0.4)])
    grad = _glmm.laplace_loglik(d, phi)["grad"]
    num = _glmm.numerical_jacobian(
        lambda p: np.array([_glmm.laplace_loglik(d, p, gradient=False)["loglik"]]), phi
    )[0]
    np.testing.assert_allclose(grad, num, rtol=1e-6, atol=1e-8)


def test_ordinal_slope_equals_binary_on_two_categories(slopes_data, slope_fit):
    """Dichotomisation check of the ordinal engine: with two categories the cumulative
    model is the binary one with threshold = -intercept (clmm fits no random slopes)."""
    df = slopes_data.assign(yo=pd.Categorical(slopes_data["yb"], ordered=True))
    res = cm.Ordinal("yo ~ x + (1 | g) + (0 + x | g)", data=df).fit()
    assert res.thresholds.iloc[0] == pytest.approx(-slope_fit.params["Intercept"], abs=1e-7)
    assert res.coef["x"] == pytest.approx(slope_fit.params["x"], rel=1e-6)
    np.testing.assert_allclose(res.re_sd.to_numpy(), slope_fit.re_sd.to_numpy(), rtol=1e-6)
    assert res.loglik == pytest.approx(slope_fit.loglik, rel=1e-10)
    np.testing.assert_allclose(
        res.std_errors.to_numpy(), slope_fit.std_errors.to_numpy(), rtol=1e-5
    )


def test_slope_conditional_predictions(slope_fit, slopes_data):
    res = slope_fit
    modes = res.conditional_modes()["mode"]
    rows = slopes_data.iloc[[0, 250, 599]]
    x = rows["x"].to_numpy()
    u0 = modes.loc["g"].loc[rows["g"]].to_numpy()
    u1 = modes.loc["x|g"].loc[rows["g"]].to_numpy()
    eta = res.params["Intercept"] + (res.params["x"] + u1) * x + u0
    got = np.asarray(res.predict(rows, conditional=True), dtype=float)
    np.testing.assert_allclose(got, expit(eta), rtol=1e-12)
    # a counterfactual x moves the slope term too: the conditional slope is beta + u1
    sl = res.slopes("x", conditional=True)
    assert np.isfinite(sl["estimate"]).all() and (sl["std_error"] > 0).all()
    with pytest.raises(cm.FormulaError, match="column 'x' not in the data"):
        res.predict(rows[["g"]].assign(x2=1.0), conditional=True)


def test_slope_marginal_predictions_integrate_the_slope(slope_fit, slopes_data):
    """Marginal P(Y = 1 | x) with independent intercept and slope: the random part
    u0 + u1 x has variance sd0^2 + sd1^2 x^2, checked by a 2-d tensor Gauss-Hermite rule."""
    res = slope_fit
    rows = slopes_data.iloc[[0, 250, 599]]
    sd0, sd1 = res.re_sd["g"], res.re_sd["x|g"]
    x, w = np.polynomial.hermite_e.hermegauss(40)
    w = w / w.sum()
    eta = res.params["Intercept"] + res.params["x"] * rows["x"].to_numpy()
    want = [
        (w[:, None] * w[None, :] * expit(e + sd0 * x[:, None] + sd1 * xi * x[None, :])).sum()
        for e, xi in zip(eta, rows["x"], strict=True)
    ]
    got = np.asarray(res.predict(rows, conditional=False), dtype=float)
    np.testing.assert_allclose(got, want, rtol=1e-10)
    tab = res.predictions(by=True)
    assert np.isfinite(tab["estimate"]).all() and (tab["std_error"] > 0).all()


def test_slope_bad_input(slopes_data):
    df = slopes_data.assign(
        c=slopes_data.groupby("g")["x"].transform("mean"), f=slopes_data["g"].str[:2]
    )
    with pytest.raises(cm.DataError, match="constant within every group of 'g'"):
        cm.Logistic("yb ~ x + (1 | g) + (0 + c | g)", data=df)
    with pytest.raises(cm.DataError, match="must be numeric"):
        cm.Logistic("yb ~ x + (0 + f | g)", data=df)
    m = cm.Logistic("yb ~ x + (0 + x | g)", data=df)
    with pytest.raises(SpecificationError, match="use method='laplace'"):
        m.fit(method="agq")
    with pytest.raises(SpecificationError, match="frequency weights only"):
        cm.Logistic("yb ~ x + (0 + x | g)", data=df.assign(w=1.0), weights="w").fit()
    with pytest.raises(SpecificationError, match="random slopes"):
        cm.bayes.Logistic("yb ~ x + (0 + x | g)", data=df)


# -- post-fit tools -------------------------------------------------------------------------
def test_compare_adds_the_nested_term(ordinal_fit, nested):
    """(1 | a) against (1 | a/b): one variance component added, tested on its boundary
    (the 50:50 mixture of chi2(0) and chi2(1))."""
    from scipy import stats

    small = cm.Ordinal("y ~ x + (1 | a)", data=nested).fit()
    tab = cm.compare(small, ordinal_fit)
    row = tab.iloc[1]
    stat = 2 * (ordinal_fit.loglik - small.loglik)
    assert row["lr_stat"] == pytest.approx(stat, rel=1e-12)
    assert row["re_added"] == 1
    assert row["p_value"] == pytest.approx(0.5 * stats.chi2.sf(stat, 1), rel=1e-10)
    assert "a:b (60)" in str(ordinal_fit.summary())
