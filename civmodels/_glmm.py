"""Array-level engine for random-intercept cumulative-link and binary models (NumPy/SciPy).

Model
-----
Observation ``i`` has outcome category ``y_i`` in ``0 .. J-1`` and location

    s_i = x_i' beta + sum_k sigma_k b_{k, g_k(i)},     b ~ N(0, I)   (spherical scale)

so that ``u_k = sigma_k b_k`` are the random intercepts of grouping factor ``k``. The
conditional likelihood is the cumulative-link one, ``P(Y_i <= j | b) = F(theta_j - s_i)``,
with thresholds ``theta = T alpha + t0`` (``T`` a threshold Jacobian). A binary model is the
special case ``J = 2`` with the single threshold fixed at 0, an intercept in ``x`` and the
*reflected* link ``F*(t) = 1 - F(-t)`` (logit, probit and cauchit are their own reflection;
cloglog and loglog swap), which gives ``P(Y = 1) = F(s)``.

The parameter vector is ``phi = (alpha, beta, tau)`` with ``tau_k = log sigma_k``.

Marginal likelihood
-------------------
``L = prod_g  integral  prod_{i in g} p(y_i | b) phi(b) db`` is approximated by

* the Laplace approximation (any number of crossed or nested random intercepts): the
  integrand's mode ``b_hat`` is found by a joint Newton iteration (diagonal Hessian for one
  factor, a dense Cholesky of the sparse ``I + Lambda Z' D Z Lambda`` otherwise), and
  ``log L ~ h(b_hat) - 1/2 log det H``. Its gradient is analytic: the envelope term plus the
  derivative of the log-determinant, which needs third derivatives of the conditional
  log-likelihood and the implicit derivative of the mode, ``d b_hat / d phi = H^-1 G``.
  With two or more terms the same computation runs compiled in
  :mod:`civmodels._laplace_kernel` (a sparse Cholesky over a minimum-degree order of the
  fixed pattern of ``H``); the code here is the reference path and the fallback;
* adaptive Gauss–Hermite quadrature (one factor): per group the nodes are centred at the
  conditional mode and scaled by the Laplace standard deviation (Pinheiro & Bates 1995), all
  groups times nodes evaluated at once. Gradient and Hessian are those of the quadrature sum
  with the nodes held fixed; their difference from the total derivative is of the order of
  the quadrature error (it vanishes for an exact rule), far below the optimiser's tolerance.

Outer optimisation is Newton's method with step halving: for AGQ with the analytic Hessian,
for Laplace with the exact gradient and the Hessian of ``h(b_hat(phi), phi)`` (which omits
only the small second derivative of the log-determinant). The covariance matrix for Laplace
fits is the inverse of a central-difference Jacobian of the exact analytic gradient
(symmetrised); for AGQ fits the inverse analytic Hessian.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import linalg, sparse, special, stats

from ._links import Link, get_link
from .exceptions import ConvergenceWarning

__all__ = [
    "Dist",
    "FitOutput",
    "GLMMData",
    "agq_loglik",
    "fit_glmm",
    "get_dist",
    "group_scores",
    "integrate_cdf",
    "laplace_loglik",
    "latent_variance",
]

Array = np.ndarray


# ------------------------------------------------------------------------------------------
# latent distributions with the derivatives the engine needs
@dataclass(frozen=True)
class Dist:
    """CDF, survival function and density derivatives up to second order of a link."""

    name: str
    cdf: Callable[[Array], Array]
    sf: Callable[[Array], Array]
    pdf: Callable[[Array], Array]
    dpdf: Callable[[Array], Array]
    d2pdf: Callable[[Array], Array]

    def evaluate(self, x: Array, order: int) -> tuple[Array, ...]:
        """``F, 1 - F, f`` and (``order >= 2``) ``f'``, (``order >= 3``) ``f''`` at ``x``.

        The logit and probit cases reuse intermediate results, which matters because the
        quadrature evaluates them at every row times node.
        """
        if self.name == "logit":
            F = special.expit(x)
            S = special.expit(-x)
            f = F * S
            out = [F, S, f]
            if order >= 2:
                out.append(f * (S - F))
            if order >= 3:
                out.append(f * (1.0 - 6.0 * f))
            return tuple(out)
        if self.name == "probit":
            F = special.ndtr(x)
            S = special.ndtr(-x)
            f = np.exp(-0.5 * x * x) * _INV_SQRT_2PI
            out = [F, S, f]
            if order >= 2:
                out.append(-x * f)
            if order >= 3:
                out.append((x * x - 1.0) * f)
            return tuple(out)
        out = [self.cdf(x), self.sf(x), self.pdf(x)]
        if order >= 2:
            out.append(self.dpdf(x))
        if order >= 3:
            out.append(self.d2pdf(x))
        return tuple(out)


_INV_SQRT_2PI = 1.0 / np.sqrt(2.0 * np.pi)


def _logit_d2pdf(x: Array) -> Array:
    p = special.expit(x)
    return p * (1.0 - p) * (1.0 - 6.0 * p * (1.0 - p))


def _probit_d2pdf(x: Array) -> Array:
    return (x * x - 1.0) * stats.norm.pdf(x)


def _cloglog_d2pdf(x: Array) -> Array:
    x = np.minimum(x, 700.0)
    e = np.exp(x)
    return np.exp(x - e) * ((1.0 - e) ** 2 - e)


def _loglog_d2pdf(x: Array) -> Array:
    x = np.maximum(x, -700.0)
    e = np.exp(-x)
    return np.exp(-x - e) * ((e - 1.0) ** 2 - e)


def _cauchit_d2pdf(x: Array) -> Array:
    return (6.0 * x * x - 2.0) / (np.pi * (1.0 + x * x) ** 3)


_D2PDF = {
    "logit": _logit_d2pdf,
    "probit": _probit_d2pdf,
    "cloglog": _cloglog_d2pdf,
    "loglog": _loglog_d2pdf,
    "cauchit": _cauchit_d2pdf,
}
_REFLECT = {
    "logit": "logit",
    "probit": "probit",
    "cauchit": "cauchit",
    "cloglog": "loglog",
    "loglog": "cloglog",
}


def _sf_for(link: Link) -> Callable[[Array], Array]:
    # 1 - F(x) without cancellation in the upper tail
    if link.name in ("logit", "probit", "cauchit"):
        return lambda x: link.cdf(-x)
    if link.name == "cloglog":
        return lambda x: np.exp(-np.exp(np.minimum(x, 700.0)))
    return lambda x: -np.expm1(-np.exp(-np.maximum(x, -700.0)))


def get_dist(name: str, *, reflect: bool = False) -> Dist:
    """The :class:`Dist` of link ``name`` (its reflection ``1 - F(-t)`` if ``reflect``)."""
    link = get_link(_REFLECT[name] if reflect and name in _REFLECT else name)
    return Dist(link.name, link.cdf, _sf_for(link), link.pdf, link.dpdf, _D2PDF[link.name])


def latent_variance(link_name: str) -> float:
    """Variance of the latent error of a link (``pi^2/3`` logit, 1 probit, ``pi^2/6`` cloglog
    and loglog, infinite for cauchit)."""
    return {
        "logit": np.pi**2 / 3,
        "probit": 1.0,
        "cloglog": np.pi**2 / 6,
        "loglog": np.pi**2 / 6,
        "cauchit": np.inf,
    }[link_name]


# ------------------------------------------------------------------------------------------
@dataclass
class GLMMData:
    """Arrays of one random-intercept model.

    Parameters
    ----------
    y : ndarray of int, shape (n,)
        Category codes ``0 .. J-1``.
    X : ndarray, shape (n, p)
    tjac : ndarray, shape (J-1, k_alpha)
        Thresholds are ``tjac @ alpha + toff``.
    toff : ndarray, shape (J-1,)
    groups : sequence of ndarray of int
        Codes ``0 .. m_k - 1`` per grouping factor.
    w : ndarray, shape (n,), optional
        Row (level-1) weights: each row's conditional log-likelihood is multiplied by its
        weight (ones if omitted).
    dist : Dist
    w2 : ndarray, shape (m,), optional
        Group (level-2) weights, one grouping factor only: each group's log marginal
        likelihood is multiplied by its weight (pseudo-likelihood; ones if omitted).
    zvals : sequence of (ndarray or None), optional
        Per term, the row values multiplying its random effect: ``None`` (ones) for a random
        intercept, the covariate for a random slope ``(0 + x | g)``. Slopes are fitted by
        the Laplace approximation only.
    corr : sequence of sequence of int, optional
        Correlated blocks: the positions of terms on the same grouping factor whose random
        effects share an unstructured covariance (``(1 + x | g)`` gives one block of two
        terms). Their effects are ``u_g = L b_g`` with ``L`` lower triangular: its diagonal
        ``exp(tau_k)`` and its off-diagonal entries the extra parameters ``c`` at the end
        of ``phi`` (per block, row by row).
    """

    y: Array
    X: Array
    tjac: Array
    toff: Array
    groups: list[Array]
    dist: Dist
    # ones when omitted (filled in by __post_init__, so always an array afterwards)
    w: Any = None  # an (n,) array after __post_init__
    w2: Any = None  # an (m,) array after __post_init__
    zvals: Any = None  # a list of (n,) arrays after __post_init__
    corr: Any = None  # correlated blocks of term positions
    n_levels: list[int] = field(init=False)
    # the compiled evaluation's arrays (built on first use, see _kernel_laplace)
    kernel: Any = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.y = np.asarray(self.y, dtype=np.int64)
        self.X = np.ascontiguousarray(self.X, dtype=float)
        self.n, self.p = self.X.shape
        self.w = np.ones(self.n) if self.w is None else np.asarray(self.w, dtype=float)
        self.J = self.tjac.shape[0] + 1
        self.k_alpha = self.tjac.shape[1]
        self.K = len(self.groups)
        self.groups = [np.asarray(g, dtype=np.int64) for g in self.groups]
        self.n_levels = [int(g.max()) + 1 for g in self.groups]
        zv = self.zvals if self.zvals is not None else [None] * self.K
        if len(zv) != self.K:
            raise ValueError("zvals needs one entry per grouping term")
        self.has_slopes = any(z is not None for z in zv)
        self.zvals = [
            np.ones(self.n) if z is None else np.asarray(z, dtype=float).reshape(self.n) for z in zv
        ]
        self.has_w2 = self.w2 is not None
        if self.has_w2 and self.K != 1:
            raise ValueError("group weights need exactly one grouping factor")
        self.w2 = np.ones(self.n_levels[0]) if self.w2 is None else np.asarray(self.w2, dtype=float)
        # each row's group weight (ones with several factors, where w2 is not allowed)
        self.rw = self.w2[self.groups[0]] if self.has_w2 else np.ones(self.n)
        self.offsets = np.concatenate([[0], np.cumsum(self.n_levels)])
        self.q = int(self.offsets[-1])
        self.up = self.y < self.J - 1
        self.lo = self.y > 0
        self.upf = self.up.astype(float)
        self.lof = self.lo.astype(float)
        iu = np.minimum(self.y, self.J - 2)
        il = np.maximum(self.y - 1, 0)
        self.Du = self.tjac[iu] * self.up[:, None]  # d theta_upper / d alpha
        self.Dl = self.tjac[il] * self.lo[:, None]
        self.tu0 = np.where(self.up, self.toff[iu], 0.0)
        self.tl0 = np.where(self.lo, self.toff[il], 0.0)
        self.level_term = np.repeat(np.arange(self.K), self.n_levels)
        self._set_blocks()
        self.P = self.k_alpha + self.p + self.K + self.n_off

    # design matrices of the random effects, built on first use (the compiled path of
    # several terms does not need them): n x m_k per term (the indicators times the term's
    # row values), n x q for all, and ZkT, which sums rows by group (indicators only)
    @functools.cached_property
    def Zk(self) -> list[sparse.csr_matrix]:
        """Per term, the ``n x m_k`` matrix of the term's row values by level."""
        return [
            sparse.csr_matrix((z, (np.arange(self.n), g)), shape=(self.n, m))
            for g, m, z in zip(self.groups, self.n_levels, self.zvals, strict=True)
        ]

    @functools.cached_property
    def Z(self) -> sparse.csr_matrix:
        """``n x q``: all terms side by side."""
        return sparse.hstack(self.Zk, format="csr")

    @functools.cached_property
    def ZT(self) -> sparse.csr_matrix:
        """``Z'`` in CSR form."""
        return self.Z.T.tocsr()

    @functools.cached_property
    def ZkT(self) -> list[sparse.csr_matrix]:
        """Per term, the ``m_k x n`` indicator matrix that sums rows by level."""
        return [
            sparse.csr_matrix(
                (np.ones(self.n), (np.arange(self.n), g)), shape=(self.n, m)
            ).T.tocsr()
            for g, m in zip(self.groups, self.n_levels, strict=True)
        ]

    @functools.cached_property
    def pair_idx(self) -> Array:
        """Flat positions of each row's contributions to the ``q x q`` matrix ``Z' D Z``."""
        lev = [self.offsets[k] + g for k, g in enumerate(self.groups)]
        return np.concatenate([a * self.q + b for a in lev for b in lev])

    def _set_blocks(self) -> None:
        """Index the correlated blocks: their terms, off-diagonal parameters and the
        positions of the Cholesky factor's entries in the q x q matrix ``Lambda``."""
        blocks = [list(map(int, b)) for b in (self.corr or [])]
        self.has_corr = bool(blocks)
        if self.has_corr and self.has_w2:
            raise ValueError("group weights are not available with correlated random effects")
        used = [k for b in blocks for k in b]
        if len(set(used)) != len(used) or any(len(b) < 2 for b in blocks):
            raise ValueError("correlated blocks need two or more distinct terms each")
        for b in blocks:
            for k in b[1:]:
                if not np.array_equal(self.groups[k], self.groups[b[0]]):
                    raise ValueError("the terms of a correlated block share one grouping factor")
        self.blocks = blocks
        # one entry per off-diagonal parameter: (block, row i, column j) with i > j
        self.off = [
            (bi, i, j) for bi, b in enumerate(blocks) for i in range(len(b)) for j in range(i)
        ]
        self.n_off = len(self.off)
        self.n_theta = self.K + self.n_off

    def lam(self, sigma: Array, cvals: Array) -> sparse.csr_matrix:
        """``Lambda`` (q x q): ``u = Lambda b`` for spherical ``b`` (diagonal without blocks)."""
        diag = sigma[self.level_term]
        rows = [np.arange(self.q)]
        cols = [np.arange(self.q)]
        vals = [diag]
        for (bi, i, j), c in zip(self.off, cvals, strict=True):
            ki, kj = self.blocks[bi][i], self.blocks[bi][j]
            m = self.n_levels[ki]
            rows.append(self.offsets[ki] + np.arange(m))
            cols.append(self.offsets[kj] + np.arange(m))
            vals.append(np.full(m, c))
        return sparse.csr_matrix(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
            shape=(self.q, self.q),
        )

    def block_chol(self, sigma: Array, cvals: Array, bi: int) -> Array:
        """The lower Cholesky factor ``L`` of block ``bi``'s covariance ``L L'``."""
        b = self.blocks[bi]
        L = np.diag(sigma[b])
        for (bj, i, j), c in zip(self.off, cvals, strict=True):
            if bj == bi:
                L[i, j] = c
        return L

    def ztdz(self, D: Array) -> Array:
        """Dense ``Z' diag(D) Z`` (several grouping factors)."""
        z = self.zvals
        vals = np.concatenate([D * z[a] * z[b] for a in range(self.K) for b in range(self.K)])
        return np.bincount(self.pair_idx, vals, minlength=self.q * self.q).reshape(self.q, self.q)

    def split(self, phi: Array) -> tuple[Array, Array, Array]:
        """``(alpha, beta, sigma)`` from the parameter vector (``sigma``: the diagonal of
        ``Lambda`` per term, the SDs when no block is correlated)."""
        a, p = self.k_alpha, self.p
        return phi[:a], phi[a : a + p], np.exp(phi[a + p : a + p + self.K])

    def offdiag(self, phi: Array) -> Array:
        """The off-diagonal Cholesky entries of the correlated blocks."""
        return phi[self.k_alpha + self.p + self.K :]

    def cuts(self, alpha: Array) -> tuple[Array, Array]:
        """Upper and lower threshold per row (0 where the cut is infinite; masked later)."""
        return self.Du @ alpha + self.tu0, self.Dl @ alpha + self.tl0


