"""Correlated random slopes ``(1 + x | g)`` against R, and the engine's exactness.

Fixtures (tests/reference/mixed): ``slopes_glmer_corr.json`` from make_nested.R
(``lme4::glmer(yb ~ x + (1 + x | g), binomial, nAGQ = 1)`` on slopes.csv, 40 groups of 15),
``slopes3_glmer.json`` from make_slopes3.R (a singular three-term block and a crossed
intercept) and ``slopes_clmm_corr*.json`` from make_slopes_clmm.R (``ordinal::clmm(y ~ x + (1 + x |
a))``, Laplace, logit and probit, on nested.csv: 15 groups of 40, 4 categories).

Agreement observed (tolerance tested in brackets):

* glmer: estimates 1.1e-7 relative (1e-6), SDs 2e-6 (5e-6), correlation 2.1e-6 absolute
  (5e-6), SEs 7e-7 relative (2e-6), log-likelihood 5e-12 relative (1e-10), conditional modes
  1.1e-6 absolute (3e-6).
* clmm (logit and probit): estimates 1.2e-6 absolute (5e-6; clmm stops with max |gradient|
  2.5e-4, our log-likelihood is 2-4e-9 higher), SEs 4.4e-6 relative (2e-5), SDs 3.4e-6
  (1e-5), correlation 1.2e-5 (3e-5), conditional modes 6e-6 absolute (2e-5).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

import civmodels as cm
from civmodels import _glmm
from civmodels.exceptions import SpecificationError

REF = Path(__file__).parent / "reference" / "mixed"


def _ref(name: str) -> dict:
    return json.loads((REF / f"{name}.json").read_text())


@pytest.fixture(scope="module")
def slopes_data() -> pd.DataFrame:
    return pd.read_csv(REF / "slopes.csv")


@pytest.fixture(scope="module")
def nested() -> pd.DataFrame:
    df = pd.read_csv(REF / "nested.csv")
    return df.assign(y=pd.Categorical(df["y"], ordered=True))


@pytest.fixture(scope="module")
def corr_fit(slopes_data):
    return cm.Logistic("yb ~ x + (1 + x | g)", data=slopes_data).fit()


def test_binary_correlated_slope_against_glmer(corr_fit):
    ref = _ref("slopes_glmer_corr")
    res = corr_fit
    assert res.converged
    assert res.group_names == ["g", "x|g"]
    np.testing.assert_allclose(res.params.to_numpy(), list(ref["coef"].values()), rtol=1e-6)
    np.testing.assert_allclose(res.std_errors.to_numpy(), list(ref["se"].values()), rtol=2e-6)
    assert res.loglik == pytest.approx(ref["loglik"], rel=1e-10)
    np.testing.assert_allclose(res.re_sd.to_numpy(), list(ref["re_sd"]["g"].values()), rtol=5e-6)
    assert res.re_corr["g, x|g"] == pytest.approx(ref["re_cor"]["g"], abs=5e-6)
    modes = res.conditional_modes()
    for name, col in [("g", "(Intercept)"), ("x|g", "x")]:
        want = ref["modes"]["g"][col]
        got = modes.loc[name]["mode"]
        np.testing.assert_allclose(got[list(want)].to_numpy(), list(want.values()), atol=3e-6)
    # the covariance matrix, from the SDs and the correlation
    S = res.re_cov["g"]
    assert list(S.index) == ["g", "x|g"]
    sd = res.re_sd.to_numpy()
    r = ref["re_cor"]["g"]
    want_S = np.array([[sd[0] ** 2, r * sd[0] * sd[1]], [r * sd[0] * sd[1], sd[1] ** 2]])
    np.testing.assert_allclose(S.to_numpy(), want_S, rtol=1e-5)
    # glmer's theta is the relative Cholesky factor (the latent SD of a logit is 1 here)
    th = ref["theta"]
    L = np.linalg.cholesky(S.to_numpy())
    np.testing.assert_allclose(
        [L[0, 0], L[1, 0], L[1, 1]],
        [th["g.(Intercept)"], th["g.x.(Intercept)"], th["g.x"]],
        rtol=2e-5,
    )
    assert res.k_params == 5
    text = str(res.summary())
    assert "cor(g, x|g)" in text and "Fisher" in text


def test_three_term_block_with_a_crossed_intercept_against_glmer():
    """(1 + x + z | g) + (1 | h) on slopes3.csv (make_slopes3.R): a 3 x 3 block that glmer
    and civmodels both find singular. Observed: log-likelihood 3.9e-7 higher than glmer's
    (which stops short), estimates 4e-7, SDs 3e-7, correlations 6e-7 absolute, SEs 1e-5
    relative."""
    d = pd.read_csv(REF / "slopes3.csv")
    ref = _ref("slopes3_glmer")
    with pytest.warns(UserWarning, match=r"singular at \['z\|g'\]"):
        res = cm.Logistic("yb ~ x + z + (1 + x + z | g) + (1 | h)", data=d).fit()
    assert res.converged and ref["singular"] and res.singular == ("z|g",)
    assert 0 <= res.loglik - ref["loglik"] < 1e-6
    np.testing.assert_allclose(res.params.to_numpy(), list(ref["coef"].values()), atol=2e-6)
    np.testing.assert_allclose(res.std_errors.to_numpy(), list(ref["se"].values()), rtol=3e-5)
    sd = ref["re_sd"]["g"]
    np.testing.assert_allclose(
        res.re_sd[["g", "x|g", "z|g", "h"]].to_numpy(),
        [sd["(Intercept)"], sd["x"], sd["z"], ref["re_sd"]["h"]],
        atol=2e-6,
    )
    cor = ref["re_cor"]
    np.testing.assert_allclose(
        res.re_corr[["g, x|g", "g, z|g", "x|g, z|g"]].to_numpy(),
        [cor["x_int"], cor["z_int"], cor["z_x"]],
        atol=3e-6,
    )


def test_short_form_is_the_same_model(slopes_data, corr_fit):
    """``(x | g)`` is lme4's shorthand for ``(1 + x | g)``."""
    res = cm.Logistic("yb ~ x + (x | g)", data=slopes_data).fit()
    np.testing.assert_allclose(res.params.to_numpy(), corr_fit.params.to_numpy(), rtol=1e-10)
    assert res.loglik == pytest.approx(corr_fit.loglik, rel=1e-12)


