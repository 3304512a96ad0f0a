"""The :class:`Ordinal` cumulative link model and its :class:`OrdinalResult`."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

import numpy as np
import pandas as pd

from .._links import Link, get_link
from .._mle import (
    FixedFitResult,
    add_weight_notes,
    bread_inverse,
    check_cov_options,
    check_separation,
    check_weight_options,
    choose_fit_method,
    cluster_codes,
    convergence_checks,
    design_weights,
    fixed_result_fields,
    group_weight_column,
    loglik_info,
    warn_extreme_effects,
    warn_separation,
)
from ..design import SurveyDesign
from ..exceptions import DataError, DesignError, SpecificationError
from ..formula import FixedDesign, ModelFrame, parse_formula
from ..results import Summary, model_stats, wald_table, with_odds_ratios
from . import _core

__all__ = ["Ordinal", "OrdinalResult"]

CovType = Literal["nonrobust", "robust", "cluster", "design"]


def _rhs(spec: str | None, what: str) -> str | None:
    """Normalise a one-sided formula ``"~ x"`` to its right-hand side ``"x"``."""
    if spec is None:
        return None
    if not isinstance(spec, str) or not spec.strip():
        raise SpecificationError(f"{what} must be a one-sided formula such as '~ x', got {spec!r}")
    parsed = parse_formula(spec, require_outcome=False)
    if parsed.outcome is not None:
        raise SpecificationError(
            f"{what}={spec!r} must be one-sided (no outcome); write it as '~ {parsed.fixed}'"
        )
    if parsed.random:
        raise SpecificationError(f"{what}={spec!r} cannot contain random terms")
    return parsed.fixed


def _variables(rhs: str | None) -> list[str]:
    if rhs is None:
        return []
    return parse_formula("~" + rhs, require_outcome=False).variables()


class Ordinal:
    """Cumulative link model for an ordered outcome (proportional odds and extensions).

    .. math::

        P(Y_i \\le j \\mid x_i) = F\\left(\\frac{\\theta_j + \\tilde z_i^\\top \\gamma_j
        - x_i^\\top \\beta}{\\exp(s_i^\\top \\zeta)}\\right), \\quad j = 1, \\dots, J - 1,

    with ``F`` the inverse link (logistic for ``link="logit"``), thresholds
    ``theta_1 < ... < theta_{J-1}``, location effects ``beta``, optional nominal
    (threshold-specific) effects ``gamma_j`` of ``nominal=`` variables and optional scale
    effects ``zeta`` of ``scale=`` variables.

    Identification: the location design has no intercept (it is absorbed by the thresholds);
    the latent error has the fixed scale of ``F`` (scale effects are relative to it). The sign
    convention is that of R ``ordinal::clm`` and ``MASS::polr``: a positive ``beta`` moves
    probability towards the *higher* categories.

    Parameters
    ----------
    formula : str
        ``"y ~ x1 + x2"``; the outcome must be an ordered categorical or integer codes.
        Random intercepts ``(1 | g)`` make it a mixed model (see :meth:`fit`).
    data : pandas.DataFrame
        Not modified.
    link : {"logit", "probit", "cloglog", "loglog", "cauchit"}, default "logit"
    nominal : str, optional
        One-sided formula ``"~ z"`` of variables with threshold-specific effects (partial
        proportional odds). A variable may not be in both ``formula`` and ``nominal``.
    scale : str, optional
        One-sided formula ``"~ s"`` of variables acting on the log latent scale.
    thresholds : {"flexible", "equidistant", "symmetric"}, default "flexible"
        Threshold structure, as R ``ordinal``.
    weights : str, optional
        Column of **sampling weights** (design, probability or nonresponse weights;
        non-negative). Estimates and standard errors do not depend on their scale; the
        default covariance is the sandwich (robust, or cluster-robust with ``cluster=``) as R
        ``svyolr``/``svyglm`` and Stata's pweights; the fit reports a pseudo-log-likelihood
        and no AIC/BIC; rows with weight 0 are not counted in ``nobs``. See
        ``docs/nonresponse.md`` for which weights to use when.
    freq_weights : str, optional
        Column of **frequency weights**: counts of identical rows (a row with weight 3 is
        three respondents with the same answers). Model-based standard errors are
        available; not together with ``weights=``.
    group_weights : str, optional
        With a random intercept ``(1 | g)``: column of sampling weights of the groups
        (constant within each group; e.g. the inverse probability that a municipality
        responded). ``weights=`` are then the respondents' weights *given* their group.
        Fitted by pseudo-maximum likelihood (see :func:`civmodels.ordinal.mixed.fit_mixed`).
        For design-based inference (strata, clusters, fpc) pass a
        :class:`~civmodels.SurveyDesign` to :meth:`fit` instead.

    Attributes
    ----------
    frame : ModelFrame
        Validated complete-case data, outcome codes and location design.
    link : Link
    link_name, formula, nominal, scale, thresholds : str
    weights : ndarray or None
        The ``weights=`` or ``freq_weights=`` column of the rows used.
    weight_kind : {"sampling", "frequency"} or None
    group_weights : ndarray or None

    References
    ----------
    McCullagh, P. (1980). Regression models for ordinal data. *JRSS B* 42, 109–142.
    Agresti, A. (2010). *Analysis of Ordinal Categorical Data*, 2nd ed. Wiley.
    Christensen, R. H. B. (2022). ordinal: Regression models for ordinal data. R package
    2022.11-16.
    """

    def __init__(
        self,
        formula: str,
        data: pd.DataFrame,
        *,
        link: str = "logit",
        nominal: str | None = None,
        scale: str | None = None,
        thresholds: str = "flexible",
        weights: str | None = None,
        freq_weights: str | None = None,
        group_weights: str | None = None,
    ) -> None:
        self.link: Link = get_link(link)
        self.link_name = link
        self.formula = formula
        if thresholds not in ("flexible", "equidistant", "symmetric"):
            raise SpecificationError(
                f"thresholds={thresholds!r} is not supported; choose 'flexible', "
                "'equidistant' or 'symmetric'"
            )
        self.thresholds = thresholds
        nom_rhs = _rhs(nominal, "nominal")
        sc_rhs = _rhs(scale, "scale")
        self.nominal = nominal
        self.scale = scale
        extra = [v for v in [*_variables(nom_rhs), *_variables(sc_rhs)]]
        wcol, self.weight_kind = check_weight_options(data, weights, freq_weights, group_weights)
        if group_weights is not None:
            extra.append(group_weights)
        self.frame = ModelFrame(
            formula,
            data,
            outcome="ordinal",
            weights=wcol,
            extra=tuple(dict.fromkeys(extra)),
            intercept=False,
        )
        self.data = data
        self.weights = self.frame.weights
        self.weights_name = wcol
        self.group_weights_name = group_weights
        self.group_weights = group_weight_column(self, group_weights)
        if self.group_weights is not None and self.weight_kind is None:
            self.weight_kind = "sampling"
        n_thr = self.frame.n_categories - 1
        try:
            self._tjac, alpha_names = _core.threshold_jacobian(n_thr, thresholds)
        except ValueError as exc:
            raise SpecificationError(str(exc)) from None
        self._alpha_names = alpha_names or self.frame.threshold_names()
        self._nominal_design = (
            FixedDesign(nom_rhs, self.frame.data, intercept=False) if nom_rhs else None
        )
        self._scale_design = (
            FixedDesign(sc_rhs, self.frame.data, intercept=False) if sc_rhs else None
        )
        if self._nominal_design is not None:
            both = set(_variables(nom_rhs)) & set(_variables(self.frame.parsed.fixed))
            if both:
                raise SpecificationError(
                    f"{sorted(both)} appear in both the location formula and nominal=; the "
                    "nominal effects include the location effect, so keep each variable in one"
                )

    # -- structure --------------------------------------------------------------------------
    @property
    def has_random(self) -> bool:
        """Whether the formula has random terms ``(1 | g)``."""
        return bool(self.frame.parsed.random)

    @property
    def param_names(self) -> list[str]:
        """Names of the fixed-effect parameters: thresholds, location, nominal, scale."""
        names = list(self._alpha_names) + list(self.frame.x_names)
        if self._nominal_design is not None:
            names += [f"{a}:{c}" for c in self._nominal_design.names for a in self._alpha_names]
        if self._scale_design is not None:
            names += [f"scale:{c}" for c in self._scale_design.names]
        return names

    def core_data(self, weights: np.ndarray | None = None) -> _core.CLMData:
        """Arrays for :mod:`civmodels.ordinal._core` (``weights`` overrides the model's)."""
        w = self.weights if weights is None else weights
        return _core.CLMData(
            y=self.frame.y,
            X=self.frame.X,
            tjac=self._tjac,
            N=None if self._nominal_design is None else self._nominal_design.X,
            S=None if self._scale_design is None else self._scale_design.X,
            w=None if w is None else np.asarray(w, dtype=float),
        )

    # -- fitting ----------------------------------------------------------------------------
    def fit(
        self,
        method: str | None = None,
        *,
        cov_type: CovType | None = None,
        cluster: str | np.ndarray | pd.Series | None = None,
        design: SurveyDesign | None = None,
        n_quad: int = 10,
        max_iter: int | None = None,
        gtol: float | None = None,
        start: np.ndarray | None = None,
        **options: Any,
    ) -> Any:
        """Fit by maximum likelihood; return a frozen :class:`OrdinalResult`.

        Parameters
        ----------
        method : {"newton", "laplace", "agq"}, optional
            ``"newton"`` (default without random terms): Newton-Raphson with the analytic
            gradient and Hessian and step halving. With random terms the default is
            ``"laplace"``; ``"agq"`` is adaptive Gauss-Hermite quadrature with ``n_quad``
            nodes (mixed models are fitted by :func:`civmodels.ordinal.mixed.fit_mixed`).
        cov_type : {"nonrobust", "robust", "cluster", "design"}, optional
            Inverse observed information; sandwich with the HC1 factor ``n/(n-p)``;
            cluster-robust sandwich with the CR1 factor ``G/(G-1) (n-1)/(n-p)``. With
            sampling weights (``weights=``) the default is the sandwich, with the factor
            ``n/(n-1)`` (``G/(G-1)`` by cluster) of R ``svyolr`` with
            ``svydesign(ids=~1 or ~cluster, weights=~w)``; ``"nonrobust"`` is refused then.
            Without sampling weights the default is ``"nonrobust"`` (``"cluster"`` when
            ``cluster=`` is given); with ``design=`` it is ``"design"`` and no other.
        cluster : str or array_like, optional
            Cluster labels (column name or array aligned with ``data``) for
            ``cov_type="cluster"``.
        design : SurveyDesign, optional
            Design-based (Taylor linearisation) inference as R ``survey::svyolr``: the model
            is fitted with the design's weights and the covariance is ``A^-1 V A^-1`` with
            ``V`` the design variance of the score totals. Confidence intervals and p-values
            then use a t reference with the design's degrees of freedom.
        n_quad : int, default 10
            Quadrature nodes for ``method="agq"``.
        max_iter : int, optional
            Newton iterations allowed (default 100; 200 for mixed models).
        gtol : float, optional
            Convergence tolerance on ``max |gradient|``; default ``1e-10 * max(1, sum w)``
            (mixed models: ``1e-7`` per unit weight).
        start : ndarray, optional
            Starting values in :attr:`param_names` order (mixed models: thresholds,
            coefficients, then the log SDs).
        **options
            For mixed models with sampling weights: ``weight_scaling`` ("size", the
            default, "effective" or "none"), how respondent weights are scaled within
            groups; see :func:`civmodels.ordinal.mixed.fit_mixed`.

        Returns
        -------
        OrdinalResult
            (a ``MixedOrdinalResult`` from :mod:`civmodels.ordinal.mixed` when the formula
            has random terms)
        """
        method = choose_fit_method(self.has_random, method, options)
        if self.has_random:
            from . import mixed  # lazy: the mixed engine is optional at import time

            return mixed.fit_mixed(
                self,
                method=method,
                n_quad=n_quad,
                cov_type=cov_type,
                cluster=cluster,
                design=design,
                max_iter=max_iter,
                gtol=gtol,
                start=start,
                **options,
            )
        return _fit_fixed(
            self,
            cov_type=cov_type,
            cluster=cluster,
            design=design,
            max_iter=100 if max_iter is None else max_iter,
            gtol=gtol,
            start=start,
        )

    def __repr__(self) -> str:
        return (
            f"Ordinal({self.formula!r}, link={self.link_name!r}, "
            f"thresholds={self.thresholds!r}, nobs={self.frame.nobs})"
        )


def _fit_fixed(
    model: Ordinal,
    *,
    cov_type: str | None,
    cluster: Any,
    design: SurveyDesign | None,
    max_iter: int,
    gtol: float | None,
    start: np.ndarray | None,
) -> OrdinalResult:
    cov_type = check_cov_options(cov_type, cluster, design, model.weight_kind)
    frame = model.frame
    weights = design_weights(model, design) if design is not None else model.weights
    if model.weight_kind == "sampling" and design is None:
        assert weights is not None
        # the scale of sampling weights is arbitrary: fit with mean-1 weights
        weights = weights / weights.mean()
    groups = cluster_codes(model.data, cluster, frame.rows) if cluster is not None else None
    d = model.core_data(weights)
    link = model.link

    sep = check_separation(frame.X, frame.x_names, frame.y, frame.categories, d.w)
    warn_separation(sep, stacklevel=4)

    par0 = _core.start_values(d, link) if start is None else np.asarray(start, float)
    if len(par0) != d.n_params:
        raise SpecificationError(f"start has {len(par0)} values; the model has {d.n_params}")
    tol = gtol if gtol is not None else 1e-10 * max(1.0, float(np.sum(d.w)))

    def fun(p: np.ndarray) -> dict:
        return _core.clm_derivatives(p, d, link)

    opt = _core.newton(fun, par0, gtol=tol, max_iter=max_iter)
    final = _core.clm_derivatives(opt.params, d, link, scores=True)
    bread_inv = bread_inverse(np.asarray(final["hess"]))

    convergence_checks(opt, frame.nobs)
    sl_beta = d.slices()["beta"]
    se0 = np.sqrt(np.abs(np.diag(bread_inv)))
    sep = warn_extreme_effects(
        opt.params[sl_beta], se0[sl_beta], frame.X, frame.x_names, sep, stacklevel=4
    )

    # Replicate-weight designs (civmodels.design.replicate_fit_vcov): the same fit redone
    # with each replicate's weights, from the full-sample estimate.
    def refit(w_r: np.ndarray) -> np.ndarray:
        d_r = model.core_data(w_r)
        o = _core.newton(
            lambda p: _core.clm_derivatives(p, d_r, link), opt.params, gtol=tol, max_iter=max_iter
        )
        if not o.converged:
            raise DesignError(f"no convergence ({o.message})")
        return o.params

    fields = fixed_result_fields(
        model,
        opt,
        final,
        bread_inv,
        cov_type=cov_type,
        groups=groups,
        design=design,
        information="observed",
        df=None if design is None else float(design.degf),
        loglik=float(final["loglik"]),
        weights=weights,
        separation=sep,
        weight_kind=model.weight_kind,
        refit=refit,
    )
    return OrdinalResult(**fields)


# ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class OrdinalResult(FixedFitResult):
    """A fitted cumulative link model (frozen; refit for another covariance).

    Attributes
    ----------
    params : pandas.Series
        Threshold parameters, then location effects, then nominal and scale effects.
    vcov : pandas.DataFrame
        Covariance of ``params`` (of the type given by ``cov_type``).
    loglik : float
        Maximised (weighted) log-likelihood; with sampling weights the
        pseudo-log-likelihood of the mean-1 weights.
    converged : bool
    cov_type : str
    weight_kind : {"sampling", "frequency"} or None
    """

    model: Ordinal

    # -- contract ---------------------------------------------------------------------------
    @property
    def _slices(self) -> dict[str, slice]:
        return self.model.core_data().slices()

    @cached_property
    def thresholds(self) -> pd.Series:
        """The ``J - 1`` thresholds (at zero nominal covariates), named ``"a|b"``."""
        a = self.params.iloc[self._slices["alpha"]].to_numpy()
        return pd.Series(
            self.model._tjac @ a, index=self.model.frame.threshold_names(), name="threshold"
        )

    @cached_property
    def threshold_std_errors(self) -> pd.Series:
        """Standard errors of :attr:`thresholds` (delta method through the structure)."""
        s = self._slices["alpha"]
        V = self.vcov.to_numpy()[s, s]
        T = self.model._tjac
        return pd.Series(
            np.sqrt(np.diag(T @ V @ T.T)), index=self.thresholds.index, name="std_error"
        )

    @cached_property
    def coef(self) -> pd.Series:
        """Location effects ``beta`` (formulaic names)."""
        return self.params.iloc[self._slices["beta"]].rename("coef")

    @property
    def nominal_effects(self) -> pd.Series:
        """Threshold-specific effects (``"a|b:variable"``); empty without ``nominal=``."""
        return self.params.iloc[self._slices["nominal"]]

    @property
    def scale_effects(self) -> pd.Series:
        """Effects on the log latent scale (``"scale:variable"``)."""
        return self.params.iloc[self._slices["scale"]]

    def to_frame(self, level: float = 0.95) -> pd.DataFrame:
        """Estimates, SEs, statistics, p-values and CIs with a ``block`` column."""
        t = wald_table(self.params, self.std_errors, level=level, df=self.df_resid)
        blocks = np.empty(len(t), dtype=object)
        for name, s in self._slices.items():
            blocks[s] = {"alpha": "Thresholds", "beta": "Location"}.get(name, name.title())
        t.insert(0, "block", blocks)
        return t

    def summary(self, *, odds_ratios: bool = False, level: float = 0.95) -> Summary:
        """A :class:`~civmodels.results.Summary` with blocks Thresholds/Location/Nominal/Scale.

        Parameters
        ----------
        odds_ratios : bool, default False
            Add ``exp(estimate)`` and its CI for the location effects (cumulative odds ratios
            for the logit link: the odds of a *higher* response per unit of ``x``).
        level : float, default 0.95
        """
        tab = self.to_frame(level=level)
        blocks: dict[str, pd.DataFrame] = {}
        for b in ("Thresholds", "Location", "Nominal", "Scale"):
            part = tab[tab["block"] == b].drop(columns="block")
            if b == "Location" and odds_ratios:
                part = with_odds_ratios(part)
            if len(part) or b in ("Thresholds", "Location"):
                blocks[b] = part
        m = self.model
        info: dict[str, Any] = {
            "Formula": m.formula,
            "Link": m.link_name,
            "Thresholds": m.thresholds,
            "Observations": self.nobs,
            "Rows dropped (missing)": self.n_dropped,
            **loglik_info(self),
            "Covariance": self.cov_label,
            "Converged": f"{self.converged} ({self.n_iter} Newton iterations, max |grad| "
            f"{self.max_grad:.2g}, cond(H) {self.hessian_cond:.2g})",
        }
        if m.nominal:
            info["Nominal"] = m.nominal
        if m.scale:
            info["Scale"] = m.scale
        notes = [m.frame.missing.describe()]
        add_weight_notes(self, info, notes)
        notes.append(
            "P(Y <= j | x) = F(theta_j - x'beta): positive location effects shift responses "
            "to higher categories."
        )
        if self.separation:
            notes.append("Separation: " + "; ".join(self.separation))
        if self.cov_type == "design":
            notes.append(f"t reference with {self.df_resid:g} design degrees of freedom.")
        return Summary(
            title=f"Cumulative link model ({m.link_name})",
            info=info,
            blocks=blocks,
            notes=tuple(notes),
            stats=model_stats(self),
        )

    def __repr__(self) -> str:
        return (
            f"OrdinalResult(nobs={self.nobs}, loglik={self.loglik:.4f}, "
            f"converged={self.converged}, cov_type={self.cov_type!r})"
        )

    # -- prediction -------------------------------------------------------------------------
    def _designs(
        self, newdata: pd.DataFrame | None
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        m = self.model
        if newdata is None:
            X = m.frame.X
            N = None if m._nominal_design is None else m._nominal_design.X
            S = None if m._scale_design is None else m._scale_design.X
            return X, N, S
        if not isinstance(newdata, pd.DataFrame):
            raise DataError(f"newdata must be a pandas DataFrame, got {type(newdata).__name__}")
        X = m.frame.fixed.transform(newdata)
        N = None if m._nominal_design is None else m._nominal_design.transform(newdata)
        S = None if m._scale_design is None else m._scale_design.transform(newdata)
        return X, N, S

    def _cum_from(self, par: np.ndarray, X, N, S) -> np.ndarray:
        """(n, J-1) cumulative probabilities for parameter vector ``par``."""
        m = self.model
        sl = self._slices
        alpha = par[sl["alpha"]]
        theta = np.broadcast_to(m._tjac @ alpha, (len(X), m._tjac.shape[0])).copy()
        if N is not None:
            g = par[sl["nominal"]].reshape(N.shape[1], -1)
            theta += N @ (g @ m._tjac.T)
        eta = X @ par[sl["beta"]] if X.shape[1] else np.zeros(len(X))
        sigma = np.exp(S @ par[sl["scale"]]) if S is not None else np.ones(len(X))
        return m.link.cdf((theta - eta[:, None]) / sigma[:, None])

    def predict(
        self,
        newdata: pd.DataFrame | None = None,
        kind: str = "prob",
        *,
        se: bool = False,
        interval: str | None = None,
        level: float = 0.95,
    ) -> pd.DataFrame | pd.Series:
        """Predictions for the fit data or ``newdata`` (never modified).

        Parameters
        ----------
        newdata : pandas.DataFrame, optional
        kind : {"prob", "cumprob", "linear"}
            Category probabilities (columns = category labels), cumulative probabilities
            ``P(Y <= j)`` (columns = threshold names), or the linear predictor ``x'beta``.
        se : bool, default False
            Return a table with standard errors (delta method) instead: index
            ``(rowid, outcome)``, columns ``estimate`` and ``std_error``.
        interval : {"confidence"}, optional
            Also return ``ci_lower`` and ``ci_upper`` (probability intervals are computed
            on the link scale, so they stay in [0, 1]); implies ``se=True``.
        level : float, default 0.95
        """
        if se or interval is not None:
            return self._predict_interval(newdata, kind, level, interval)
        X, N, S = self._designs(newdata)
        index = self.model.frame.data.index if newdata is None else newdata.index
        par = self.params.to_numpy()
        if kind == "linear":
            return pd.Series(X @ par[self._slices["beta"]], index=index, name="linear")
        cum = self._cum_from(par, X, N, S)
        if kind == "cumprob":
            return pd.DataFrame(cum, index=index, columns=self.model.frame.threshold_names())
        if kind == "prob":
            cols = [str(c) for c in self.model.frame.categories]
            return pd.DataFrame(_cum_to_prob(cum), index=index, columns=cols)
        raise ValueError(f"kind={kind!r}; choose 'prob', 'cumprob' or 'linear'")

    # -- marginal effects -------------------------------------------------------------------
    def _prob(self, par: np.ndarray, data: pd.DataFrame) -> np.ndarray:
        X, N, S = self._designs(data)
        return _cum_to_prob(self._cum_from(par, X, N, S))

    def average_predictions(self, by: str | None = None, *, level: float = 0.95) -> pd.DataFrame:
        """Average predicted probability of each category (overall or by group ``by=``).

        Averages over the rows used in the fit (weighted by the fit's weights), with
        delta-method standard errors and confidence intervals.
        """
        return self._average_predictions([str(c) for c in self.model.frame.categories], by, level)

    def marginal_effects(
        self,
        variables: str | list[str] | None = None,
        *,
        by: str | None = None,
        level: float = 0.95,
    ) -> pd.DataFrame:
        """Average marginal effects on each category probability, with delta-method CIs.

        Numeric variables give the average derivative ``dP(Y = j)/dx``; categorical ones the
        average change in ``P(Y = j)`` from the reference level to each other level (all
        other variables at their observed values). ``by=`` averages within groups.
        """
        return self._marginal_effects(
            variables, [str(c) for c in self.model.frame.categories], by, level
        )

    # -- proportional-odds tests ------------------------------------------------------------
    def nominal_test(self) -> pd.DataFrame:
        """Likelihood-ratio tests of proportional odds, per term and overall.

        See :func:`civmodels.ordinal.po.nominal_test`.
        """
        from .po import nominal_test

        return nominal_test(self)

    def brant_test(self) -> pd.DataFrame:
        """Brant's Wald test of proportional odds, per coefficient and overall.

        See :func:`civmodels.ordinal.po.brant_test`.
        """
        from .po import brant_test

        return brant_test(self)


def _cum_to_prob(cum: np.ndarray) -> np.ndarray:
    n = len(cum)
    full = np.hstack([np.zeros((n, 1)), cum, np.ones((n, 1))])
    return np.diff(full, axis=1)
