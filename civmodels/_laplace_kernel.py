"""Compiled Laplace evaluation for models with several random-effect terms (Numba).

:func:`civmodels._glmm.laplace_loglik` evaluates, for a parameter vector ``phi``, the
conditional modes of the spherical random effects, the Laplace log-likelihood and its exact
gradient (and the analytic part of its Hessian). With two or more random-effect terms
(crossed or nested intercepts, random slopes, correlated blocks) the NumPy/SciPy version
spends most of its time in call overhead: sparse-matrix construction, small dense
factorisations and a few hundred array operations per evaluation, repeated some fifty times
per fit. This module does the same arithmetic in one compiled call.

Structure
---------
``H = I + M' diag(D) M`` with ``M = Z Lambda`` has a fixed sparsity pattern: row ``i`` of
``M`` is non-zero only at the levels ``pos[i, k]`` of its ``K`` terms (terms of a correlated
block share their grouping factor, so ``Lambda`` adds no new positions). The pattern is
ordered once by greedy minimum degree (nested factors: the inner levels first, so the
factor has no fill; a correlated block: no fill), and the Cholesky factor, the solves and
the selected inverse (Takahashi's recursion, the entries of ``H^-1`` on the factor's
pattern, which are all the gradient needs) run over that pattern only. Values sit in dense
``q x q`` arrays indexed by the permuted levels, which keeps the loops simple; models with
more than :data:`MAX_LEVELS` levels use the NumPy path.

The formulas are exactly those of the NumPy path in :mod:`civmodels._glmm` (see its
docstring); ``tests/test_laplace_kernel.py`` checks both paths against each other for every
link, ordinal and binary outcomes, crossed, nested, slope and correlated terms and row
weights.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

try:  # pragma: no cover - numba is a dependency of the package
    from numba import njit
except ImportError:  # pragma: no cover
    njit = None

__all__ = [
    "MAX_LEVELS",
    "KernelInputs",
    "KernelStructure",
    "available",
    "evaluate",
    "fixed_newton",
    "gradients",
    "newton_direction",
    "prepare",
    "structure",
]

#: above this many random-effect levels the dense ``q x q`` work arrays get large; the NumPy
#: path (also dense) is used instead
MAX_LEVELS = 1500

LINK_CODES = {"logit": 0, "probit": 1, "cloglog": 2, "loglog": 3, "cauchit": 4}
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_HALF = math.sqrt(0.5)


def available() -> bool:
    """Whether Numba is importable."""
    return njit is not None


# ------------------------------------------------------------------------------------------
# symbolic analysis (once per model)
@dataclass
class KernelStructure:
    """Elimination order and Cholesky pattern of ``H`` for one model's random effects.

    ``perm[j]`` is the original level eliminated ``j``-th and ``lev_p`` its inverse.
    Column ``j`` of the factor has its rows (ascending, first ``j``) at
    ``Li[Lp[j]:Lp[j+1]]``; row ``j`` has its columns ``k < j`` at ``Rk[Rp[j]:Rp[j+1]]``
    with ``Ridx`` the position of entry ``(j, k)`` in ``Li``.
    """

    perm: np.ndarray
    lev_p: np.ndarray
    Lp: np.ndarray
    Li: np.ndarray
    Rp: np.ndarray
    Rk: np.ndarray
    Ridx: np.ndarray
    posp: np.ndarray  # (n, K) permuted level of each row's term


def structure(pos: np.ndarray, q: int) -> KernelStructure:
    """Minimum-degree order and symbolic Cholesky factor of the pattern of ``H``.

    Parameters
    ----------
    pos : ndarray of int, shape (n, K)
        Each row's level (``0 .. q-1``) for every term.
    q : int
        Number of levels.

    Returns
    -------
    KernelStructure
    """
    pos = np.ascontiguousarray(pos, dtype=np.int64)
    order, F = _min_degree(_adjacency(pos, q))
    perm = order.astype(np.int64)
    lev_p = np.empty(q, dtype=np.int64)
    lev_p[perm] = np.arange(q)
    ok, Lp, Li, Rp, Rk, Ridx = _symbolic(F, perm)
    if not ok:  # pragma: no cover - neighbours are eliminated later
        raise AssertionError("elimination order is inconsistent")
    return KernelStructure(
        perm=perm, lev_p=lev_p, Lp=Lp, Li=Li, Rp=Rp, Rk=Rk, Ridx=Ridx, posp=lev_p[pos]
    )


def _adjacency(pos, q):  # pragma: no cover - compiled
    """The graph of ``H``'s off-diagonal pattern: levels ``u != v`` are adjacent when a row
    has both (``uint8``, symmetric)."""
    A = np.zeros((q, q), dtype=np.uint8)
    n, K = pos.shape
    for i in range(n):
        for a in range(K):
            for c in range(K):
                if a != c:
                    A[pos[i, a], pos[i, c]] = 1
    return A


def _symbolic(F, perm):  # pragma: no cover - compiled
    """The factor's pattern in elimination order from :func:`_min_degree`'s ``F``: column
    ``j`` holds ``j`` and the neighbours of the ``j``-th eliminated level at its
    elimination (all eliminated later, else ``ok`` is False), rows ascending; and for every
    row ``r`` the columns ``k < r`` holding it (ascending) with their positions in ``Li``."""
    q = len(perm)
    ok = True
    Lp = np.zeros(q + 1, dtype=np.int64)
    row_count = np.zeros(q, dtype=np.int64)
    for j in range(q):
        pj = perm[j]
        for r in range(j):
            if F[pj, perm[r]]:
                ok = False
        c = 1
        for r in range(j + 1, q):
            if F[pj, perm[r]]:
                c += 1
                row_count[r] += 1
        Lp[j + 1] = Lp[j] + c
    Li = np.empty(Lp[q], dtype=np.int64)
    Rp = np.zeros(q + 1, dtype=np.int64)
    for r in range(q):
        Rp[r + 1] = Rp[r] + row_count[r]
    Rk = np.empty(Rp[q], dtype=np.int64)
    Ridx = np.empty(Rp[q], dtype=np.int64)
    fill = Rp[:q].copy()
    for j in range(q):
        pj = perm[j]
        idx = Lp[j]
        Li[idx] = j
        idx += 1
        for r in range(j + 1, q):
            if F[pj, perm[r]]:
                Li[idx] = r
                Rk[fill[r]] = j  # columns reach row r in ascending order
                Ridx[fill[r]] = idx
                fill[r] += 1
                idx += 1
    return ok, Lp, Li, Rp, Rk, Ridx


# ------------------------------------------------------------------------------------------
# compiled kernels
def _dist(x, code, order):  # pragma: no cover - compiled
    """``F, 1 - F, f, f', f''`` of link ``code`` at ``x`` (``f''`` only for order 3)."""
    fpp = 0.0
    if code == 0:  # logit
        if x >= 0:
            e = math.exp(-x)
            F = 1.0 / (1.0 + e)
            S = e / (1.0 + e)
        else:
            e = math.exp(x)
            F = e / (1.0 + e)
            S = 1.0 / (1.0 + e)
        f = F * S
        fp = f * (S - F)
        if order >= 3:
            fpp = f * (1.0 - 6.0 * f)
    elif code == 1:  # probit
        F = 0.5 * math.erfc(-x * _SQRT_HALF)
        S = 0.5 * math.erfc(x * _SQRT_HALF)
        f = math.exp(-0.5 * x * x) * _INV_SQRT_2PI
        fp = -x * f
        if order >= 3:
            fpp = (x * x - 1.0) * f
    elif code == 2:  # cloglog
        xc = min(x, 700.0)
        e = math.exp(xc)
        F = -math.expm1(-e)
        S = math.exp(-e)
        f = math.exp(xc - e)
        fp = f * (1.0 - e)
        if order >= 3:
            fpp = f * ((1.0 - e) ** 2 - e)
    elif code == 3:  # loglog
        xc = max(x, -700.0)
        e = math.exp(-xc)
        F = math.exp(-e)
        S = -math.expm1(-e)
        f = math.exp(-xc - e)
        fp = f * (e - 1.0)
        if order >= 3:
            fpp = f * ((e - 1.0) ** 2 - e)
    else:  # cauchit
        F = 0.5 + math.atan(x) / math.pi
        S = 0.5 + math.atan(-x) / math.pi
        f = 1.0 / (math.pi * (1.0 + x * x))
        fp = -2.0 * x / (math.pi * (1.0 + x * x) ** 2)
        if order >= 3:
            fpp = (6.0 * x * x - 2.0) / (math.pi * (1.0 + x * x) ** 3)
    return F, S, f, fp, fpp


