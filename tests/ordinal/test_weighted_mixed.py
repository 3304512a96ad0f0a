"""Weighted random-intercept models (pseudo-maximum likelihood with respondent and
municipality weights): exact reductions, invariance to rescaling, the group scores behind
the sandwich, summaries, bad input, and (slow) bias and coverage under informative
nonresponse (benchmarks/coverage_weighted_mixed.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import civmodels as cm
from civmodels import _glmm
from civmodels.exceptions import DataError, SpecificationError

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

F = "y ~ x + (1 | municipality)"


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    from coverage_weighted_mixed import simulate

    df = simulate(np.random.default_rng(5), "ordinal")
    # a smaller data set keeps the fast tests fast
    df = df[df["municipality"].isin(np.unique(df["municipality"])[:25])].reset_index(drop=True)
    df["y"] = pd.Categorical(df["y"], categories=[0, 1, 2, 3], ordered=True)
    df["z"] = (df["y"].cat.codes >= 2).astype(int)
    return df


def _model(engine: str, df: pd.DataFrame, **kw):
    if engine == "ordinal":
        return cm.Ordinal(F, data=df, **kw)
    return cm.Logistic(F.replace("y ~", "z ~"), data=df, **kw)


def _fit(engine, df, method, **kw):
    fit_kw = {k: kw.pop(k) for k in ("weight_scaling", "cov_type") if k in kw}
    return _model(engine, df, **kw).fit(
        method=method, n_quad=10 if method == "agq" else 1, **fit_kw
    )


CASES = [(e, m) for e in ("ordinal", "logistic") for m in ("agq", "laplace")]


@pytest.mark.parametrize(("engine", "method"), CASES)
def test_unit_weights_reproduce_unweighted_fit(sample, engine, method):
    df = sample.assign(one=1.0)
    plain = _fit(engine, df, method, cov_type="cluster")
    w = _fit(engine, df, method, weights="one", group_weights="one")
    np.testing.assert_allclose(w.params, plain.params, rtol=0, atol=1e-8)
    np.testing.assert_allclose(w.log_sd, plain.log_sd, rtol=0, atol=1e-8)
    np.testing.assert_allclose(w.std_errors, plain.std_errors, rtol=1e-6)
    assert w.loglik == pytest.approx(plain.loglik, abs=1e-8)
    assert w.cov_type == "cluster" and w.pseudo and not plain.pseudo
    # and the model-based unweighted fit has the same estimates
    mb = _fit(engine, df, method)
    np.testing.assert_allclose(mb.params, plain.params, rtol=0, atol=1e-12)


@pytest.mark.parametrize(("engine", "method"), CASES)
@pytest.mark.parametrize("scaling", ["size", "effective"])
def test_rescaling_weights_changes_nothing(sample, engine, method, scaling):
    a = _fit(engine, sample, method, weights="w1", group_weights="w2", weight_scaling=scaling)
    b = _fit(
        engine,
        sample.assign(w1=sample["w1"] * 7.5, w2=sample["w2"] / 300.0),
        method,
        weights="w1",
        group_weights="w2",
        weight_scaling=scaling,
    )
    np.testing.assert_allclose(a.params, b.params, rtol=0, atol=1e-9)
    np.testing.assert_allclose(a.log_sd, b.log_sd, rtol=0, atol=1e-9)
    np.testing.assert_allclose(a.std_errors, b.std_errors, rtol=1e-8)
    np.testing.assert_allclose(a.log_sd_se, b.log_sd_se, rtol=1e-8)
    assert a.loglik == pytest.approx(b.loglik, rel=1e-10)


def test_scaling_none_is_not_scale_free(sample):
    """Unscaled level-1 weights act as counts inside the integral: the SD estimate moves."""
    a = _fit("ordinal", sample, "agq", weights="w1", weight_scaling="none")
    b = _fit(
        "ordinal", sample.assign(w1=sample["w1"] * 5), "agq", weights="w1", weight_scaling="none"
    )
    assert abs(a.re_sd.iloc[0] - b.re_sd.iloc[0]) > 1e-3
    size = _fit("ordinal", sample, "agq", weights="w1")
    assert abs(size.re_sd.iloc[0] - a.re_sd.iloc[0]) > 1e-4


@pytest.mark.parametrize("method", ["agq", "laplace"])
def test_group_scores_are_group_gradients(sample, method):
    """Each group's score is the gradient of its own term: a one-hot group weight isolates
    that term, whose finite-difference gradient the score must match."""
    m = cm.Ordinal(F, data=sample)
    codes = m.frame.groups["municipality"][0]
    base = dict(
        y=m.frame.y,
        X=m.frame.X,
        tjac=np.eye(3),
        toff=np.zeros(3),
        groups=[codes],
        dist=_glmm.get_dist("logit"),
        w=sample["w1"].to_numpy(),
    )
    q = int(codes.max()) + 1
    phi = np.array([-1.2, 0.4, 2.1, 0.7, np.log(0.6)])
    S = _glmm.group_scores(_glmm.GLMMData(**base), phi, method, 10, None)
    for j in (0, 7, q - 1):
        d = _glmm.GLMMData(**base, w2=np.eye(q)[j])

        def ll(p, d=d):
            if method == "agq":
                return _glmm.agq_loglik(d, p, 10, derivs=0)["loglik"]
            return _glmm.laplace_loglik(d, p, gradient=False)["loglik"]

        h = 1e-6
        num = np.array([(ll(phi + e) - ll(phi - e)) / (2 * h) for e in np.eye(5) * h])
        np.testing.assert_allclose(S[j], num, atol=2e-6)


def test_weighted_summary_is_pseudo(sample):
    res = _fit("ordinal", sample, "agq", weights="w1", group_weights="w2")
    s = res.summary()
    assert "Pseudo-log-likelihood" in s.info and "AIC" not in s.info and "BIC" not in s.info
    assert np.isnan(res.aic) and np.isnan(res.bic)
    assert s.info["Estimation"].startswith("pseudo-maximum likelihood")
    assert s.info["Weights"] == "w1 (sampling weights)"
    assert "w2" in s.info["Group weights"]
    assert any("sandwich with 25 groups" in n for n in s.notes)
    with pytest.raises(ValueError, match="pseudo-likelihood"):
        res.profile_re_sd()


def test_zero_weight_rows_leave_nobs(sample):
    df = sample.assign(w1=np.where(np.arange(len(sample)) % 10 == 0, 0.0, sample["w1"]))
    res = _fit("logistic", df, "laplace", weights="w1")
    assert res.nobs == int((df["w1"] > 0).sum())
    assert res.n_zero_weight == int((df["w1"] == 0).sum())
    assert any("rows have weight 0" in n for n in res.summary().notes)


def test_frequency_weights_stay_counts(sample):
    res = _fit("ordinal", sample.assign(n=2.0), "agq", freq_weights="n")
    assert res.cov_type == "nonrobust" and not res.pseudo and np.isfinite(res.aic)


# -- bad input -----------------------------------------------------------------------------
def test_group_weight_varying_within_municipality_names_it(sample):
    df = sample.copy()
    first = df.index[df["municipality"] == df["municipality"].iloc[0]]
    df.loc[first[0], "w2"] = df.loc[first[0], "w2"] + 1.0
    muni = df["municipality"].iloc[0]
    with pytest.raises(DataError, match=rf"varies within 1 group\(s\) of 'municipality': {muni}"):
        _fit("ordinal", df, "agq", group_weights="w2")


@pytest.mark.parametrize("col", ["w1", "w2"])
@pytest.mark.parametrize(
    ("value", "match"), [(-1.0, "negative"), (np.nan, "missing"), (np.inf, "infinite")]
)
def test_bad_weight_values_at_either_level(sample, col, value, match):
    df = sample.copy()
    df.loc[df["municipality"] == df["municipality"].iloc[0], col] = value
    kw = {"weights": "w1"} if col == "w1" else {"group_weights": "w2"}
    with pytest.raises(DataError, match=match):
        _model("ordinal", df, **kw)


def test_bad_weight_options(sample):
    with pytest.raises(SpecificationError, match="both weights="):
        _model("ordinal", sample, weights="w1", freq_weights="w2")
    with pytest.raises(SpecificationError, match="cov_type='nonrobust' treats"):
        _fit("ordinal", sample, "agq", weights="w1", cov_type="nonrobust")
    with pytest.raises(SpecificationError, match="weight_scaling='total'"):
        _fit("ordinal", sample, "agq", weights="w1", weight_scaling="total")
    with pytest.raises(SpecificationError, match="has none"):
        _fit("ordinal", sample, "agq", weight_scaling="effective")
    two = sample.assign(region=sample["municipality"] % 3)
    m = cm.Ordinal("y ~ x + (1 | municipality) + (1 | region)", data=two, weights="w1")
    with pytest.raises(SpecificationError, match=r"sampling weights.*single random intercept"):
        m.fit(method="laplace")


@pytest.mark.parametrize(
    ("engine", "method", "kw"),
    [
        ("ordinal", "laplace", {"weights": "w1", "group_weights": "w2"}),
        ("logistic", "agq", {"weights": "w1", "group_weights": "w2"}),
        ("ordinal", "agq", {}),
    ],
)
def test_jackknife_equals_refits_without_each_group(sample, engine, method, kw):
    """cov_type="jackknife" against the definition: refit without each municipality,
    V = (G-1)/G sum (est_-j - mean)^2, for thresholds/coefficients and the log SD.
    Observed agreement 2e-4 relative (the refits' own convergence tolerance)."""
    import warnings

    res = _model(engine, sample, **kw).fit(method=method, cov_type="jackknife")
    assert res.cov_type == "jackknife" and res.df_resid == res.n_clusters - 1
    full = np.r_[res.params.to_numpy(), res.log_sd.to_numpy()]
    reps = []
    for g in np.unique(sample["municipality"]):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = _model(engine, sample[sample["municipality"] != g], **kw).fit(method=method)
        reps.append(np.r_[r.params.to_numpy(), r.log_sd.to_numpy()] - full)
    d = np.array(reps)
    G = len(d)
    se = np.sqrt((G - 1) / G * ((d - d.mean(0)) ** 2).sum(0))
    got = np.r_[res.std_errors.to_numpy(), res.log_sd_se.to_numpy()]
    np.testing.assert_allclose(got, se, rtol=1e-3)
    assert "delete-one-group jackknife" in str(res.summary())


def test_jackknife_options_refused(sample):
    two = sample.assign(region=sample["municipality"] % 3)
    m = cm.Ordinal("y ~ x + (1 | municipality) + (1 | region)", data=two)
    with pytest.raises(SpecificationError, match=r"'jackknife' \(variance by group\)"):
        m.fit(method="laplace", cov_type="jackknife")


@pytest.mark.slow
def test_weighted_fit_removes_nonresponse_bias_and_covers():
    """60 data sets of the 'drivers' scenario (the documented study runs 500): the unweighted
    thresholds are biased (about -0.22 in the 500-run study), the weighted ones are not, and
    the weighted intervals cover."""
    from coverage_weighted_mixed import simulate_coverage

    tab, facts = simulate_coverage(60, random_seed=2, method="laplace")
    assert facts["failed_fits"] == 0
    t = tab.set_index(["estimator", "parameter"])
    for thr in ("0|1", "1|2", "2|3"):
        unw, w = t.loc[("unweighted", thr)], t.loc[("weighted", thr)]
        assert unw["bias"] < -0.12 and unw["bias"] < -6 * unw["bias_mcse"]
        assert unw["coverage"] < 0.8
        assert abs(w["bias"]) < 3 * w["bias_mcse"] + 0.03
        assert w["coverage"] >= 0.85  # MC SE about 3 points at 60 data sets
    assert t.loc[("weighted", "x"), "coverage"] >= 0.85
    assert abs(t.loc[("weighted", "x"), "bias"]) < 0.05
