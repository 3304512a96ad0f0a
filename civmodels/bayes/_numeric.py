"""NumPy numerics on posterior draws: cutpoint maps, category probabilities, log-likelihoods.

Draw arrays are flattened to ``(S, ...)`` with ``S = chains * draws``. Nothing here imports
PyMC, so predictions, poststratification and prior predictive draws cost no compilation.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from .._links import get_link


def cut_from_raw(raw: np.ndarray) -> np.ndarray:
    """Ordered cutpoints from the raw scale: ``c_1 = r_1``, ``c_k = c_{k-1} + exp(r_k)``."""
    raw = np.asarray(raw, float)
    if raw.shape[-1] == 1:
        return raw.copy()
    inc = np.concatenate([raw[..., :1], np.exp(raw[..., 1:])], axis=-1)
    return np.cumsum(inc, axis=-1)


def cumprobs(cut: np.ndarray, eta: np.ndarray, link: str) -> np.ndarray:
    """P(Y <= k) for k < K-1: ``F(cut_k - eta)``; cut (S, C), eta (S, n) -> (S, n, C)."""
    return get_link(link).cdf(cut[:, None, :] - eta[:, :, None])


def catprobs(cut: np.ndarray, eta: np.ndarray, link: str) -> np.ndarray:
    """Category probabilities (S, n, K) from cutpoints (S, K-1) and linear predictors (S, n)."""
    cum = cumprobs(cut, eta, link)
    s, n, _ = cum.shape
    full = np.concatenate([np.zeros((s, n, 1)), cum, np.ones((s, n, 1))], axis=-1)
    return np.clip(np.diff(full, axis=-1), 0.0, 1.0)


def ordinal_loglik(cut: np.ndarray, eta: np.ndarray, y: np.ndarray, link: str) -> np.ndarray:
    """Pointwise log P(Y = y_i) for every draw: cut (S, C) or (S, n, C), eta (S, n) -> (S, n)."""
    s, n = eta.shape
    if cut.ndim == 2:
        cut = np.broadcast_to(cut[:, None, :], (s, n, cut.shape[-1]))
    big = np.full((s, n, 1), np.inf)
    ext = np.concatenate([-big, cut, big], axis=-1)
    idx = np.broadcast_to(y[None, :, None], (s, n, 1))
    hi = np.take_along_axis(ext, idx + 1, axis=-1)[..., 0] - eta
    lo = np.take_along_axis(ext, idx, axis=-1)[..., 0] - eta
    if link == "logit":
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            out = (
                -np.logaddexp(0.0, -hi)
                - np.logaddexp(0.0, lo)
                + np.log(-np.expm1(np.where(np.isinf(hi) | np.isinf(lo), -np.inf, lo - hi)))
            )
        return out
    F = get_link(link).cdf
    return np.log(np.maximum(F(hi) - F(lo), 1e-300))


def binary_loglik(eta: np.ndarray, y: np.ndarray, link: str) -> np.ndarray:
    """Pointwise Bernoulli log-likelihood (S, n)."""
    if link == "logit":
        sign = 2.0 * y[None, :] - 1.0
        return -np.logaddexp(0.0, -sign * eta)
    p = np.clip(get_link(link).cdf(eta), 1e-300, 1 - 1e-16)
    return np.where(y[None, :] == 1, np.log(p), np.log1p(-p))


def draw_cutpoints_prior(
    alpha: np.ndarray, link: str, rng: np.random.Generator, size: int
) -> np.ndarray:
    """Cutpoints from the induced-Dirichlet prior: ``c = F^{-1}(cumsum(p))``, p ~ Dirichlet."""
    p = rng.dirichlet(alpha, size)
    cum = np.clip(np.cumsum(p, axis=-1)[:, :-1], 1e-12, 1 - 1e-12)
    return get_link(link).ppf(cum)


def expit(x: np.ndarray) -> np.ndarray:
    """Logistic function."""
    return special.expit(x)
