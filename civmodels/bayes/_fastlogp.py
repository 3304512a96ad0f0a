"""Hand-written log density and gradient of the random-intercept cumulative-logit model (Numba).

The common case — :class:`~civmodels.bayes.Ordinal` with the logit link, normal coefficient
priors, half-normal or exponential group-SD priors — is evaluated by one fused loop instead of
a PyTensor graph: about five times cheaper per gradient on 444 rows, and compiled once per
machine (``cache=True`` stores the machine code on disk, so a fresh process loads it in well
under a second). The parameterisation, priors and flat-vector layout are exactly those of the
PyMC graph in :mod:`civmodels.bayes._graph`; ``tests/bayes/test_fastlogp.py`` checks value
differences and gradients against PyTensor at random points.

Flat vector layout: ``[coef_raw (k), cutpoints_raw (C), log sd_g (G), z_1 (L_1), ..., z_G]``.
"""

from __future__ import annotations

import math

import numpy as np

try:  # pragma: no cover - numba ships with the supported environments
    from numba import njit
except ImportError:  # pragma: no cover
    njit = None

HALFNORMAL, EXPONENTIAL = 0, 1


def available() -> bool:
    """Whether Numba is importable."""
    return njit is not None


def _sig(x):
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _log_sig(x):
    # log(sigmoid(x)) = -softplus(-x)
    if x >= 0:
        return -math.log1p(math.exp(-x))
    return x - math.log1p(math.exp(x))


def _cat_terms(hi, lo, has_hi, has_lo):
    """log(F(hi) - F(lo)) and its derivatives in hi and lo (logistic F).

    The direct form (two exponentials and one logarithm) is used when the probability is not
    small; otherwise the cancellation-free form
    log sigmoid(hi) + log sigmoid(-lo) + log(1 - exp(lo - hi)).
    """
    s_hi = _sig(hi) if has_hi else 1.0
    s_lo = _sig(lo) if has_lo else 0.0
    p = s_hi - s_lo
    if p > 1e-6:
        lp = math.log(p)
        g_hi = s_hi * (1.0 - s_hi) / p if has_hi else 0.0
        g_lo = -s_lo * (1.0 - s_lo) / p if has_lo else 0.0
        return lp, g_hi, g_lo
    if has_hi and has_lo:
        d = hi - lo
        em = math.expm1(d)
        lp = _log_sig(hi) + _log_sig(-lo) + math.log(-math.expm1(-d))
        r = 1.0 / em if em > 0 else 1e300
        g_hi = _sig(-hi) + r
        g_lo = -_sig(lo) - r
    elif has_hi:
        lp = _log_sig(hi)
        g_hi = _sig(-hi)
        g_lo = 0.0
    else:
        lp = _log_sig(-lo)
        g_hi = 0.0
        g_lo = -_sig(lo)
    return lp, g_hi, g_lo


def _logp_grad(x, Xc, y, codes, n_levels, mu, sigma, alpha, sd_kind, sd_par, out_grad):
    n, k = Xc.shape
    C = alpha.shape[0] - 1
    G = codes.shape[1]
    grad = out_grad
    for j in range(grad.shape[0]):
        grad[j] = 0.0
    lp = 0.0
    # coefficients (non-centred, standard normal raw)
    beta = np.empty(k)
    for j in range(k):
        r = x[j]
        beta[j] = mu[j] + sigma[j] * r
        lp -= 0.5 * r * r
        grad[j] = -r
    # cutpoints
    off_c = k
    c = np.empty(C)
    acc = 0.0
    for m in range(C):
        if m == 0:
            acc = x[off_c]
        else:
            acc += math.exp(x[off_c + m])
            lp += x[off_c + m]  # log-Jacobian of the increments
            grad[off_c + m] += 1.0
        c[m] = acc
    gc = np.zeros(C)
    # induced Dirichlet: sum (alpha-1) log p_k(c) + sum log f(c_m)
    for kk in range(C + 1):
        has_hi = kk < C
        has_lo = kk > 0
        hi = c[kk] if has_hi else 0.0
        lo = c[kk - 1] if has_lo else 0.0
        t, g_hi, g_lo = _cat_terms(hi, lo, has_hi, has_lo)
        w = alpha[kk] - 1.0
        if w != 0.0:
            lp += w * t
            if has_hi:
                gc[kk] += w * g_hi
            if has_lo:
                gc[kk - 1] += w * g_lo
    for m in range(C):
        lp += _log_sig(c[m]) + _log_sig(-c[m])
        gc[m] += 1.0 - 2.0 * _sig(c[m])
    # group SDs (log scale) and standardised effects
    off_s = k + C
    off_z = off_s + G
    sd = np.empty(G)
    zoff = np.empty(G, np.int64)
    pos = off_z
    for g in range(G):
        ls = x[off_s + g]
        s = math.exp(ls)
        sd[g] = s
        if sd_kind[g] == HALFNORMAL:
            lp += -0.5 * s * s / (sd_par[g] * sd_par[g]) + ls
            grad[off_s + g] += -s * s / (sd_par[g] * sd_par[g]) + 1.0
        else:
            lp += -sd_par[g] * s + ls
            grad[off_s + g] += -sd_par[g] * s + 1.0
        zoff[g] = pos
        for lvl in range(n_levels[g]):
            z = x[pos + lvl]
            lp -= 0.5 * z * z
            grad[pos + lvl] -= z
        pos += n_levels[g]
    # likelihood
    for i in range(n):
        eta = 0.0
        for j in range(k):
            eta += Xc[i, j] * beta[j]
        for g in range(G):
            eta += sd[g] * x[zoff[g] + codes[i, g]]
        yi = y[i]
        has_hi = yi < C
        has_lo = yi > 0
        hi = c[yi] - eta if has_hi else 0.0
        lo = c[yi - 1] - eta if has_lo else 0.0
        t, g_hi, g_lo = _cat_terms(hi, lo, has_hi, has_lo)
        lp += t
        if has_hi:
            gc[yi] += g_hi
        if has_lo:
            gc[yi - 1] += g_lo
        d_eta = -(g_hi + g_lo)
        for j in range(k):
            grad[j] += sigma[j] * Xc[i, j] * d_eta
        for g in range(G):
            zi = zoff[g] + codes[i, g]
            grad[zi] += sd[g] * d_eta
            grad[off_s + g] += sd[g] * x[zi] * d_eta
    # chain rule from cutpoints to their raw scale
    tail = 0.0
    for m in range(C - 1, -1, -1):
        tail += gc[m]
        if m == 0:
            grad[off_c] += tail
        else:
            grad[off_c + m] += math.exp(x[off_c + m]) * tail
    return lp


