"""Shared maximum-likelihood machinery of the fixed-effect engines (ordinal and logistic).

Newton-Raphson with step halving, convergence and separation diagnostics, cluster and design
weight helpers, and the frequentist part of the result contract (``std_errors``,
``conf_int``, ``pvalues``, ``aic``, ``bic``, ``to_frame``).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import linalg

from .design import SurveyDesign
from .exceptions import ConvergenceWarning, DataError, DesignError, SeparationError
from .results import wald_table

__all__ = [
    "MLEResultMixin",
    "NewtonResult",
    "check_separation",
    "check_weight_column",
    "cluster_codes",
    "convergence_checks",
    "design_weights",
    "extreme_effects",
    "newton",
]

Array = np.ndarray


@dataclass
class NewtonResult:
    """Outcome of :func:`newton`."""

    params: Array
    loglik: float
    grad: Array
    hess: Array
    n_iter: int
    converged: bool
    message: str
    cond: float


def newton(
    fun: Callable[[Array], dict],
    start: Array,
    *,
    gtol: float = 1e-8,
    max_iter: int = 100,
    max_halving: int = 40,
) -> NewtonResult:
    """Maximise a concave-ish function by Newton steps with step halving.

    ``fun(par, hessian=True)`` returns a dict with ``loglik``, ``grad`` and ``hess``.
    Convergence: ``max |grad| < gtol`` (scaled by ``max(1, |loglik|)``-free absolute
    tolerance, as R ``clm``'s ``gradTol``), or a Newton decrement below ``1e-14``. When the
    Hessian is not negative definite, a Levenberg-type ridge is added to the step.
    """
    par = np.asarray(start, dtype=float).copy()
    cur = fun(par)
    if not np.isfinite(cur["loglik"]):
        raise FloatingPointError("log-likelihood is not finite at the starting values")
    msg = "maximum number of iterations reached"
    converged = False
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007
        g, H = cur["grad"], cur["hess"]
        if np.max(np.abs(g)) < gtol:
            converged, msg = True, "max |gradient| below tolerance"
            break
        step = _newton_step(g, H)
        ll0 = cur["loglik"]
        t = 1.0
        for _ in range(max_halving):
            trial = par + t * step
            new = fun(trial)
            if np.isfinite(new["loglik"]) and new["loglik"] >= ll0 - 1e-12 * abs(ll0):
                break
            t *= 0.5
        else:
            msg = "line search failed to increase the log-likelihood"
            break
        par, cur = trial, new
        decrement = float(-g @ step) if t == 1.0 else np.inf
        if abs(decrement) < 1e-15 and np.max(np.abs(cur["grad"])) < 1e3 * gtol:
            converged, msg = True, "Newton decrement below tolerance"
            break
    H = cur["hess"]
    try:
        ev = np.linalg.eigvalsh(-H)
        cond = float(ev.max() / ev.min()) if ev.min() > 0 else np.inf
    except np.linalg.LinAlgError:
        cond = np.inf
    if converged and not np.isfinite(cond):
        converged, msg = False, "Hessian is not negative definite at the optimum"
    return NewtonResult(par, float(cur["loglik"]), cur["grad"], H, it, converged, msg, cond)


def _newton_step(g: Array, H: Array) -> Array:
    A = -H
    # scale to unit diagonal so that the ridge and the Cholesky test are scale free
    dg = np.sqrt(np.abs(np.diag(A)))
    dg[dg == 0] = 1.0
    As = A / np.outer(dg, dg)
    gs = g / dg
    lam = 0.0
    for _ in range(30):
        try:
            c = linalg.cho_factor(As + lam * np.eye(len(g)), check_finite=False)
            return linalg.cho_solve(c, gs, check_finite=False) / dg
        except linalg.LinAlgError:
            lam = max(1e-8, lam * 10)
    return g / np.maximum(np.abs(np.diag(A)), 1e-8)


def cluster_codes(
    data: pd.DataFrame, cluster: str | np.ndarray | pd.Series, index: pd.Index
) -> np.ndarray:
    """Cluster labels of the rows ``index`` of ``data``; an error if any is missing."""
    if isinstance(cluster, str):
        if cluster not in data.columns:
            from .._validation import _suggest

            raise DataError(
                f"cluster={cluster!r} is not a column of the data{_suggest(cluster, data.columns)}"
            )
        values = data.loc[index, cluster]
        label = f"cluster column {cluster!r}"
    else:
        arr = pd.Series(np.asarray(cluster), index=data.index)
        if len(arr) != len(data):
            raise DataError(f"cluster has length {len(arr)} but data have {len(data)} rows")
        values = arr.loc[index]
        label = "cluster"
    if values.isna().any():
        raise DataError(
            f"{label} has {int(values.isna().sum())} missing values among the rows used; every "
            "row needs a cluster: fill them, or drop those rows (and report it) before fitting"
        )
    return pd.factorize(values)[0]


def check_weight_column(data: pd.DataFrame, weights: str | None) -> None:
    """Missing weights are an error (not a silently dropped row): a weight is not a datum."""
    if weights is None or not isinstance(data, pd.DataFrame) or weights not in data.columns:
        return
    col = data[weights]
    if col.isna().any():
        raise DataError(
            f"weights column {weights!r} has {int(col.isna().sum())} missing values (first at "
            f"index {col.index[col.isna().to_numpy()][0]!r}); fill them, or drop those rows "
            "explicitly before fitting"
        )


def design_weights(model: Any, design: SurveyDesign) -> np.ndarray:
    """Design weights of the rows the model uses; checks they match ``weights=`` if given."""
    if not isinstance(design, SurveyDesign):
        raise DesignError(f"design must be a civmodels.SurveyDesign, got {type(design).__name__}")
    idx = model.frame.data.index
    pos = design.data.index.get_indexer(idx)
    if (pos < 0).any():
        raise DesignError(
            "the design's data do not contain all rows used by the model; build the "
            "SurveyDesign on the same DataFrame as the model"
        )
    w = design.weights.to_numpy(float)[pos]
    if model.weights is not None and not np.allclose(model.weights, w):
        raise DesignError(
            "the model's weights= differ from the design's weights; pass the weights to "
            "SurveyDesign only (the design's weights are used for the fit)"
        )
    return w


def check_separation(
    X: np.ndarray, names: list[str], y: np.ndarray, categories: list, w: np.ndarray | None
) -> list[str]:
    """Quasi-complete separation by single 0/1 columns: messages naming variable + category.

    A dummy column whose rows with value 1 (or 0) all lie in the lowest or in the highest
    outcome category lets its coefficient run off to infinity.
    """
    msgs = []
    J = len(categories)
    pos = np.ones(len(y), dtype=bool) if w is None else w > 0
    for c, name in enumerate(names):
        col = X[pos, c]
        if not np.isin(col, (0.0, 1.0)).all():
            continue
        yy = y[pos]
        for val, side in ((1.0, "= 1"), (0.0, "= 0")):
            sel = col == val
            if not sel.any() or sel.all():
                continue
            ys = yy[sel]
            for cat, lab in ((0, "lowest"), (J - 1, "highest")):
                if (ys == cat).all():
                    msgs.append(
                        f"all {int(sel.sum())} rows with {name} {side} are in the {lab} "
                        f"category {categories[cat]!r}"
                    )
    return msgs


def extreme_effects(beta: np.ndarray, se: np.ndarray, X: np.ndarray, names: list[str]) -> list[str]:
    """Effects that look like the optimiser running off to infinity (separation).

    Flagged when one standard deviation of the predictor moves the linear predictor by more
    than 5 units (an odds ratio above ~150 per SD) *and* the estimate is not even twice its
    standard error: under separation the likelihood is flat in that direction, so the
    estimate and its SE grow together.
    """
    msgs = []
    for j, name in enumerate(names):
        sd = float(np.std(X[:, j]))
        if sd > 0 and abs(beta[j]) * sd > 5.0 and not abs(beta[j]) > 2.0 * se[j]:
            msgs.append(
                f"the effect of {name} is {beta[j]:.3g} (SE {se[j]:.3g}): one SD of the "
                f"predictor shifts the linear predictor by {abs(beta[j]) * sd:.3g}"
            )
    return msgs


def convergence_checks(opt: NewtonResult, nobs: int, *, stacklevel: int = 4) -> None:
    """Warn about non-convergence / ill-conditioning; raise on complete separation."""
    # complete separation: every observation fitted with probability ~1
    if opt.loglik > -1e-6 * max(1, nobs):
        raise SeparationError(
            "complete separation: the model predicts every observation's category with "
            "probability 1 (log-likelihood 0), so the maximum-likelihood estimates do not "
            "exist. Remove or merge the separating predictors, or use civmodels.bayes"
        )
    if not opt.converged:
        warnings.warn(
            f"the Newton optimiser did not converge ({opt.message}; {opt.n_iter} iterations, "
            f"max |gradient| = {np.max(np.abs(opt.grad)):.3g}). Try: rescaling continuous "
            "predictors (e.g. standardise them), merging sparse outcome categories, removing "
            "predictors with separation, or fit(max_iter=500)",
            ConvergenceWarning,
            stacklevel=stacklevel,
        )
    elif opt.cond > 1e12:
        warnings.warn(
            f"the Hessian at the optimum is ill-conditioned (condition number {opt.cond:.3g}); "
            "standard errors may be unreliable. Try rescaling continuous predictors, "
            "simplifying the model, or look for separation (a predictor that splits the "
            "outcome categories perfectly)",
            ConvergenceWarning,
            stacklevel=stacklevel,
        )

class MLEResultMixin:
    """Frequentist result contract computed from ``params``, ``vcov``, ``loglik``.

    The host class provides ``params`` (Series), ``vcov`` (DataFrame), ``loglik``,
    ``cov_type``, ``df_resid`` (t degrees of freedom or None), ``weights`` and ``nobs``.
    """

    params: pd.Series
    vcov: pd.DataFrame
    loglik: float
    cov_type: str
    df_resid: float | None
    weights: np.ndarray | None

    @property
    def std_errors(self) -> pd.Series:
        """Standard errors aligned with :attr:`params`."""
        return pd.Series(
            np.sqrt(np.clip(np.diag(self.vcov.to_numpy()), 0, None)),
            index=self.params.index,
            name="std_error",
        )

    @property
    def k_params(self) -> int:
        """Number of estimated parameters."""
        return len(self.params)

    @property
    def aic(self) -> float:
        """``-2 loglik + 2 k`` (NaN for design-based fits: a pseudo-likelihood)."""
        if self.cov_type == "design":
            return float("nan")
        return -2 * self.loglik + 2 * self.k_params

    @property
    def bic(self) -> float:
        """``-2 loglik + k log(n)``, ``n`` the sum of the weights when weighted (as R clm)."""
        if self.cov_type == "design":
            return float("nan")
        n = self.nobs if self.weights is None else float(self.weights.sum())  # type: ignore[attr-defined]
        return -2 * self.loglik + self.k_params * np.log(n)

    def conf_int(self, level: float = 0.95) -> pd.DataFrame:
        """Wald confidence intervals (t with the design df for design-based fits)."""
        t = wald_table(self.params, self.std_errors, level=level, df=self.df_resid)
        return t[["ci_lower", "ci_upper"]]

    @property
    def pvalues(self) -> pd.Series:
        """Two-sided Wald p-values."""
        t = wald_table(self.params, self.std_errors, df=self.df_resid)
        return t["p_value"].rename("p_value")
