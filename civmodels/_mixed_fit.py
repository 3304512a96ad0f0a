"""Fitting machinery shared by the ordinal and binary random-intercept models.

Both :func:`civmodels.ordinal.mixed.fit_mixed` and :func:`civmodels.logistic.mixed.fit_mixed`
validate their options, prepare the weights, run :func:`civmodels._glmm.fit_glmm` and label
its output through the functions here, so that neither engine reaches into the other.

Sampling weights (pseudo-maximum likelihood)
--------------------------------------------
With respondent weights ``w_{i|j}`` (``weights=``, conditional on the group being selected)
and group weights ``w_j`` (``group_weights=``) the fit maximises the pseudo-log-likelihood

.. math::

    \\ell_w(\\phi) = \\sum_j w_j \\log \\int \\prod_{i \\in j} p(y_{ij} \\mid b)^{w^*_{i|j}}
    \\, \\phi(b) \\, db

(Pfeffermann et al. 1998; Rabe-Hesketh & Skrondal 2006), with the level-1 weights scaled
within each group: ``"size"`` makes them sum to the group's number of respondents,
``"effective"`` to its effective sample size ``(sum w)^2 / sum w^2``, ``"none"`` leaves them
as given. Standard errors are the sandwich ``A^-1 B A^-1`` with ``A`` the observed
information of ``ell_w`` and ``B = G/(G-1) sum_j (w_j s_j)(w_j s_j)'`` built from the score
``s_j`` of each group (the top-level sampling units).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from scipy import linalg

from . import _glmm
from .design import not_estimable
from .exceptions import DataError, SpecificationError

__all__ = [
    "check_mixed_options",
    "correlated_terms",
    "fit_options",
    "group_arrays",
    "mixed_covariance",
    "result_fields",
    "run_glmm",
    "scale_level1_weights",
    "slope_values",
    "start_log_sd",
]

SCALINGS = ("size", "effective", "none")


def check_mixed_options(
    model: Any,
    *,
    method: str,
    n_quad: int | None,
    cov_type: str | None = None,
    cluster: Any = None,
    design: Any = None,
) -> tuple[int, str]:
    """Validate the fitting options shared by ordinal and binary mixed models.

    Returns the number of quadrature nodes to use (1 for Laplace) and the covariance type:
    ``"nonrobust"`` (inverse observed information) or ``"cluster"`` (sandwich with the
    random-intercept groups as clusters; the default and the only choice with sampling
    weights).
    """
    if method not in ("laplace", "agq"):
        raise SpecificationError(
            f"method={method!r} cannot fit random terms; use 'laplace' (any number of random "
            "intercepts) or 'agq' (one random intercept)"
        )
    if design is not None:
        raise SpecificationError(
            "design= is not available for random-intercept models. For sampling weights in a "
            "multilevel model pass weights= (respondents) and group_weights= (groups) to the "
            "model: it is then fitted by pseudo-maximum likelihood with sandwich standard "
            "errors by group, or cov_type='jackknife' for the delete-one-group jackknife (the "
            "mixed-model counterpart of a JK1 replicate design by group). Or fit the model "
            "without the (1 | g) term with design="
        )
    groups = list(model.frame.groups)
    sampling = getattr(model, "weight_kind", None) == "sampling"
    slopes = list(getattr(model.frame, "re_values", {}))
    if slopes:
        if method == "agq":
            raise SpecificationError(
                f"method='agq' integrates over a single random intercept; the random slopes "
                f"{slopes} are fitted by the Laplace approximation: use method='laplace'"
            )
        if (
            sampling
            or cov_type in ("cluster", "jackknife")
            or getattr(model, "group_weights", None) is not None
        ):
            raise SpecificationError(
                f"random slopes {slopes} are fitted with frequency weights only; sampling "
                "weights (weights=/group_weights=) and cov_type='cluster'/'jackknife' are not "
                "available "
                "with them. Drop the slope term, or pass counts as freq_weights="
            )
    if cov_type is None:
        cov_type = "cluster" if sampling else "nonrobust"
    if cov_type not in ("nonrobust", "cluster", "jackknife"):
        raise SpecificationError(
            f"cov_type={cov_type!r} is not available for random-intercept models; choose "
            "'nonrobust' (inverse observed information), 'cluster' (sandwich by the "
            f"groups of {groups[0]!r}) or 'jackknife' (delete-one-group jackknife, one-step)"
        )
    if cov_type == "nonrobust" and sampling:
        raise SpecificationError(
            "cov_type='nonrobust' treats the weights as counts of identical rows, but "
            "weights=/group_weights= are sampling weights (their scale is arbitrary). Use the "
            "default sandwich (cov_type='cluster'), or pass counts as freq_weights="
        )
    if sampling and len(groups) != 1:
        raise SpecificationError(
            "sampling weights (weights=/group_weights=) are fitted by pseudo-maximum "
            "likelihood with a sandwich over the groups of a single random intercept; the "
            f"formula has {len(groups)} random terms {groups} (a nested (1 | a/b) is two). Fit "
            "one random intercept, or pass counts of identical rows as freq_weights="
        )
    if cov_type in ("cluster", "jackknife"):
        if len(groups) != 1:
            raise SpecificationError(
                f"cov_type={cov_type!r} (variance by group) needs exactly one random "
                f"intercept; the formula has {len(groups)}: {groups}"
            )
        if cluster is not None and not (isinstance(cluster, str) and cluster == groups[0]):
            raise SpecificationError(
                f"cluster={cluster!r}: the sandwich of a random-intercept model is taken over "
                f"its groups ({groups[0]!r}), the top-level sampling units; omit cluster="
            )
    elif cluster is not None:
        raise SpecificationError(
            f"cluster= was given but cov_type={cov_type!r}; use 'cluster' or 'jackknife'"
        )
    k = len(groups)
    if method == "agq":
        if k > 1:
            raise SpecificationError(
                f"method='agq' (n_quad={n_quad}) integrates over a single random intercept, "
                f"but the formula has {k}: {groups}. Use method='laplace' for several random "
                "terms"
            )
        if n_quad is None:
            n_quad = 10
        if isinstance(n_quad, bool) or not isinstance(n_quad, (int, np.integer)) or n_quad < 1:
            raise SpecificationError(
                f"n_quad must be a positive integer number of quadrature nodes, got {n_quad!r}"
            )
        if n_quad > 100:
            raise SpecificationError(
                f"n_quad={n_quad} is more than needed (and numerically unstable); adaptive "
                "quadrature is accurate with 10-25 nodes"
            )
        return int(n_quad), cov_type
    if n_quad not in (None, 1, 10):  # 10 is the default that fit() always passes
        raise SpecificationError(
            f"n_quad={n_quad} is only used by method='agq' (adaptive quadrature, one random "
            "intercept); the Laplace approximation has no nodes. Pass method='agq' or drop "
            "n_quad"
        )
    return 1, cov_type


def group_arrays(model: Any) -> tuple[list[str], list[np.ndarray], list[pd.Index]]:
    """Names, codes and levels of the grouping factors of a model frame."""
    names = list(model.frame.groups)
    codes = [np.asarray(model.frame.groups[g][0], dtype=np.int64) for g in names]
    levels = [pd.Index(model.frame.groups[g][1]) for g in names]
    return names, codes, levels


def slope_values(model: Any) -> list[np.ndarray | None]:
    """Per random term the row values of a random slope ``(0 + x | g)``, None for an
    intercept (the engine's ``zvals``)."""
    values = getattr(model.frame, "re_values", {})
    return [values.get(g) for g in model.frame.groups]


def correlated_terms(model: Any) -> list[list[int]]:
    """Positions (among the random terms) of each correlated block ``(1 + x | g)`` (the
    engine's ``corr``)."""
    labels = list(model.frame.groups)
    return [[labels.index(g) for g in blk] for blk in getattr(model.frame, "re_blocks", [])]


def variance_report(d: _glmm.GLMMData, theta: np.ndarray) -> np.ndarray:
    """The reported variance parameters from the engine's: the log SD of every term, then
    the correlation of each off-diagonal pair of a correlated block (same order as
    ``d.off``). Without blocks the engine's parameters are the log SDs themselves."""
    K = d.K
    out = np.array(theta[:K], dtype=float)
    if not d.has_corr:
        return out
    sigma, cvals = np.exp(theta[:K]), theta[K:]
    cors = np.empty(d.n_off)
    for bi, blk in enumerate(d.blocks):
        L = d.block_chol(sigma, cvals, bi)
        S = L @ L.T
        sd = np.sqrt(np.diag(S))
        out[blk] = np.log(sd)
        for o, (bj, i, j) in enumerate(d.off):
            if bj == bi:
                cors[o] = S[i, j] / (sd[i] * sd[j])
    return np.r_[out, cors]


def variance_covariance(d: _glmm.GLMMData, theta: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """Covariance of :func:`variance_report` by the delta method (central differences of
    the smooth map; NaN rows stay NaN)."""
    if not d.has_corr:
        return cov
    J = _glmm.numerical_jacobian(lambda t: variance_report(d, t), theta, rel_step=1e-6)
    J[np.abs(J) < 1e-12] = 0.0  # exact zeros across blocks (differences leave round-off)
    unknown = ~np.isfinite(np.diag(cov))
    out = J @ np.where(np.isfinite(cov), cov, 0.0) @ J.T
    # a reported parameter that depends on one without a variance has none either
    bad = (J[:, unknown] != 0).any(axis=1)
    out[bad, :] = np.nan
    out[:, bad] = np.nan
    return out


def start_log_sd(k: int) -> np.ndarray:
    """Start every log SD at log(0.5): a moderate latent-scale SD, inside the basin of the
    usual optima; Newton moves from there in a few steps."""
    return np.full(k, np.log(0.5))


def scale_level1_weights(w: np.ndarray, codes: np.ndarray, scaling: str) -> np.ndarray:
    """Scale respondent weights within each group (Pfeffermann et al. 1998, method 2 and 1).

    ``"size"``: ``w n_j / sum_j w`` (sum to the group's number of positive-weight rows);
    ``"effective"``: ``w sum_j w / sum_j w^2`` (sum to the effective group size);
    ``"none"``: unchanged. A group whose weights are all zero keeps them at zero.
    """
    if scaling not in SCALINGS:
        raise SpecificationError(
            f"weight_scaling={scaling!r}; choose 'size' (level-1 weights sum to the group "
            "size), 'effective' (to the effective group size) or 'none'"
        )
    w = np.asarray(w, dtype=float)
    if scaling == "none":
        return w.copy()
    m = int(codes.max()) + 1
    s1 = np.bincount(codes, w, minlength=m)
    if scaling == "size":
        target = np.bincount(codes, (w > 0).astype(float), minlength=m)
    else:
        s2 = np.bincount(codes, w * w, minlength=m)
        target = np.divide(s1 * s1, s2, out=np.zeros(m), where=s2 > 0)
    factor = np.divide(target, s1, out=np.zeros(m), where=s1 > 0)
    return w * factor[codes]


def group_weight_values(model: Any, codes: np.ndarray, levels: pd.Index, group: str) -> np.ndarray:
    """One weight per group from the ``group_weights=`` column; an error naming the groups
    where it varies."""
    gw = np.asarray(model.group_weights, dtype=float)
    m = len(levels)
    lo = np.full(m, np.inf)
    hi = np.full(m, -np.inf)
    np.minimum.at(lo, codes, gw)
    np.maximum.at(hi, codes, gw)
    bad = np.flatnonzero(hi - lo > 1e-12 * np.maximum(1.0, np.abs(hi)))
    if len(bad):
        shown = ", ".join(f"{_plain(levels[j])!r} ({lo[j]:g} to {hi[j]:g})" for j in bad[:5])
        raise DataError(
            f"group_weights column {model.group_weights_name!r} varies within {len(bad)} "
            f"group(s) of {group!r}: {shown}{' ...' if len(bad) > 5 else ''}. A group weight "
            "is one number per group; fix those values, or pass respondent-level weights as "
            "weights="
        )
    return lo


def _plain(value: Any) -> Any:
    """A NumPy scalar as the Python value (so that messages show ``3``, not ``np.int64(3)``)."""
    return value.item() if isinstance(value, np.generic) else value


def mixed_weights(
    model: Any,
    codes: list[np.ndarray],
    levels: list[pd.Index],
    names: list[str],
    scaling: str,
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Row weights for the engine and (with ``group_weights=``) one weight per group.

    Sampling weights need exactly one random intercept (the groups are the top-level
    sampling units). Respondent weights are scaled by ``scaling`` within groups; group
    weights are normalised to mean 1 (the estimates do not depend on their scale).
    """
    kind = getattr(model, "weight_kind", None)
    gw_given = getattr(model, "group_weights", None) is not None
    if kind != "sampling" and not gw_given:
        if scaling != "size":
            raise SpecificationError(
                f"weight_scaling={scaling!r} applies to sampling weights (weights=); this "
                "model has none"
            )
        return model.weights, None
    if len(codes) != 1:
        raise SpecificationError(
            f"sampling weights in a mixed model need exactly one random intercept (the "
            f"top-level sampling units); the formula has {len(codes)}: {names}"
        )
    w1 = model.weights
    if w1 is not None and model.weight_kind == "sampling":
        w1 = scale_level1_weights(w1, codes[0], scaling)
    elif w1 is not None and scaling != "size":
        raise SpecificationError(
            f"weight_scaling={scaling!r} scales sampling weights (weights=); frequency "
            "weights are counts and are never rescaled"
        )
    w2 = None
    if gw_given:
        w2 = group_weight_values(model, codes[0], levels[0], names[0])
        if not (w2 > 0).any():
            raise DataError(
                f"group_weights column {model.group_weights_name!r} is zero for every group"
            )
        w2 = w2 / w2.mean()
    return w1, w2


def run_glmm(
    d: _glmm.GLMMData,
    start: Any,
    default_start: Callable[[], np.ndarray],
    *,
    order: str,
    method: str,
    n_nodes: int,
    opts: dict[str, Any],
) -> _glmm.FitOutput:
    """Check ``start`` (``order`` lists its parts) or take ``default_start()``, then fit."""
    if start is None:
        start = default_start()
    else:
        start = np.asarray(start, dtype=float)
        if start.shape != (d.P,):
            raise SpecificationError(
                f"start must have {d.P} values ({order}), got shape {start.shape}"
            )
    return _glmm.fit_glmm(d, start, method=method, n_quad=n_nodes, **opts)


def fit_options(options: dict[str, Any]) -> dict[str, Any]:
    """The engine options among ``fit(**options)`` (``max_iter``, ``gtol``; ``start`` is
    handled by :func:`run_glmm`); an error for anything else."""
    allowed = {"max_iter", "gtol", "start"}
    bad = sorted(set(options) - allowed)
    if bad:
        raise TypeError(
            f"fit() got unexpected options {bad} for a random-intercept model; allowed: "
            f"{sorted(allowed)}"
        )
    out: dict[str, Any] = {}
    if options.get("max_iter") is not None:
        out["max_iter"] = int(options["max_iter"])
    if options.get("gtol") is not None:
        out["gtol"] = float(options["gtol"])
    return out


def mixed_covariance(
    d: _glmm.GLMMData,
    out: _glmm.FitOutput,
    method: str,
    n_nodes: int,
    *,
    jackknife: bool = False,
    jackknife_steps: int = 6,
) -> tuple[np.ndarray, int]:
    """Covariance by group (one random intercept) and the number of groups used.

    Sandwich (default): ``A^-1 B A^-1`` with ``A^-1`` the model-based covariance of the
    (pseudo-)likelihood and ``B = G/(G-1) sum_j (w_j s_j)(w_j s_j)'``, ``G`` the groups with
    positive weight.

    ``jackknife=True``: the delete-one-group jackknife. ``delta_j``, the change of the
    estimate when group ``j`` is left out, solves ``sum_{h != j} w_h s_h = 0`` by Newton
    iterations from the full fit with the fixed matrix ``A - A_j`` (``A_j`` that group's
    share of the information, from central differences of its analytic score; at most
    ``jackknife_steps`` corrections after the first step, until a step is below 1e-8), and
    ``V = (G-1)/G sum_j (delta_j - mean)(delta_j - mean)'``. Unlike the sandwich it is not
    biased downwards with few or unequally weighted groups. Parameters held on the boundary
    keep NaN.
    """
    phi, b0 = out.phi, out.mode.b
    S = _glmm.group_scores(d, phi, method, n_nodes, b0) * d.w2[:, None]
    tot = np.bincount(d.groups[0], d.w * d.rw, minlength=d.q)
    G = int((tot > 0).sum())
    if G < 2:
        raise DataError(
            f"cluster-robust errors need at least 2 groups with positive weight; got {G}"
        )
    keep = tot > 0
    cov = np.full_like(out.cov, np.nan)
    free = np.isfinite(np.diag(out.cov))
    Sf = S[np.ix_(keep, free)]
    if not jackknife:
        meat = (G / (G - 1)) * (Sf.T @ Sf)
        A = out.cov[np.ix_(free, free)]
        cov[np.ix_(free, free)] = A @ meat @ A
        return cov, G
    idx = np.flatnonzero(free)
    Hg = np.empty((int(keep.sum()), len(idx), len(idx)))  # d s_j / d phi, per group
    for c, j in enumerate(idx):
        h = 1e-5 * max(1.0, abs(phi[j]))
        e = np.zeros_like(phi)
        e[j] = h
        up = _glmm.group_scores(d, phi + e, method, n_nodes, b0) * d.w2[:, None]
        dn = _glmm.group_scores(d, phi - e, method, n_nodes, b0) * d.w2[:, None]
        Hg[:, :, c] = ((up - dn) / (2 * h))[np.ix_(keep, free)]
    Hg = 0.5 * (Hg + np.transpose(Hg, (0, 2, 1)))
    info = -Hg.sum(axis=0)
    # the estimate without group j solves sum_{h != j} s_h(phi) = 0: Newton iterations from
    # the full fit with the fixed matrix A - A_j (a chord method), until the step is below
    # 1e-8; the first step alone overstates the influence of heavy groups
    rows = np.flatnonzero(keep)
    delta = np.empty((len(rows), len(idx)))
    for c, g in enumerate(rows):
        lu = linalg.lu_factor(info + Hg[c])
        step = -linalg.lu_solve(lu, Sf[c])
        cur = step.copy()
        for _ in range(jackknife_steps):
            trial = phi.copy()
            trial[idx] = phi[idx] + cur
            Sg = _glmm.group_scores(d, trial, method, n_nodes, b0) * d.w2[:, None]
            resid = Sg[keep][:, free].sum(axis=0) - Sg[g, free]
            step = linalg.lu_solve(lu, resid)
            cur = cur + step
            if np.max(np.abs(step)) < 1e-8:
                break
        delta[c] = cur
    dc = delta - delta.mean(axis=0)
    cov[np.ix_(free, free)] = ((G - 1) / G) * (dc.T @ dc)
    return cov, G


def result_fields(
    model: Any,
    d: _glmm.GLMMData,
    out: _glmm.FitOutput,
    par_names: list[str],
    names: list[str],
    levels: list[pd.Index],
    method: str,
    n_nodes: int,
    cov_type: str = "nonrobust",
) -> dict[str, Any]:
    """Label the array-level output (ordinal and binary alike); the sandwich covariance
    replaces the model-based one when ``cov_type="cluster"``, the one-step jackknife when
    ``"jackknife"``."""
    k = d.k_alpha + d.p
    n_clusters = None
    cov = out.cov
    if cov_type in ("cluster", "jackknife"):
        jk = cov_type == "jackknife"
        cov, n_clusters = mixed_covariance(d, out, method, n_nodes, jackknife=jk)
        all_names = [*par_names, *(f"log SD of {g}" for g in names)]
        what = "delete-one-group jackknife" if jk else "cluster-robust sandwich"
        cov = not_estimable(cov, out.cov, all_names, what)
    # each label index built once (a pandas Index from a list of strings costs more than
    # the Series around it)
    par_index = pd.Index(par_names)
    name_index = pd.Index(names)
    params = pd.Series(out.phi[:k], index=par_index, name="estimate")
    vcov = pd.DataFrame(cov[:k, :k], index=par_index, columns=par_index)
    theta = out.phi[k:]
    K = d.K
    rep = variance_report(d, theta)
    with np.errstate(invalid="ignore"):
        rep_cov = variance_covariance(d, theta, cov[k:, k:])
    rep_se = np.sqrt(np.clip(np.diag(rep_cov), 0, None))
    rep_se[~np.isfinite(np.diag(rep_cov))] = np.nan
    log_sd = pd.Series(rep[:K], index=name_index, name="log_sd")
    log_sd_se = pd.Series(rep_se[:K], index=name_index, name="std_error")
    cor_index = pd.Index(
        [f"{names[d.blocks[bi][j]]}, {names[d.blocks[bi][i]]}" for bi, i, j in d.off]
    )
    re_corr = pd.Series(rep[K:], index=cor_index, name="correlation", dtype=float)
    re_corr_se = pd.Series(rep_se[K:], index=cor_index, name="std_error", dtype=float)
    sigma = np.exp(theta[:K])
    b = out.mode.b
    if out.mode.negH_diag is not None:
        hinv_diag = 1.0 / out.mode.negH_diag
        u, u_var = sigma[d.level_term] * b, sigma[d.level_term] ** 2 * hinv_diag
    elif not d.has_corr and out.mode.hinv_diag is not None:
        # the compiled path's selected inverse holds the diagonal of H^-1
        u, u_var = sigma[d.level_term] * b, sigma[d.level_term] ** 2 * out.mode.hinv_diag
    else:
        Linv, info = linalg.lapack.dtrtri(out.mode.hchol, lower=1)
        if info != 0:  # pragma: no cover - a Cholesky factor has a positive diagonal
            raise linalg.LinAlgError(f"inverting the Cholesky factor failed (info {info})")
        if d.has_corr:
            # u = Lambda b, Var(u | y) ~ Lambda H^-1 Lambda'
            lam = d.lam(sigma, d.offdiag(out.phi)).toarray()
            LL = lam @ Linv.T
            u, u_var = lam @ b, (LL * LL).sum(axis=1)
        else:
            hinv_diag = (Linv * Linv).sum(axis=0)
            u, u_var = sigma[d.level_term] * b, sigma[d.level_term] ** 2 * hinv_diag
    modes = {}
    for j, g in enumerate(names):
        sl = slice(d.offsets[j], d.offsets[j + 1])
        modes[g] = (levels[j], u[sl], u_var[sl])
    # a log-diagonal held at its boundary: the SD is 0 for a term on its own or first in
    # its block; for a later term of a block it makes the block's covariance singular
    later = {blk[i] for blk in d.blocks for i in range(1, len(blk))}
    boundary = tuple(names[j] for j in out.boundary if j not in later)
    singular = tuple(names[j] for j in out.boundary if j in later)
    sampling = getattr(model, "weight_kind", None) == "sampling" or d.has_w2
    return {
        "model": model,
        "params": params,
        "vcov": vcov,
        "loglik": out.loglik,
        "method": method,
        "n_quad": n_nodes,
        "converged": out.converged,
        "n_iter": out.n_iter,
        "max_grad": out.max_grad,
        "hessian_cond": out.hessian_cond,
        "log_sd": log_sd,
        "log_sd_se": log_sd_se,
        "cov_full": cov,
        "modes": modes,
        "dist": d.dist,
        "k_alpha": d.k_alpha,
        "boundary": boundary,
        "singular": singular,
        "re_corr": re_corr,
        "re_corr_se": re_corr_se,
        "re_theta": np.asarray(theta, dtype=float),
        "messages": tuple(out.messages),
        "weights": model.weights,
        "engine_data": d,
        "cov_type": cov_type,
        "n_clusters": n_clusters,
        "pseudo": bool(sampling),
    }