if njit is not None:
    _sig = njit(cache=True, inline="always")(_sig)
    _log_sig = njit(cache=True, inline="always")(_log_sig)
    _cat_terms = njit(cache=True, inline="always")(_cat_terms)
    _logp_grad = njit(cache=True)(_logp_grad)


class FastOrdinal:
    """Bundle the data and prior constants; ``logp_dlogp(x) -> (logp, grad)``."""

    def __init__(self, model) -> None:
        groups = model.groups
        self.Xc = np.ascontiguousarray(model.Xc, dtype=np.float64)
        self.y = np.ascontiguousarray(model.y, dtype=np.int64)
        n = len(self.y)
        self.codes = np.ascontiguousarray(
            np.column_stack([g.codes for g in groups]) if groups else np.zeros((n, 0)),
            dtype=np.int64,
        )
        self.n_levels = np.array([g.n_levels for g in groups], dtype=np.int64)
        pri = [model.priors[nm] for nm in model.slope_names]
        self.mu = np.array([p.params["mu"] for p in pri], dtype=np.float64)
        self.sigma = np.array([p.params["sigma"] for p in pri], dtype=np.float64)
        K = model.n_categories
        self.alpha = np.ascontiguousarray(
            np.broadcast_to(np.asarray(model.priors["cutpoints"].params["alpha"], float), (K,))
        )
        kinds, pars = [], []
        for g in groups:
            p = model.priors[f"sd_{g.name}"]
            kinds.append(HALFNORMAL if p.dist == "halfnormal" else EXPONENTIAL)
            pars.append(p.params["sigma"] if p.dist == "halfnormal" else p.params["lam"])
        self.sd_kind = np.array(kinds, dtype=np.int64)
        self.sd_par = np.array(pars, dtype=np.float64)
        self.k = len(pri)
        self.C = K - 1
        self.n_dim = self.k + self.C + len(groups) + int(self.n_levels.sum())

    @staticmethod
    def supports(model) -> bool:
        """Whether the fast path applies (logit, normal coefficient priors, simple SDs)."""
        if not available() or model.link != "logit" or model._outcome != "ordinal":
            return False
        if any(model.priors[n].dist != "normal" for n in model.slope_names):
            return False
        return all(
            model.priors[f"sd_{g.name}"].dist in ("halfnormal", "exponential") for g in model.groups
        )

    def logp_dlogp(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        grad = np.empty(self.n_dim)
        lp = _logp_grad(
            x,
            self.Xc,
            self.y,
            self.codes,
            self.n_levels,
            self.mu,
            self.sigma,
            self.alpha,
            self.sd_kind,
            self.sd_par,
            grad,
        )
        return lp, grad


def compile_fast(model):
    """A :class:`~civmodels.bayes._backend.Compiled` for the Numba path (no PyMC import)."""
    from ._backend import Compiled
    from ._graph import _raw_init

    fast = FastOrdinal(model)
    k, C = fast.k, fast.C
    groups = model.groups
    names = ["coef_raw", "cutpoints_raw"]
    shapes: list[tuple[int, ...]] = [(k,), (C,)]
    for g in groups:
        names += [f"sd_{g.name}", f"z_{g.name}"]
        shapes += [(), (g.n_levels,)]
    G = len(groups)

    def expand(x):
        out = [x[:k], x[k : k + C]]
        pos = k + C + G
        for gi, g in enumerate(groups):
            out.append(np.asarray(math.exp(x[k + C + gi])))
            out.append(x[pos : pos + g.n_levels])
            pos += g.n_levels
        return out

    point0 = np.zeros(fast.n_dim)
    point0[k : k + C] = _raw_init(C, model.priors["cutpoints"], "logit")
    return Compiled(
        model=None,
        n_dim=fast.n_dim,
        logp_dlogp=fast.logp_dlogp,
        expand=expand,
        names=names,
        shapes=shapes,
        point0=point0,
    )