def _cell(A, B, up, lo, code, order):  # pragma: no cover - compiled
    """``log(F(A) - F(B))`` and its derivatives in ``(A, B)`` (as ``_glmm._cell``):
    ``l, lA, lB, lAA, lBB, lAB, lAAA, lBBB, lAAB, lABB``."""
    # an infinite cut (top or bottom category) contributes F = 1 or 0 and no density
    if up:
        FA, SA, fA, dA0, eA0 = _dist(A, code, order)
    else:
        FA, SA, fA, dA0, eA0 = 1.0, 0.0, 0.0, 0.0, 0.0
    if lo:
        FB, SB, fB, dB0, eB0 = _dist(B, code, order)
    else:
        FB, SB, fB, dB0, eB0 = 0.0, 1.0, 0.0, 0.0, 0.0
    upf = 1.0 if up else 0.0
    lof = 1.0 if lo else 0.0
    if up and lo:
        mid = 0.5 * (A + B)
    elif up:
        mid = -1.0
    else:
        mid = 1.0
    P = SB - SA if mid > 0 else FA - FB
    P = max(P, 1e-300)
    iP = 1.0 / P
    lA = fA * upf * iP
    lB = -fB * lof * iP
    dA = dA0 * upf * iP
    dB = dB0 * lof * iP
    lAA = dA - lA * lA
    lBB = -dB - lB * lB
    lAB = -lA * lB
    lAAA = lBBB = lAAB = lABB = 0.0
    if order >= 3:
        eA = eA0 * upf * iP
        eB = eB0 * lof * iP
        lAAA = eA - 3.0 * lA * dA + 2.0 * lA**3
        lBBB = -eB + 3.0 * lB * dB + 2.0 * lB**3
        lAAB = -dA * lB + 2.0 * lA * lA * lB
        lABB = dB * lA + 2.0 * lA * lB * lB
    return math.log(P), lA, lB, lAA, lBB, lAB, lAAA, lBBB, lAAB, lABB


def _min_degree(A):  # pragma: no cover - compiled
    """Greedy minimum-degree elimination of the graph with adjacency ``A`` (``uint8``,
    symmetric, zero diagonal; overwritten). Ties go to the lowest index. Returns the order
    and ``F`` with ``F[v, u] = 1`` when ``u`` is a neighbour of ``v`` at ``v``'s
    elimination (the pattern of ``v``'s column of the Cholesky factor)."""
    q = A.shape[0]
    deg = np.zeros(q, dtype=np.int64)
    for v in range(q):
        for u in range(q):
            deg[v] += A[v, u]
    done = np.zeros(q, dtype=np.bool_)
    order = np.empty(q, dtype=np.int64)
    nb = np.empty(q, dtype=np.int64)
    F = np.zeros((q, q), dtype=np.uint8)
    for step in range(q):
        j = -1
        best = q + 1
        for v in range(q):
            if not done[v] and deg[v] < best:
                best = deg[v]
                j = v
        order[step] = j
        done[j] = True
        m = 0
        for u in range(q):
            if A[j, u]:
                nb[m] = u
                m += 1
                F[j, u] = 1
                A[j, u] = 0
        # the neighbours lose j and become a clique
        for a in range(m):
            va = nb[a]
            A[va, j] = 0
            deg[va] -= 1
            for c in range(m):
                vc = nb[c]
                if vc != va and A[va, vc] == 0:
                    A[va, vc] = 1
                    deg[va] += 1
    return order, F


