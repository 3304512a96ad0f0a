"""Array-level cumulative link model: log-likelihood, analytic gradient and Hessian, Newton.

NumPy/SciPy only; no pandas. The model is written in the form used by R ``ordinal::clm``.
For observation ``i`` with outcome category ``y_i`` (0-based, ``J`` categories) the upper and
lower linear predictors are

    eta1_i = (B1_i' psi) / sigma_i,   eta2_i = (B2_i' psi) / sigma_i,   sigma_i = exp(S_i' zeta)

where ``psi = (alpha, beta)`` stacks the threshold parameters (threshold structure and nominal
effects included) and the location effects; ``B1_i`` holds ``+`` the threshold row of
category ``y_i`` and ``-x_i``, ``B2_i`` the same for category ``y_i - 1``. The top category
has ``eta1 = +inf`` and the bottom ``eta2 = -inf``. The likelihood contribution is
``w_i log(F(eta1_i) - F(eta2_i))``.

Rather than materialising ``B1`` and ``B2`` (n x p each) the threshold part is kept as an
index into a small ``(J-1) x n_alpha`` threshold Jacobian: the threshold blocks of the
Hessian are then accumulated with ``bincount`` over categories, which is what makes the
threshold part of the Hessian banded and cheap.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from .._links import Link
from .._mle import NewtonResult, newton

__all__ = [
    "CLMData",
    "NewtonResult",
    "clm_derivatives",
    "clm_loglik",
    "newton",
    "start_values",
    "threshold_jacobian",
]

Array = np.ndarray


def threshold_jacobian(n_thresholds: int, structure: str) -> tuple[Array, list[str]]:
    """Matrix mapping threshold parameters to the ``J - 1`` thresholds, as R ``ordinal``.

    Parameters
    ----------
    n_thresholds : int
        ``J - 1``.
    structure : {"flexible", "equidistant", "symmetric"}

    Returns
    -------
    tjac : ndarray of shape (J - 1, n_alpha)
    names : list of str
        Parameter names for non-flexible structures (``"threshold.1"``, ``"spacing"``,
        ``"central"``, ...); for ``"flexible"`` an empty list (the caller uses ``"a|b"``).
    """
    m = n_thresholds
    if structure == "flexible":
        return np.eye(m), []
    if m < 2:
        raise ValueError(f"thresholds={structure!r} needs an outcome with at least 3 categories")
    if structure == "equidistant":
        return np.column_stack([np.ones(m), np.arange(m, dtype=float)]), [
            "threshold.1",
            "spacing",
        ]
    if structure == "symmetric":
        if m % 2:
            na = (m + 1) // 2
            # thresholds central -/+ spacing_k, spacings counted outwards from the centre
            t = np.zeros((m, na))
            t[:, 0] = 1.0
            c = na - 1  # index of the central threshold
            for k in range(1, na):
                t[c - k, k] = -1.0
                t[c + k, k] = 1.0
            return t, ["central"] + [f"spacing.{k}" for k in range(1, na)]
        half = m // 2
        na = (m + 2) // 2
        t = np.zeros((m, na))
        t[:half, 0] = 1.0
        t[half:, 1] = 1.0
        for k in range(1, half):
            t[half - 1 - k, 1 + k] = -1.0
            t[half + k, 1 + k] = 1.0
        return t, ["central.1", "central.2"] + [f"spacing.{k}" for k in range(1, na - 1)]
    raise ValueError(
        f"thresholds={structure!r} is not supported; choose 'flexible', 'equidistant' or "
        "'symmetric'"
    )


class CLMData:
    """Arrays describing one cumulative link model fit.

    Attributes
    ----------
    y : ndarray of int, shape (n,)
        Outcome codes ``0 .. J - 1``.
    X : ndarray, shape (n, k)
        Location design (no intercept).
    tjac : ndarray, shape (J - 1, n_alpha)
        Threshold structure.
    N : ndarray, shape (n, q) or None
        Nominal design *without* intercept column (threshold-specific effects; each column
        gets its own ``n_alpha`` parameters).
    S : ndarray, shape (n, m) or None
        Scale design without intercept; ``sigma = exp(S zeta)``.
    w : ndarray, shape (n,)
        Case weights (ones when unweighted).
    """

    def __init__(
        self,
        y: Array,
        X: Array,
        tjac: Array,
        N: Array | None = None,
        S: Array | None = None,
        w: Array | None = None,
        offset: Array | None = None,
    ) -> None:
        self.y = np.asarray(y, dtype=np.int64)
        self.X = np.ascontiguousarray(X, dtype=float)
        self.tjac = np.asarray(tjac, dtype=float)
        self.n = len(self.y)
        # no nominal / scale effects are empty designs, no weights are ones: the numerical
        # code then never needs to test for None
        self.N: Array = np.zeros((self.n, 0)) if N is None else np.asarray(N, dtype=float)
        self.S: Array = np.zeros((self.n, 0)) if S is None else np.asarray(S, dtype=float)
        self.w: Array = np.ones(self.n) if w is None else np.asarray(w, dtype=float)
        self.offset = offset
        self.J = self.tjac.shape[0] + 1
        self.n_alpha = self.tjac.shape[1]
        self.k = self.X.shape[1]
        self.q = self.N.shape[1]
        self.m = self.S.shape[1]
        self.top = self.y == self.J - 1
        self.bottom = self.y == 0
        # threshold index of the upper and lower cut (clipped; masked by top/bottom)
        self.iu = np.minimum(self.y, self.J - 2)
        self.il = np.maximum(self.y - 1, 0)
        self.not_top = (~self.top).astype(float)
        self.not_bottom = (~self.bottom).astype(float)
        self._onehot: tuple[Array, Array] | None = None

    def _onehots(self) -> tuple[Array, Array]:
        if self._onehot is None:
            J1 = self.J - 1
            u = np.zeros((self.n, J1))
            lo = np.zeros((self.n, J1))
            rows = np.arange(self.n)
            u[rows, self.iu] = self.not_top
            lo[rows, self.il] = self.not_bottom
            self._onehot = (u, lo)
        return self._onehot

    @property
    def onehot_u(self) -> Array:
        """(n, J-1) indicator of each row's upper cut (zero for the top category)."""
        return self._onehots()[0]

    @property
    def onehot_l(self) -> Array:
        """(n, J-1) indicator of each row's lower cut (zero for the bottom category)."""
        return self._onehots()[1]

    @property
    def n_params(self) -> int:
        """Number of parameters: thresholds, location, nominal, scale."""
        return self.n_alpha + self.k + self.q * self.n_alpha + self.m

    def slices(self) -> dict[str, slice]:
        """Positions of each parameter block in the full parameter vector."""
        a, k, q, m = self.n_alpha, self.k, self.q * self.n_alpha, self.m
        return {
            "alpha": slice(0, a),
            "beta": slice(a, a + k),
            "nominal": slice(a + k, a + k + q),
            "scale": slice(a + k + q, a + k + q + m),
        }


