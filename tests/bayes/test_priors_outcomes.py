"""Prior families, threshold priors and binomial outcomes: specification, bad input and the
binomial likelihood (no MCMC here; the fast log density is cheap to evaluate)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from civmodels import bayes
from civmodels.bayes import _fastlogp
from civmodels.bayes._priors import draw_ordered
from civmodels.exceptions import DataError, SpecificationError

F = "y ~ x1 + pressure + (1 | municipality)"


def test_family_not_allowed_lists_allowed(sim444):
    with pytest.raises(SpecificationError, match=r"allowed families: \['laplace', 'normal', "):
        bayes.Ordinal(F, sim444, priors={"x1": bayes.Prior("halfnormal")})
    with pytest.raises(
        SpecificationError,
        match=r"'sd_municipality'.*allowed families: \['exponential', 'halfnormal', "
        r"'halfstudentt', 'lognormal'\]",
    ):
        bayes.Ordinal(F, sim444, priors={"sd": bayes.Prior("normal")})
    with pytest.raises(
        SpecificationError, match=r"allowed families: \['dirichlet', 'normal', 'studentt'\]"
    ):
        bayes.Ordinal(F, sim444, priors={"cutpoints": bayes.Prior("laplace")})


def test_threshold_prior_checks(sim444):
    with pytest.raises(SpecificationError, match="not strictly increasing"):
        bayes.Ordinal(F, sim444, priors={"cutpoints": bayes.Prior("normal", mu=[0.0, 1.0, 1.0])})
    with pytest.raises(SpecificationError, match="one value per threshold \\(3\\)"):
        bayes.Ordinal(F, sim444, priors={"cutpoints": bayes.Prior("normal", mu=[0.0, 1.0])})
    with pytest.raises(SpecificationError, match="one value per threshold"):
        bayes.Ordinal(F, sim444, priors={"cutpoints": bayes.Prior("studentt", sigma=[1.0, 2.0])})
    with pytest.raises(SpecificationError, match="one value per outcome category"):
        bayes.Ordinal(F, sim444, priors={"cutpoints": bayes.Prior("dirichlet", alpha=[1, 2])})


def test_normal_threshold_prior_draws_are_ordered(sim444):
    m = bayes.Ordinal(F, sim444, priors={"cutpoints": bayes.Prior("normal", sigma=5.0)})
    pri = m.prior_predictive(draws=400, random_seed=1)
    cut = pri.prior["cutpoints"].values[0]
    assert np.all(np.diff(cut, axis=1) > 0)
    rng = np.random.default_rng(2)
    d = draw_ordered(bayes.Prior("normal", mu=[-1.0, 0.0, 1.0], sigma=0.5), 3, rng, 2000)
    assert d.shape == (2000, 3) and np.all(np.diff(d, axis=1) > 0)
    # rejection keeps the truncated normal: the middle cutpoint stays centred on 0
    assert abs(d[:, 1].mean()) < 0.05


def test_laplace_prior_draws():
    p = bayes.Prior("laplace", mu=1.0, sigma=2.0)
    x = p.draw(np.random.default_rng(0), (20000,))
    assert np.median(x) == pytest.approx(1.0, abs=0.06)
    assert np.mean(np.abs(x - 1.0)) == pytest.approx(2.0, rel=0.03)  # E|X - mu| = b


def cells(sim444: pd.DataFrame) -> pd.DataFrame:
    return (
        sim444.groupby(["municipality", "pressure"], observed=True)
        .agg(k=("yes", "sum"), n=("yes", "size"))
        .reset_index()
        .assign(f=lambda d: d["n"] - d["k"])
    )


@pytest.mark.parametrize("link", ["logit", "probit", "cloglog"])
def test_binomial_counts_equal_bernoulli_rows(sim444, link):
    """Aggregated counts and the expanded 0/1 rows have the same likelihood up to a constant.

    (No fixed predictors: their default prior scale and centring depend on the rows, so the
    two parameterisations would differ.)"""
    agg = cells(sim444)
    rows = bayes.Logistic("yes ~ 1 + (1 | municipality)", sim444, link=link)
    forms = [
        bayes.Logistic("cbind(k, n - k) ~ 1 + (1 | municipality)", agg, link=link),
        bayes.Logistic("cbind(k, f) ~ 1 + (1 | municipality)", agg, link=link),
        bayes.Logistic("k ~ 1 + (1 | municipality)", agg, trials="n", link=link),
    ]
    f_rows = _fastlogp.FastModel(rows)
    rng = np.random.default_rng(3)
    xs = rng.normal(0, 0.6, (3, f_rows.n_dim))
    ref = [f_rows.logp_dlogp(x) for x in xs]
    for m in forms:
        assert m.binomial and m.nobs == len(agg)
        fm = _fastlogp.FastModel(m)
        assert fm.n_dim == f_rows.n_dim
        got = [fm.logp_dlogp(x) for x in xs]
        np.testing.assert_allclose(
            [g[0] - got[0][0] for g in got], [r[0] - ref[0][0] for r in ref], rtol=1e-10, atol=1e-8
        )
        for (_, g1), (_, g2) in zip(got, ref, strict=True):
            np.testing.assert_allclose(g1, g2, rtol=1e-9, atol=1e-8)


def test_binomial_pointwise_loglik_is_the_binomial_pmf(sim444):
    from scipy import stats

    agg = cells(sim444)
    m = bayes.Logistic("cbind(k, n - k) ~ pressure + (1 | municipality)", agg)
    eta = np.random.default_rng(0).normal(size=(2, len(agg)))
    post = {"coef": np.zeros((2, 1)), "Intercept": np.zeros(2)}
    post["re_municipality"] = np.zeros((2, len(m.group_levels["municipality"])))
    ll = m.pointwise_loglik(post)
    p = np.full((2, len(agg)), 0.5)
    np.testing.assert_allclose(ll, stats.binom.logpmf(agg["k"].to_numpy(), agg["n"].to_numpy(), p))
    from civmodels.bayes._numeric import binary_loglik

    ll2 = binary_loglik(eta, m.y, "probit", m.trials)
    p2 = stats.norm.cdf(eta)
    np.testing.assert_allclose(ll2, stats.binom.logpmf(m.y, m.trials.astype(int), p2), rtol=1e-10)


def test_binomial_bad_input(sim444):
    agg = cells(sim444)
    i = agg.index[agg["k"] >= 2][0]
    few = agg.copy()
    few.loc[i, "n"] = few.loc[i, "k"] - 1
    with pytest.raises(DataError, match=r"successes 'k' exceed trials \(n\) in 1 rows"):
        bayes.Logistic("k ~ pressure", few, trials="n")
    none = agg.copy()
    none.loc[i, ["k", "n"]] = 0
    with pytest.raises(DataError, match=r"trials \(n\) must be at least 1"):
        bayes.Logistic("k ~ pressure", none, trials="n")
    bad = agg.assign(n=agg["n"].astype(float))
    bad.loc[2, "n"] = 2.5
    with pytest.raises(DataError, match=r"trials column 'n' must hold non-negative whole numbers"):
        bayes.Logistic("k ~ pressure", bad, trials="n")
    bad2 = agg.assign(k=agg["k"].astype(float))
    bad2.loc[0, "k"] = 0.5
    with pytest.raises(DataError, match=r"successes column 'k'"):
        bayes.Logistic("cbind(k, n - k) ~ pressure", bad2)
    with pytest.raises(SpecificationError, match="not both"):
        bayes.Logistic("cbind(k, n - k) ~ pressure", agg, trials="n")
    with pytest.raises(SpecificationError, match="trials - k"):
        bayes.Logistic("cbind(k, n - f) ~ pressure", agg)
    with pytest.raises(DataError, match="whole numbers"):
        bayes.Logistic("k ~ pressure", agg.assign(n="many"), trials="n")


def test_binomial_all_failures_names_the_column(sim444):
    agg = cells(sim444).assign(k=0)
    with pytest.raises(DataError, match=r"outcome 'k' has only one observed category"):
        bayes.Logistic("cbind(k, n - k) ~ pressure", agg)


def test_binomial_missing_rows_are_counted(sim444):
    agg = cells(sim444).astype({"n": float})
    agg.loc[[0, 5], "n"] = np.nan
    m = bayes.Logistic("k ~ pressure + (1 | municipality)", agg, trials="n")
    assert m.n_dropped == 2 and m.nobs == len(agg) - 2


@pytest.mark.slow
@pytest.mark.bayes
def test_binomial_fit_agrees_with_glmer():
    """cbpp: cbind(incidence, size - incidence) ~ period + (1 | herd) against lme4::glmer
    (nAGQ = 25, tests/reference/mixed/cbpp_agq25.json), with wide priors."""
    import json
    import warnings
    from pathlib import Path

    ref_dir = Path(__file__).resolve().parents[1] / "reference" / "mixed"
    ref = json.loads((ref_dir / "cbpp_agq25.json").read_text(encoding="utf-8"))
    df = pd.read_csv(ref_dir / "cbpp.csv").astype({"herd": str, "period": str})
    m = bayes.Logistic(
        "cbind(incidence, size - incidence) ~ period + (1 | herd)",
        df,
        priors={
            "coef": bayes.Prior("normal", sigma=10.0),
            "Intercept": bayes.Prior("normal", sigma=10.0),
        },
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = m.fit(draws=1000, tune=1000, chains=2, random_seed=3)
    assert res.sampler == "nutpie" and res.diagnostics.n_divergent < 20
    names = {"(Intercept)": "Intercept", **{f"period{j}": f"period[T.{j}]" for j in (2, 3, 4)}}
    for r_name, c_name in names.items():
        se = ref["se"][r_name]
        # posterior means within a third of an ML standard error; SDs within 30%
        assert abs(res.params[c_name] - ref["coef"][r_name]) < 0.35 * se, c_name
        assert res.std_errors[c_name] == pytest.approx(se, rel=0.3), c_name
    # the herd SD: posterior mean above the ML mode (right skew) but of the same size
    assert 0.5 * ref["re_sd"]["herd"] < res.re_sd["herd"] < 1.6 * ref["re_sd"]["herd"]


# -- weights ----------------------------------------------------------------------------------
def test_freq_weights_are_counts_of_identical_rows():
    """Individual rows aggregated to (pattern, count) and fitted with freq_weights= give the
    same likelihood data as the individual rows (as a multiset), and the same posterior
    within Monte Carlo error."""
    rng = np.random.default_rng(8)
    n = 300
    ind = pd.DataFrame(
        {
            "x": rng.integers(0, 3, n).astype(float),
            "g": rng.choice(list("abcdef"), n),
        }
    )
    ind["y"] = rng.random(n) < 1 / (1 + np.exp(-(-0.3 + 0.7 * ind["x"])))
    agg = ind.groupby(["x", "g", "y"]).size().rename("n").reset_index()
    agg = pd.concat([agg, agg.head(1).assign(n=0)], ignore_index=True)  # a zero count
    with pytest.warns(UserWarning, match="1 rows have freq_weights 0"):
        m_agg = bayes.Logistic("y ~ x + (1 | g)", data=agg, freq_weights="n")
    m_ind = bayes.Logistic("y ~ x + (1 | g)", data=ind)
    key = lambda m: sorted(  # noqa: E731
        zip(m.y.tolist(), m.frame.X[:, 1].tolist(), m.groups[0].codes.tolist(), strict=True)
    )
    assert m_agg.frame.nobs == n and key(m_agg) == key(m_ind)
    kw = {"draws": 500, "tune": 500, "chains": 2, "random_seed": 3}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a, b = m_agg.fit(**kw), m_ind.fit(**kw)
    diff = (a.params - b.params).abs()
    assert (diff < 4 * np.sqrt(2) * b.std_errors / np.sqrt(300)).all()


def test_weights_are_refused_with_the_alternatives():
    df = pd.DataFrame({"y": [0, 1, 1, 0], "x": [1.0, 2.0, 3.0, 4.0], "w": [1.0, 2.5, 1, 1]})
    with pytest.raises(SpecificationError, match=r"no sampling weights.*poststratify"):
        bayes.Logistic("y ~ x", data=df, weights="w")
    with pytest.raises(DataError, match=r"whole numbers >= 0.*2\.5"):
        bayes.Logistic("y ~ x", data=df, freq_weights="w")
    with pytest.raises(DataError, match="whole numbers"):
        bayes.Ordinal("y ~ x", data=df.assign(w=[1, -1, 1, 1]), freq_weights="w")