def _chol(U, Lp, Li, Rp, Rk, Ridx):  # pragma: no cover - compiled
    """In-place left-looking Cholesky over the pattern; ``U[j, r]`` holds ``L[r, j]``.
    Returns False when a pivot is not positive."""
    q = len(Lp) - 1
    for j in range(q):
        for t in range(Rp[j], Rp[j + 1]):
            k = Rk[t]
            ljk = U[k, j]
            for idx in range(Ridx[t], Lp[k + 1]):
                r = Li[idx]
                U[j, r] -= U[k, r] * ljk
        d = U[j, j]
        if not d > 0.0:
            return False
        d = math.sqrt(d)
        U[j, j] = d
        for idx in range(Lp[j] + 1, Lp[j + 1]):
            U[j, Li[idx]] /= d
    return True


def _solve(U, Lp, Li, x):  # pragma: no cover - compiled
    """Solve ``L L' x = rhs`` in place over the pattern (``x`` is ``(q,)``)."""
    q = len(Lp) - 1
    for j in range(q):
        x[j] /= U[j, j]
        for idx in range(Lp[j] + 1, Lp[j + 1]):
            x[Li[idx]] -= U[j, Li[idx]] * x[j]
    for j in range(q - 1, -1, -1):
        for idx in range(Lp[j] + 1, Lp[j + 1]):
            x[j] -= U[j, Li[idx]] * x[Li[idx]]
        x[j] /= U[j, j]


def _solve_columns(U, Lp, Li, X):  # pragma: no cover - compiled
    """:func:`_solve` for each column of ``X`` (``(q, m)``), in place, without temporaries."""
    q = len(Lp) - 1
    m = X.shape[1]
    for j in range(q):
        d = U[j, j]
        for c in range(m):
            X[j, c] /= d
        for idx in range(Lp[j] + 1, Lp[j + 1]):
            r = Li[idx]
            u = U[j, r]
            for c in range(m):
                X[r, c] -= u * X[j, c]
    for j in range(q - 1, -1, -1):
        for idx in range(Lp[j] + 1, Lp[j + 1]):
            r = Li[idx]
            u = U[j, r]
            for c in range(m):
                X[j, c] -= u * X[r, c]
        d = U[j, j]
        for c in range(m):
            X[j, c] /= d


def _selected_inverse(U, Lp, Li, S):  # pragma: no cover - compiled
    """Entries of ``H^-1`` on the factor's pattern (Takahashi's recursion), symmetric."""
    q = len(Lp) - 1
    for j in range(q - 1, -1, -1):
        ljj = U[j, j]
        for a in range(Lp[j] + 1, Lp[j + 1]):
            i = Li[a]
            acc = 0.0
            for c in range(Lp[j] + 1, Lp[j + 1]):
                acc += U[j, Li[c]] * S[i, Li[c]]
            S[i, j] = -acc / ljj
            S[j, i] = S[i, j]
        acc = 0.0
        for c in range(Lp[j] + 1, Lp[j + 1]):
            acc += U[j, Li[c]] * S[Li[c], j]
        S[j, j] = 1.0 / (ljj * ljj) - acc / ljj


def _assemble(U, D, Mv, posp, Lp, Li):  # pragma: no cover - compiled
    """``H = I + M' diag(D) M`` into the pattern (lower triangle, ``U[j, r]`` = ``H[r, j]``)."""
    q = len(Lp) - 1
    for j in range(q):
        U[j, j] = 1.0
        for idx in range(Lp[j] + 1, Lp[j + 1]):
            U[j, Li[idx]] = 0.0
    n, K = Mv.shape
    for i in range(n):
        for a in range(K):
            pa = posp[i, a]
            va = D[i] * Mv[i, a]
            for c in range(K):
                pc = posp[i, c]
                if pc >= pa:
                    U[pa, pc] += va * Mv[i, c]


def _state(s, tu, tl, up, lo, w, code, out):  # pragma: no cover - compiled
    """Per row the cell values of :func:`_cell` (third order: the extra derivatives cost no
    transcendental function, and the gradient reuses them) into ``out[:, :10]``; returns
    the weighted log-likelihood."""
    tot = 0.0
    for i in range(len(s)):
        c = _cell(tu[i] - s[i], tl[i] - s[i], up[i], lo[i], code, 3)
        for j in range(10):
            out[i, j] = c[j]
        tot += w[i] * c[0]
    return tot


def _location(xb, Mv, posp, b, s):  # pragma: no cover - compiled
    n, K = Mv.shape
    for i in range(n):
        v = xb[i]
        for k in range(K):
            v += Mv[i, k] * b[posp[i, k]]
        s[i] = v


