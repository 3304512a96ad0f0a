"""Binary and binomial mixed models against R lme4::glmer (fixtures in tests/reference/mixed).

The glmer fixtures were made with a tight PIRLS tolerance (``tolPwrss = 1e-10``); with lme4's
default the Laplace logLik of cbpp moves by 3e-4 because the log-determinant is evaluated at
an inexact mode. For ``nAGQ > 1`` lme4 reports logLik on a different scale (it drops the
saturated binomial term), so the fixtures also store the full binomial marginal
log-likelihood at R's estimates, computed in R by numerical integration (``loglik_full``),
which is what civmodels reports (as R's logLik for ``nAGQ = 1``).

Tolerances: estimates and SD 1e-5 relative (both sides converge tightly), log-likelihood
1e-8 relative, SEs 1e-3 (lme4's vcov comes from a finite-difference Hessian).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import civmodels as cm
from civmodels.exceptions import SpecificationError

REF = Path(__file__).resolve().parents[1] / "reference" / "mixed"


def _ref(case: str) -> dict:
    return json.loads((REF / f"{case}.json").read_text())


@pytest.fixture(scope="module")
def cbpp() -> pd.DataFrame:
    df = pd.read_csv(REF / "cbpp.csv")
    df["period"] = df["period"].astype(str)
    df["prop"] = df["incidence"] / df["size"]
    return df


@pytest.fixture(scope="module")
def sim444() -> pd.DataFrame:
    df = pd.read_csv(REF / "sim444.csv")
    df["high"] = (df["y"] >= 3).astype(int)
    df["bloc"] = pd.Categorical(df["bloc"], categories=["blue", "red"])
    return df


SIM = "high ~ log_pop + pressure + region + bloc + area + (1 | municipality)"
CASES = [
    ("cbpp_laplace", "cbpp", "prop ~ period + (1 | herd)", "size", "laplace", 10),
    ("cbpp_agq25", "cbpp", "prop ~ period + (1 | herd)", "size", "agq", 25),
    ("sim444_binary_laplace", "sim444", SIM, None, "laplace", 10),
    ("sim444_binary_agq10", "sim444", SIM, None, "agq", 10),
]


@pytest.fixture(scope="module")
def fits(cbpp, sim444):
    data = {"cbpp": cbpp, "sim444": sim444}
    return {
        case: cm.Logistic(f, data=data[dn], freq_weights=w).fit(method=m, n_quad=q)
        for case, dn, f, w, m, q in CASES
    }


@pytest.mark.parametrize("case", [c[0] for c in CASES])
def test_against_glmer(fits, case):
    res = fits[case]
    ref = _ref(case)
    assert res.converged
    np.testing.assert_allclose(res.params.to_numpy(), list(ref["coef"].values()), rtol=1e-5)
    np.testing.assert_allclose(res.std_errors.to_numpy(), list(ref["se"].values()), rtol=1e-3)
    ((g, sd),) = ref["re_sd"].items()
    assert res.re_sd[g] == pytest.approx(sd, rel=1e-5)
    if ref["nAGQ"] == 1:
        # the Laplace approximation, as lme4 reports it
        assert res.loglik == pytest.approx(ref["loglik_lme4"], rel=1e-8)
    else:
        # quadrature: the exact integral (R integrate()) at R's estimates
        assert res.loglik == pytest.approx(ref["loglik_full"], rel=1e-8)
    modes = res.conditional_modes().loc[g]
    np.testing.assert_allclose(modes["mode"], list(ref["modes"][g].values()), atol=1e-5)
    np.testing.assert_allclose(modes["cond_var"], ref["cond_var"][g], rtol=1e-4)


def test_binomial_equals_expanded_bernoulli(cbpp):
    """cbind(k, n - k) with weights = n is the same model as one 0/1 row per trial."""
    rows = []
    for _, r in cbpp.iterrows():
        rows += [{"herd": r.herd, "period": r.period, "y": 1}] * int(r.incidence)
        rows += [{"herd": r.herd, "period": r.period, "y": 0}] * int(r["size"] - r.incidence)
    long = pd.DataFrame(rows)
    binom = cm.Logistic("prop ~ period + (1 | herd)", data=cbpp, freq_weights="size").fit(
        method="agq", n_quad=15
    )
    bern = cm.Logistic("y ~ period + (1 | herd)", data=long).fit(method="agq", n_quad=15)
    np.testing.assert_allclose(binom.params, bern.params, rtol=1e-7)
    assert binom.re_sd["herd"] == pytest.approx(bern.re_sd["herd"], rel=1e-7)
    np.testing.assert_allclose(binom.std_errors, bern.std_errors, rtol=1e-6)
    # the log-likelihoods differ exactly by the binomial coefficients
    from scipy.special import gammaln

    n, k = cbpp["size"].to_numpy(), cbpp["incidence"].to_numpy()
    const = np.sum(gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1))
    assert binom.loglik - bern.loglik == pytest.approx(const, rel=1e-10)


def test_contract_and_predictions(fits, sim444):
    res = fits["sim444_binary_agq10"]
    assert res.params.index[0] == "Intercept"
    assert res.coef.equals(res.params.rename("coef"))
    s = res.summary(odds_ratios=True)
    assert set(s.blocks) == {"Coefficients", "Random effects"}
    assert "odds_ratio" in s.blocks["Coefficients"]
    p = res.predict()
    assert p.between(0, 1).all() and len(p) == 444
    lin = res.predict(kind="linear")
    np.testing.assert_allclose(p, 1 / (1 + np.exp(-lin)))
    marg = res.predict(conditional=False)
    # marginal probabilities are pulled towards 1/2 relative to u = 0 predictions
    zero = 1 / (1 + np.exp(-res.predict(kind="linear", conditional=False)))
    assert ((marg - 0.5).abs() <= (zero - 0.5).abs() + 1e-12).all()
    v = res.re_sd.iloc[0] ** 2
    assert res.icc.iloc[0] == pytest.approx(v / (v + np.pi**2 / 3))
    with pytest.raises(ValueError, match="kind"):
        res.predict(kind="cumprob")


def test_probit_and_cloglog_run(sim444):
    for link in ("probit", "cloglog"):
        lap = cm.Logistic(SIM, data=sim444, link=link).fit()
        agq = cm.Logistic(SIM, data=sim444, link=link).fit(method="agq", n_quad=15)
        assert lap.converged and agq.converged
        # Laplace and AGQ agree closely for Bernoulli data with ~4.5 rows per group
        np.testing.assert_allclose(lap.params, agq.params, atol=0.05)


def test_bad_input(sim444):
    with pytest.raises(SpecificationError, match="single random intercept"):
        cm.Logistic("high ~ log_pop + (1 | municipality) + (1 | area)", data=sim444).fit(
            method="agq", n_quad=5
        )
    with pytest.raises(SpecificationError, match="cov_type"):
        cm.Logistic(SIM, data=sim444).fit(cov_type="robust")
