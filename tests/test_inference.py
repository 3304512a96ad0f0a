"""Tests of terms, model comparison and drop1 against R (tests/reference/postfit/)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import civmodels as cm
from civmodels.inference import _lr_p, compare

REF = Path(__file__).parent / "reference"
R = json.loads((REF / "postfit" / "postfit_reference.json").read_text())
FULL = "x1 + x2 + region + bloc + area"


@pytest.fixture(scope="module")
def sim() -> pd.DataFrame:
    d = pd.read_csv(REF / "ordinal" / "survey_sim.csv")
    d["y"] = pd.Categorical(d["y"], ordered=True)
    return d


@pytest.fixture(scope="module")
def wine() -> pd.DataFrame:
    d = pd.read_csv(REF / "ordinal" / "wine.csv")
    d["rating"] = pd.Categorical(d["rating"], ordered=True)
    return d


@pytest.fixture(scope="module")
def clm(sim):
    return cm.Ordinal(f"y ~ {FULL}", sim).fit()


@pytest.fixture(scope="module")
def glm(sim):
    return cm.Logistic(f"z ~ {FULL}", sim).fit()


@pytest.fixture(scope="module")
def design(sim):
    return cm.SurveyDesign(sim, weights="weight", cluster="municipality")


@pytest.fixture(scope="module")
def wine_fits(wine):
    w0 = cm.Ordinal("rating ~ temp + contact", wine).fit()
    w1 = cm.Ordinal("rating ~ temp + contact + (1 | judge)", wine).fit()
    w2 = cm.Ordinal("rating ~ temp + (1 | judge)", wine).fit()
    return w0, w1, w2


def _check_table(ours: pd.DataFrame, ref: dict, cols: dict[str, str], rtol: float) -> None:
    for i, term in enumerate(ref["term"]):
        for ours_col, ref_col in cols.items():
            want = ref[ref_col][i]
            if want in (None, "NA"):  # the "<none>" row of drop1 has NA statistics
                continue
            assert ours.loc[term, ours_col] == pytest.approx(want, rel=rtol), (term, ours_col)


# -- Wald tests -----------------------------------------------------------------------------
def test_glm_wald_terms_match_car_anova(glm):
    # car::Anova(type = 3, test = "Wald") on a glm fitted to 1e-14: agreement to 1e-6
    tab = glm.wald_test_terms()
    assert list(tab.index) == ["Intercept", *R["glm_wald_terms"]["term"][1:]]
    ref = dict(R["glm_wald_terms"])
    ref["term"] = ["Intercept", *ref["term"][1:]]  # R names it "(Intercept)"
    _check_table(tab, ref, {"df": "df", "chi2": "chi2", "p_value": "p_value"}, 1e-6)


def test_clm_wald_terms_match_anova_clm(clm):
    tab = clm.wald_test_terms()
    assert list(tab.index) == R["clm_wald_terms"]["term"]
    _check_table(tab, R["clm_wald_terms"], {"df": "df", "chi2": "chi2", "p_value": "p_value"}, 1e-6)


@pytest.mark.parametrize("kind", ["svyglm", "svyolr"])
def test_design_wald_f_matches_regtermtest(sim, design, kind):
    if kind == "svyglm":
        res = cm.Logistic(f"z ~ {FULL}", sim).fit(design=design)
    else:
        res = cm.Ordinal(f"y ~ {FULL}", sim).fit(design=design)
    for ref in R[f"{kind}_regtermtest"]:
        row = res.wald_test(ref["term"]).iloc[0]
        # svyolr is fitted by optim in R (reltol 1e-14): 1e-5 relative on F
        assert row["F"] == pytest.approx(ref["F"], rel=1e-5)
        assert row["df"] == ref["df"]
        assert row["ddf"] == ref["ddf"]
        assert row["p_value"] == pytest.approx(ref["p_value"], rel=1e-4)


def test_joint_wald_test_is_the_quadratic_form(clm):
    names = ["x1", "x2", "bloc[T.red]"]
    b = clm.params[names].to_numpy()
    V = clm.vcov.loc[names, names].to_numpy()
    tab = clm.wald_test(["x1", "x2", "bloc"])
    assert tab.index[0] == "x1 + x2 + bloc"
    assert tab["chi2"].iloc[0] == pytest.approx(b @ np.linalg.solve(V, b), rel=1e-12)
    assert tab["df"].iloc[0] == 3
    # a single parameter: the squared z statistic
    z = clm.params["x1"] / clm.std_errors["x1"]
    assert clm.wald_test("x1")["chi2"].iloc[0] == pytest.approx(z**2, rel=1e-12)


def test_wald_test_unknown_term_lists_the_valid_terms(clm):
    with pytest.raises(cm.SpecificationError, match=r"'areaa' is not in the model.*'area'"):
        clm.wald_test("areaa")


def test_wald_terms_of_formula_functions_and_nominal(sim):
    res = cm.Ordinal("y ~ x1 + C(area)", sim, nominal="~ bloc").fit()
    tab = res.wald_test_terms()
    assert list(tab.index) == ["x1", "C(area)", "nominal(bloc)"]
    assert tab.loc["nominal(bloc)", "df"] == 3  # one effect per threshold
    # "area" is accepted for "C(area)"
    assert res.wald_test("area")["chi2"].iloc[0] == tab.loc["C(area)", "chi2"]


# -- likelihood-ratio tests -----------------------------------------------------------------
def test_clm_drop1_matches_r(clm):
    tab = clm.drop1()
    cols = {"df": "df", "aic": "aic", "lr_stat": "lr_stat", "p_value": "p_value"}
    _check_table(tab, R["clm_drop1"], cols, 1e-6)


def test_glm_drop1_matches_r(glm):
    tab = glm.drop1()
    cols = {"df": "df", "aic": "aic", "lr_stat": "lr_stat", "p_value": "p_value"}
    _check_table(tab, R["glm_drop1"], cols, 1e-6)


def test_compare_fixed_matches_anova_clm(sim, clm):
    small = cm.Ordinal("y ~ x1 + x2", sim).fit()
    tab = compare(small, clm)
    ref = R["clm_anova"]
    assert tab["loglik"].to_numpy() == pytest.approx(ref["loglik"], rel=1e-8)
    assert tab["lr_stat"].iloc[1] == pytest.approx(ref["lr_stat"], rel=1e-6)
    assert tab["df"].iloc[1] == ref["df"]
    assert tab["p_value"].iloc[1] == pytest.approx(ref["p_value"], rel=1e-5)


def test_compare_fixed_vs_mixed_uses_the_boundary_mixture(wine_fits):
    w0, w1, _ = wine_fits
    tab = compare(w0, w1)
    ref = R["clmm_vs_clm"]
    # clmm and our Laplace fit agree to ~1e-5 in the log-likelihood
    assert tab["lr_stat"].iloc[1] == pytest.approx(ref["lr_stat"], abs=1e-4)
    assert tab["re_added"].iloc[1] == 1
    assert tab["p_value"].iloc[1] == pytest.approx(ref["p_boundary"], rel=1e-4)
    # half of R's naive chi2(1) p-value
    assert tab["p_value"].iloc[1] == pytest.approx(ref["p_naive"] / 2, rel=1e-4)


def test_compare_mixed_models_matches_anova_clmm(wine_fits):
    _, w1, w2 = wine_fits
    tab = compare(w2, w1)
    ref = R["clmm_anova"]
    assert tab["lr_stat"].iloc[1] == pytest.approx(ref["lr_stat"], abs=5e-4)
    assert tab["df"].iloc[1] == ref["df"]
    assert tab["p_value"].iloc[1] == pytest.approx(ref["p_value"], rel=1e-3)


def test_compare_glm_vs_glmer(sim):
    b0 = cm.Logistic("z ~ x1 + x2 + area", sim).fit()
    b1 = cm.Logistic("z ~ x1 + x2 + area + (1 | municipality)", sim).fit()
    tab = compare(b0, b1, labels=["glm", "glmer"])
    ref = R["glmer_vs_glm"]
    assert tab["loglik"].to_numpy() == pytest.approx(ref["loglik"], abs=5e-4)
    assert tab["lr_stat"].iloc[1] == pytest.approx(ref["lr_stat"], abs=1e-3)
    assert tab["p_value"].iloc[1] == pytest.approx(ref["p_boundary"], rel=1e-3)
    assert list(tab.index) == ["glm", "glmer"]


def test_boundary_mixture_formula():
    lr = 3.2
    assert _lr_p(lr, 0, 1) == pytest.approx(0.5 * stats.chi2.sf(lr, 1))
    assert _lr_p(lr, 2, 1) == pytest.approx(0.5 * stats.chi2.sf(lr, 2) + 0.5 * stats.chi2.sf(lr, 3))
    want = 0.25 * 0 + 0.5 * stats.chi2.sf(lr, 1) + 0.25 * stats.chi2.sf(lr, 2)
    assert _lr_p(lr, 0, 2) == pytest.approx(want)
    assert _lr_p(lr, 3, 0) == pytest.approx(stats.chi2.sf(lr, 3))


def test_compare_refuses_different_rows(sim, clm):
    d = sim.copy()
    d.loc[d.index[:7], "x2"] = np.nan
    small = cm.Ordinal("y ~ x1 + x2", d).fit()
    with pytest.raises(cm.SpecificationError, match=r"different rows \(437 and 444 rows"):
        compare(small, clm)


def test_compare_refuses_non_nested_and_reversed(sim, clm):
    a = cm.Ordinal("y ~ x1 + area", sim).fit()
    b = cm.Ordinal("y ~ x2 + area", sim).fit()
    with pytest.raises(cm.SpecificationError, match=r"not nested.*\['x1'\]"):
        compare(a, b)
    with pytest.raises(cm.SpecificationError, match="not nested"):
        compare(clm, a)


def test_compare_refuses_other_outcomes_models_and_designs(sim, clm, glm, design):
    with pytest.raises(cm.SpecificationError, match="Ordinal model with a Logistic"):
        compare(clm, glm)
    other = cm.Ordinal("y ~ x1 + x2 + region + bloc + area + z", sim).fit()
    svy = cm.Ordinal(f"y ~ {FULL}", sim).fit(design=design)
    with pytest.raises(cm.SpecificationError, match="pseudo-likelihood"):
        compare(svy, other)
    with pytest.raises(cm.SpecificationError, match="at least two"):
        compare(clm)


def test_compare_counts_nominal_effects_as_nested(sim):
    po = cm.Ordinal("y ~ x1 + bloc", sim).fit()
    npo = cm.Ordinal("y ~ x1", sim, nominal="~ bloc").fit()
    tab = compare(po, npo)
    assert tab["df"].iloc[1] == 2
    assert tab["lr_stat"].iloc[1] == pytest.approx(2 * (npo.loglik - po.loglik))


def test_drop1_refuses_design_fits(sim, design):
    svy = cm.Ordinal(f"y ~ {FULL}", sim).fit(design=design)
    with pytest.raises(cm.SpecificationError, match="wald_test_terms"):
        svy.drop1()


# -- diagnostics ----------------------------------------------------------------------------
def test_nominal_test_gives_the_reason_for_a_nan(sim, monkeypatch):
    from civmodels.ordinal.model import Ordinal

    real_fit = Ordinal.fit

    def flaky_fit(self, *args, **kwargs):
        if self.nominal == "~ bloc":
            raise np.linalg.LinAlgError("Singular matrix")
        res = real_fit(self, *args, **kwargs)
        if self.nominal == "~ x1":
            import warnings

            warnings.warn("Newton stalled", cm.ConvergenceWarning, stacklevel=2)
        return res

    res = cm.Ordinal("y ~ x1 + bloc", sim).fit()
    monkeypatch.setattr(Ordinal, "fit", flaky_fit)
    with pytest.warns(cm.ConvergenceWarning, match="nominal_test, term 'x1': Newton stalled"):
        nt = res.nominal_test()
    assert np.isnan(nt.loc["x1", "p_value"])
    assert "did not converge: Newton stalled" in nt.loc["x1", "note"]
    assert np.isnan(nt.loc["bloc", "p_value"])
    assert "could not be fitted (LinAlgError: Singular matrix)" in nt.loc["bloc", "note"]
    assert nt.loc["all terms", "note"] == ""
    assert np.isfinite(nt.loc["all terms", "p_value"])


def test_compare_three_models_sequentially(sim, clm):
    m1 = cm.Ordinal("y ~ x1", sim).fit()
    m2 = cm.Ordinal("y ~ x1 + x2", sim).fit()
    tab = cm.compare(m1, m2, clm)
    assert cm.compare is compare
    assert list(tab.index) == ["model 1", "model 2", "model 3"]
    assert tab["lr_stat"].iloc[1] == pytest.approx(2 * (m2.loglik - m1.loglik))
    assert tab["lr_stat"].iloc[2] == pytest.approx(2 * (clm.loglik - m2.loglik))
    assert list(tab["df"].iloc[1:]) == [1, 8]  # region 4, bloc 1, area 3


def test_drop1_respects_marginality(sim):
    res = cm.Ordinal("y ~ x1 * bloc + area", sim).fit()
    tab = res.drop1()
    assert list(tab.index) == ["<none>", "area", "x1:bloc"]
    small = cm.Ordinal("y ~ x1 + bloc + area", sim).fit()
    assert tab.loc["x1:bloc", "lr_stat"] == pytest.approx(2 * (res.loglik - small.loglik))


def test_boundary_lr_of_zero_gives_p_one():
    assert _lr_p(0.0, 0, 1) == 1.0
    # a tiny positive LR is the continuous part of the mixture: half of chi2(1)'s tail
    assert _lr_p(1e-3, 0, 1) == pytest.approx(0.5 * stats.chi2.sf(1e-3, 1))