# ------------------------------------------------------------------------------------------
def _cell(d: GLMMData, A: Array, B: Array, order: int) -> dict[str, Array]:
    """log(F(A) - F(B)) and its derivatives in (A, B); rows broadcast along axis 0.

    ``A = theta_upper - s`` is +inf for the top category and ``B`` is -inf for the bottom
    one; those are handled with the masks ``d.up`` / ``d.lo`` (densities are 0 there).
    """
    dist = d.dist
    nd = max(np.ndim(A), np.ndim(B))
    shp = (-1,) + (1,) * (nd - 1)
    up = d.up.reshape(shp)
    lo = d.lo.reshape(shp)
    upf = d.upf.reshape(shp)
    lof = d.lof.reshape(shp)
    # A and B are finite placeholders where the cut is infinite; the masks zero them out
    ea = dist.evaluate(A, order)
    eb = dist.evaluate(B, order)
    FA = np.where(up, ea[0], 1.0)
    SA = ea[1] * upf
    FB = eb[0] * lof
    SB = np.where(lo, eb[1], 1.0)
    mid = np.where(up & lo, 0.5 * (A + B), np.where(up, -1.0, 1.0))
    # difference of CDFs in the lower tail, of survival functions in the upper one
    P = np.where(mid > 0, SB - SA, FA - FB)
    P = np.maximum(P, 1e-300)
    iP = 1.0 / P
    lA = ea[2] * upf * iP
    lB = -eb[2] * lof * iP
    out = {"l": np.log(P), "lA": lA, "lB": lB}
    if order >= 2:
        dA = ea[3] * upf * iP
        dB = eb[3] * lof * iP
        out["lAA"] = dA - lA * lA
        out["lBB"] = -dB - lB * lB
        out["lAB"] = -lA * lB
        if order >= 3:
            eA = ea[4] * upf * iP
            eB = eb[4] * lof * iP
            out["lAAA"] = eA - 3.0 * lA * dA + 2.0 * lA**3
            out["lBBB"] = -eB + 3.0 * lB * dB + 2.0 * lB**3
            out["lAAB"] = -dA * lB + 2.0 * lA * lA * lB
            out["lABB"] = dB * lA + 2.0 * lA * lB * lB
    return out