@pytest.mark.parametrize(
    ("case", "link"), [("slopes_clmm_corr", "logit"), ("slopes_clmm_corr_probit", "probit")]
)
def test_ordinal_correlated_slope_against_clmm(nested, case, link):
    ref = _ref(case)
    res = cm.Ordinal("y ~ x + (1 + x | a)", data=nested, link=link).fit()
    assert res.converged
    want = [*ref["thresholds"].values(), *ref["coef"].values()]
    np.testing.assert_allclose(res.params.to_numpy(), want, atol=5e-6)
    np.testing.assert_allclose(res.std_errors.to_numpy(), list(ref["se"].values()), rtol=2e-5)
    np.testing.assert_allclose(res.re_sd.to_numpy(), list(ref["re_sd"].values()), atol=1e-5)
    assert res.re_corr.iloc[0] == pytest.approx(ref["re_cor"], abs=3e-5)
    # clmm stops short of the optimum: ours is at least as high, and within 1e-8
    assert 0 <= res.loglik - ref["loglik"] < 1e-8
    modes = res.conditional_modes()
    for name, col in [("a", "(Intercept)"), ("x|a", "x")]:
        want_m = ref["modes"][col]
        got = modes.loc[name]["mode"]
        np.testing.assert_allclose(got[list(want_m)].to_numpy(), list(want_m.values()), atol=2e-5)


