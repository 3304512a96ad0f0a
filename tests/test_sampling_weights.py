"""Sampling weights (``weights=``) against frequency weights (``freq_weights=``) in the
fixed-effect engines: R survey / sandwich fixtures, invariance to rescaling, nobs, summaries
and bad input. Fixtures: tests/reference/weights/make_sampling_weights.R."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import civmodels as cm
from civmodels.exceptions import DataError, SpecificationError
from civmodels.ordinal.sklearn import OrdinalClassifier

REF = Path(__file__).parent / "reference" / "weights"
F = "y ~ x1 + x2 + region + bloc + area"
FB = "z ~ x1 + x2 + region + bloc + area"


def _ref(name: str) -> dict:
    return json.loads((REF / name).read_text())


@pytest.fixture(scope="module")
def sim() -> pd.DataFrame:
    d = pd.read_csv(REF.parent / "ordinal" / "survey_sim.csv")
    d["y"] = pd.Categorical(d["y"], categories=[1, 2, 3, 4], ordered=True)
    return d


def _ordinal_names(res) -> list[str]:
    # R names: thresholds "1|2", ..., treatment dummies "regionMidtjylland", ...
    return [
        "(Intercept)" if n == "Intercept" else n.replace("[T.", "").replace("]", "")
        for n in res.params.index
    ]


def _check(res, ref: dict, est_tol: float, se_tol: float) -> None:
    names = _ordinal_names(res)
    assert names == ref["names"]
    np.testing.assert_allclose(res.params.to_numpy(), ref["estimate"], rtol=est_tol, atol=est_tol)
    np.testing.assert_allclose(res.std_errors.to_numpy(), ref["std_error"], rtol=se_tol)


# svyolr maximises with optim (BFGS, reltol 1e-14): estimates agree to ~2e-8, SEs to ~7e-8
# relative, so 1e-7 / 1e-6. svyglm/glm use IRLS to epsilon 1e-14: agreement to ~1e-12 (the
# vcovCL route to ~2e-10), so 1e-10 / 1e-9.
@pytest.mark.parametrize(
    ("cluster", "fixture"), [(None, "svyolr_ids1"), ("municipality", "svyolr_cluster")]
)
def test_ordinal_sampling_weights_match_svyolr(sim, cluster, fixture):
    res = cm.Ordinal(F, data=sim, weights="weight").fit(cluster=cluster)
    _check(res, _ref(f"{fixture}.json"), 1e-7, 1e-6)
    assert res.cov_type == ("cluster" if cluster else "robust")
    assert "n/(n-1)" in res.cov_label or "G/(G-1)" in res.cov_label


@pytest.mark.parametrize(
    ("cluster", "fixture"),
    [(None, "svyglm_ids1"), ("municipality", "svyglm_cluster"), ("municipality", "glm_vcovCL")],
)
def test_logistic_sampling_weights_match_svyglm(sim, cluster, fixture):
    res = cm.Logistic(FB, data=sim, weights="weight").fit(cluster=cluster)
    _check(res, _ref(f"{fixture}.json"), 1e-10, 1e-9)


def test_zero_weights_leave_nobs_and_fit(sim):
    dz = pd.read_csv(REF / "zero_weight.csv")
    dz["y"] = pd.Categorical(dz["y"], categories=[1, 2, 3, 4], ordered=True)
    res = cm.Ordinal(F, data=dz, weights="weight").fit()
    ref = _ref("svyolr_ids1_zero.json")
    _check(res, ref, 1e-7, 1e-6)
    assert res.nobs == ref["nobs"] == len(dz) - 20
    assert res.n_zero_weight == 20
    assert any("20 rows have weight 0" in n for n in res.summary().notes)


@pytest.mark.parametrize("engine", ["ordinal", "logistic"])
@pytest.mark.parametrize("cluster", [None, "municipality"])
def test_rescaling_sampling_weights_changes_nothing(sim, engine, cluster):
    cls, f = (cm.Ordinal, F) if engine == "ordinal" else (cm.Logistic, FB)
    a = cls(f, data=sim, weights="weight").fit(cluster=cluster)
    b = cls(f, data=sim.assign(weight=sim["weight"] * 1000.0), weights="weight").fit(
        cluster=cluster
    )
    np.testing.assert_allclose(a.params, b.params, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(a.std_errors, b.std_errors, rtol=1e-10)
    assert a.loglik == pytest.approx(b.loglik, rel=1e-10)


def test_frequency_weights_scale_the_errors(sim):
    """Counts are counts: ten times the weights is ten times the data (SE / sqrt(10))."""
    a = cm.Ordinal(F, data=sim, freq_weights="weight").fit()
    b = cm.Ordinal(F, data=sim.assign(weight=sim["weight"] * 10), freq_weights="weight").fit()
    np.testing.assert_allclose(a.params, b.params, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(b.std_errors * np.sqrt(10), a.std_errors, rtol=1e-6)
    assert a.cov_type == "nonrobust" and np.isfinite(a.aic)


def test_sampling_summary_says_pseudo(sim):
    for res in (
        cm.Ordinal(F, data=sim, weights="weight").fit(),
        cm.Logistic(FB, data=sim, weights="weight").fit(),
        cm.Ordinal(F, data=sim).fit(design=cm.SurveyDesign(sim, weights="weight")),
    ):
        s = res.summary()
        assert "Pseudo-log-likelihood" in s.info
        assert "Log-likelihood" not in s.info and "AIC" not in s.info and "BIC" not in s.info
        assert np.isnan(res.aic) and np.isnan(res.bic)
        assert any("pseudo-log-likelihood" in n for n in s.notes)
    s = cm.Ordinal(F, data=sim, weights="weight").fit().summary()
    assert s.info["Weights"] == "weight (sampling weights)"


def test_classifier_sample_weight_scale_free(sim):
    X = sim[["x1", "x2"]].to_numpy()
    y = sim["y"].astype(int).to_numpy()
    w = sim["weight"].to_numpy()
    a = OrdinalClassifier().fit(X, y, sample_weight=w)
    b = OrdinalClassifier().fit(X, y, sample_weight=w * 0.001)
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-9)
    np.testing.assert_allclose(a.thresholds_, b.thresholds_, rtol=1e-9)
    with pytest.raises(ValueError):
        OrdinalClassifier().fit(X, y, sample_weight=np.where(np.arange(len(w)) == 3, np.nan, w))


# -- bad input -----------------------------------------------------------------------------
def test_both_weight_kinds_refused(sim):
    with pytest.raises(SpecificationError, match="both weights='weight' and freq_weights"):
        cm.Ordinal(F, data=sim.assign(n=1), weights="weight", freq_weights="n")


@pytest.mark.parametrize("arg", ["weights", "freq_weights"])
@pytest.mark.parametrize(
    ("value", "match"), [(-1.0, "negative"), (np.nan, "missing"), (np.inf, "infinite")]
)
def test_bad_weight_values(sim, arg, value, match):
    df = sim.copy()
    df.loc[5, "weight"] = value
    with pytest.raises(DataError, match=match):
        cm.Ordinal(F, data=df, **{arg: "weight"})


def test_nonrobust_with_sampling_weights_refused(sim):
    with pytest.raises(SpecificationError, match="freq_weights="):
        cm.Logistic(FB, data=sim, weights="weight").fit(cov_type="nonrobust")


def test_design_with_other_cov_type_refused(sim):
    d = cm.SurveyDesign(sim, weights="weight", cluster="municipality")
    m = cm.Ordinal(F, data=sim)
    for cov in ("robust", "nonrobust", "cluster"):
        with pytest.raises(SpecificationError, match=f"cov_type='{cov}'"):
            m.fit(design=d, cov_type=cov, cluster="municipality" if cov == "cluster" else None)
    assert m.fit(design=d, cov_type="design").cov_type == "design"


def test_proportion_needs_trials_as_freq_weights():
    df = pd.DataFrame({"p": [0.2, 0.5, 0.7, 0.1, 0.9, 0.4], "x": range(6), "n": [5] * 6})
    with pytest.raises(SpecificationError, match=r"freq_weights='n'.*not trials"):
        cm.Logistic("p ~ x", data=df, weights="n")


def test_group_weights_need_random_term(sim):
    with pytest.raises(SpecificationError, match="no \\(1 \\| g\\) term"):
        cm.Ordinal(F, data=sim.assign(w2=1.0), group_weights="w2")


def test_proportional_odds_tests_refuse_pseudo_likelihood(sim):
    res = cm.Ordinal(F, data=sim, weights="weight").fit()
    with pytest.raises(SpecificationError, match="pseudo-likelihood ratio"):
        res.nominal_test()
    with pytest.raises(SpecificationError, match="sampling weights"):
        res.brant_test()