def _s_derivs(c: dict[str, Array], order: int) -> dict[str, Array]:
    """Derivatives with respect to the location ``s`` (A and B both move by ``-s``)."""
    out = {"ls": -(c["lA"] + c["lB"])}
    if order >= 2:
        out["lss"] = c["lAA"] + 2.0 * c["lAB"] + c["lBB"]
        out["lAs"] = -(c["lAA"] + c["lAB"])
        out["lBs"] = -(c["lAB"] + c["lBB"])
    if order >= 3:
        out["lsss"] = -(c["lAAA"] + 3.0 * c["lAAB"] + 3.0 * c["lABB"] + c["lBBB"])
        out["lAss"] = c["lAAA"] + 2.0 * c["lAAB"] + c["lABB"]
        out["lBss"] = c["lAAB"] + 2.0 * c["lABB"] + c["lBBB"]
    return out


# ------------------------------------------------------------------------------------------
# conditional modes
@dataclass
class _Mode:
    b: Array  # (q,) spherical modes
    negH_diag: Array | None  # one factor: diagonal of H
    chol: Array | None  # several factors: Cholesky factor of H
    h: float  # log joint at the mode
    converged: bool
    hg: Array | None = None  # one factor: log joint at the mode per group
    hmat: Array | None = None  # several factors: H itself (compiled path; chol on demand)
    hinv_diag: Array | None = None  # several factors: diagonal of H^-1 (compiled path)

    @property
    def hdiag(self) -> Array:
        """Diagonal of ``H`` (one grouping factor)."""
        assert self.negH_diag is not None
        return self.negH_diag

    @property
    def hchol(self) -> Array:
        """Lower Cholesky factor of ``H`` (several grouping factors)."""
        if self.chol is None and self.hmat is not None:
            self.chol = np.linalg.cholesky(self.hmat)
        assert self.chol is not None
        return self.chol


def _location(d: GLMMData, beta: Array, sig_lev: Array, b: Array) -> Array:
    xb = d.X @ beta if d.p else np.zeros(d.n)
    return xb + d.Z @ (sig_lev * b)


def _joint(d: GLMMData, tu: Array, tl: Array, s: Array, b: Array, order: int):
    c = _cell(d, tu - s, tl - s, order)
    return c, _s_derivs(c, order)


@dataclass
class _Maps:
    """``Lambda`` and ``M = Z Lambda`` of a model with correlated random effects."""

    lam: sparse.csr_matrix
    lamT: sparse.csr_matrix
    M: sparse.csr_matrix
    MT: sparse.csr_matrix


def _re_maps(d: GLMMData, phi: Array, sigma: Array) -> _Maps | None:
    """The maps of the random effects with correlated blocks (None without: then
    ``Lambda = diag(sigma)`` is applied element-wise)."""
    if not d.has_corr:
        return None
    lam = d.lam(sigma, d.offdiag(phi))
    M = (d.Z @ lam).tocsr()
    return _Maps(lam, lam.T.tocsr(), M, M.T.tocsr())


def _hmat(d: GLMMData, D: Array, sig_lev: Array, maps: _Maps | None) -> Array:
    """``H = I + Lambda' Z' diag(D) Z Lambda`` (dense, several terms)."""
    Q = d.ztdz(D)
    if maps is None:
        Hm = Q * np.outer(sig_lev, sig_lev)
    else:
        Hm = np.asarray(maps.lamT @ np.asarray(maps.lamT @ Q).T)
        Hm = 0.5 * (Hm + Hm.T)
    Hm[np.diag_indices_from(Hm)] += 1.0
    return Hm


