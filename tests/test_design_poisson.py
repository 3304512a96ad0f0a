"""Poisson-sampling designs (``SurveyDesign(pps="poisson")``) against R survey 4.1-1.

Fixture: tests/reference/survey/make_poisson.R (``svydesign(ids = ~1, probs = ~p,
pps = poisson_sampling(p))`` on the simulated survey of tests/reference/survey, p = 1/w).
Means, totals, proportions, domains and the Rao–Scott test are closed-form and agree to
rounding (rtol 1e-9); the logit agrees to the optimisers' convergence (rtol 1e-6), as in
test_replicate.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import civmodels as cm
from civmodels.crosstab import crosstab
from civmodels.design import SurveyDesign
from civmodels.exceptions import DesignError

from .survey_reference import load

HERE = Path(__file__).parent / "reference" / "survey"


@pytest.fixture(scope="module")
def ref() -> dict:
    return json.loads((HERE / "poisson_reference.json").read_text())


@pytest.fixture(scope="module")
def sim() -> pd.DataFrame:
    s = load("sim_survey")
    return s.assign(
        p=1 / s["w"],
        social=(s["area"] == "social").astype(float),
        top=s["mot"].isin([3, 4]).astype(float).where(s["mot"].notna()),
    )


def _check(est, r: dict, rtol: float = 1e-9) -> None:
    np.testing.assert_allclose(est.estimate.to_numpy(), r["estimate"], rtol=rtol)
    np.testing.assert_allclose(est.vcov.to_numpy(), np.atleast_2d(r["vcov"]), rtol=rtol)


@pytest.mark.parametrize("how", ["probs", "weights", "both"])
def test_means_totals_proportions_match_r(sim, ref, how):
    kw = {
        "probs": {"probs": "p"},
        "weights": {"weights": "w"},
        "both": {"weights": "w", "probs": "p"},
    }[how]
    d = SurveyDesign(sim, pps="poisson", **kw)
    assert d.degf == ref["degf"]
    _check(d.mean(["u", "pressure_high"]), ref["mean"])
    _check(d.total(["u", "pressure_high"]), ref["total"])
    _check(d.proportion("mot"), ref["prop_mot"])
    by = d.mean("u", by="pressure_high")
    np.testing.assert_allclose(by.estimate.to_numpy(), ref["by_pressure"]["estimate"], rtol=1e-9)
    np.testing.assert_allclose(by.vcov.to_numpy(), ref["by_pressure"]["vcov"], rtol=1e-9)
    social = d.subset("area == 'social'")
    _check(social.mean("u"), ref["subset_social"])
    assert social.probs.index.equals(social.data.index)
    assert "Poisson sampling" in d.mean("u").summary().notes[0]


def test_poisson_variance_is_not_the_fpc_design(sim, ref):
    """The per-unit fpc makes a difference here (guards against a test that cannot fail)."""
    srs = SurveyDesign(sim, weights="w").mean("u").std_error.iloc[0]
    assert abs(srs / ref["mean"]["se"][0] - 1) > 0.05


def test_rao_scott_matches_r(sim, ref):
    d = SurveyDesign(sim, weights="w", pps="poisson")
    t = crosstab(d, "area", "pressure_high").test()
    r = ref["chisq_area_pressure"]
    np.testing.assert_allclose(t.statistic, r["F"], rtol=1e-8)
    np.testing.assert_allclose(t.df, [r["ndf"], r["ddf"]], rtol=1e-8)
    np.testing.assert_allclose(t.p_value, r["p_F"], rtol=1e-7)


def test_logistic_fit_matches_svyglm(sim, ref):
    cc = sim.dropna(subset=["mot"]).reset_index(drop=True)
    d = SurveyDesign(cc, weights="w", pps="poisson")
    res = cm.Logistic("top ~ pressure_high + social", cc).fit(design=d)
    r = ref["logit"]
    np.testing.assert_allclose(res.params.to_numpy(), r["estimate"], rtol=1e-6)
    np.testing.assert_allclose(res.vcov.to_numpy(), r["vcov"], rtol=1e-6)
    assert "Poisson sampling" in res.cov_label


def test_vcov_hook_matches_svyglm_gaussian(sim, ref):
    """``design.vcov`` (the hook every model engine calls) with least-squares scores."""
    cc = sim.dropna(subset=["mot"]).reset_index(drop=True)
    d = SurveyDesign(cc, probs="p", pps="poisson")
    X = np.column_stack([np.ones(len(cc)), cc["pressure_high"], cc["social"]])
    y, w = cc["u"].to_numpy(), cc["w"].to_numpy()
    b = np.linalg.solve(X.T @ (w[:, None] * X), X.T @ (w * y))
    V = d.vcov(w[:, None] * X * (y - X @ b)[:, None], np.linalg.inv(X.T @ (w[:, None] * X)))
    np.testing.assert_allclose(b, ref["linear"]["estimate"], rtol=1e-9)
    np.testing.assert_allclose(V, ref["linear"]["vcov"], rtol=1e-9)


def test_calibrated_weights_with_design_probabilities_match_r(sim, ref):
    """Calibrated weights, the design's π for the fpc. survey 4.1-1's ``ppsvar`` computes the
    GREG residuals but does not use them (it assigns them to ``y`` and uses ``x``): R's
    ``svymean`` equals our design *without* ``calibrated_on``, and our design with
    ``calibrated_on`` equals the Poisson formula applied to R's own calibration residuals."""
    data = sim.assign(w_cal=np.asarray(ref["calibrated_linear_weights"]))
    fixed = SurveyDesign(data, weights="w_cal", probs="p", pps="poisson")
    _check(fixed.mean(["u", "pressure_high"]), ref["calibrated_linear_mean"])
    d = SurveyDesign(
        data,
        weights="w_cal",
        probs="p",
        pps="poisson",
        calibrated_on=["area"],
        calibration="linear",
        base_weights="w",
    )
    est = d.mean(["u", "pressure_high"])
    np.testing.assert_allclose(
        est.estimate.to_numpy(), ref["calibrated_linear_mean"]["estimate"], rtol=1e-9
    )
    np.testing.assert_allclose(
        est.vcov.to_numpy(), ref["calibrated_linear_mean_residual_vcov"], rtol=1e-9
    )