def _engine(df: pd.DataFrame, blocks, zcols, groups, *, ordinal: bool) -> _glmm.GLMMData:
    codes = [pd.factorize(df[g], sort=True)[0] for g in groups]
    zvals = [None if z is None else df[z].to_numpy(float) for z in zcols]
    if ordinal:
        y = pd.factorize(df["y"], sort=True)[0]
        J = int(y.max()) + 1
        return _glmm.GLMMData(
            y=y,
            X=df[["x"]].to_numpy(float),
            tjac=np.eye(J - 1),
            toff=np.zeros(J - 1),
            groups=codes,
            dist=_glmm.get_dist("logit"),
            zvals=zvals,
            corr=blocks,
        )
    x = df["x"].to_numpy(float)
    return _glmm.GLMMData(
        y=df["yb"].to_numpy(),
        X=np.column_stack([np.ones(len(x)), x]),
        tjac=np.zeros((1, 0)),
        toff=np.zeros(1),
        groups=codes,
        dist=_glmm.get_dist("logit", reflect=True),
        zvals=zvals,
        corr=blocks,
    )


def test_gradient_is_exact_with_blocks(nested):
    """A 3 x 3 block (1 + x + z | a) next to a separate intercept (1 | a:b), 4 categories:
    the analytic Laplace gradient against central differences of the log-likelihood."""
    rng = np.random.default_rng(5)
    df = nested.assign(z=rng.normal(size=len(nested)), ab=nested["a"] + ":" + nested["b"])
    d = _engine(df, [[0, 1, 2]], [None, "x", "z", None], ["a", "a", "a", "ab"], ordinal=True)
    assert d.n_off == 3 and d.P == 3 + 1 + 4 + 3
    phi = np.array(
        [-0.7, 0.4, 1.5, 0.5, np.log(0.6), np.log(0.3), np.log(0.2), np.log(0.5), 0.15, -0.1, 0.05]
    )
    grad = _glmm.laplace_loglik(d, phi)["grad"]
    num = _glmm.numerical_jacobian(
        lambda p: np.array([_glmm.laplace_loglik(d, p, gradient=False)["loglik"]]), phi
    )[0]
    np.testing.assert_allclose(grad, num, rtol=1e-6, atol=1e-7)


def test_zero_correlation_parameter_is_the_uncorrelated_model(slopes_data):
    """With the off-diagonal entry at 0 the block is (1 | g) + (0 + x | g): same
    log-likelihood and the same gradient in the shared parameters."""
    blk = _engine(slopes_data, [[0, 1]], [None, "x"], ["g", "g"], ordinal=False)
    sep = _engine(slopes_data, None, [None, "x"], ["g", "g"], ordinal=False)
    phi = np.array([-0.3, 0.7, np.log(0.6), np.log(0.4)])
    a = _glmm.laplace_loglik(blk, np.r_[phi, 0.0])
    b = _glmm.laplace_loglik(sep, phi)
    assert a["loglik"] == pytest.approx(b["loglik"], rel=1e-13)
    np.testing.assert_allclose(a["grad"][:4], b["grad"], rtol=1e-10, atol=1e-12)


def test_ordinal_equals_binary_on_two_categories(slopes_data, corr_fit):
    df = slopes_data.assign(yo=pd.Categorical(slopes_data["yb"], ordered=True))
    res = cm.Ordinal("yo ~ x + (1 + x | g)", data=df).fit()
    assert res.thresholds.iloc[0] == pytest.approx(-corr_fit.params["Intercept"], abs=1e-7)
    assert res.coef["x"] == pytest.approx(corr_fit.params["x"], rel=1e-6)
    np.testing.assert_allclose(res.re_sd.to_numpy(), corr_fit.re_sd.to_numpy(), rtol=1e-6)
    assert res.re_corr.iloc[0] == pytest.approx(corr_fit.re_corr.iloc[0], abs=1e-6)
    assert res.loglik == pytest.approx(corr_fit.loglik, rel=1e-10)