def _evaluate(
    up,
    lo,
    Du,
    Dl,
    tu0,
    tl0,
    X,
    w,
    z,
    posp,
    code,
    Lp,
    Li,
    Rp,
    Rk,
    Ridx,
    perm,
    lev_p,
    offsets,
    n_levels,
    blk_ptr,
    blk_terms,
    off_blk,
    off_i,
    off_j,
    alpha,
    beta,
    sigma,
    cvals,
    b0,
    tol,
    max_iter,
    want,
):  # pragma: no cover - compiled
    """Modes, Laplace log-likelihood and (``want >= 1``) gradient, (``want >= 2``) the
    analytic Hessian of ``h(b_hat(phi), phi)``. ``b0``, ``b`` and ``H`` are in the original
    level order. Status 1: a Cholesky pivot was not positive (the caller falls back)."""
    n, K = z.shape
    q = len(Lp) - 1
    ka = Du.shape[1]
    p = X.shape[1]
    n_off = len(cvals)
    P = ka + p + K + n_off
    # thresholds, fixed part and the rows of M = Z Lambda
    tu = tu0.copy()
    tl = tl0.copy()
    for i in range(n):
        for a in range(ka):
            tu[i] += Du[i, a] * alpha[a]
            tl[i] += Dl[i, a] * alpha[a]
    xb = np.zeros(n)
    for i in range(n):
        for a in range(p):
            xb[i] += X[i, a] * beta[a]
    Mv = np.empty((n, K))
    for i in range(n):
        for k in range(K):
            Mv[i, k] = z[i, k] * sigma[k]
        for o in range(n_off):
            ki = blk_terms[blk_ptr[off_blk[o]] + off_i[o]]
            kj = blk_terms[blk_ptr[off_blk[o]] + off_j[o]]
            Mv[i, kj] += z[i, ki] * cvals[o]
    b = np.empty(q)
    for a in range(q):
        b[lev_p[a]] = b0[a]
    s = np.empty(n)
    st = np.empty((n, 10))
    D = np.empty(n)
    gb = np.empty(q)
    U = np.zeros((q, q))
    step = np.empty(q)
    bn = np.empty(q)
    converged = False
    status = 0
    _location(xb, Mv, posp, b, s)
    f_tot = _state(s, tu, tl, up, lo, w, code, st)
    for _it in range(max_iter):
        gb[:] = -b
        for i in range(n):
            r1 = -w[i] * (st[i, 1] + st[i, 2])  # w * d l / d s
            D[i] = -w[i] * (st[i, 3] + 2.0 * st[i, 5] + st[i, 4])  # -w * d2 l / d s2
            for k in range(K):
                gb[posp[i, k]] += Mv[i, k] * r1
        gmax = 0.0
        for a in range(q):
            gmax = max(gmax, abs(gb[a]))
        if gmax < tol:
            converged = True
            break
        _assemble(U, D, Mv, posp, Lp, Li)
        if _chol(U, Lp, Li, Rp, Rk, Ridx):
            step[:] = gb
            _solve(U, Lp, Li, step)
        else:  # not positive definite: a scaled gradient step
            _assemble(U, D, Mv, posp, Lp, Li)
            for a in range(q):
                step[a] = gb[a] / max(U[a, a], 1.0)
        f_old = f_tot
        for a in range(q):
            f_old -= 0.5 * b[a] * b[a]
        tt = 1.0
        for _h in range(30):
            for a in range(q):
                bn[a] = b[a] + tt * step[a]
            _location(xb, Mv, posp, bn, s)
            f_new = _state(s, tu, tl, up, lo, w, code, st)
            for a in range(q):
                f_new -= 0.5 * bn[a] * bn[a]
            if f_new >= f_old - 1e-12 * abs(f_old):
                break
            tt *= 0.5
        b[:] = bn
        f_tot = 0.0
        for i in range(n):
            f_tot += w[i] * st[i, 0]
    # H at the mode, kept in the original order for the caller
    for i in range(n):
        D[i] = -w[i] * (st[i, 3] + 2.0 * st[i, 5] + st[i, 4])
    _assemble(U, D, Mv, posp, Lp, Li)
    Hout = np.zeros((q, q))
    for j in range(q):
        oj = perm[j]
        Hout[oj, oj] = U[j, j]
        for idx in range(Lp[j] + 1, Lp[j + 1]):
            r = Li[idx]
            Hout[oj, perm[r]] = U[j, r]
            Hout[perm[r], oj] = U[j, r]
    h = f_tot
    for a in range(q):
        h -= 0.5 * b[a] * b[a]
    grad = np.zeros(P)
    hess = np.zeros((P, P))
    b_orig = np.empty(q)
    for a in range(q):
        b_orig[a] = b[lev_p[a]]
    if not _chol(U, Lp, Li, Rp, Rk, Ridx):
        status = 1
        return status, b_orig, h, 0.0, converged, grad, hess, Hout, np.zeros((q, P)), b_orig
    logdet = 0.0
    for j in range(q):
        logdet += 2.0 * math.log(U[j, j])
    if want == 0:
        return status, b_orig, h, logdet, converged, grad, hess, Hout, np.zeros((q, P)), b_orig
    # ---- gradient ----
    V = np.empty((n, K + n_off))
    for i in range(n):
        for k in range(K):
            V[i, k] = sigma[k] * z[i, k] * b[posp[i, k]]
        for o in range(n_off):
            ki = blk_terms[blk_ptr[off_blk[o]] + off_i[o]]
            kj = blk_terms[blk_ptr[off_blk[o]] + off_j[o]]
            V[i, K + o] = z[i, ki] * b[posp[i, kj]]
    nt = K + n_off
    G = np.zeros((q, P))
    zl = np.zeros(q)
    envelope = np.zeros(P)
    dD = np.empty((n, P))
    L3 = np.empty(n)
    Wc = np.empty((n, 3))  # w * (lAA, lBB, lAB) for the Hessian
    for i in range(n):
        # the cell at the mode, from the last state evaluation
        lA, lB, lAA, lBB, lAB = st[i, 1], st[i, 2], st[i, 3], st[i, 4], st[i, 5]
        lAAA, lBBB, lAAB, lABB = st[i, 6], st[i, 7], st[i, 8], st[i, 9]
        ls = -(lA + lB)
        lss = lAA + 2.0 * lAB + lBB
        lAs = -(lAA + lAB)
        lBs = -(lAB + lBB)
        lsss = -(lAAA + 3.0 * lAAB + 3.0 * lABB + lBBB)
        lAss = lAAA + 2.0 * lAAB + lABB
        lBss = lAAB + 2.0 * lABB + lBBB
        wi = w[i]
        L1 = wi * ls
        L2 = wi * lss
        L3[i] = wi * lsss
        Wc[i, 0] = wi * lAA
        Wc[i, 1] = wi * lBB
        Wc[i, 2] = wi * lAB
        for a in range(ka):
            envelope[a] += wi * (lA * Du[i, a] + lB * Dl[i, a])
            dD[i, a] = -wi * (lAss * Du[i, a] + lBss * Dl[i, a])  # completed below
        for a in range(p):
            envelope[ka + a] += X[i, a] * L1
        for t in range(nt):
            envelope[ka + p + t] += V[i, t] * L1
        for k in range(K):
            lev = posp[i, k]
            m = Mv[i, k]
            zl[lev] += z[i, k] * L1
            for a in range(ka):
                G[lev, a] += m * wi * (lAs * Du[i, a] + lBs * Dl[i, a])
            for a in range(p):
                G[lev, ka + a] += m * L2 * X[i, a]
            for t in range(nt):
                G[lev, ka + p + t] += m * L2 * V[i, t]
    # derivative of Lambda' Z' L1 in the variance parameters
    for k in range(K):
        for g in range(n_levels[k]):
            lev = lev_p[offsets[k] + g]
            G[lev, ka + p + k] += sigma[k] * zl[lev]
    for o in range(n_off):
        ki = blk_terms[blk_ptr[off_blk[o]] + off_i[o]]
        kj = blk_terms[blk_ptr[off_blk[o]] + off_j[o]]
        for g in range(n_levels[ki]):
            G[lev_p[offsets[kj] + g], ka + p + K + o] += zl[lev_p[offsets[ki] + g]]
    HinvG = G.copy()
    _solve_columns(U, Lp, Li, HinvG)
    S = np.zeros((q, q))
    _selected_inverse(U, Lp, Li, S)
    for i in range(n):
        cd = 0.0
        for a in range(K):
            for c2 in range(K):
                cd += Mv[i, a] * Mv[i, c2] * S[posp[i, a], posp[i, c2]]
        # ds = M H^-1 G + (0, X, V); dD = -L3 ds - Lthss (alpha columns)
        for t in range(P):
            v = 0.0
            for k in range(K):
                v += Mv[i, k] * HinvG[posp[i, k], t]
            if t >= ka + p:
                v += V[i, t - ka - p]
            elif t >= ka:
                v += X[i, t - ka]
            if t < ka:
                dD[i, t] -= L3[i] * v
            else:
                dD[i, t] = -L3[i] * v
            grad[t] -= 0.5 * cd * dD[i, t]
    for t in range(P):
        grad[t] += envelope[t]
    # half the derivative of log det H through Lambda at fixed D
    in_block = np.zeros(K, dtype=np.bool_)
    for t in range(len(blk_terms)):
        in_block[blk_terms[t]] = True
    for k in range(K):
        if not in_block[k]:
            tr = float(n_levels[k])
            for g in range(n_levels[k]):
                lev = lev_p[offsets[k] + g]
                tr -= S[lev, lev]
            grad[ka + p + k] -= tr
    for bi in range(len(blk_ptr) - 1):
        r = blk_ptr[bi + 1] - blk_ptr[bi]
        m = n_levels[blk_terms[blk_ptr[bi]]]
        Hs = np.zeros((r, r))
        for a in range(r):
            ka_ = blk_terms[blk_ptr[bi] + a]
            for c2 in range(r):
                kc = blk_terms[blk_ptr[bi] + c2]
                for g in range(m):
                    Hs[a, c2] += S[lev_p[offsets[ka_] + g], lev_p[offsets[kc] + g]]
        Lb = np.zeros((r, r))
        for a in range(r):
            Lb[a, a] = sigma[blk_terms[blk_ptr[bi] + a]]
        for o in range(n_off):
            if off_blk[o] == bi:
                Lb[off_i[o], off_j[o]] = cvals[o]
        # one parameter at a time: dL has a single non-zero entry (i, j), value v
        for par in range(r + n_off):
            if par < r:
                pi, pj, v, idx = par, par, Lb[par, par], blk_terms[blk_ptr[bi] + par]
            else:
                o = par - r
                if off_blk[o] != bi:
                    continue
                pi, pj, v, idx = off_i[o], off_j[o], 1.0, K + o
            # A = L^-1 dL: only column pj is non-zero, A[:, pj] = v L^-1 e_pi
            col = np.zeros(r)
            for a in range(r):
                acc = v if a == pi else 0.0
                for c2 in range(a):
                    acc -= Lb[a, c2] * col[c2]
                col[a] = acc / Lb[a, a]
            # m tr(A) - sum(Hs * A') = m A[pj, pj] - sum_a Hs[pj, a] A[a, pj]
            tval = m * col[pj]
            for a in range(r):
                tval -= Hs[pj, a] * col[a]
            grad[ka + p + idx] -= tval
    if want >= 2:
        # Hessian of h(b_hat(phi), phi): h_phiphi + G' H^-1 G, with a = (Du, -X, -V) and
        # c = (Dl, -X, -V) the derivatives of A and B
        av = np.empty(P)
        cv = np.empty(P)
        for i in range(n):
            _row_derivs(i, Du, Dl, X, V, av, cv)
            _add_cell_hessian(hess, av, cv, Wc[i, 0], Wc[i, 1], Wc[i, 2])
        for k in range(K):
            acc = 0.0
            for i in range(n):
                acc -= V[i, k] * w[i] * (st[i, 1] + st[i, 2])
            hess[ka + p + k, ka + p + k] += acc
        for a in range(P):
            for c2 in range(P):
                acc = 0.0
                for lev in range(q):
                    acc += G[lev, a] * HinvG[lev, c2]
                hess[a, c2] += acc
    dmode = np.empty((q, P))
    hinv_diag = np.empty(q)
    for a in range(q):
        for t in range(P):
            dmode[a, t] = HinvG[lev_p[a], t]
        hinv_diag[a] = S[lev_p[a], lev_p[a]]
    return status, b_orig, h, logdet, converged, grad, hess, Hout, dmode, hinv_diag