def test_ordinal_fit_with_equal_probabilities_is_the_srs_fpc_variance(sim):
    """Equal π = f: Σ(1-f) s s' is the without-replacement fpc variance without n/(n-1)
    (the scores sum to 0 at the estimate), a check of the ordinal engine's design path."""
    cc = sim.dropna(subset=["mot"]).reset_index(drop=True)
    n, f = len(cc), 0.4
    formula = "mot ~ pressure_high + social"
    pois = cm.Ordinal(formula, cc).fit(design=SurveyDesign(cc, probs=np.full(n, f), pps="poisson"))
    srs = cm.Ordinal(formula, cc).fit(
        design=SurveyDesign(cc, weights=np.full(n, 1 / f), fpc=np.full(n, f))
    )
    np.testing.assert_allclose(pois.params, srs.params, rtol=1e-10)
    np.testing.assert_allclose(pois.vcov.to_numpy() * n / (n - 1), srs.vcov.to_numpy(), rtol=1e-8)


def test_certainty_units_add_no_variance(sim):
    d = SurveyDesign(sim.assign(p=1.0), probs="p", pps="poisson")
    assert d.mean("u").std_error.iloc[0] == 0.0
    with pytest.raises(DesignError, match="Poisson-sampling design only rows with inclusion"):
        crosstab(d, "area", "pressure_high").test()


# ----------------------------------------------------------------------------- bad input
def test_weights_below_one_are_refused_with_the_fix(sim):
    with pytest.raises(
        DesignError, match=r"weights column 'wn' has \d+ value\(s\) below 1.*probs="
    ):
        SurveyDesign(sim.assign(wn=sim["w"] / sim["w"].mean()), weights="wn", pps="poisson")


@pytest.mark.parametrize(
    ("value", "what"),
    [
        (np.nan, "missing or non-numeric"),
        (0.0, "zero or negative"),
        (1.2, "above 1"),
        ("x", "missing or non-numeric"),
        (np.inf, "infinite"),
    ],
)
def test_bad_probabilities_are_refused_naming_the_row(sim, value, what):
    bad = sim["p"].astype(object)
    bad.iloc[3] = value
    with pytest.raises(
        DesignError, match=rf"probs column 'pp' has 1 {what} value\(s\) \(first at row 3"
    ):
        SurveyDesign(sim.assign(pp=bad), probs="pp", pps="poisson")


@pytest.mark.parametrize("arg", ["cluster", "strata", "fpc"])
def test_clusters_strata_fpc_are_refused_with_pps(sim, arg):
    value = {"cluster": "municipality", "strata": "region", "fpc": "n_municipalities"}[arg]
    with pytest.raises(DesignError, match=rf"pps='poisson' with {arg}=.*Drop {arg}="):
        SurveyDesign(sim, weights="w", pps="poisson", **{arg: value})


def test_probs_without_pps_and_unknown_pps_are_refused(sim):
    with pytest.raises(DesignError, match="used only with pps='poisson'"):
        SurveyDesign(sim, probs="p")
    with pytest.raises(DesignError, match="pps='sampford'"):
        SurveyDesign(sim, weights="w", pps="sampford")
    with pytest.raises(DesignError, match="not a column"):
        SurveyDesign(sim, probs="nope", pps="poisson")


def test_replicate_of_a_poisson_design_is_refused(sim):
    with pytest.raises(DesignError, match="no per-unit finite population correction"):
        SurveyDesign(sim, weights="w", pps="poisson").replicate("jk1")