def _sf(link: Link, x: Array) -> Array:
    """Survival function 1 - F(x), computed without cancellation."""
    name = link.name
    if name in ("logit", "probit", "cauchit"):
        return link.cdf(-x)
    if name == "cloglog":
        return np.exp(-np.exp(np.minimum(x, 700.0)))
    if name == "loglog":
        return -np.expm1(-np.exp(-np.maximum(x, -700.0)))
    return 1.0 - link.cdf(x)


def _thresholds_per_row(d: CLMData, theta_par: Array) -> tuple[Array, Array]:
    """Upper and lower threshold values per row (finite placeholders at the extremes)."""
    alpha = theta_par[: d.n_alpha]
    theta = d.tjac @ alpha
    tu = theta[d.iu]
    tl = theta[d.il]
    if d.q:
        # nominal effects: threshold j of row i is tjac_j (alpha + sum_c N_ic gamma_c)
        g = theta_par[d.n_alpha :].reshape(d.q, d.n_alpha)
        shift = d.N @ (g @ d.tjac.T)  # (n, J-1)
        rows = np.arange(d.n)
        tu = tu + shift[rows, d.iu]
        tl = tl + shift[rows, d.il]
    return tu, tl


def _linear_parts(d: CLMData, par: Array) -> tuple[Array, Array, Array]:
    sl = d.slices()
    beta = par[sl["beta"]]
    tpar = np.concatenate([par[sl["alpha"]], par[sl["nominal"]]])
    tu, tl = _thresholds_per_row(d, tpar)
    xb = d.X @ beta if d.k else np.zeros(d.n)
    if d.offset is not None:
        xb = xb + d.offset
    sigma = np.exp(d.S @ par[sl["scale"]]) if d.m else np.ones(d.n)
    return (tu - xb) / sigma, (tl - xb) / sigma, sigma


