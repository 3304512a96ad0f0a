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

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from .. import _glmm
from .._mixed_fit import (
    check_mixed_options,
    correlated_terms,
    fit_options,
    group_arrays,
    mixed_weights,
    result_fields,
    run_glmm,
    slope_values,
    start_log_sd,
)
from .._mixed_results import MixedResultBase
from ..exceptions import SpecificationError
from ..results import Summary, wald_table, with_odds_ratios

__all__ = ["MixedOrdinalResult", "fit_mixed"]


def fit_mixed(
    model: Any,
    *,
    method: str = "laplace",
    n_quad: int | None = 10,
    cov_type: str | None = None,
    cluster: Any = None,
    design: Any = None,
    weight_scaling: str = "size",
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
    cov_type : {"nonrobust", "cluster", "jackknife"}, optional
        ``"nonrobust"`` (default without sampling weights): inverse observed information of
        the marginal likelihood. ``"cluster"`` (default with sampling weights ``weights=`` /
        ``group_weights=``): sandwich with the groups of the single random intercept as
        clusters and the factor ``G/(G-1)`` (Stata's ``meologit`` with pweights).
        ``"jackknife"``: delete-one-group jackknife, each replicate one Newton step from the
        full fit; larger than the sandwich where a few groups weigh much (better coverage
        with few or unequally weighted groups, see ``docs/mixed.md``).
    cluster : str, optional
        Only the grouping factor itself (the sandwich is taken over its groups).
    weight_scaling : {"size", "effective", "none"}, default "size"
        Scaling of sampling weights ``weights=`` within each group: to the group's number
        of respondents, to its effective size ``(sum w)^2 / sum w^2``, or none (see
        :mod:`civmodels._mixed_fit`).
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
    n_nodes, cov_type = check_mixed_options(
        model, method=method, n_quad=n_quad, cov_type=cov_type, cluster=cluster, design=design
    )
    opts = fit_options(options)
    frame = model.frame
    names, codes, levels = group_arrays(model)
    w1, w2 = mixed_weights(model, codes, levels, names, weight_scaling)
    J = frame.n_categories
    d = _glmm.GLMMData(
        y=frame.y,
        X=frame.X,
        tjac=np.eye(J - 1),
        toff=np.zeros(J - 1),
        groups=codes,
        dist=_glmm.get_dist(model.link_name),
        w=w1,
        w2=w2,
        zvals=slope_values(model),
        corr=correlated_terms(model),
    )
    out = run_glmm(
        d,
        options.get("start"),
        lambda: _start_values(d, model.link),
        order="thresholds, coefficients, log SDs, then correlation parameters",
        method=method,
        n_nodes=n_nodes,
        opts=opts,
    )
    _glmm.warn_convergence(out, f"the {method} fit of {model.formula!r}")
    _glmm.warn_boundary(out, names, d)
    par_names = [*frame.threshold_names(), *frame.x_names]
    return MixedOrdinalResult(
        **result_fields(model, d, out, par_names, names, levels, method, n_nodes, cov_type)
    )


def _start_values(d: _glmm.GLMMData, link: Any) -> np.ndarray:
    """Thresholds at the link of the (weighted) cumulative proportions, zero slopes."""
    counts = np.bincount(d.y, weights=d.w * d.rw, minlength=d.J)
    cum = np.clip(np.cumsum(counts)[:-1] / counts.sum(), 1e-4, 1 - 1e-4)
    theta = np.asarray(link.ppf(cum), dtype=float)
    ab = _glmm.fixed_start(d, np.concatenate([theta, np.zeros(d.p)]))
    return np.concatenate([ab, start_log_sd(d.K), np.zeros(d.n_off)])


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
        tab = wald_table(self.params, self.std_errors, level=level, df=self.df_resid)
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
            absent (for a nested term ``a:b``, when ``a`` or ``b`` is). ``False``:
            marginal (population-averaged) probabilities, integrating the random
            intercepts over their normal distribution by Gauss–Hermite quadrature; the
            marginal linear predictor is ``x'beta``.
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
        cum = self.dist.cdf(t) if conditional else self._integrate_cdf(t, newdata)
        if kind == "cumprob":
            return pd.DataFrame(cum, index=index, columns=list(self.thresholds.index))
        full = np.hstack([np.zeros((len(cum), 1)), cum, np.ones((len(cum), 1))])
        cats = [str(c) for c in self.model.frame.categories]
        return pd.DataFrame(np.diff(full, axis=1), index=index, columns=cats)
