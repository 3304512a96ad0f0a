"""NumPy numerics on posterior draws: cutpoint maps, category probabilities, log-likelihoods.

Draw arrays are flattened to ``(S, ...)`` with ``S = chains * draws``. Nothing here imports
PyMC, so predictions, poststratification and prior predictive draws cost no compilation.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from .._links import get_link


def coef_groups(priors) -> tuple[list[int], list[int], list[int]]:
    """Indices of the coefficients with normal, Student-t and Laplace priors."""
    kinds = [p.dist for p in priors]
    return (
        [i for i, d in enumerate(kinds) if d == "normal"],
        [i for i, d in enumerate(kinds) if d == "studentt"],
        [i for i, d in enumerate(kinds) if d == "laplace"],
    )


def coef_from_raw(raw, priors, prefix: str = "coef") -> np.ndarray:
    """Coefficients ``mu + sigma * z`` (S, k) from the non-centred raw draws.

    ``raw[prefix + "_raw"]``, ``raw[prefix + "_raw_t"]`` and ``raw[prefix + "_raw_l"]`` hold the
    standard normal, Student-t and Laplace parts (see :func:`coef_groups`).
    """
    k = len(priors)
    S = next(iter(raw.values())).shape[0]
    if k == 0:
        return np.zeros((S, 0))
    mu = np.array([float(p.params["mu"]) for p in priors])
    sigma = np.array([float(p.params["sigma"]) for p in priors])
    z = np.zeros((S, k))
    for idx, suffix in zip(coef_groups(priors), ("_raw", "_raw_t", "_raw_l"), strict=True):
        if idx:
            z[:, idx] = np.asarray(raw[prefix + suffix]).reshape(S, len(idx))
    return mu + sigma * z


def cut_from_raw(raw: np.ndarray) -> np.ndarray:
    """Ordered cutpoints from the raw scale: ``c_1 = r_1``, ``c_k = c_{k-1} + exp(r_k)``."""
    raw = np.asarray(raw, float)
    if raw.shape[-1] == 1:
        return raw.copy()
    inc = np.concatenate([raw[..., :1], np.exp(raw[..., 1:])], axis=-1)
    return np.cumsum(inc, axis=-1)


def helmert(n: int) -> np.ndarray:
    """Orthonormal Helmert basis (n, n): column 0 is ``1 / sqrt(n)``; column ``i`` contrasts
    level ``i`` with levels ``0 .. i - 1``. ``u = Q @ w`` maps independent ``w ~ N(0, s^2)``
    to independent ``u ~ N(0, s^2)`` with the overall mean in ``w[0]`` alone."""
    Q = np.zeros((n, n))
    Q[:, 0] = 1.0 / np.sqrt(n)
    for i in range(1, n):
        Q[:i, i] = 1.0
        Q[i, i] = -float(i)
        Q[:, i] /= np.sqrt(i * (i + 1.0))
    return Q


def anchored_to_raw(free: np.ndarray, anchor: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """Battery cutpoints from the sampled anchored form to the first-cutpoint form.

    ``free[..., j, 0]`` is cutpoint ``anchor[j]`` of item j minus ``shift[..., j]``, and
    ``free[..., j, l]`` (l >= 1) the log gap between cutpoints ``l - 1`` and ``l``; the result
    holds the first cutpoint in place of the anchored one (the layout of
    :func:`cut_from_raw`), shift included.
    """
    free = np.asarray(free, float)
    out = free.copy()
    for j, a in enumerate(np.asarray(anchor, int)):
        below = np.exp(free[..., j, 1 : a + 1]).sum(-1)
        out[..., j, 0] = free[..., j, 0] + shift[..., j] - below
    return out


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
        # thresholds shared by all rows: pick each row's pair by column, no (S, n, C) copy
        big = np.full((s, 1), np.inf)
        ext = np.concatenate([-big, cut, big], axis=-1)
        hi = ext[:, y + 1] - eta
        lo = ext[:, y] - eta
    else:
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


def binary_loglik(
    eta: np.ndarray, y: np.ndarray, link: str, trials: np.ndarray | None = None
) -> np.ndarray:
    """Pointwise Bernoulli or binomial log-likelihood (S, n), binomial coefficient included."""
    if trials is None:
        trials = np.ones(len(y))
    y = np.asarray(y, float)[None, :]
    fail = np.asarray(trials, float)[None, :] - y
    if link == "logit":
        out = -y * np.logaddexp(0.0, -eta) - fail * np.logaddexp(0.0, eta)
    else:
        p = np.clip(get_link(link).cdf(eta), 1e-300, 1 - 1e-16)
        out = y * np.log(p) + fail * np.log1p(-p)
    log_binom = (
        special.gammaln(trials + 1) - special.gammaln(y[0] + 1) - special.gammaln(fail[0] + 1)
    )
    return out + log_binom[None, :]


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


def unique_rows(*parts: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
    """The distinct rows of the columns ``parts`` (each ``(n,)`` or ``(n, k)``; None skipped).

    Returns
    -------
    first : ndarray of int
        The index of one row of each distinct row.
    inverse : ndarray of int, shape (n,), or None
        Each row's position in ``first``: ``parts[i][first][inverse]`` equals ``parts[i]``;
        None when every row is distinct (``first`` is then ``0, ..., n-1``).
    """
    arrays = [np.asarray(p, float) for p in parts if p is not None]
    n = len(arrays[0])
    cols = np.column_stack([a.reshape(n, -1) for a in arrays])
    if cols.shape[1] == 0:
        return np.zeros(min(n, 1), dtype=np.intp), np.zeros(n, dtype=np.intp)
    _, first, inverse = np.unique(cols, axis=0, return_index=True, return_inverse=True)
    if len(first) == n:
        return np.arange(n), None
    return first, inverse.reshape(n)


def expand_rows(a: np.ndarray, inverse: np.ndarray | None, axis: int) -> np.ndarray:
    """Results on the distinct rows (:func:`unique_rows`) expanded to every row along
    ``axis`` (a no-op when every row was distinct)."""
    return a if inverse is None else np.take(a, inverse, axis=axis)


def integrate_cdf_draws(dist, t: np.ndarray, sd: np.ndarray, block: int = 200_000) -> np.ndarray:
    """``E F(t - sd X)``, ``X ~ N(0, 1)``, for a block of draws at once.

    ``t`` is ``(D, n)`` or ``(D, n, C)`` and ``sd`` ``(D, n)``. The draws and rows are
    flattened and passed to :func:`civmodels._glmm.integrate_cdf` (the rule the draw-by-draw
    route uses, so both agree to rounding) in pieces of at most ``block`` quadrature values
    (the default, 1.6 MB, stays in cache: pieces of 5e6 values made the quadrature three
    times slower).
    """
    from .._glmm import integrate_cdf

    lead = sd.shape
    rows = int(np.prod(lead))
    tf = t.reshape(rows, *t.shape[2:])
    sf = sd.reshape(rows)
    per_row = 40 * int(np.prod(t.shape[2:]))  # integrate_cdf's 40 nodes
    step = max(1, block // per_row)
    out = np.empty(tf.shape)
    for r in range(0, rows, step):
        out[r : r + step] = integrate_cdf(dist, tf[r : r + step], sf[r : r + step])
    return out.reshape(t.shape)