def _probs(link: Link, d: CLMData, eta1: Array, eta2: Array) -> Array:
    F1 = np.where(d.top, 1.0, link.cdf(eta1))
    F2 = np.where(d.bottom, 0.0, link.cdf(eta2))
    S1 = np.where(d.top, 0.0, _sf(link, eta1))
    S2 = np.where(d.bottom, 1.0, _sf(link, eta2))
    # upper tail: subtract survival functions to avoid cancellation
    return np.where(eta2 > 0, S2 - S1, F1 - F2)


def clm_loglik(par: Array, d: CLMData, link: Link) -> float:
    """Weighted log-likelihood ``sum_i w_i log P(Y_i = y_i)`` (``-inf`` if invalid)."""
    eta1, eta2, _ = _linear_parts(d, par)
    p = _probs(link, d, eta1, eta2)
    if not np.all(p > 0):
        return -np.inf
    return float(d.w @ np.log(p))


def clm_derivatives(
    par: Array, d: CLMData, link: Link, *, hessian: bool = True, scores: bool = False
) -> dict[str, Array | float]:
    """Log-likelihood, gradient, Hessian and (optionally) per-row weighted scores.

    Returns
    -------
    dict
        ``loglik``; ``grad`` (p,); ``hess`` (p, p) if requested; ``scores`` (n, p) with rows
        ``w_i * d l_i / d par`` if requested; ``prob`` (n,) fitted probability of ``y_i``.
    """
    if d.q == 0 and d.m == 0:
        return _derivs_location(par, d, link, hessian=hessian, scores=scores)
    eta1, eta2, sigma = _linear_parts(d, par)
    p = _probs(link, d, eta1, eta2)
    if not np.all(p > 0):
        return {"loglik": -np.inf}
    ll = float(d.w @ np.log(p))
    top, bot = d.top, d.bottom
    e1 = np.where(top, 0.0, eta1)
    e2 = np.where(bot, 0.0, eta2)
    f1 = np.where(top, 0.0, link.pdf(e1))
    f2 = np.where(bot, 0.0, link.pdf(e2))
    a1 = f1 / p  # d l / d eta1
    a2 = -f2 / p  # d l / d eta2
    inv_s = 1.0 / sigma
    w = d.w
    n, J1, na = d.n, d.J - 1, d.n_alpha
    sl = d.slices()
    P = d.n_params

    # d eta_k / d psi = B_k / sigma. Coefficients on the threshold rows and on -x:
    c1 = w * a1 * inv_s
    c2 = w * a2 * inv_s
    grad = np.zeros(P)
    # threshold entries of B1 sit at tjac[iu], of B2 at tjac[il] (per nominal column too)
    gu = np.bincount(d.iu, weights=c1, minlength=J1)
    gl = np.bincount(d.il, weights=c2, minlength=J1)
    grad[sl["alpha"]] = d.tjac.T @ (gu + gl)
    if d.k:
        grad[sl["beta"]] = -(d.X.T @ (c1 + c2))
    if d.q:
        Gu = _bincount_cols(d.iu, d.N * c1[:, None], J1)  # (J-1, q)
        Gl = _bincount_cols(d.il, d.N * c2[:, None], J1)
        grad[sl["nominal"]] = ((Gu + Gl).T @ d.tjac).ravel()
    if d.m:
        grad[sl["scale"]] = -(d.S.T @ (w * (a1 * e1 + a2 * e2)))
    out: dict[str, Array | float] = {"loglik": ll, "grad": grad, "prob": p}

    if scores:
        out["scores"] = _row_scores(d, a1, a2, e1, e2, inv_s)

    if not hessian:
        return out

    fp1 = np.where(top, 0.0, link.dpdf(e1))
    fp2 = np.where(bot, 0.0, link.dpdf(e2))
    h11 = fp1 / p - a1 * a1
    h22 = -fp2 / p - a2 * a2
    h12 = -a1 * a2
    H = np.zeros((P, P))

    # Build per-row derivative "design" compactly: eta_k depends on psi through B_k / sigma
    # and on zeta through -eta_k S. Use dense matrices for the non-threshold part (k+m
    # columns) and bincount for the threshold part.
    # D_k = [T_k (threshold rows), -X, (nominal), -eta_k sigma S] / sigma
    Dx = -d.X * inv_s[:, None] if d.k else np.zeros((n, 0))
    Ds1 = (-e1)[:, None] * d.S if d.m else np.zeros((n, 0))
    Ds2 = (-e2)[:, None] * d.S if d.m else np.zeros((n, 0))
    # dense parts: [X-part, scale-part]
    if d.q:
        # nominal: build dense threshold+nominal blocks per row (n x n_alpha*(1+q)); q is
        # small in practice, so the dense route keeps the code simple and exact.
        Tu = _threshold_rows(d, d.iu) * inv_s[:, None]
        Tl = _threshold_rows(d, d.il) * inv_s[:, None]
        Tu[top] = 0.0
        Tl[bot] = 0.0
        idx_t = np.r_[np.arange(na), np.arange(sl["nominal"].start, sl["nominal"].stop)]
    else:
        Tu = Tl = None  # type: ignore[assignment]
        idx_t = np.arange(na)
    idx_d = np.r_[
        np.arange(sl["beta"].start, sl["beta"].stop),
        np.arange(sl["scale"].start, sl["scale"].stop),
    ]
    D1 = np.hstack([Dx, Ds1])
    D2 = np.hstack([Dx, Ds2])
    D1[top] = 0.0
    D2[bot] = 0.0
    W11, W22, W12 = w * h11, w * h22, w * h12
    # dense-dense block
    Hdd = (D1 * W11[:, None]).T @ D1 + (D2 * W22[:, None]).T @ D2
    C = (D1 * W12[:, None]).T @ D2
    Hdd += C + C.T
    # threshold-threshold and threshold-dense blocks
    if Tu is None:
        # T_k rows are tjac[iu] / sigma: accumulate by category pairs
        s2 = inv_s * inv_s
        # banded: row i touches only cuts iu and il = iu - 1
        m12 = W12 * s2
        A = np.diag(
            np.bincount(d.iu, weights=W11 * s2, minlength=J1)
            + np.bincount(d.il, weights=W22 * s2, minlength=J1)
        )
        off = np.bincount(d.iu * J1 + d.il, weights=m12, minlength=J1 * J1).reshape(J1, J1)
        A += off + off.T
        Htt = d.tjac.T @ A @ d.tjac
        # threshold-dense: tjac[iu]' (W11 D1 + W12 D2) / s + tjac[il]' (W22 D2 + W12 D1) / s
        R1 = D1 * (W11 * inv_s)[:, None] + D2 * (W12 * inv_s)[:, None]
        R2 = D2 * (W22 * inv_s)[:, None] + D1 * (W12 * inv_s)[:, None]
        R1[top] = 0.0
        R2[bot] = 0.0
        Htd = d.tjac.T @ (_bincount_cols(d.iu, R1, J1) + _bincount_cols(d.il, R2, J1))
    else:
        Htt = (Tu * W11[:, None]).T @ Tu + (Tl * W22[:, None]).T @ Tl
        C = (Tu * W12[:, None]).T @ Tl
        Htt += C + C.T
        Htd = (Tu * W11[:, None]).T @ D1 + (Tl * W22[:, None]).T @ D2
        Htd += (Tu * W12[:, None]).T @ D2 + (Tl * W12[:, None]).T @ D1
    H[np.ix_(idx_t, idx_t)] = Htt
    H[np.ix_(idx_d, idx_d)] = Hdd
    H[np.ix_(idx_t, idx_d)] = Htd
    H[np.ix_(idx_d, idx_t)] = Htd.T

    if d.m:
        # second-derivative terms of eta w.r.t. (psi, zeta) and (zeta, zeta)
        # d2 eta_k / d psi d zeta = -B_k S' / sigma ; d2 eta_k / d zeta2 = eta_k S S'
        ssl = sl["scale"]
        g_zz = w * (a1 * e1 + a2 * e2)
        H[ssl, ssl] += (d.S * g_zz[:, None]).T @ d.S
        # psi-zeta: sum_i w (a1 B1 + a2 B2)' S (-1/sigma)
        cu = np.where(top, 0.0, -w * a1 * inv_s)
        cl = np.where(bot, 0.0, -w * a2 * inv_s)
        if Tu is None:
            Mt = d.tjac.T @ (
                _bincount_cols(d.iu, d.S * cu[:, None], J1)
                + _bincount_cols(d.il, d.S * cl[:, None], J1)
            )
        else:
            Mt = (Tu * sigma[:, None] * cu[:, None]).T @ d.S + (
                Tl * sigma[:, None] * cl[:, None]
            ).T @ d.S
        H[np.ix_(idx_t, np.arange(ssl.start, ssl.stop))] += Mt
        H[np.ix_(np.arange(ssl.start, ssl.stop), idx_t)] += Mt.T
        if d.k:
            Mx = (-d.X * (cu + cl)[:, None]).T @ d.S
            bsl = sl["beta"]
            H[bsl, ssl] += Mx
            H[ssl, bsl] += Mx.T
    out["hess"] = H
    return out


