"""Array-level checks of the mixed-model engine (civmodels._glmm).

* the AGQ marginal log-likelihood against brute-force numerical integration (scipy quad),
* analytic gradients (Laplace incl. the log-determinant term, one and two factors; AGQ)
  and the AGQ Hessian against central finite differences,
* the Laplace approximation as the one-node limit of adaptive quadrature.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import integrate

from civmodels import _glmm as G
from civmodels.formula import ModelFrame

REF = Path(__file__).resolve().parent / "reference" / "mixed"


def _wine_data(link: str = "logit", two: bool = False) -> G.GLMMData:
    wine = pd.read_csv(REF / "wine.csv")
    wine["rating"] = pd.Categorical(wine["rating"], ordered=True)
    f = "rating ~ temp + contact + (1 | judge)" + (" + (1 | bottle)" if two else "")
    mf = ModelFrame(f, wine, outcome="ordinal", intercept=False)
    return G.GLMMData(
        y=mf.y,
        X=mf.X,
        tjac=np.eye(4),
        toff=np.zeros(4),
        groups=[c for c, _ in mf.groups.values()],
        dist=G.get_dist(link),
    )


PHI1 = np.array([-1.5, 1.4, 4.1, 6.0, 3.0, 1.8, 0.1])
PHI2 = np.array([-1.5, 1.4, 4.1, 6.0, 3.0, 1.8, 0.1, -0.7])


def _brute_loglik(d: G.GLMMData, phi: np.ndarray) -> float:
    """sum_g log integral prod_i p(y_i | b) phi(b) db by adaptive quadrature (QUADPACK)."""
    alpha, beta, sigma = d.split(phi)
    tu, tl = d.cuts(alpha)
    xb = d.X @ beta
    g = d.groups[0]
    total = 0.0
    for lev in range(d.q):
        idx = np.flatnonzero(g == lev)

        def f(b, idx=idx):
            s = xb[idx] + sigma[0] * b
            up, lo = d.up[idx], d.lo[idx]
            Fu = np.where(up, d.dist.cdf(tu[idx] - s), 1.0)
            Fl = np.where(lo, d.dist.cdf(tl[idx] - s), 0.0)
            with np.errstate(divide="ignore"):  # far tails underflow to 0: integrand 0
                logp = np.sum(d.w[idx] * np.log(Fu - Fl))
            return np.exp(logp - 0.5 * b * b) / np.sqrt(2 * np.pi)

        val, _ = integrate.quad(f, -12, 12, epsabs=0, epsrel=1e-12, limit=200)
        total += np.log(val)
    return total


@pytest.mark.parametrize("link", ["logit", "probit", "cloglog"])
def test_agq_matches_brute_force_integration(link):
    d = _wine_data(link)
    exact = _brute_loglik(d, PHI1)
    # 20 adaptive nodes are exact to rounding for these smooth integrands
    assert G.agq_loglik(d, PHI1, 20, derivs=0)["loglik"] == pytest.approx(exact, rel=1e-10)
    # 10 nodes (the default): error ~1e-8 (cloglog, skewed) or less, far below 1e-4
    assert G.agq_loglik(d, PHI1, 10, derivs=0)["loglik"] == pytest.approx(exact, rel=1e-7)
    # the Laplace approximation is close but not exact
    lap = G.laplace_loglik(d, PHI1, gradient=False)["loglik"]
    assert abs(lap - exact) > 1e-6
    assert lap == pytest.approx(exact, rel=1e-2)


def test_laplace_is_one_node_agq():
    d = _wine_data()
    lap = G.laplace_loglik(d, PHI1, gradient=False)["loglik"]
    assert G.agq_loglik(d, PHI1, 1, derivs=0)["loglik"] == pytest.approx(lap, rel=1e-12)


def _fd_grad(fun, x, h=1e-6):
    out = np.empty_like(x)
    for j in range(len(x)):
        e = np.zeros_like(x)
        e[j] = h
        out[j] = (fun(x + e) - fun(x - e)) / (2 * h)
    return out


@pytest.mark.parametrize("link", ["logit", "probit", "cloglog", "loglog", "cauchit"])
@pytest.mark.parametrize("two", [False, True])
def test_laplace_gradient_is_exact(link, two):
    d = _wine_data(link, two)
    phi = PHI2 if two else PHI1
    grad = G.laplace_loglik(d, phi)["grad"]
    fd = _fd_grad(lambda x: G.laplace_loglik(d, x, gradient=False)["loglik"], phi)
    # central differences of a function computed to ~1e-13: error ~1e-8
    np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("link", ["logit", "probit", "loglog"])
def test_agq_gradient_and_hessian(link):
    d = _wine_data(link)
    out = G.agq_loglik(d, PHI1, 10)
    fd = _fd_grad(lambda x: G.agq_loglik(d, x, 10, derivs=0)["loglik"], PHI1)
    # the gradient holds the adaptive nodes fixed; the total derivative differs by the
    # derivative of the quadrature error, ~1e-7 here
    np.testing.assert_allclose(out["grad"], fd, rtol=1e-5, atol=1e-5)
    H = G.numerical_jacobian(lambda x: G.agq_loglik(d, x, 10)["grad"], PHI1)
    # the analytic Hessian holds the nodes fixed: it differs from the total second
    # derivative by the derivative of the quadrature error (~1e-7 relative for logit and
    # probit, ~5e-4 for the skewed loglog with 10 nodes)
    np.testing.assert_allclose(out["hess"], H, rtol=1e-3, atol=1e-3)


def test_agq_rejects_two_factors():
    d = _wine_data(two=True)
    with pytest.raises(ValueError, match="one grouping factor"):
        G.agq_loglik(d, PHI2, 10)


def test_density_derivatives():
    x = np.linspace(-4, 4, 41)
    for name in ["logit", "probit", "cloglog", "loglog", "cauchit"]:
        dist = G.get_dist(name)
        F, S, f, df, d2f = dist.evaluate(x, 3)
        np.testing.assert_allclose(F + S, 1.0, rtol=1e-12)
        h = 1e-5
        np.testing.assert_allclose(f, (dist.cdf(x + h) - dist.cdf(x - h)) / (2 * h), atol=1e-8)
        np.testing.assert_allclose(df, (dist.pdf(x + h) - dist.pdf(x - h)) / (2 * h), atol=1e-8)
        np.testing.assert_allclose(d2f, (dist.dpdf(x + h) - dist.dpdf(x - h)) / (2 * h), atol=1e-7)


def test_reflected_links():
    x = np.linspace(-3, 3, 13)
    for name in ["logit", "probit", "cloglog", "loglog", "cauchit"]:
        link = G.get_dist(name)
        refl = G.get_dist(name, reflect=True)
        np.testing.assert_allclose(refl.cdf(x), 1 - link.cdf(-x), atol=1e-14)


def test_backtrack_takes_the_quadratic_maximum_within_bounds():
    # f(t) = f0 + s t - c t^2 is maximal at s / (2c); the trial at t failed
    f0, s = -100.0, 4.0
    for c, t, want in [(10.0, 1.0, 0.2), (2.0, 1.0, 0.5), (100.0, 1.0, 0.1), (10.0, 0.5, 0.2)]:
        ft = f0 + s * t - c * t * t
        assert G._backtrack(t, s, f0, ft) == pytest.approx(want)
    # no usable value or no ascent: halve
    assert G._backtrack(0.5, s, f0, None) == 0.25
    assert G._backtrack(0.5, s, f0, float("nan")) == 0.25
    assert G._backtrack(0.5, -1.0, f0, f0 - 1.0) == 0.25
