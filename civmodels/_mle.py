"""Shared maximum-likelihood machinery of the fixed-effect engines (ordinal and logistic).

Newton-Raphson with step halving, convergence and separation diagnostics, cluster and design
weight helpers, and the frequentist part of the result contract (``std_errors``,
``conf_int``, ``pvalues``, ``aic``, ``bic``, ``to_frame``).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import linalg

from ._postfit import PostFitMixin
from .design import (
    ReplicateDesign,
    SurveyDesign,
    not_estimable,
    replicate_fit_vcov,
    sandwich,
)
from .exceptions import (
    ConvergenceWarning,
    DataError,
    DesignError,
    SeparationError,
    SeparationWarning,
    SpecificationError,
)
from .formula import parse_formula
from .results import SummaryDisplay, wald_table

__all__ = [
    "FixedFitResult",
    "MLEResultMixin",
    "NewtonResult",
    "add_weight_notes",
    "bread_inverse",
    "check_cov_options",
    "check_separation",
    "check_weight_column",
    "check_weight_options",
    "choose_fit_method",
    "cluster_codes",
    "convergence_checks",
    "covariance",
    "design_weights",
    "extreme_effects",
    "fixed_result_fields",
    "group_weight_column",
    "loglik_info",
    "newton",
    "sampling_sandwich",
    "warn_extreme_effects",
    "warn_separation",
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
    data: pd.DataFrame, cluster: str | np.ndarray | pd.Series, rows: np.ndarray
) -> np.ndarray:
    """Cluster labels of the rows at positions ``rows`` of ``data``; an error if any is
    missing. Rows are matched by position, not index label, so a duplicated index is fine
    (a ``cluster`` Series is taken in the data's row order, as an array would be)."""
    if isinstance(cluster, str):
        if cluster not in data.columns:
            from ._validation import _suggest

            raise DataError(
                f"cluster={cluster!r} is not a column of the data{_suggest(cluster, data.columns)}"
            )
        values = data[cluster].iloc[rows]
        label = f"cluster column {cluster!r}"
    else:
        arr = np.asarray(cluster)
        if len(arr) != len(data):
            raise DataError(f"cluster has length {len(arr)} but data have {len(data)} rows")
        values = pd.Series(arr[rows])
        label = "cluster"
    if values.isna().any():
        raise DataError(
            f"{label} has {int(values.isna().sum())} missing values among the rows used; every "
            "row needs a cluster: fill them, or drop those rows (and report it) before fitting"
        )
    return pd.factorize(values)[0]


def check_weight_column(
    data: pd.DataFrame, weights: str | None, *, what: str = "weights column"
) -> None:
    """Missing weights are an error (not a silently dropped row): a weight is not a datum."""
    if weights is None or not isinstance(data, pd.DataFrame) or weights not in data.columns:
        return
    col = data[weights]
    if col.isna().any():
        raise DataError(
            f"{what} {weights!r} has {int(col.isna().sum())} missing values (first at "
            f"index {col.index[col.isna().to_numpy()][0]!r}); fill them, or drop those rows "
            "explicitly before fitting"
        )


def check_weight_options(
    data: pd.DataFrame,
    weights: str | None,
    freq_weights: str | None,
    group_weights: str | None,
) -> tuple[str | None, str | None]:
    """The weight column of a model and its kind (``"sampling"``, ``"frequency"`` or None).

    ``weights=`` are sampling weights, ``freq_weights=`` counts of identical rows; giving
    both is an error. Missing values in either (or in ``group_weights=``) are an error.
    """
    if weights is not None and freq_weights is not None:
        raise SpecificationError(
            f"both weights={weights!r} and freq_weights={freq_weights!r} were given; pass "
            "sampling (probability or nonresponse) weights as weights= and counts of "
            "identical rows as freq_weights=, not both. If the rows are counts of sampled "
            "units, expand them or multiply the two into one sampling weight"
        )
    for arg, col in (("weights", weights), ("freq_weights", freq_weights)):
        if col is not None and not isinstance(col, str):
            raise SpecificationError(
                f"{arg}= must name a column of the data, got {type(col).__name__}"
            )
    check_weight_column(data, weights)
    check_weight_column(data, freq_weights)
    check_weight_column(data, group_weights, what="group_weights column")
    if weights is not None:
        return weights, "sampling"
    if freq_weights is not None:
        return freq_weights, "frequency"
    return None, None


def group_weight_column(model: Any, group_weights: str | None) -> np.ndarray | None:
    """Validated ``group_weights=`` of the rows the model uses (needs a random intercept)."""
    if group_weights is None:
        return None
    if not model.has_random:
        raise SpecificationError(
            f"group_weights={group_weights!r} weights the groups of a random intercept, but "
            f"{model.formula!r} has no (1 | g) term. For a single-level model pass one "
            "weight per row: weights = respondent weight x group weight"
        )
    from ._validation import check_weights

    col = model.frame.data[group_weights].to_numpy()
    return check_weights(col, f"group_weights column {group_weights!r}")


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


# -- the fit() plumbing shared by Ordinal and Logistic -------------------------------------
def choose_fit_method(has_random: bool, method: str | None, options: dict[str, Any]) -> str:
    """Validate ``fit(method=, **options)``: ``"laplace"``/``"agq"`` with random terms (the
    mixed engine takes ``options``), else ``"newton"`` (which takes none)."""
    if has_random:
        method = method or "laplace"
        if method not in ("laplace", "agq"):
            raise SpecificationError(
                f"method={method!r} cannot fit random terms; use 'laplace' or 'agq'"
            )
        return method
    method = method or "newton"
    if method != "newton":
        raise SpecificationError(
            f"method={method!r} is for models with random terms (1 | g); this formula has "
            "none, so use method='newton' (the default)"
        )
    if options:
        raise TypeError(f"fit() got unexpected options {sorted(options)}")
    return method


def check_cov_options(
    cov_type: str | None,
    cluster: Any,
    design: SurveyDesign | None,
    weight_kind: str | None = None,
) -> str:
    """Validate the ``cov_type=`` / ``cluster=`` / ``design=`` combination of a fixed fit and
    return the covariance type to use.

    The default (``cov_type=None``) is ``"design"`` with a design, the sandwich
    (``"robust"``, or ``"cluster"`` with ``cluster=``) with sampling weights, else
    ``"nonrobust"``. Model-based errors with sampling weights are refused: they depend on the
    arbitrary scale of the weights.
    """
    if design is not None:
        if cov_type not in (None, "design") or cluster is not None:
            raise SpecificationError(
                f"design= gives design-based errors, but cov_type={cov_type!r}"
                f"{' and cluster=' if cluster is not None else ''} was also given; drop "
                "cov_type/cluster (the design's clusters and strata are used), or drop "
                "design= for another covariance"
            )
        return "design"
    if cov_type is None:
        if weight_kind == "sampling":
            return "cluster" if cluster is not None else "robust"
        cov_type = "cluster" if cluster is not None else "nonrobust"
    if cov_type not in ("nonrobust", "robust", "cluster"):
        raise SpecificationError(
            f"cov_type={cov_type!r}; choose 'nonrobust', 'robust' or 'cluster' (or pass "
            "design= for design-based errors)"
        )
    if cov_type == "cluster" and cluster is None:
        raise SpecificationError("cov_type='cluster' needs cluster= (a column name or array)")
    if cluster is not None and cov_type != "cluster":
        raise SpecificationError(f"cluster= was given but cov_type={cov_type!r}; use 'cluster'")
    if cov_type == "nonrobust" and weight_kind == "sampling":
        raise SpecificationError(
            "cov_type='nonrobust' treats the weights as counts of identical rows, but "
            "weights= are sampling weights (their scale is arbitrary, so model-based errors "
            "are meaningless). Use the default sandwich (cov_type='robust', or 'cluster' with "
            "cluster=), or pass counts as freq_weights="
        )
    return cov_type


def warn_separation(sep: list[str], *, stacklevel: int) -> None:
    """Warn about quasi-complete separation found by :func:`check_separation` (if any)."""
    if sep:
        warnings.warn(
            "quasi-complete separation: " + "; ".join(sep) + ". The maximum-likelihood "
            "estimates of these effects are infinite; merge categories, drop or recode the "
            "variable, or use a penalised/Bayesian model (civmodels.bayes)",
            SeparationWarning,
            stacklevel=stacklevel,
        )


def warn_extreme_effects(
    beta: np.ndarray,
    se: np.ndarray,
    X: np.ndarray,
    names: list[str],
    sep: list[str],
    *,
    stacklevel: int,
) -> list[str]:
    """Warn about :func:`extreme_effects` not already reported in ``sep``; return ``sep``
    extended by them."""
    extreme = [
        m_
        for m_ in extreme_effects(beta, se, X, names)
        if not any(m_.split(" is ")[0].removeprefix("the effect of ") in s_ for s_ in sep)
    ]
    if not extreme:
        return sep
    warnings.warn(
        "possible separation: " + "; ".join(extreme) + ". Check the cross-tabulation of "
        "these predictors with the outcome; merge categories or drop the predictor",
        SeparationWarning,
        stacklevel=stacklevel,
    )
    return [*sep, *extreme]


def bread_inverse(hess: np.ndarray) -> np.ndarray:
    """Inverse of the information ``-hess``; all NaN when it is singular."""
    try:
        return np.linalg.inv(-hess)
    except np.linalg.LinAlgError:
        return np.full(hess.shape, np.nan)


def sampling_sandwich(
    bread_inv: np.ndarray, scores: np.ndarray, w: np.ndarray, groups: np.ndarray | None
) -> tuple[np.ndarray, int]:
    """Sandwich of a fit with sampling weights, as R ``svyglm``/``svyolr`` and Stata pweights.

    ``A^-1 B A^-1`` with ``B = c sum_h (u_h - ubar)(u_h - ubar)'``, ``u_h`` the weighted
    score totals of the units ``h`` (rows with positive weight, or clusters containing one),
    and ``c = n/(n-1)`` (``G/(G-1)`` with clusters): the with-replacement design variance of
    ``svydesign(ids = ~1 or ~cluster, weights = ~w)``. Returns the covariance and the number
    of units.
    """
    pos = np.asarray(w) > 0
    scores = np.asarray(scores, dtype=float)[pos]
    if groups is None:
        units = scores
    else:
        codes, uniq = pd.factorize(np.asarray(groups)[pos])
        units = np.zeros((len(uniq), scores.shape[1]))
        np.add.at(units, codes, scores)
    g = len(units)
    if g < 2:
        raise DesignError(f"a sandwich covariance needs at least 2 units; got {g}")
    centred = units - units.mean(axis=0)
    meat = (g / (g - 1)) * (centred.T @ centred)
    return bread_inv @ meat @ bread_inv.T, g


def covariance(
    bread_inv: np.ndarray,
    scores: np.ndarray,
    *,
    cov_type: str,
    groups: np.ndarray | None,
    design: SurveyDesign | None,
    index: pd.Index,
    information: str,
    sampling_weights: np.ndarray | None = None,
    params: np.ndarray | None = None,
    refit: Callable[[np.ndarray], np.ndarray] | None = None,
) -> tuple[np.ndarray, str]:
    """The covariance of a fixed fit and its label (``information`` names the bread).

    With ``sampling_weights`` the sandwich uses the survey factor of
    :func:`sampling_sandwich` (``n/(n-1)``, ``G/(G-1)``) instead of HC1/CR1. A
    :class:`~civmodels.design.ReplicateDesign` needs ``refit(w) -> params`` (the fit redone with
    replicate weights ``w``) and the full-sample ``params``.
    """
    if isinstance(design, ReplicateDesign):
        if refit is None or params is None:
            raise DesignError(
                "this model's fit cannot re-fit with replicate weights; use a linearisation "
                "SurveyDesign"
            )
        return replicate_fit_vcov(design, refit, params, index)
    if design is not None:
        return (
            design.vcov(scores, bread_inv, index=index),
            f"design-based ({design.variance_method}; {design.weights_kind}; df {design.degf})",
        )
    if sampling_weights is not None:
        vc, g = sampling_sandwich(
            bread_inv, scores, sampling_weights, groups if cov_type == "cluster" else None
        )
        if cov_type == "cluster":
            return vc, f"cluster-robust sandwich, sampling weights ({g} clusters, G/(G-1))"
        return vc, f"robust sandwich, sampling weights ({g} rows, n/(n-1))"
    if cov_type == "nonrobust":
        return bread_inv, f"nonrobust (inverse {information} information)"
    if cov_type == "robust":
        return sandwich(bread_inv, scores), "robust sandwich (HC1)"
    assert groups is not None
    return (
        sandwich(bread_inv, scores, groups),
        f"cluster-robust (CR1, {int(groups.max()) + 1} clusters)",
    )


def fixed_result_fields(
    model: Any,
    opt: NewtonResult,
    final: dict,
    bread_inv: np.ndarray,
    *,
    cov_type: str,
    groups: np.ndarray | None,
    design: SurveyDesign | None,
    information: str,
    df: float | None,
    loglik: float,
    weights: np.ndarray | None,
    separation: list[str],
    weight_kind: str | None = None,
    refit: Callable[[np.ndarray], np.ndarray] | None = None,
) -> dict[str, Any]:
    """The fields of a :class:`FixedFitResult`: the labelled estimates and the covariance
    of ``cov_type`` (or ``design``) at the optimum ``opt`` (``final`` holds its scores)."""
    names = model.param_names
    vc, label = covariance(
        bread_inv,
        np.asarray(final["scores"]),
        cov_type=cov_type,
        groups=groups,
        design=design,
        index=model.frame.data.index,
        information=information,
        sampling_weights=weights if weight_kind == "sampling" else None,
        params=opt.params,
        refit=refit,
    )
    if design is not None or cov_type != "nonrobust":
        vc = not_estimable(vc, bread_inv, names, label.split(" (")[0].split(",")[0])
    return {
        "model": model,
        "params": pd.Series(opt.params, index=names, name="estimate"),
        "vcov": pd.DataFrame(vc, index=names, columns=names),
        "loglik": loglik,
        "converged": opt.converged,
        "n_iter": opt.n_iter,
        "message": opt.message,
        "hessian_cond": opt.cond,
        "max_grad": float(np.max(np.abs(np.asarray(final["grad"])), initial=0.0)),
        "cov_type": "design" if design is not None else cov_type,
        "weight_kind": "sampling" if design is not None else weight_kind,
        "cov_label": label,
        "df_resid": df,
        "weights": None if weights is None else np.asarray(weights, float),
        "separation": tuple(separation),
        "n_clusters": _n_clusters(cov_type, groups, design),
    }


def _n_clusters(
    cov_type: str, groups: np.ndarray | None, design: SurveyDesign | None
) -> int | None:
    """Clusters behind the covariance: the cluster-robust groups or the design's PSUs (None
    when every row is its own unit)."""
    if design is not None:
        return int(design.n_psu) if design.n_psu < design.n_obs else None
    if cov_type == "cluster" and groups is not None:
        return int(groups.max()) + 1
    return None


def loglik_info(res: Any) -> dict[str, float]:
    """The likelihood lines of a summary: ``Log-likelihood``, ``AIC`` and ``BIC``, or only
    ``Pseudo-log-likelihood`` for fits with sampling or design weights (for which AIC, BIC
    and likelihood-ratio tests do not apply)."""
    if res.pseudo or res.cov_type == "design":
        return {"Pseudo-log-likelihood": res.loglik}
    return {"Log-likelihood": res.loglik, "AIC": res.aic, "BIC": res.bic}


def add_weight_notes(res: Any, info: dict[str, Any], notes: list[str]) -> None:
    """Add the weights (name and kind) to a summary's ``info`` and the zero-weight rows and
    the pseudo-likelihood caveat to its ``notes``."""
    m = res.model
    if res.cov_type == "design":
        info["Weights"] = "design weights (sampling)"
    elif m.weights_name:
        info["Weights"] = f"{m.weights_name} ({m.weight_kind} weights)"
    if res.n_zero_weight:
        notes.append(
            f"{res.n_zero_weight} rows have weight 0: they are not counted as observations "
            "and do not contribute to the fit."
        )
    if res.pseudo or res.cov_type == "design":
        notes.append(
            "Sampling weights: the fit maximises a pseudo-log-likelihood; AIC, BIC and "
            "likelihood-ratio tests do not apply."
        )


class MLEResultMixin(PostFitMixin):
    """Frequentist result contract computed from ``params``, ``vcov``, ``loglik``.

    The host class provides ``model`` (with its ``frame``), ``params`` (Series), ``vcov``
    (DataFrame), ``loglik``, ``cov_type``, ``df_resid`` (t degrees of freedom or None),
    ``weights`` and ``_prob(par, data)`` (the ``(n, k)`` probabilities the marginal effects
    are taken of).
    """

    model: Any
    params: pd.Series
    vcov: pd.DataFrame
    loglik: float
    cov_type: str
    df_resid: float | None
    weights: np.ndarray | None
    _prob: Callable[[np.ndarray, pd.DataFrame], np.ndarray]

    weight_kind: str | None

    @property
    def nobs(self) -> int:
        """Rows used in the fit (with weights: the rows with a positive weight)."""
        if self.weights is None:
            return self.model.frame.nobs
        return int((np.asarray(self.weights) > 0).sum())

    @property
    def n_zero_weight(self) -> int:
        """Complete rows with weight 0 (not counted in :attr:`nobs`)."""
        return int(self.model.frame.nobs) - self.nobs

    @property
    def pseudo(self) -> bool:
        """Whether the fit maximised a pseudo-likelihood (sampling or design weights)."""
        return self.weight_kind == "sampling"

    @property
    def n_dropped(self) -> int:
        """Rows dropped for missing values."""
        return self.model.frame.n_dropped

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
        """``-2 loglik + 2 k`` (NaN with sampling or design weights: a pseudo-likelihood)."""
        if self.pseudo or self.cov_type == "design":
            return float("nan")
        return -2 * self.loglik + 2 * self.k_params

    @property
    def bic(self) -> float:
        """``-2 loglik + k log(n)``, ``n`` the sum of the frequency weights when weighted
        (as R clm); NaN with sampling or design weights."""
        if self.pseudo or self.cov_type == "design":
            return float("nan")
        n = self.nobs if self.weights is None else float(self.weights.sum())
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

    # -- marginal effects (the public methods, with their docstrings, are the models') ------
    def _effect_variables(self, variables: str | list[str] | None) -> list[str]:
        """The variables named by ``variables`` (all of the model's predictors if None)."""
        m = self.model
        fr = m.frame
        allowed = [v for v in fr.parsed.variables() if v != fr.outcome_name and v not in fr.groups]
        for spec in (getattr(m, "nominal", None), getattr(m, "scale", None)):
            if spec:
                allowed += parse_formula(spec, require_outcome=False).variables()
        allowed = list(dict.fromkeys(allowed))
        if variables is None:
            return allowed
        vs = [variables] if isinstance(variables, str) else list(variables)
        bad = [v for v in vs if v not in allowed]
        if bad:
            raise SpecificationError(f"variables {bad} are not in the model; choose from {allowed}")
        return vs

    def _average_predictions(
        self, columns: list[str], by: str | None, level: float
    ) -> pd.DataFrame:
        from ._margins import average_predictions

        return average_predictions(
            self._prob,
            self.params.to_numpy(),
            self.vcov.to_numpy(),
            self.model.frame.data,
            columns,
            by=by,
            weights=self.weights,
            level=level,
            df=self.df_resid,
            link=getattr(self.model, "link", None),
        )

    def _marginal_effects(
        self,
        variables: str | list[str] | None,
        columns: list[str],
        by: str | None,
        level: float,
    ) -> pd.DataFrame:
        from ._margins import average_effects

        return average_effects(
            self._prob,
            self.params.to_numpy(),
            self.vcov.to_numpy(),
            self.model.frame.data,
            self._effect_variables(variables),
            columns,
            by=by,
            weights=self.weights,
            level=level,
            df=self.df_resid,
        )


@dataclass(frozen=True)
class FixedFitResult(MLEResultMixin, SummaryDisplay):
    """The fields of a fixed-effect maximum-likelihood fit (``OrdinalResult``,
    ``LogisticResult``), filled by :func:`fixed_result_fields`."""

    model: Any
    params: pd.Series
    vcov: pd.DataFrame
    loglik: float
    converged: bool
    n_iter: int
    message: str
    hessian_cond: float
    max_grad: float
    cov_type: str
    cov_label: str
    df_resid: float | None = None
    weights: np.ndarray | None = field(default=None, repr=False)
    separation: tuple[str, ...] = ()
    n_clusters: int | None = None
    weight_kind: str | None = None