def _link_eval(link: Link, e: Array) -> tuple[Array, Array, Array, Array]:
    """F, 1 - F, f and f' at ``e``; the logit shares one pair of exponentials."""
    if link.name == "logit":
        F = special.expit(e)
        S = special.expit(-e)
        f = F * S
        return F, S, f, f * (S - F)
    return link.cdf(e), _sf(link, e), link.pdf(e), link.dpdf(e)


def _derivs_location(
    par: Array, d: CLMData, link: Link, *, hessian: bool, scores: bool
) -> dict[str, Array | float]:
    """Fast path without nominal and scale effects (the common proportional-odds model).

    Every row touches at most two adjacent thresholds, so the threshold blocks are built by
    ``bincount`` (a tridiagonal matrix before the structure map ``tjac``) and the location
    block needs one weighted cross-product.
    """
    na, J1 = d.n_alpha, d.J - 1
    theta = d.tjac @ par[:na]
    xb = d.X @ par[na:] if d.k else np.zeros(d.n)
    if d.offset is not None:
        xb = xb + d.offset
    nt, nb = d.not_top, d.not_bottom
    e1 = (theta[d.iu] - xb) * nt
    e2 = (theta[d.il] - xb) * nb
    F1, S1, f1, fp1 = _link_eval(link, e1)
    F2, S2, f2, fp2 = _link_eval(link, e2)
    F1 = F1 * nt + d.top
    S1 = S1 * nt
    F2 = F2 * nb
    S2 = S2 * nb + d.bottom
    p = np.where(e2 > 0, S2 - S1, F1 - F2)
    if not np.all(p > 0):
        return {"loglik": -np.inf}
    w = d.w
    ll = float(w @ np.log(p))
    a1 = f1 * nt / p
    a2 = -f2 * nb / p
    c1 = w * a1
    c2 = w * a2
    grad = np.empty(d.n_params)
    grad[:na] = d.tjac.T @ (
        np.bincount(d.iu, weights=c1, minlength=J1) + np.bincount(d.il, weights=c2, minlength=J1)
    )
    grad[na:] = -(d.X.T @ (c1 + c2))
    out: dict[str, Array | float] = {"loglik": ll, "grad": grad, "prob": p}
    if scores:
        sc = np.empty((d.n, d.n_params))
        sc[:, :na] = (d.onehot_u * c1[:, None] + d.onehot_l * c2[:, None]) @ d.tjac
        sc[:, na:] = -d.X * (c1 + c2)[:, None]
        out["scores"] = sc
    if not hessian:
        return out
    W11 = w * (fp1 * nt / p - a1 * a1)
    W22 = w * (-fp2 * nb / p - a2 * a2)
    W12 = -w * a1 * a2
    A = np.diag(
        np.bincount(d.iu, weights=W11, minlength=J1) + np.bincount(d.il, weights=W22, minlength=J1)
    )
    off = np.bincount(d.iu * J1 + d.il, weights=W12, minlength=J1 * J1).reshape(J1, J1)
    A += off + off.T
    H = np.empty((d.n_params, d.n_params))
    H[:na, :na] = d.tjac.T @ A @ d.tjac
    if d.k:
        Xw = d.X * (W11 + W22 + 2.0 * W12)[:, None]
        H[na:, na:] = d.X.T @ Xw
        # threshold-location block: rows of X summed by cut, with weights W11+W12 / W22+W12
        Mu = d.onehot_u.T @ (d.X * (W11 + W12)[:, None])
        Ml = d.onehot_l.T @ (d.X * (W22 + W12)[:, None])
        Htx = -(d.tjac.T @ (Mu + Ml))
        H[:na, na:] = Htx
        H[na:, :na] = Htx.T
    out["hess"] = H
    return out