def _gradients(static, phis, b0s, tol, max_iter):  # pragma: no cover - compiled
    """The gradient at each row of ``phis`` (``(m, P)``: alpha, beta, log-diagonals of
    Lambda, off-diagonals), the modes' iteration starting from the same row of ``b0s``;
    one call for the finite-difference columns of a Hessian. ``static`` is
    :attr:`KernelInputs.static` (the first arguments of :func:`_evaluate`). Returns the
    status of every point (as :func:`_evaluate`) and the gradients."""
    m = phis.shape[0]
    P = phis.shape[1]
    ka = static[2].shape[1]  # Du
    p = static[6].shape[1]  # X
    K = static[8].shape[1]  # z
    status = np.zeros(m, dtype=np.int64)
    grads = np.zeros((m, P))
    alpha = np.empty(ka)
    beta = np.empty(p)
    sigma = np.empty(K)
    cvals = np.empty(P - ka - p - K)
    b0 = np.empty(b0s.shape[1])
    for r in range(m):
        for a in range(ka):
            alpha[a] = phis[r, a]
        for a in range(p):
            beta[a] = phis[r, ka + a]
        for k in range(K):
            sigma[k] = math.exp(phis[r, ka + p + k])
        for o in range(len(cvals)):
            cvals[o] = phis[r, ka + p + K + o]
        for a in range(len(b0)):
            b0[a] = b0s[r, a]
        # static supplies the first 25 arguments (mypy cannot count a tuple's length)
        out = _evaluate(*static, alpha, beta, sigma, cvals, b0, tol, max_iter, 1)  # type: ignore[call-arg]
        status[r] = out[0]
        for t in range(P):
            grads[r, t] = out[5][t]
    return status, grads