def find_modes(
    d: GLMMData, phi: Array, b0: Array | None = None, *, tol: float = 1e-10, max_iter: int = 60
) -> _Mode:
    """Conditional modes of the spherical random effects given ``phi`` (Newton, halving)."""
    alpha, beta, sigma = d.split(phi)
    sig_lev = sigma[d.level_term]
    tu, tl = d.cuts(alpha)
    xb = d.X @ beta if d.p else np.zeros(d.n)
    b = np.zeros(d.q) if b0 is None else b0.copy()
    w = d.w
    one = d.K == 1
    g0 = d.groups[0]
    z0sq = d.zvals[0] ** 2

    maps = _re_maps(d, phi, sigma)

    def state(bv: Array):
        s = xb + (maps.M @ bv if maps is not None else d.Z @ (sig_lev * bv))
        c, sd = _joint(d, tu, tl, s, bv, 2)
        return c, sd

    def group_obj(c: dict, bv: Array) -> Array:
        return np.bincount(g0, w * c["l"], minlength=d.q) - 0.5 * bv * bv

    converged = False
    c, sd = state(b)
    for _ in range(max_iter):
        if maps is not None:
            grad = maps.MT @ (w * sd["ls"]) - b
        else:
            grad = sig_lev * (d.ZT @ (w * sd["ls"])) - b
        if one:
            negH = 1.0 - sig_lev**2 * np.bincount(g0, w * z0sq * sd["lss"], minlength=d.q)
            # non-log-concave links (cauchit) can make the curvature non-positive
            negH = np.where(negH > 1e-8, negH, 1.0 + np.abs(negH))
            step = grad / negH
            if np.max(np.abs(grad)) < tol:
                converged = True
                break
            f_old = group_obj(c, b)
            t = np.ones(d.q)
            for _h in range(30):
                bn = b + t * step
                cn, sdn = state(bn)
                f_new = group_obj(cn, bn)
                bad = ~(f_new >= f_old - 1e-12 * np.abs(f_old))
                if not bad.any():
                    break
                t = np.where(bad, 0.5 * t, t)
            b, c, sd = bn, cn, sdn
        else:
            Hm = _hmat(d, -(w * sd["lss"]), sig_lev, maps)
            if np.max(np.abs(grad)) < tol:
                converged = True
                break
            try:
                L = linalg.cho_factor(Hm, lower=True)
                step = linalg.cho_solve(L, grad)
            except linalg.LinAlgError:
                step = grad / np.maximum(np.diag(Hm), 1.0)
            f_tot = float(w @ c["l"] - 0.5 * b @ b)
            tt = 1.0
            for _h in range(30):
                bn = b + tt * step
                cn, sdn = state(bn)
                if float(w @ cn["l"] - 0.5 * bn @ bn) >= f_tot - 1e-12 * abs(f_tot):
                    break
                tt *= 0.5
            b, c, sd = bn, cn, sdn
    h = float(w @ c["l"] - 0.5 * b @ b)
    if one:
        negH = 1.0 - sig_lev**2 * np.bincount(g0, w * z0sq * sd["lss"], minlength=d.q)
        negH = np.where(negH > 1e-8, negH, 1.0 + np.abs(negH))
        return _Mode(b, negH, None, h, converged, group_obj(c, b))
    Hm = _hmat(d, -(w * sd["lss"]), sig_lev, maps)
    try:
        chol = linalg.cholesky(Hm, lower=True)
    except linalg.LinAlgError:
        ev, V = linalg.eigh(Hm)
        Hm = (V * np.maximum(ev, 1e-8)) @ V.T
        chol = linalg.cholesky(Hm, lower=True)
    return _Mode(b, None, chol, h, converged)


# ------------------------------------------------------------------------------------------
def laplace_loglik(
    d: GLMMData,
    phi: Array,
    b0: Array | None = None,
    *,
    gradient: bool = True,
    hessian: bool = False,
    mode: _Mode | None = None,
    sensitivity: bool = False,
    scores: bool = False,
) -> dict:
    """Laplace log-likelihood, its exact gradient and (optionally) an approximate Hessian.

    Returns a dict with ``loglik``, ``grad`` (if requested), ``hess`` (the Hessian of
    ``h(b_hat(phi), phi)``, if requested), ``mode`` (:class:`_Mode`) and, with
    ``sensitivity`` (one factor), ``dmode`` and ``dnegH``: the total derivatives of the
    modes and of the curvatures ``H_g`` with respect to ``phi`` (shape ``(m, P)``). With
    ``scores`` (one factor) also ``scores``: each group's gradient ``(m, P)`` before its
    group weight (``grad = w2 @ scores``).
    """
    if mode is None and not (sensitivity or scores):
        fast = _kernel_laplace(d, phi, b0, gradient=gradient, hessian=hessian)
        if fast is not None:
            return fast
    alpha, beta, sigma = d.split(phi)
    sig_lev = sigma[d.level_term]
    if mode is None:
        mode = find_modes(d, phi, b0)
    b = mode.b
    one = d.K == 1
    if one:
        logdet = float(np.log(mode.hdiag).sum())
    else:
        logdet = 2.0 * float(np.log(np.diag(mode.hchol)).sum())
    out: dict = {"loglik": mode.h - 0.5 * logdet, "mode": mode}
    if d.has_w2:
        assert mode.hg is not None
        out["loglik"] = float(d.w2 @ (mode.hg - 0.5 * np.log(mode.hdiag)))
    if not (gradient or hessian or scores):
        return out
    w = d.w
    tu, tl = d.cuts(alpha)
    maps = _re_maps(d, phi, sigma)
    if maps is None:
        s = _location(d, beta, sig_lev, b)
    else:
        s = (d.X @ beta if d.p else np.zeros(d.n)) + maps.M @ b
    c, sd = _joint(d, tu, tl, s, b, 3)
    ka, p, K = d.k_alpha, d.p, d.K
    # derivative of s w.r.t. tau_k at fixed b: sigma_k b_{k, g_k(i)}; w.r.t. the
    # off-diagonal entry (i, j) of a block's factor: z_i b_{j, g}
    V = np.column_stack(
        [sigma[k] * d.zvals[k] * b[d.offsets[k] + d.groups[k]] for k in range(K)]
        + [_off_column(d, b, o) for o in range(d.n_off)]
    )
    L1, L2, L3 = w * sd["ls"], w * sd["lss"], w * sd["lsss"]
    Lth = w[:, None] * (c["lA"][:, None] * d.Du + c["lB"][:, None] * d.Dl)
    Lths = w[:, None] * (sd["lAs"][:, None] * d.Du + sd["lBs"][:, None] * d.Dl)
    Lthss = w[:, None] * (sd["lAss"][:, None] * d.Du + sd["lBss"][:, None] * d.Dl)
    envelope = np.concatenate([Lth.sum(0), d.X.T @ L1, V.T @ L1])

    def Mt(R: Array) -> Array:  # M' R with M = Z Lambda
        if maps is not None:
            return np.asarray(maps.MT @ R)
        return sig_lev[:, None] * np.asarray(d.ZT @ R)

    def Mv(R: Array) -> Array:
        if maps is not None:
            return np.asarray(maps.M @ R)
        return np.asarray(d.Z @ (sig_lev[:, None] * R))

    G = np.empty((d.q, d.P))
    G[:, :ka] = Mt(Lths)
    G[:, ka : ka + p] = Mt(L2[:, None] * d.X)
    tauG = Mt(L2[:, None] * V)
    if maps is None:
        # (d Lambda / d tau_k)' Z' L1 = sigma_k (Z' L1)_k, which is b_k at the mode
        for k in range(K):
            sel = d.level_term == k
            tauG[sel, k] += b[sel]
    else:
        zl = np.asarray(d.ZT @ L1)
        for k in range(K):
            sel = d.level_term == k
            tauG[sel, k] += sigma[k] * zl[sel]
        for o, (bi, i, j) in enumerate(d.off):
            ki, kj = d.blocks[bi][i], d.blocks[bi][j]
            rows = slice(d.offsets[kj], d.offsets[kj + 1])
            tauG[rows, K + o] += zl[d.offsets[ki] : d.offsets[ki + 1]]
    G[:, ka + p :] = tauG
    if one:
        HinvG = G / mode.hdiag[:, None]
        hinv_diag = 1.0 / mode.hdiag
        cdiag = (sig_lev**2 * hinv_diag)[d.groups[0]] * d.zvals[0] ** 2
    else:
        HinvG = linalg.cho_solve((mode.hchol, True), G)
        Linv = linalg.solve_triangular(mode.hchol, np.eye(d.q), lower=True)
        Hinv = Linv.T @ Linv
        hinv_diag = np.diag(Hinv)
        cdiag = np.zeros(d.n)
        for k in range(K if maps is None else 0):
            ik = d.offsets[k] + d.groups[k]
            for k2 in range(K):
                ik2 = d.offsets[k2] + d.groups[k2]
                zz = d.zvals[k] * d.zvals[k2]
                cdiag += sigma[k] * sigma[k2] * zz * Hinv[ik, ik2]
        if maps is not None:
            cdiag = np.asarray(maps.M.multiply(maps.M @ Hinv).sum(axis=1)).ravel()
    ds = Mv(HinvG)  # d s_hat / d phi through the mode
    ds[:, ka : ka + p] += d.X
    ds[:, ka + p :] += V
    dD = -(L3[:, None] * ds)
    dD[:, :ka] -= Lthss
    if one and (d.has_w2 or scores):
        # per-row contributions, summed by group: the gradient of each group's term
        R = np.hstack([Lth, d.X * L1[:, None], V * L1[:, None]]) - 0.5 * cdiag[:, None] * dD
        if scores:
            S = np.asarray(d.ZkT[0] @ R)
            S[:, ka + p] -= 1.0 - hinv_diag
            out["scores"] = S
        grad = R.T @ d.rw
        grad[ka + p] -= float(d.w2 @ (1.0 - hinv_diag))
    else:
        grad = envelope - 0.5 * (cdiag @ dD)
        if maps is None:
            for k in range(K):
                sel = d.level_term == k
                grad[ka + p + k] -= sel.sum() - hinv_diag[sel].sum()
        else:
            grad[ka + p :] -= _logdet_lambda_terms(d, sigma, d.offdiag(phi), Hinv)
    if sensitivity and one:
        out["dmode"] = HinvG
        dnegH = sigma[0] ** 2 * np.asarray(d.ZkT[0] @ (d.zvals[0][:, None] ** 2 * dD))
        dnegH[:, ka + p] += 2.0 * (mode.hdiag - 1.0)
        out["dnegH"] = dnegH
    out["grad"] = grad
    if hessian:
        # Hessian of h(b_hat(phi), phi): h_phiphi + G' H^-1 G
        a = np.hstack([d.Du, -d.X, -V])
        cc = np.hstack([d.Dl, -d.X, -V])
        rw = d.rw if d.has_w2 else 1.0
        wl = (w * rw)[:, None]
        Hh = (a * (wl * c["lAA"][:, None])).T @ a + (cc * (wl * c["lBB"][:, None])).T @ cc
        cross = (a * (wl * c["lAB"][:, None])).T @ cc
        Hh += cross + cross.T
        # second derivative of s in tau_k at fixed b is V_k (s is linear in the c's)
        Hh[ka + p : ka + p + K, ka + p : ka + p + K] += np.diag(V[:, :K].T @ (L1 * rw))
        GW = HinvG * d.w2[:, None] if d.has_w2 else HinvG
        out["hess"] = Hh + G.T @ GW
    return out


