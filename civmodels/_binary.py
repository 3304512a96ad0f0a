"""Array-level binary regression: log-likelihood, score and information (NumPy/SciPy only).

``P(Y_i = 1 | x_i) = F(x_i' beta)`` with ``F`` the inverse link; the outcome may be 0/1 or a
proportion of successes with the number of trials in the weights (R ``glm`` convention).
"""

from __future__ import annotations

import numpy as np
from scipy import special

from ._links import Link

__all__ = ["binary_derivatives", "binomial_constant", "start_values"]

Array = np.ndarray


def _log_cdf_and_sf(link: Link, eta: Array) -> tuple[Array, Array]:
    """``log F(eta)`` and ``log(1 - F(eta))`` without cancellation in the tails."""
    if link.name == "logit":
        return -np.logaddexp(0.0, -eta), -np.logaddexp(0.0, eta)
    if link.name == "probit":
        return special.log_ndtr(eta), special.log_ndtr(-eta)
    if link.name == "cloglog":
        e = np.exp(np.minimum(eta, 700.0))
        return np.log(-np.expm1(-e)), -e
    if link.name == "loglog":
        e = np.exp(np.minimum(-eta, 700.0))
        return -e, np.log(-np.expm1(-e))
    F = link.cdf(eta)
    S = link.cdf(-eta)  # cauchit is symmetric
    return np.log(F), np.log(S)


def binary_derivatives(
    beta: Array,
    X: Array,
    y: Array,
    w: Array,
    link: Link,
    *,
    offset: Array | None = None,
    scores: bool = False,
    observed: bool = False,
) -> dict[str, Array | float]:
    """Kernel log-likelihood, gradient, expected and observed information.

    Returns
    -------
    dict
        ``loglik`` (without the binomial coefficient), ``grad``, ``hess`` (minus the
        *expected* information, used for Fisher-scoring steps and, as R ``glm``, for the
        standard errors), ``mu``; if requested ``scores`` (n x k, weighted) and
        ``obs_hess`` (observed Hessian).
    """
    eta = X @ beta
    if offset is not None:
        eta = eta + offset
    lF, lS = _log_cdf_and_sf(link, eta)
    ll = float(w @ (y * lF + (1.0 - y) * lS))
    if not np.isfinite(ll):
        return {"loglik": -np.inf}
    mu = np.exp(lF)
    v = np.exp(lF + lS)  # mu (1 - mu), accurate in both tails
    f = link.pdf(eta)
    v = np.maximum(v, 1e-300)
    r = f / v
    u = w * (y - mu) * r  # d l / d eta
    grad = X.T @ u
    winfo = w * f * r  # expected information weights f^2 / (mu (1 - mu))
    hess = -(X * winfo[:, None]).T @ X
    out: dict[str, Array | float] = {"loglik": ll, "grad": grad, "hess": hess, "mu": mu}
    if observed:
        # d2 l / d eta2 = -f^2/v + (y - mu) d(f/v)/d eta
        dr = link.dpdf(eta) / v - r * r * (1.0 - 2.0 * mu)
        wobs = w * (-f * r + (y - mu) * dr)
        out["obs_hess"] = (X * wobs[:, None]).T @ X
    if scores:
        out["scores"] = X * u[:, None]
    return out


def binomial_constant(y: Array, trials: Array) -> float:
    """``sum log C(m, m y)``: the part of R's binomial ``logLik`` free of the parameters."""
    k = np.round(trials * y)
    m = np.round(trials)
    return float(
        np.sum(special.gammaln(m + 1) - special.gammaln(k + 1) - special.gammaln(m - k + 1))
    )


def start_values(X: Array, y: Array, w: Array, link: Link, has_intercept: bool) -> Array:
    """Zero slopes, intercept at the link of the weighted mean."""
    beta = np.zeros(X.shape[1])
    if has_intercept:
        p = float(np.clip((w @ y) / w.sum(), 1e-4, 1 - 1e-4))
        beta[0] = float(link.ppf(np.array(p)))
    return beta