def _newton_direction(H, g, free, max_tries):  # pragma: no cover - compiled
    """``H_ff^-1 g_f`` on the free parameters (zeros elsewhere), with Levenberg damping
    ``H_ff + lam I`` when ``H_ff`` is not positive definite: ``lam`` starts at ``1e-6 *
    max(1, max |diag H_ff|)`` and doubles, at most ``max_tries`` factorisations. Returns
    ``(ok, step)``."""
    P = len(g)
    idx = np.flatnonzero(free)
    m = len(idx)
    step = np.zeros(P)
    L = np.zeros((m, m))
    dmax = 1.0
    for a in range(m):
        dmax = max(dmax, abs(H[idx[a], idx[a]]))
    lam = 0.0
    ok = False
    for _t in range(max_tries):
        ok = True
        for j in range(m):
            for i in range(j, m):
                acc = H[idx[i], idx[j]] + (lam if i == j else 0.0)
                for k in range(j):
                    acc -= L[i, k] * L[j, k]
                if i == j:
                    if not acc > 0.0:
                        ok = False
                        break
                    L[j, j] = math.sqrt(acc)
                else:
                    L[i, j] = acc / L[j, j]
            if not ok:
                break
        if ok:
            break
        lam = max(2.0 * lam, 1e-6 * dmax)
    if not ok:
        return False, step
    y = np.empty(m)
    for i in range(m):
        acc = g[idx[i]]
        for k in range(i):
            acc -= L[i, k] * y[k]
        y[i] = acc / L[i, i]
    for i in range(m - 1, -1, -1):
        acc = y[i]
        for k in range(i + 1, m):
            acc -= L[k, i] * y[k]
        y[i] = acc / L[i, i]
    for a in range(m):
        step[idx[a]] = y[a]
    return True, step


def _row_derivs(i, Du, Dl, X, V, av, cv):  # pragma: no cover - compiled
    """Row ``i``'s derivatives of ``A`` and ``B`` in the parameters: ``a = (Du, -X, -V)``
    into ``av`` and ``c = (Dl, -X, -V)`` into ``cv``."""
    ka = Du.shape[1]
    p = X.shape[1]
    for a in range(ka):
        av[a] = Du[i, a]
        cv[a] = Dl[i, a]
    for a in range(p):
        av[ka + a] = -X[i, a]
        cv[ka + a] = -X[i, a]
    for t in range(V.shape[1]):
        av[ka + p + t] = -V[i, t]
        cv[ka + p + t] = -V[i, t]


def _add_cell_hessian(H, av, cv, wAA, wBB, wAB):  # pragma: no cover - compiled
    """``H += wAA a a' + wBB c c' + wAB (a c' + c a')``: one row's second derivatives."""
    P = len(av)
    for a in range(P):
        for c in range(P):
            H[a, c] += (
                wAA * av[a] * av[c] + wBB * cv[a] * cv[c] + wAB * (av[a] * cv[c] + cv[a] * av[c])
            )


def _fixed_eval(v, up, lo, Du, Dl, tu0, tl0, X, wr, code, st):  # pragma: no cover
    """Weighted log-likelihood of the model without random effects at ``v = (alpha,
    beta)``; the cells go to ``st``."""
    n = len(up)
    ka = Du.shape[1]
    p = X.shape[1]
    tu = tu0.copy()
    tl = tl0.copy()
    s = np.zeros(n)
    for i in range(n):
        for a in range(ka):
            tu[i] += Du[i, a] * v[a]
            tl[i] += Dl[i, a] * v[a]
        for a in range(p):
            s[i] += X[i, a] * v[ka + a]
    return _state(s, tu, tl, up, lo, wr, code, st)