#: evaluate models with several random-effect terms by the compiled kernel of
#: :mod:`civmodels._laplace_kernel` (the tests switch it off to compare both paths)
USE_KERNEL = True


def _kernel_applies(d: GLMMData) -> bool:
    """Whether :func:`laplace_loglik` uses the compiled kernel for ``d``."""
    from . import _laplace_kernel as lk

    return USE_KERNEL and d.K >= 2 and not d.has_w2 and d.q <= lk.MAX_LEVELS and lk.available()


def _kernel_laplace(
    d: GLMMData, phi: Array, b0: Array | None, *, gradient: bool, hessian: bool
) -> dict | None:
    """:func:`laplace_loglik` by the compiled kernel, or None where it does not apply
    (one term, group weights, more than ``MAX_LEVELS`` levels, no Numba) or ``H`` is not
    positive definite at the mode (then the NumPy path repairs it)."""
    from . import _laplace_kernel as lk

    if not _kernel_applies(d):
        return None
    if d.kernel is None:
        d.kernel = lk.prepare(d)
    want = 2 if hessian else int(gradient)
    status, b, h, logdet, conv, grad, hess, H, dmode, hd = lk.evaluate(d, d.kernel, phi, b0, want)
    if status != 0:
        return None
    mode = _Mode(b, None, None, h, conv, hmat=H, hinv_diag=hd if want >= 1 else None)
    out: dict = {"loglik": h - 0.5 * logdet, "mode": mode}
    if want >= 1:
        out["grad"] = grad
        out["dmode"] = dmode
    if want >= 2:
        out["hess"] = hess
    return out


def _off_column(d: GLMMData, b: Array, o: int) -> Array:
    """``d s / d c_o`` at fixed ``b`` for off-diagonal parameter ``o`` = (block, i, j):
    ``z_i(row) b_{j, g(row)}``."""
    bi, i, j = d.off[o]
    ki, kj = d.blocks[bi][i], d.blocks[bi][j]
    return d.zvals[ki] * b[d.offsets[kj] + d.groups[kj]]


def _logdet_lambda_terms(d: GLMMData, sigma: Array, cvals: Array, Hinv: Array) -> Array:
    """``tr(A_j) - tr(H^-1 A_j)`` with ``A_j = Lambda^-1 d Lambda / d theta_j`` for every
    variance parameter (log-diagonals, then off-diagonals): half the derivative of
    ``log det H`` through ``Lambda`` at fixed ``D``, since ``Lambda' Q dLambda =
    (H - I) A_j``. ``A_j`` repeats one small block per group, so only the diagonal blocks
    of ``H^-1`` by group are needed."""
    out = np.empty(d.n_theta)
    in_block = {k for blk in d.blocks for k in blk}
    hdiag = np.diag(Hinv)
    for k in range(d.K):
        if k not in in_block:
            sl = slice(d.offsets[k], d.offsets[k + 1])
            out[k] = d.n_levels[k] - hdiag[sl].sum()
    for bi, blk in enumerate(d.blocks):
        r = len(blk)
        m = d.n_levels[blk[0]]
        pos = np.array([d.offsets[k] + np.arange(m) for k in blk])  # (r, m)
        # sum over groups of the r x r diagonal blocks of H^-1
        Hs = np.array([[Hinv[pos[a], pos[c2]].sum() for c2 in range(r)] for a in range(r)])
        L = d.block_chol(sigma, cvals, bi)
        params: list[tuple[int, Array]] = []
        for i, k in enumerate(blk):
            dL = np.zeros((r, r))
            dL[i, i] = L[i, i]
            params.append((k, dL))
        for o, (bj, i, j) in enumerate(d.off):
            if bj == bi:
                dL = np.zeros((r, r))
                dL[i, j] = 1.0
                params.append((d.K + o, dL))
        for idx, dL in params:
            A = linalg.solve_triangular(L, dL, lower=True)
            out[idx] = m * np.trace(A) - float((Hs * A.T).sum())
    return out


# ------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=32)
def _gh(n_quad: int) -> tuple[Array, Array]:
    """Probabilists' Gauss–Hermite nodes and log weights (weight function exp(-x^2/2))."""
    x, wq = np.polynomial.hermite_e.hermegauss(n_quad)
    return x, np.log(wq)