def test_conditional_predictions_use_the_block(corr_fit, slopes_data):
    res = corr_fit
    modes = res.conditional_modes()["mode"]
    rows = slopes_data.iloc[[0, 250, 599]]
    x = rows["x"].to_numpy()
    u0 = modes.loc["g"].loc[rows["g"]].to_numpy()
    u1 = modes.loc["x|g"].loc[rows["g"]].to_numpy()
    eta = res.params["Intercept"] + (res.params["x"] + u1) * x + u0
    got = np.asarray(res.predict(rows, conditional=True), dtype=float)
    np.testing.assert_allclose(got, expit(eta), rtol=1e-12)
    # conditional variances: diag(Lambda H^-1 Lambda') is positive and below the prior
    cv = res.conditional_modes()["cond_var"]
    assert (cv > 0).all()
    assert (cv.loc["g"] < res.re_sd["g"] ** 2).all()


def test_marginal_predictions_integrate_the_block(corr_fit, slopes_data):
    """Marginal P(Y = 1 | x) = E expit(eta + u0 + u1 x) over (u0, u1) ~ N(0, Sigma),
    checked by a 2-d tensor Gauss-Hermite rule on the Cholesky factor of re_cov; the
    delta-method SE against central differences of the prediction in the parameters."""
    res = corr_fit
    rows = slopes_data.iloc[[3, 300, 480]]
    L = np.linalg.cholesky(res.re_cov["g"].to_numpy())
    x, w = np.polynomial.hermite_e.hermegauss(40)
    w = w / w.sum()
    b0, b1 = np.meshgrid(x, x, indexing="ij")
    ww = w[:, None] * w[None, :]
    u0 = L[0, 0] * b0
    u1 = L[1, 0] * b0 + L[1, 1] * b1
    eta = res.params["Intercept"] + res.params["x"] * rows["x"].to_numpy()
    want = [(ww * expit(e + u0 + u1 * xi)).sum() for e, xi in zip(eta, rows["x"], strict=True)]
    got = res.predict(rows, conditional=False)
    np.testing.assert_allclose(np.asarray(got, dtype=float), want, rtol=1e-10)
    tab = res.predict(rows, conditional=False, se=True)
    np.testing.assert_allclose(tab["estimate"].to_numpy(), want, rtol=1e-10)
    # the SE: gradient of the prediction in all parameters (fixed and variance) by central
    # differences of the engine parameters, sandwiched with their covariance
    theta = np.r_[res.params.to_numpy(), res.re_theta]

    def pred(t):
        sig = np.exp(t[2:4])
        Lt = np.array([[sig[0], 0.0], [t[4], sig[1]]])
        v0 = Lt[0, 0] * b0
        v1 = Lt[1, 0] * b0 + Lt[1, 1] * b1
        e = t[0] + t[1] * rows["x"].to_numpy()
        xs = rows["x"].to_numpy()
        return np.array(
            [(ww * expit(ei + v0 + v1 * xi)).sum() for ei, xi in zip(e, xs, strict=True)]
        )

    G = _glmm.numerical_jacobian(pred, theta, rel_step=1e-6)
    se = np.sqrt(np.einsum("ij,jk,ik->i", G, res.cov_full, G))
    np.testing.assert_allclose(tab["std_error"].to_numpy(), se, rtol=1e-5)
    avg = res.predictions(by=True)
    assert avg["estimate"].iloc[0] == pytest.approx(
        float(np.mean(res.predict(conditional=False))), rel=1e-12
    )


def test_compare_counts_the_correlation(slopes_data, corr_fit):
    """(1 | g) + (0 + x | g) against (1 + x | g): one correlation added, an interior
    parameter, so chi2(1); (1 | g) against (1 + x | g): one SD on its boundary plus a
    correlation, the 50:50 mixture of chi2(1) and chi2(2)."""
    from scipy import stats

    sep = cm.Logistic("yb ~ x + (1 | g) + (0 + x | g)", data=slopes_data).fit()
    tab = cm.compare(sep, corr_fit)
    row = tab.iloc[1]
    assert (row["df"], row["re_added"]) == (1, 0)
    lr = 2 * (corr_fit.loglik - sep.loglik)
    assert row["p_value"] == pytest.approx(stats.chi2.sf(lr, 1), rel=1e-12)
    small = cm.Logistic("yb ~ x + (1 | g)", data=slopes_data).fit()
    row = cm.compare(small, corr_fit).iloc[1]
    lr = 2 * (corr_fit.loglik - small.loglik)
    assert (row["df"], row["re_added"]) == (2, 1)
    want = 0.5 * stats.chi2.sf(lr, 1) + 0.5 * stats.chi2.sf(lr, 2)
    assert row["p_value"] == pytest.approx(want, rel=1e-12)