def _fixed_newton(up, lo, Du, Dl, tu0, tl0, X, wr, code, x0, iters, tol):  # pragma: no cover
    """Newton's method with step halving for the model without random effects (as
    :func:`civmodels._glmm.fixed_start`)."""
    n = len(up)
    ka = Du.shape[1]
    p = X.shape[1]
    P = ka + p
    x = x0.copy()
    st = np.empty((n, 10))
    f = _fixed_eval(x, up, lo, Du, Dl, tu0, tl0, X, wr, code, st)
    wsum = 0.0
    for i in range(n):
        wsum += wr[i]
    thresh = tol * max(1.0, wsum / n)
    g = np.empty(P)
    H = np.empty((P, P))
    av = np.empty(P)
    cv = np.empty(P)
    xn = np.empty(P)
    no_v = np.empty((n, 0))
    for _it in range(iters):
        g[:] = 0.0
        H[:, :] = 0.0
        for i in range(n):
            _row_derivs(i, Du, Dl, X, no_v, av, cv)
            w = wr[i]
            for a in range(P):
                g[a] += w * (st[i, 1] * av[a] + st[i, 2] * cv[a])
            _add_cell_hessian(H, av, cv, w * st[i, 3], w * st[i, 4], w * st[i, 5])
        gmax = 0.0
        for a in range(P):
            gmax = max(gmax, abs(g[a]))
        if gmax < thresh:
            break
        # step = -H^-1 g by Gaussian elimination with partial pivoting
        M = H.copy()
        rhs = -g
        ok = True
        for c in range(P):
            piv = c
            for r in range(c + 1, P):
                if abs(M[r, c]) > abs(M[piv, c]):
                    piv = r
            if not abs(M[piv, c]) > 1e-300:
                ok = False
                break
            if piv != c:
                for k in range(P):
                    M[c, k], M[piv, k] = M[piv, k], M[c, k]
                rhs[c], rhs[piv] = rhs[piv], rhs[c]
            for r in range(c + 1, P):
                fac = M[r, c] / M[c, c]
                for k in range(c, P):
                    M[r, k] -= fac * M[c, k]
                rhs[r] -= fac * rhs[c]
        if not ok:
            break
        step = np.empty(P)
        for c in range(P - 1, -1, -1):
            acc = rhs[c]
            for k in range(c + 1, P):
                acc -= M[c, k] * step[k]
            step[c] = acc / M[c, c]
        t = 1.0
        accepted = False
        for _h in range(30):
            for a in range(P):
                xn[a] = x[a] + t * step[a]
            fn = _fixed_eval(xn, up, lo, Du, Dl, tu0, tl0, X, wr, code, st)
            if math.isfinite(fn) and fn >= f - 1e-12 * abs(f):
                accepted = True
                break
            t *= 0.5
        if not accepted:
            break
        x[:] = xn
        f = fn
    return x


if njit is not None:  # compile lazily, cache on disk
    _dist = njit(cache=True)(_dist)
    _cell = njit(cache=True)(_cell)
    _min_degree = njit(cache=True)(_min_degree)
    _adjacency = njit(cache=True)(_adjacency)
    _symbolic = njit(cache=True)(_symbolic)
    _chol = njit(cache=True)(_chol)
    _solve = njit(cache=True)(_solve)
    _solve_columns = njit(cache=True)(_solve_columns)
    _selected_inverse = njit(cache=True)(_selected_inverse)
    _assemble = njit(cache=True)(_assemble)
    _state = njit(cache=True)(_state)
    _location = njit(cache=True)(_location)
    _evaluate = njit(cache=True)(_evaluate)
    _gradients = njit(cache=True)(_gradients)
    _newton_direction = njit(cache=True)(_newton_direction)
    _row_derivs = njit(cache=True)(_row_derivs)
    _add_cell_hessian = njit(cache=True)(_add_cell_hessian)
    _fixed_eval = njit(cache=True)(_fixed_eval)
    _fixed_newton = njit(cache=True)(_fixed_newton)


@dataclass
class KernelInputs:
    """The arrays of one model the compiled evaluation reads (built once per model)."""

    ks: KernelStructure
    Du: np.ndarray
    Dl: np.ndarray
    z: np.ndarray
    code: int
    offsets: np.ndarray
    n_levels: np.ndarray
    blk_ptr: np.ndarray
    blk_terms: np.ndarray
    off_blk: np.ndarray
    off_i: np.ndarray
    off_j: np.ndarray
    #: the model's fixed arrays in the order of :func:`_evaluate`'s first arguments
    static: tuple = ()


def fixed_newton(d, x0: np.ndarray, iters: int, tol: float) -> np.ndarray:
    """Maximum-likelihood ``(alpha, beta)`` of model ``d`` without random effects, compiled
    (the same iteration as :func:`civmodels._glmm.fixed_start`).

    Parameters
    ----------
    d : GLMMData
    x0 : ndarray
        Starting ``(alpha, beta)``.
    iters : int
        Most Newton iterations.
    tol : float
        Stop when ``max |gradient| < tol * max(1, mean weight)``.

    Returns
    -------
    ndarray
    """
    return _fixed_newton(
        d.up,
        d.lo,
        np.ascontiguousarray(d.Du, dtype=float),
        np.ascontiguousarray(d.Dl, dtype=float),
        d.tu0,
        d.tl0,
        d.X,
        np.ascontiguousarray(d.w * d.rw, dtype=float),
        LINK_CODES[d.dist.name],
        np.ascontiguousarray(x0, dtype=float),
        int(iters),
        float(tol),
    )