def agq_loglik(
    d: GLMMData,
    phi: Array,
    n_quad: int,
    b0: Array | None = None,
    *,
    derivs: int = 2,
    scores: bool = False,
) -> dict:
    """Adaptive Gauss–Hermite log-likelihood (one grouping factor) with gradient and Hessian.

    ``derivs`` = 0, 1 or 2 selects what is returned besides ``loglik`` and ``mode``. With
    ``scores`` (and ``derivs >= 1``) also ``scores``: each group's gradient ``(m, P)``
    before its group weight (``grad = w2 @ scores``).
    """
    if d.K != 1 or d.has_slopes:
        raise ValueError(
            "adaptive quadrature needs one grouping factor with a random intercept only"
        )
    alpha, beta, sigma = d.split(phi)
    sig = float(sigma[0])
    mode = find_modes(d, phi, b0)
    g = d.groups[0]
    m = d.q
    x, logw = _gh(n_quad)
    sdev = 1.0 / np.sqrt(mode.hdiag)
    nodes = mode.b[:, None] + sdev[:, None] * x[None, :]  # (m, Q)
    tu, tl = d.cuts(alpha)
    xb = d.X @ beta if d.p else np.zeros(d.n)
    s = xb[:, None] + sig * nodes[g]  # (n, Q)
    c = _cell(d, tu[:, None] - s, tl[:, None] - s, 2 if derivs >= 2 else 1)
    w = d.w
    grp_l = np.asarray(d.ZkT[0] @ (w[:, None] * c["l"]))  # (m, Q)
    logint = (
        grp_l
        - 0.5 * nodes**2
        - 0.5 * np.log(2 * np.pi)
        + logw[None, :]
        + 0.5 * x[None, :] ** 2
        + np.log(sdev)[:, None]
    )
    top = logint.max(axis=1)
    lse = top + np.log(np.exp(logint - top[:, None]).sum(axis=1))
    wg = d.w2
    out: dict = {"loglik": float(wg @ lse) if d.has_w2 else float(lse.sum()), "mode": mode}
    if derivs == 0:
        return out
    pi = np.exp(logint - lse[:, None])  # (m, Q) posterior node weights
    ka, p = d.k_alpha, d.p
    n, Q = s.shape
    lA, lB = c["lA"], c["lB"]
    ls = -(lA + lB)  # (n, Q)
    vb = sig * nodes[g]  # d s / d tau at each node
    w2 = w[:, None]
    # group x node gradients of the conditional log-likelihood: (m, Q, P)
    gl = np.empty((n, Q, d.P))
    gl[:, :, :ka] = (w2 * lA)[:, :, None] * d.Du[:, None, :]
    gl[:, :, :ka] += (w2 * lB)[:, :, None] * d.Dl[:, None, :]
    gl[:, :, ka : ka + p] = (w2 * ls)[:, :, None] * d.X[:, None, :]
    gl[:, :, ka + p] = w2 * ls * vb
    gg = np.asarray(d.ZkT[0] @ gl.reshape(n, Q * d.P)).reshape(m, Q, d.P)
    gbar = np.einsum("mq,mqp->mp", pi, gg)
    # The nodes move with phi (centred at the mode, scaled by H_g^-1/2). For an exact rule
    # that would not matter; for a finite rule it adds the derivative of the quadrature
    # error, which is noticeable for skewed links (cloglog, loglog). Add it exactly:
    # dT_gq = (dT/db)_gq (dmu_g + x_q dsd_g) + dsd_g / sd_g.
    sens = laplace_loglik(d, phi, mode=mode, sensitivity=True)
    r = sig * np.asarray(d.ZkT[0] @ (w[:, None] * ls)) - nodes  # dT/db at the nodes
    dsd = -0.5 * sdev[:, None] / mode.hdiag[:, None] * sens["dnegH"]
    pr = (pi * r).sum(1)
    prx = (pi * r * x[None, :]).sum(1)
    corr = sens["dmode"] * pr[:, None] + dsd * (prx + 1.0 / sdev)[:, None]
    if scores:
        out["scores"] = gbar + corr
    if d.has_w2:
        out["grad"] = wg @ gbar + wg @ corr
    else:
        out["grad"] = gbar.sum(0) + corr.sum(0)
    if derivs < 2:
        return out
    # (n, Q): row weight (times its group's weight) times posterior node weight
    rho = (w * d.rw)[:, None] * pi[g] if d.has_w2 else w2 * pi[g]
    # expected second derivatives; the threshold and location parts of dA/dphi, dB/dphi do
    # not vary over nodes, so the node sums collapse to row-level weights first
    lAA, lAB, lBB = c["lAA"], c["lAB"], c["lBB"]
    wAA = (rho * lAA).sum(1)
    wBB = (rho * lBB).sum(1)
    wAB = (rho * lAB).sum(1)
    a = np.hstack([d.Du, -d.X])
    cc = np.hstack([d.Dl, -d.X])
    k = ka + p
    H = np.empty((d.P, d.P))
    cross = (a * wAB[:, None]).T @ cc
    H[:k, :k] = (a * wAA[:, None]).T @ a + (cc * wBB[:, None]).T @ cc + cross + cross.T
    # mixed (alpha, beta) x tau: d/dtau of A and B is -vb
    ta = (rho * vb * (lAA + lAB)).sum(1)
    tc = (rho * vb * (lAB + lBB)).sum(1)
    H[:k, k] = -(a.T @ ta + cc.T @ tc)
    H[k, :k] = H[:k, k]
    H[k, k] = float((rho * (vb * vb * (lAA + 2.0 * lAB + lBB) + ls * vb)).sum())
    gq = gg.reshape(m * Q, d.P)
    if d.has_w2:
        H += (gq * (pi * wg[:, None]).reshape(-1)[:, None]).T @ gq - (gbar * wg[:, None]).T @ gbar
    else:
        H += (gq * pi.reshape(-1)[:, None]).T @ gq - gbar.T @ gbar
    out["hess"] = H
    return out


def integrate_cdf(dist: Dist, t: np.ndarray, sd: np.ndarray, n_nodes: int = 40) -> np.ndarray:
    """``E F(t_i - sd_i X)``, ``X ~ N(0, 1)``, by ``n_nodes``-point Gauss-Hermite quadrature;
    ``t`` is ``(n,)`` or ``(n, J-1)`` and ``sd`` ``(n,)``."""
    x, logw = _gh(n_nodes)
    wq = np.exp(logw) / np.sqrt(2 * np.pi)
    sd = np.asarray(sd, dtype=float).reshape((-1,) + (1,) * (np.ndim(t) - 1))
    vals = dist.cdf(t[..., None] - sd[..., None] * x)
    return vals @ wq


def group_scores(d: GLMMData, phi: Array, method: str, n_quad: int, b0: Array | None) -> Array:
    """Each group's gradient of its log marginal likelihood at ``phi`` (one factor),
    ``(m, P)``, before the group weights: the scores of the cluster sandwich."""
    if d.K != 1:
        raise ValueError("group scores need exactly one grouping factor")
    if method == "agq":
        return agq_loglik(d, phi, n_quad, b0, derivs=1, scores=True)["scores"]
    return laplace_loglik(d, phi, b0, scores=True)["scores"]


# ------------------------------------------------------------------------------------------
@dataclass
class FitOutput:
    """What :func:`fit_glmm` returns (array level)."""

    phi: Array
    cov: Array
    loglik: float
    converged: bool
    n_iter: int
    max_grad: float
    hessian_cond: float
    mode: _Mode
    messages: list[str]
    boundary: list[int]


def _objective(d: GLMMData, method: str, n_quad: int):
    tau = slice(d.k_alpha + d.p, d.P)

    def fun(
        phi: Array,
        b0: Array | None,
        derivs: int,
        done: Callable[[Array], bool] | None = None,
        complete: bool = True,
    ) -> dict:
        """Log-likelihood and ``derivs`` orders of derivatives at ``phi``. For Laplace
        fits ``complete=False`` leaves the Hessian analytic (:func:`complete_hessian` adds
        the rest later); with ``done``, the finite-difference part is skipped when
        ``done(gradient)`` says the fit has converged (the Newton step it serves is not
        taken)."""
        if method == "agq":
            return agq_loglik(d, phi, n_quad, b0, derivs=derivs)
        out = laplace_loglik(d, phi, b0, gradient=derivs >= 1, hessian=derivs >= 2)
        if derivs >= 2 and complete:
            return complete_hessian(out, phi, done)
        return out

    def complete_hessian(
        out: dict, phi: Array, done: Callable[[Array], bool] | None = None
    ) -> dict:
        """Replace the variance-parameter rows and columns of a Laplace evaluation's
        analytic Hessian by differences of the exact gradient (unless ``done``)."""
        if done is not None and done(out["grad"]):
            return out
        # the analytic Hessian misses the log-determinant's curvature, which is large
        # only in the variance-parameter directions: replace those rows/columns by
        # forward differences of the exact gradient (one extra gradient evaluation per
        # parameter; the step matrix needs no more accuracy, and the covariance matrix
        # is computed separately by central differences)
        H = out["hess"]
        g0 = out["grad"]
        points = []
        for j in range(tau.start, tau.stop):
            e = np.zeros_like(phi)
            e[j] = 1e-6
            points.append(phi + e)
        grads = _gradients_at(d, out, phi, np.array(points))
        for c, j in enumerate(range(tau.start, tau.stop)):
            col = (grads[c] - g0) / 1e-6
            H[:, j] = col
            H[j, :] = col
        return out

    return fun, complete_hessian