def test_drop1_refits_keep_the_block(corr_fit):
    tab = corr_fit.drop1()
    assert "x" in tab.index
    # refitting the full formula gives the same model back (the block is not split)
    from civmodels.inference import _refit

    again = _refit(corr_fit, "x")
    assert again.loglik == pytest.approx(corr_fit.loglik, rel=1e-12)
    assert len(again.re_corr) == 1


def test_nested_correlated_terms(nested):
    """(x | a/b) is one correlated block per grouping: a and a:b. The data have no slope
    variance by unit, so that block is singular: reported, and the rest of the fit kept."""
    with pytest.warns(UserWarning, match=r"singular at \['x\|a:b'\]"):
        res = cm.Ordinal("y ~ x + (x | a/b)", data=nested).fit()
    assert res.singular == ("x|a:b",)
    assert res.converged and np.isfinite(res.std_errors).all()
    # the singular block: correlation +-1, no standard error for it; the other block intact
    assert abs(res.re_corr["a:b, x|a:b"]) > 0.999
    assert np.isnan(res.re_corr_se["a:b, x|a:b"])
    assert np.isfinite(res.re_corr_se["a, x|a"]) and np.isfinite(res.re_sd_se["a"])
    assert "is singular (boundary)" in str(res.summary())
    assert res.group_names == ["a", "x|a", "a:b", "x|a:b"]
    assert list(res.re_corr.index) == ["a, x|a", "a:b, x|a:b"]
    assert set(res.re_cov) == {"a", "a:b"}


def test_bad_input(slopes_data):
    df = slopes_data.assign(
        c=slopes_data.groupby("g")["x"].transform("mean"), f=slopes_data["g"].str[:2]
    )
    with pytest.raises(cm.DataError, match="constant within every group of 'g'"):
        cm.Logistic("yb ~ x + (1 + c | g)", data=df)
    with pytest.raises(cm.DataError, match="must be numeric"):
        cm.Logistic("yb ~ x + (1 + f | g)", data=df)
    with pytest.raises(cm.FormulaError, match="is not a column name"):
        cm.Logistic("yb ~ x + (1 + x:c | g)", data=df)
    with pytest.raises(cm.FormulaError, match="appears twice"):
        cm.Logistic("yb ~ x + (1 + x | g) + (1 | g)", data=df)
    with pytest.raises(SpecificationError, match="random slopes"):
        cm.bayes.Logistic("yb ~ x + (1 + x | g)", data=df)
    res = cm.Logistic("yb ~ x + (1 + x | g)", data=df).fit()
    with pytest.raises(SpecificationError, match="not a parameter of the fit"):
        res.profile_re_sd()


def test_publication_table_rows(corr_fit, slopes_data):
    """regression_table: the correlation sits with the SDs under a block that says so, the
    slope adds no second 'Groups' row, and an undefined ICC is left out rather than 'nan'."""
    from civmodels import report

    small = cm.Logistic("yb ~ x + (1 | g)", data=slopes_data).fit()
    tab = report.regression_table(small, corr_fit)
    block = "Random effects (SD, correlation)"
    assert tab.loc[(block, "cor(g, x|g)", "est")].tolist() == ["", "0.938"]
    terms = tab.index.get_level_values("term")
    assert list(terms).count("Groups (g)") == 1 and "Groups (x|g)" not in terms
    assert tab.loc[("Model statistics", "ICC (g)", "est")].tolist() == ["0.130", ""]
    assert "nan" not in report.regression_table(small, corr_fit, output="latex")
    # without correlations the block keeps its name
    assert "Random effects (SD)" in report.regression_table(small).index.get_level_values(0)