def prepare(d) -> KernelInputs:
    """Symbolic analysis and contiguous arrays for model ``d`` (a
    :class:`civmodels._glmm.GLMMData` with at most :data:`MAX_LEVELS` levels).

    Parameters
    ----------
    d : GLMMData

    Returns
    -------
    KernelInputs
    """
    pos = np.column_stack([d.offsets[k] + d.groups[k] for k in range(d.K)])
    blocks = list(d.blocks)
    as_int = lambda v: np.asarray(v, dtype=np.int64)  # noqa: E731
    ks = structure(pos, d.q)
    ki = KernelInputs(
        ks=ks,
        Du=np.ascontiguousarray(d.Du, dtype=float),
        Dl=np.ascontiguousarray(d.Dl, dtype=float),
        z=np.ascontiguousarray(np.column_stack(d.zvals), dtype=float),
        code=LINK_CODES[d.dist.name],
        offsets=as_int(d.offsets),
        n_levels=as_int(d.n_levels),
        blk_ptr=as_int(np.concatenate([[0], np.cumsum([len(b) for b in blocks])])),
        blk_terms=as_int([k for b in blocks for k in b]),
        off_blk=as_int([o[0] for o in d.off]),
        off_i=as_int([o[1] for o in d.off]),
        off_j=as_int([o[2] for o in d.off]),
    )
    ki.static = (
        d.up,
        d.lo,
        ki.Du,
        ki.Dl,
        d.tu0,
        d.tl0,
        d.X,
        d.w,
        ki.z,
        ks.posp,
        ki.code,
        ks.Lp,
        ks.Li,
        ks.Rp,
        ks.Rk,
        ks.Ridx,
        ks.perm,
        ks.lev_p,
        ki.offsets,
        ki.n_levels,
        ki.blk_ptr,
        ki.blk_terms,
        ki.off_blk,
        ki.off_i,
        ki.off_j,
    )
    return ki


def evaluate(d, ki: KernelInputs, phi: np.ndarray, b0: np.ndarray | None, want: int):
    """Run the compiled evaluation for model ``d`` (a :class:`civmodels._glmm.GLMMData`).

    Parameters
    ----------
    d : GLMMData
    ki : KernelInputs
        From :func:`prepare` for ``d``.
    phi : ndarray
        Parameter vector.
    b0 : ndarray or None
        Starting modes (original level order); zeros if None.
    want : int
        0: log-likelihood only; 1: with the gradient; 2: also the analytic Hessian.

    Returns
    -------
    tuple
        ``(status, b, h, logdet, converged, grad, hess, H, dmode, hinv_diag)``: the
        spherical modes, the log joint density at the mode, ``log det H``, whether the mode
        iteration converged, the gradient and Hessian (zeros unless requested), ``H`` at the
        mode and (with the gradient) the modes' derivatives ``d b / d phi = H^-1 G``
        (``q x P``) and the diagonal of ``H^-1`` (without the gradient, a placeholder array
        the caller ignores), all in the original level order. Status 1 means ``H`` was not
        positive definite at the mode (the caller should use the NumPy path).
    """
    alpha, beta, sigma = d.split(phi)
    b0 = np.zeros(d.q) if b0 is None else np.ascontiguousarray(b0, dtype=float)
    return _evaluate(  # type: ignore[call-arg]  # ki.static: the first 25 arguments
        *ki.static,
        np.ascontiguousarray(alpha, dtype=float),
        np.ascontiguousarray(beta, dtype=float),
        np.ascontiguousarray(sigma, dtype=float),
        np.ascontiguousarray(d.offdiag(phi), dtype=float),
        b0,
        1e-10,
        60,
        want,
    )


def gradients(d, ki: KernelInputs, phis: np.ndarray, b0s: np.ndarray):
    """Gradients at several parameter vectors in one compiled call (the finite-difference
    columns of a Hessian), as :func:`evaluate` with ``want=1`` at each.

    Parameters
    ----------
    d : GLMMData
    ki : KernelInputs
    phis : ndarray, shape (m, P)
        The parameter vectors.
    b0s : ndarray, shape (m, q)
        Starting modes for each (original level order).

    Returns
    -------
    tuple
        ``(status, grads)``: per point 0, or 1 where ``H`` was not positive definite at the
        mode (that gradient is not valid: the caller should use the NumPy path), and the
        gradients ``(m, P)``.
    """
    if phis.shape[1] != d.P or b0s.shape != (phis.shape[0], d.q):
        raise ValueError(f"phis must be (m, {d.P}) and b0s (m, {d.q})")
    return _gradients(
        ki.static,
        np.ascontiguousarray(phis, dtype=float),
        np.ascontiguousarray(b0s, dtype=float),
        1e-10,
        60,
    )


def newton_direction(H: np.ndarray, g: np.ndarray, free: np.ndarray, max_tries: int = 60):
    """The Newton direction ``H_ff^-1 g_f`` on the free parameters of a small problem, with
    Levenberg damping where ``H_ff`` is not positive definite (compiled: NumPy's LAPACK
    calls cost more than the arithmetic for a handful of parameters).

    Parameters
    ----------
    H : ndarray, shape (P, P)
        Symmetric matrix (the negative Hessian).
    g : ndarray, shape (P,)
        Gradient.
    free : ndarray of bool, shape (P,)
        Parameters that move; the others get a zero step.
    max_tries : int, default 60
        Most damped factorisations.

    Returns
    -------
    tuple
        ``(ok, step)``; ``ok`` is False when no damping made the matrix positive definite.
    """
    return _newton_direction(
        np.ascontiguousarray(H, dtype=float),
        np.ascontiguousarray(g, dtype=float),
        np.ascontiguousarray(free, dtype=np.bool_),
        int(max_tries),
    )