def _backtrack(t: float, slope: float, f0: float, ft: float | None) -> float:
    """The next step length after the trial at ``t`` failed (log-likelihood ``ft``, None
    or not finite when it could not be evaluated): the maximum of the quadratic through
    ``f0``, the slope at 0 and ``ft``, kept within ``[0.1 t, 0.5 t]``; ``0.5 t`` without a
    usable value."""
    if ft is None or not math.isfinite(ft) or not slope > 0:
        return 0.5 * t
    curv = (ft - f0 - slope * t) / (t * t)  # negative: ft is below the tangent
    if not curv < 0:
        return 0.5 * t
    return min(0.5 * t, max(0.1 * t, -slope / (2.0 * curv)))


def _max_abs(v: Array) -> float:
    """``max |v|`` of a short vector (0 when empty; NaN when any entry is NaN)."""
    vals = [abs(x) for x in v.tolist()]
    if any(x != x for x in vals):
        return math.nan
    return max(vals, default=0.0)


def _newton_direction(H: Array, g: Array, free: Array, max_tries: int = 60) -> tuple:
    """``(ok, step)``: ``H_ff^-1 g_f`` on the ``free`` parameters (zeros elsewhere), with
    Levenberg damping ``H_ff + lam I`` where ``H_ff`` is not positive definite (``lam``
    from ``1e-6 * max(1, max |diag H_ff|)``, doubling, at most ``max_tries``
    factorisations). Compiled when Numba is there (the NumPy calls cost more than the
    arithmetic for a handful of parameters)."""
    from . import _laplace_kernel as lk

    if lk.available():
        return lk.newton_direction(H, g, free, max_tries)
    Hf = H[np.ix_(free, free)]
    lam = 0.0
    for _ in range(max_tries):
        try:
            L = np.linalg.cholesky(Hf + lam * np.eye(len(Hf)))
        except np.linalg.LinAlgError:
            lam = max(2 * lam, 1e-6 * max(1.0, np.abs(np.diag(Hf)).max()))
            continue
        step = np.zeros(len(g))
        step[free] = np.linalg.solve(L.T, np.linalg.solve(L, g[free]))
        return True, step
    return False, np.zeros(len(g))


def _gradients_at(d: GLMMData, res: dict, phi: Array, points: Array) -> Array:
    """Laplace gradients at the rows of ``points``, near ``phi`` where ``res`` was evaluated
    (modes started from :func:`_predicted_mode`): one compiled call for all of them when
    the kernel applies and every point succeeds, else point by point."""
    from . import _laplace_kernel as lk

    b0s = np.array([_predicted_mode(res, x - phi) for x in points])
    if "dmode" in res and _kernel_applies(d):
        if d.kernel is None:  # pragma: no cover - res came from the kernel
            d.kernel = lk.prepare(d)
        status, grads = lk.gradients(d, d.kernel, points, b0s)
        if not status.any():
            return grads
    return np.array([laplace_loglik(d, x, b0)["grad"] for x, b0 in zip(points, b0s, strict=True)])


def _predicted_mode(res: dict, delta: Array) -> Array:
    """Start for the modes at ``phi + delta`` from an evaluation at ``phi``: first order
    (``b + (d b / d phi) delta``) when the evaluation returned the modes' derivatives (the
    compiled path), else its modes."""
    b = res["mode"].b
    if "dmode" not in res:
        return b
    return b + res["dmode"] @ delta


def numerical_jacobian(
    fun: Callable[[Array], Array], x: Array, rel_step: float = 1e-5, n_out: int | None = None
) -> Array:
    """Central-difference Jacobian of a vector function (used on analytic gradients);
    ``n_out``, the length of ``fun``'s value, saves one evaluation when known."""
    if n_out is None:
        n_out = len(fun(x))
    J = np.empty((n_out, len(x)))
    for j in range(len(x)):
        h = rel_step * max(1.0, abs(x[j]))
        e = np.zeros_like(x)
        e[j] = h
        J[:, j] = (fun(x + e) - fun(x - e)) / (2 * h)
    return J


def fit_glmm(d: GLMMData, start: Array, **kwargs) -> FitOutput:
    """Maximise the Laplace or AGQ marginal log-likelihood by damped Newton steps.

    The linear algebra involves small matrices only, where multithreaded BLAS costs more in
    synchronisation than it gains (badly so on a loaded machine), so BLAS runs
    single-threaded during the fit. See :func:`_fit_glmm` for the parameters.
    """
    controller = _blas_controller()
    if controller is None:  # pragma: no cover - threadpoolctl comes with scikit-learn
        return _fit_glmm(d, start, **kwargs)
    with controller.limit(limits=1, user_api="blas"):
        return _fit_glmm(d, start, **kwargs)


_CONTROLLER: list = []


def _blas_controller():
    # discovering the loaded BLAS libraries takes tens of ms: do it once per process
    if not _CONTROLLER:
        try:
            from threadpoolctl import ThreadpoolController

            _CONTROLLER.append(ThreadpoolController())
        except ImportError:  # pragma: no cover
            _CONTROLLER.append(None)
    return _CONTROLLER[0]


def fixed_start(d: GLMMData, alpha_beta: Array, *, iters: int = 25, tol: float = 1e-4) -> Array:
    """Maximum-likelihood (alpha, beta) of the model without random effects (Newton).

    Used as start values for the mixed fit: a few cheap row-level Newton steps save several
    expensive marginal-likelihood iterations. Compiled (``_laplace_kernel.fixed_newton``)
    when Numba is available; the NumPy loop below is the same iteration.
    """
    from . import _laplace_kernel as lk

    if USE_KERNEL and lk.available():
        return lk.fixed_newton(d, np.asarray(alpha_beta, dtype=float), iters, tol)
    ka, p = d.k_alpha, d.p
    x = np.asarray(alpha_beta, dtype=float).copy()
    a = np.hstack([d.Du, -d.X])
    cc = np.hstack([d.Dl, -d.X])
    wr = d.w * d.rw
    w = wr[:, None]

    def evaluate(v: Array) -> tuple[float, dict]:
        tu, tl = d.cuts(v[:ka])
        s = d.X @ v[ka:] if p else np.zeros(d.n)
        c = _cell(d, tu - s, tl - s, 2)
        return float(wr @ c["l"]), c

    f, c = evaluate(x)
    for _ in range(iters):
        g = a.T @ (wr * c["lA"]) + cc.T @ (wr * c["lB"])
        # only a start value: a loose tolerance saves iterations the mixed fit redoes anyway
        if np.max(np.abs(g)) < tol * max(1.0, float(wr.sum()) / d.n):
            break
        cross = (a * (w * c["lAB"][:, None])).T @ cc
        H = (a * (w * c["lAA"][:, None])).T @ a + (cc * (w * c["lBB"][:, None])).T @ cc
        H += cross + cross.T
        try:
            step = -linalg.solve(H, g, assume_a="sym")
        except linalg.LinAlgError:
            break
        t = 1.0
        for _h in range(30):
            fn, cn = evaluate(x + t * step)
            if np.isfinite(fn) and fn >= f - 1e-12 * abs(f):
                break
            t *= 0.5
        else:
            break
        x, f, c = x + t * step, fn, cn
    return x


