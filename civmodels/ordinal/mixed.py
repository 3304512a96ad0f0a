"""Cumulative link mixed models: random intercepts fitted by Laplace or adaptive quadrature.

``Ordinal("y ~ x + (1 | municipality)", data).fit(method="agq", n_quad=10)`` lands here.
The model is

.. math::

    P(Y_i \\le j \\mid x_i, u) = F\\bigl(\\theta_j - x_i^\\top\\beta - \\textstyle\\sum_k
    u_{k, g_k(i)}\\bigr), \\qquad u_{k,l} \\sim N(0, \\sigma_k^2) \\text{ independent},

as R ``ordinal::clmm``. The numerics live in :mod:`civmodels._glmm`; this module validates the
specification, chooses start values, labels the output and builds the result.

References
----------
Christensen, R. H. B. (2019). *Cumulative link models for ordinal regression with the R
package ordinal*. (Vignette of R package ``ordinal``.)
Pinheiro, J. C. & Bates, D. M. (1995). Approximations to the log-likelihood function in the
nonlinear mixed-effects model. *J. Comput. Graph. Statist.* 4, 12–35.
Bates, D., Mächler, M., Bolker, B. & Walker, S. (2015). Fitting linear mixed-effects models
using lme4. *J. Stat. Softw.* 67(1).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from .. import _glmm
from .._mixed_results import MixedResultBase
from ..exceptions import SpecificationError
from ..results import Summary, wald_table, with_odds_ratios

__all__ = ["MixedOrdinalResult", "fit_mixed"]


def check_mixed_options(
    model: Any,
    *,
    method: str,
    n_quad: int | None,
    cov_type: str = "nonrobust",
    cluster: Any = None,
    design: Any = None,
) -> int:
    """Validate the fitting options shared by ordinal and binary mixed models.

    Returns the number of quadrature nodes to use (1 for Laplace).
    """
    if method not in ("laplace", "agq"):
        raise SpecificationError(
            f"method={method!r} cannot fit random terms; use 'laplace' (any number of random "
            "intercepts) or 'agq' (one random intercept)"
        )
    if cov_type != "nonrobust" or cluster is not None or design is not None:
        raise SpecificationError(
            f"cov_type={cov_type!r}{' with cluster=' if cluster is not None else ''}"
            f"{' with design=' if design is not None else ''} is not available for random-"
            "intercept models: their standard errors come from the marginal likelihood, whose "
            "random intercepts already model the within-group correlation. For cluster-robust "
            "or design-based inference fit the model without the (1 | g) term and pass "
            "cov_type='cluster' or design="
        )
    k = len(model.frame.groups)
    if method == "agq":
        if k > 1:
            raise SpecificationError(
                f"method='agq' (n_quad={n_quad}) integrates over a single random intercept, "
                f"but the formula has {k}: {list(model.frame.groups)}. Use method='laplace' "
                "for several random terms"
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
        return int(n_quad)
    if n_quad not in (None, 1, 10):  # 10 is the default that fit() always passes
        raise SpecificationError(
            f"n_quad={n_quad} is only used by method='agq' (adaptive quadrature, one random "
            "intercept); the Laplace approximation has no nodes. Pass method='agq' or drop "
            "n_quad"
        )
    return 1


def group_arrays(model: Any) -> tuple[list[str], list[np.ndarray], list[pd.Index]]:
    """Names, codes and levels of the grouping factors of a model frame."""
    names = list(model.frame.groups)
    codes = [np.asarray(model.frame.groups[g][0], dtype=np.int64) for g in names]
    levels = [pd.Index(model.frame.groups[g][1]) for g in names]
    return names, codes, levels


def start_log_sd(k: int) -> np.ndarray:
    """Start every log SD at log(0.5): a moderate latent-scale SD, inside the basin of the
    usual optima; Newton moves from there in a few steps."""
    return np.full(k, np.log(0.5))


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


def _fit_options(options: dict[str, Any]) -> dict[str, Any]:
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


def fit_mixed(
    model: Any,
    *,
    method: str = "laplace",
    n_quad: int | None = 10,
    cov_type: str = "nonrobust",
    cluster: Any = None,
    design: Any = None,
    **options: Any,
) -> MixedOrdinalResult:
    """Fit a cumulative link model with random intercepts by maximum likelihood.

    Called by :meth:`civmodels.Ordinal.fit` when the formula has ``(1 | g)`` terms.

    Parameters
    ----------
    model : Ordinal
        The specification (``thresholds="flexible"``, no ``nominal=`` or ``scale=``, as in R
        ``clmm``).
    method : {"laplace", "agq"}, default "laplace"
        Laplace approximation (any number of random intercepts, crossed or nested) or
        adaptive Gauss–Hermite quadrature (exactly one random intercept).
    n_quad : int, default 10
        Quadrature nodes for ``method="agq"``.
    cov_type : {"nonrobust"}
        Only model-based standard errors are available for mixed models.
    **options
        ``max_iter`` (default 200), ``gtol`` (gradient tolerance, default 1e-7 per unit
        weight), ``start`` (start values: thresholds, coefficients, then log SDs).

    Returns
    -------
    MixedOrdinalResult
    """
    if model.nominal is not None or model.scale is not None:
        which = "nominal=" if model.nominal is not None else "scale="
        raise SpecificationError(
            f"{which} effects cannot be combined with random terms (as in R clmm); fit the "
            f"mixed model without {which} or the fixed model with it"
        )
    if model.thresholds != "flexible":
        raise SpecificationError(
            f"thresholds={model.thresholds!r} is not available with random terms; use the "
            "default thresholds='flexible'"
        )
    n_nodes = check_mixed_options(
        model, method=method, n_quad=n_quad, cov_type=cov_type, cluster=cluster, design=design
    )
    opts = _fit_options(options)
    frame = model.frame
    names, codes, levels = group_arrays(model)
    J = frame.n_categories
    d = _glmm.GLMMData(
        y=frame.y,
        X=frame.X,
        tjac=np.eye(J - 1),
        toff=np.zeros(J - 1),
        groups=codes,
        dist=_glmm.get_dist(model.link_name),
        w=model.weights,
    )
    out = run_glmm(
        d,
        options.get("start"),
        lambda: _start_values(d, model.link),
        order="thresholds, coefficients, log SDs",
        method=method,
        n_nodes=n_nodes,
        opts=opts,
    )
    _glmm.warn_convergence(out, f"the {method} fit of {model.formula!r}")
    _glmm.warn_boundary(out, names)
    par_names = [*frame.threshold_names(), *frame.x_names]
    return MixedOrdinalResult(
        **_result_fields(model, d, out, par_names, names, levels, method, n_nodes)
    )


def _start_values(d: _glmm.GLMMData, link: Any) -> np.ndarray:
    """Thresholds at the link of the (weighted) cumulative proportions, zero slopes."""
    counts = np.bincount(d.y, weights=d.w, minlength=d.J)
    cum = np.clip(np.cumsum(counts)[:-1] / counts.sum(), 1e-4, 1 - 1e-4)
    theta = np.asarray(link.ppf(cum), dtype=float)
    ab = _glmm.fixed_start(d, np.concatenate([theta, np.zeros(d.p)]))
    return np.concatenate([ab, start_log_sd(d.K)])


def _result_fields(
    model: Any,
    d: _glmm.GLMMData,
    out: _glmm.FitOutput,
    par_names: list[str],
    names: list[str],
    levels: list[pd.Index],
    method: str,
    n_nodes: int,
) -> dict[str, Any]:
    """Label the array-level output (shared with the binary mixed model)."""
    k = d.k_alpha + d.p
    cov = out.cov
    params = pd.Series(out.phi[:k], index=par_names, name="estimate")
    vcov = pd.DataFrame(cov[:k, :k], index=par_names, columns=par_names)
    log_sd = pd.Series(out.phi[k:], index=names, name="log_sd")
    log_sd_se = pd.Series(np.sqrt(np.diag(cov)[k:]), index=names, name="std_error")
    sigma = np.exp(out.phi[k:])
    b = out.mode.b
    if out.mode.negH_diag is not None:
        hinv_diag = 1.0 / out.mode.negH_diag
    else:
        Linv = np.linalg.inv(out.mode.hchol)
        hinv_diag = (Linv * Linv).sum(axis=0)
    modes = {}
    for j, g in enumerate(names):
        sl = slice(d.offsets[j], d.offsets[j + 1])
        modes[g] = (levels[j], sigma[j] * b[sl], sigma[j] ** 2 * hinv_diag[sl])
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
        "boundary": tuple(names[j] for j in out.boundary),
        "messages": tuple(out.messages),
        "weights": model.weights,
        "engine_data": d,
    }


@dataclass(frozen=True, repr=False)  # the base's __repr__
class MixedOrdinalResult(MixedResultBase):
    """A fitted cumulative link mixed model (frozen).

    ``params`` holds the thresholds then the location effects (the random-effect SDs are in
    :attr:`re_sd`, their log-scale standard errors in ``log_sd_se``). Standard errors are
    from the observed information of the marginal likelihood: for AGQ fits its analytic
    Hessian, for Laplace fits central differences of the analytic gradient.
    """

    @cached_property
    def thresholds(self) -> pd.Series:
        """The ``J - 1`` thresholds, named ``"a|b"`` after the categories they separate."""
        return self.params.iloc[: self.k_alpha].rename("threshold")

    @cached_property
    def coef(self) -> pd.Series:
        """Location effects ``beta`` (formulaic names, e.g. ``"temp[T.warm]"``)."""
        return self.params.iloc[self.k_alpha :].rename("coef")

    def _blocks(self, level: float) -> dict[str, pd.DataFrame]:
        tab = wald_table(self.params, self.std_errors, level=level)
        return {"Thresholds": tab.iloc[: self.k_alpha], "Location": tab.iloc[self.k_alpha :]}

    def summary(self, *, odds_ratios: bool = False, level: float = 0.95) -> Summary:
        """Summary with blocks Thresholds, Location and Random effects.

        Parameters
        ----------
        odds_ratios : bool, default False
            Add ``exp(estimate)`` with its interval to the location block (cumulative odds
            ratios, conditional on the random intercepts, for the logit link).
        level : float, default 0.95
        """
        blocks = self._blocks(level)
        if odds_ratios:
            blocks["Location"] = with_odds_ratios(blocks["Location"])
        note = (
            "P(Y <= j | x, u) = F(theta_j - x'beta - u): positive effects shift responses to "
            "higher categories; effects are conditional on the random intercepts."
        )
        title = f"Cumulative link mixed model ({self.model.link_name})"
        return self._summary(title, blocks, level, [note])

    def predict(
        self,
        newdata: pd.DataFrame | None = None,
        kind: str = "prob",
        *,
        conditional: bool = True,
        se: bool = False,
        interval: str | None = None,
        level: float = 0.95,
    ) -> pd.DataFrame | pd.Series:
        """Predicted probabilities or linear predictors (``newdata`` is never modified).

        Parameters
        ----------
        newdata : pandas.DataFrame, optional
            Rows to predict; the fit data if omitted.
        kind : {"prob", "cumprob", "linear"}
            Category probabilities (columns = category labels), cumulative probabilities
            ``P(Y <= j)`` (columns = threshold names) or the linear predictor.
        conditional : bool, default True
            ``True``: given the random intercepts — the conditional modes for levels seen in
            the fit, 0 (the average group) for new levels or when the grouping column is
            absent. ``False``: marginal (population-averaged) probabilities, integrating
            the random intercepts over their normal distribution by Gauss–Hermite
            quadrature; the marginal linear predictor is ``x'beta``.
        se : bool, default False
            Return a table with delta-method standard errors instead (index ``(rowid,
            outcome)``, columns ``estimate``, ``std_error``); marginal predictions include
            the uncertainty of the random-effect SDs, conditional ones hold the modes fixed.
        interval : {"confidence"}, optional
            Also return ``ci_lower``, ``ci_upper`` (link scale, inside [0, 1]).
        level : float, default 0.95
        """
        if se or interval is not None:
            return self._predict_interval(newdata, kind, level, interval, conditional=conditional)
        if kind not in ("prob", "cumprob", "linear"):
            raise ValueError(f"kind={kind!r}; choose 'prob', 'cumprob' or 'linear'")
        X, u, index = self._newdata_parts(newdata, conditional)
        eta = (X @ self.coef.to_numpy() if X.shape[1] else np.zeros(len(X))) + u
        if kind == "linear":
            return pd.Series(eta, index=index, name="linear")
        t = self.thresholds.to_numpy()[None, :] - eta[:, None]
        cum = self.dist.cdf(t) if conditional else self._integrate_cdf(t)
        if kind == "cumprob":
            return pd.DataFrame(cum, index=index, columns=list(self.thresholds.index))
        full = np.hstack([np.zeros((len(cum), 1)), cum, np.ones((len(cum), 1))])
        cats = [str(c) for c in self.model.frame.categories]
        return pd.DataFrame(np.diff(full, axis=1), index=index, columns=cats)