def _bincount_cols(idx: Array, M: Array, size: int) -> Array:
    """Column-wise ``bincount``: rows of ``M`` summed by ``idx`` -> (size, M.shape[1])."""
    out = np.empty((size, M.shape[1]))
    for c in range(M.shape[1]):
        out[:, c] = np.bincount(idx, weights=M[:, c], minlength=size)
    return out


def _threshold_rows(d: CLMData, idx: Array) -> Array:
    """Dense threshold + nominal part of B for cut ``idx`` of every row (n x n_alpha(1+q))."""
    base = d.tjac[idx]  # (n, n_alpha)
    if not d.q:
        return base.copy()
    parts = [base] + [base * d.N[:, [c]] for c in range(d.q)]
    return np.hstack(parts)


def _row_scores(d: CLMData, a1: Array, a2: Array, e1: Array, e2: Array, inv_s: Array) -> Array:
    """Per-row weighted scores ``w_i d l_i / d par`` (n x p)."""
    n = d.n
    sl = d.slices()
    out = np.zeros((n, d.n_params))
    c1 = d.w * a1 * inv_s
    c2 = d.w * a2 * inv_s
    Tu = _threshold_rows(d, d.iu)
    Tl = _threshold_rows(d, d.il)
    Tu[d.top] = 0.0
    Tl[d.bottom] = 0.0
    T = Tu * c1[:, None] + Tl * c2[:, None]
    out[:, : d.n_alpha] = T[:, : d.n_alpha]
    if d.q:
        out[:, sl["nominal"]] = T[:, d.n_alpha :]
    if d.k:
        out[:, sl["beta"]] = -d.X * (c1 + c2)[:, None]
    if d.m:
        out[:, sl["scale"]] = -d.S * (d.w * (a1 * e1 + a2 * e2))[:, None]
    return out


def start_values(d: CLMData, link: Link) -> Array:
    """Thresholds from the marginal cumulative proportions, other parameters zero."""
    counts = np.bincount(d.y, weights=d.w, minlength=d.J)
    cum = np.cumsum(counts)[:-1] / counts.sum()
    cum = np.clip(cum, 1e-6, 1 - 1e-6)
    theta = link.ppf(cum)
    theta = np.maximum.accumulate(theta + np.arange(len(theta)) * 1e-6)
    alpha, *_ = np.linalg.lstsq(d.tjac, theta, rcond=None)
    par = np.zeros(d.n_params)
    par[: d.n_alpha] = alpha
    # a non-flexible structure may give unordered thresholds in the projection
    if np.any(np.diff(d.tjac @ alpha) <= 0):
        par[: d.n_alpha] = np.linalg.lstsq(d.tjac, np.linspace(-1.0, 1.0, d.J - 1), rcond=None)[0]
    return par