def _fit_glmm(
    d: GLMMData,
    start: Array,
    *,
    method: str = "laplace",
    n_quad: int = 10,
    max_iter: int = 200,
    gtol: float = 1e-7,
    min_log_sd: float = -9.0,
    hold: Array | None = None,
    covariance: bool = True,
) -> FitOutput:
    """Maximise the Laplace or AGQ marginal log-likelihood by damped Newton steps.

    Parameters
    ----------
    d : GLMMData
    start : ndarray
        Starting ``phi = (alpha, beta, log sigma)``.
    method : {"laplace", "agq"}
    n_quad : int
        Nodes for AGQ.
    max_iter : int
    gtol : float
        Convergence when ``max |gradient| < gtol * max(1, mean weight)``, so weighted and
        unweighted fits stop alike.
    min_log_sd : float
        A log SD below this is treated as on the boundary (SD = 0): it is held there and
        reported.
    hold : ndarray of bool, optional
        Parameters held at their start values (profile likelihood).
    covariance : bool, default True
        Compute the covariance matrix (skipped for profile fits).
    """
    fun, complete_hessian = _objective(d, method, n_quad)
    trial = 2 if method == "agq" or _kernel_applies(d) else 0
    phi = np.asarray(start, dtype=float).copy()
    ka, p = d.k_alpha, d.p
    # the log-diagonals of Lambda (log SDs without correlated blocks); they alone have a
    # boundary, at SD = 0 (the off-diagonal entries of a block's factor are unbounded)
    tau_idx = np.arange(ka + p, ka + p + d.K)
    cur = fun(phi, None, 2)
    messages: list[str] = []
    converged = False
    n_iter = 0
    scale = max(1.0, float((d.w * d.rw).sum()) / d.n)
    held = np.zeros(d.P, dtype=bool) if hold is None else np.asarray(hold, dtype=bool)
    fixed = held.copy()

    # the parameter vectors are short: plain Python maxima cost less than NumPy calls
    def done(g: Array) -> bool:
        return _max_abs(np.where(fixed, 0.0, g)) < gtol * scale

    for _ in range(max_iter):
        n_iter += 1
        grad = cur["grad"].copy()
        grad[fixed] = 0.0
        if _max_abs(grad) < gtol * scale:
            converged = True
            break
        # the Newton direction, with Levenberg damping where the matrix is not positive
        # definite
        ok, step = _newton_direction(-cur["hess"], grad, ~fixed)
        if not ok:
            messages.append("the Newton matrix could not be made positive definite")
            break
        # keep a single step from moving log SD by more than 3 (exp(3) = 20-fold)
        big = _max_abs(step[tau_idx])
        if big > 3.0:
            step *= 3.0 / big
        t = 1.0
        new = None
        slope = float(grad @ step)  # the directional derivative at t = 0
        for _h in range(40):
            cand = phi + t * step
            try:
                # Laplace: a trial point gets the log-likelihood, with the compiled kernel
                # also the gradient and analytic Hessian (they cost little more there and
                # most trial points are accepted); the finite-difference part of the
                # Hessian (one gradient per variance parameter) once it is accepted
                res = fun(cand, _predicted_mode(cur, t * step), trial, complete=False)
            except (FloatingPointError, linalg.LinAlgError):
                res = None
            if (
                res is not None
                and math.isfinite(res["loglik"])
                and (res["loglik"] >= cur["loglik"] - 1e-10 * abs(cur["loglik"]))
            ):
                if method == "agq":
                    new = res
                elif trial == 2:
                    new = complete_hessian(res, cand, done)
                else:
                    new = fun(cand, res["mode"].b, 2, done)
                break
            t = _backtrack(t, slope, cur["loglik"], None if res is None else res["loglik"])
        if new is None:
            messages.append("line search failed to improve the log-likelihood")
            break
        phi = cand
        cur = new
        for j in tau_idx:
            if not fixed[j] and phi[j] < min_log_sd and cur["grad"][j] < 0:
                fixed[j] = True
                phi[j] = min_log_sd
                cur = fun(phi, cur["mode"].b, 2)
    boundary = [int(j - ka - p) for j in tau_idx if fixed[j] and not held[j]]
    grad = cur["grad"].copy()
    max_grad = float(np.max(np.abs(np.where(fixed, 0.0, grad))))
    if not converged and not messages:
        messages.append(f"no convergence in {max_iter} Newton iterations")
    free = ~fixed
    if not covariance:
        return FitOutput(
            phi=phi,
            cov=np.full((d.P, d.P), np.nan),
            loglik=float(cur["loglik"]),
            converged=converged,
            n_iter=n_iter,
            max_grad=max_grad,
            hessian_cond=np.nan,
            mode=cur["mode"],
            messages=messages,
            boundary=boundary,
        )
    # observed information of the marginal likelihood
    if method == "agq":
        info = -cur["hess"]
    else:
        # central differences of the exact gradient, all 2P points in one batch
        steps = 1e-5 * np.maximum(1.0, np.abs(phi))
        E = np.diag(steps)
        grads = _gradients_at(d, cur, phi, np.concatenate([phi + E, phi - E]))
        info = -((grads[: d.P] - grads[d.P :]) / (2 * steps)[:, None]).T
        info = 0.5 * (info + info.T)
    cov = np.full((d.P, d.P), np.nan)
    If = info[np.ix_(free, free)]
    try:
        ev = np.linalg.eigvalsh(If)
        cond = float(ev.max() / ev.min()) if ev.min() > 0 else np.inf
        if ev.min() <= 0:
            raise linalg.LinAlgError("information not positive definite")
        cov[np.ix_(free, free)] = np.linalg.inv(If)
    except linalg.LinAlgError:
        cond = np.inf
        messages.append(
            "the observed information is not positive definite, so standard errors are not "
            "available (a parameter is not identified or on the boundary)"
        )
    return FitOutput(
        phi=phi,
        cov=cov,
        loglik=float(cur["loglik"]),
        converged=converged and np.isfinite(cond),
        n_iter=n_iter,
        max_grad=max_grad,
        hessian_cond=cond,
        mode=cur["mode"],
        messages=messages,
        boundary=boundary,
    )


def warn_boundary(out: FitOutput, names: list[str], d: GLMMData | None = None) -> None:
    """Warn when a random-effect SD was estimated at 0, or (with ``d``) a correlated
    block's covariance matrix is singular (a correlation of +-1)."""
    later = set() if d is None else {b[i] for b in d.blocks for i in range(1, len(b))}
    zero = [names[j] for j in out.boundary if j not in later]
    singular = [names[j] for j in out.boundary if j in later]
    if zero:
        warnings.warn(
            f"boundary (singular) fit: the random-effect SD of {zero} is estimated at 0, "
            "so those groups add nothing beyond the fixed effects; its standard error is not "
            "available. Consider dropping the term.",
            UserWarning,
            stacklevel=3,
        )
    if singular:
        warnings.warn(
            f"boundary (singular) fit: the random-effect covariance matrix is singular at "
            f"{singular} (a correlation of +-1: that effect is a multiple of the ones before "
            "it in its block); the fit is valid but those standard errors are not available. "
            "Consider separate uncorrelated terms (1 | g) + (0 + x | g).",
            UserWarning,
            stacklevel=3,
        )


def warn_convergence(out: FitOutput, what: str) -> None:
    """Issue a :class:`ConvergenceWarning` with advice when a fit did not converge."""
    if out.converged:
        return
    detail = "; ".join(out.messages) or "gradient not small"
    warnings.warn(
        f"{what} did not converge ({detail}; max |gradient| {out.max_grad:.2g}). Try: "
        "rescaling continuous predictors (centre, divide by their SD), removing predictors "
        "with very few observations per category, method='laplace' instead of 'agq' (or more "
        "n_quad), or check whether a random-effect SD is near 0 (then fit the fixed model).",
        ConvergenceWarning,
        stacklevel=3,
    )
