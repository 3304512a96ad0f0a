"""The :class:`Logistic` binary regression model and its :class:`LogisticResult`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from .. import _binary as _core
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
    newton,
    warn_extreme_effects,
    warn_separation,
)
from ..design import SurveyDesign
from ..exceptions import DataError, DesignError, SpecificationError
from ..formula import ModelFrame, parse_formula
from ..results import Summary, model_stats, wald_table, with_odds_ratios

__all__ = ["Logistic", "LogisticResult"]

CovType = Literal["nonrobust", "robust", "cluster", "design"]


def _is_proportion(data: pd.DataFrame, formula: str) -> bool:
    name = parse_formula(formula).outcome
    if name is None or name not in data.columns:
        return False
    col = data[name]
    if not pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
        return False
    if isinstance(col.dtype, np.dtype):
        vals = col.to_numpy().astype(float, copy=False)
    else:  # nullable numbers: pd.NA becomes NaN
        vals = col.to_numpy(dtype=float, na_value=np.nan)
    vals = vals[~np.isnan(vals)]
    in_unit = bool(len(vals)) and bool(((vals >= 0) & (vals <= 1)).all())
    return in_unit and not ((vals == 0.0) | (vals == 1.0)).all()


class Logistic:
    """Binary regression (logistic and other links), with the :class:`~civmodels.Ordinal` API.

    .. math:: P(Y_i = 1 \\mid x_i) = F(x_i^\\top \\beta)

    with ``F`` the inverse link (logistic for ``link="logit"``). The design has an intercept.
    For the logit link ``exp(beta)`` are odds ratios.

    Parameters
    ----------
    formula : str
        ``"y ~ x1 + x2"``; ``y`` is 0/1, boolean, a two-level categorical (second level =
        event) or a proportion in [0, 1] with ``freq_weights=`` the number of trials (R
        ``glm``'s ``weights``).
        Random intercepts ``(1 | g)`` make it a mixed model (see :meth:`fit`).
    data : pandas.DataFrame
        Not modified.
    link : {"logit", "probit", "cloglog", "loglog", "cauchit"}, default "logit"
    weights : str, optional
        Column of **sampling weights** (design, probability or nonresponse weights).
        Estimates and standard errors do not depend on their scale; the default covariance
        is the sandwich (robust, or cluster-robust with ``cluster=``) as R ``svyglm`` and
        Stata's pweights; the summary reports a pseudo-log-likelihood and no AIC/BIC; rows
        with weight 0 are not counted in ``nobs``.
    freq_weights : str, optional
        Column of **frequency weights** (counts of identical rows), or the number of trials
        of a proportion outcome. Not together with ``weights=``.
    group_weights : str, optional
        With a random intercept: sampling weights of the groups (constant within groups);
        see :class:`~civmodels.Ordinal`.

    Attributes
    ----------
    frame : ModelFrame
    link : Link
    link_name, formula : str
    weights : ndarray or None
    proportion : bool
        Whether the outcome is a proportion of trials.

    Notes
    -----
    The log-likelihood follows R's ``logLik.glm``: with a proportion outcome it includes the
    binomial coefficients ``log C(m_i, m_i y_i)``. Standard errors use the expected
    information (as R ``glm``; identical to the observed one for the logit link).

    References
    ----------
    McCullagh, P. and Nelder, J. A. (1989). *Generalized Linear Models*, 2nd ed.
    Agresti, A. (2013). *Categorical Data Analysis*, 3rd ed. Wiley.
    """

    nominal = None
    scale = None
    thresholds = None

    def __init__(
        self,
        formula: str,
        data: pd.DataFrame,
        *,
        link: str = "logit",
        weights: str | None = None,
        freq_weights: str | None = None,
        group_weights: str | None = None,
    ) -> None:
        self.link: Link = get_link(link)
        self.link_name = link
        self.formula = formula
        self.proportion = isinstance(data, pd.DataFrame) and _is_proportion(data, formula)
        if self.proportion and freq_weights is None:
            raise SpecificationError(
                f"the outcome of {formula!r} holds proportions (values strictly between 0 "
                "and 1); pass the number of trials as freq_weights='n' (R glm's weights), "
                "or recode the outcome to 0/1"
                + (
                    f". weights={weights!r} are sampling weights, not trials"
                    if weights is not None
                    else ""
                )
            )
        wcol, self.weight_kind = check_weight_options(data, weights, freq_weights, group_weights)
        self.frame = ModelFrame(
            formula,
            data,
            outcome="proportion" if self.proportion else "binary",
            weights=wcol,
            extra=() if group_weights is None else (group_weights,),
            intercept=True,
        )
        self.data = data
        self.weights = self.frame.weights
        self.weights_name = wcol
        self.group_weights_name = group_weights
        self.group_weights = group_weight_column(self, group_weights)
        if self.group_weights is not None and self.weight_kind is None:
            self.weight_kind = "sampling"
        self.has_intercept = "Intercept" in self.frame.x_names

    @property
    def has_random(self) -> bool:
        """Whether the formula has random terms ``(1 | g)``."""
        return bool(self.frame.parsed.random)

    @property
    def param_names(self) -> list[str]:
        """Coefficient names (formulaic; ``"Intercept"`` first)."""
        return list(self.frame.x_names)

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
        **options: Any,
    ) -> Any:
        """Fit by maximum likelihood (Fisher scoring); return a frozen :class:`LogisticResult`.

        Parameters
        ----------
        method : {"newton", "laplace", "agq"}, optional
            ``"newton"`` for fixed-effect models (Fisher scoring: Newton steps with the
            expected information, identical to Newton-Raphson for the logit link). With random
            terms the default is ``"laplace"`` and :func:`civmodels.logistic.mixed.fit_mixed`
            does the fit.
        cov_type : {"nonrobust", "robust", "cluster", "design"}, optional
            Inverse information; HC1 sandwich; CR1 cluster sandwich
            (``G/(G-1) (n-1)/(n-k)``). With sampling weights (``weights=``) the default is
            the sandwich with the factor ``n/(n-1)`` (``G/(G-1)`` by cluster) of R ``svyglm``
            with ``svydesign(ids=~1 or ~cluster, weights=~w)``; ``"nonrobust"`` is refused
            then. Otherwise the default is ``"nonrobust"`` (``"cluster"`` with ``cluster=``;
            ``"design"``, and no other, with ``design=``).
        cluster : str or array_like, optional
        design : SurveyDesign, optional
            Design-based errors as R ``svyglm(family=quasibinomial)``; t reference with
            ``degf - k + 1`` degrees of freedom as ``summary.svyglm``.
        n_quad : int, default 10
        max_iter : int, optional
            Iterations allowed (default 100; 200 for mixed models).
        gtol : float, optional
            Convergence tolerance on ``max |gradient|``.
        **options
            For mixed models: ``start`` (coefficients, then log SDs) and, with sampling
            weights, ``weight_scaling`` ("size", "effective" or "none"); see
            :func:`civmodels.logistic.mixed.fit_mixed`.
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
                **options,
            )
        return _fit_fixed(
            self,
            cov_type=cov_type,
            cluster=cluster,
            design=design,
            max_iter=100 if max_iter is None else max_iter,
            gtol=gtol,
        )

    def __repr__(self) -> str:
        return f"Logistic({self.formula!r}, link={self.link_name!r}, nobs={self.frame.nobs})"


def _fit_fixed(
    model: Logistic,
    *,
    cov_type: str | None,
    cluster: Any,
    design: SurveyDesign | None,
    max_iter: int,
    gtol: float | None,
) -> LogisticResult:
    cov_type = check_cov_options(cov_type, cluster, design, model.weight_kind)
    frame = model.frame
    X = frame.X
    y = np.asarray(frame.y, dtype=float)
    if design is not None:
        w = design_weights(model, design)
    else:
        w = model.weights if model.weights is not None else np.ones(len(y))
        if model.weight_kind == "sampling":
            # the scale of sampling weights is arbitrary: fit with mean-1 weights
            w = w / w.mean()
    groups = cluster_codes(model.data, cluster, frame.rows) if cluster is not None else None
    link = model.link
    names = model.param_names

    sep: list[str] = []
    if not model.proportion:
        k0 = 1 if model.has_intercept else 0
        sep = check_separation(X[:, k0:], names[k0:], frame.y, frame.categories, w)
        warn_separation(sep, stacklevel=4)

    def fun(b: np.ndarray) -> dict:
        return _core.binary_derivatives(b, X, y, w, link)

    start = _core.start_values(X, y, w, link, model.has_intercept)
    tol = gtol if gtol is not None else 1e-10 * max(1.0, float(w.sum()))
    opt = newton(fun, start, gtol=tol, max_iter=max_iter)
    final = _core.binary_derivatives(opt.params, X, y, w, link, scores=True)
    bread_inv = bread_inverse(np.asarray(final["hess"]))
    const = _core.binomial_constant(y, w) if model.proportion else 0.0
    loglik = float(final["loglik"]) + const
    convergence_checks(opt, frame.nobs, stacklevel=5)
    k0 = 1 if model.has_intercept else 0
    se0 = np.sqrt(np.abs(np.diag(bread_inv)))
    sep = warn_extreme_effects(opt.params[k0:], se0[k0:], X[:, k0:], names[k0:], sep, stacklevel=5)
    # summary.svyglm: residual df of the design less the coefficients beyond one
    df = None if design is None else float(design.degf - len(names) + 1)

    # Replicate-weight designs (civmodels.design.replicate_fit_vcov): the same fit redone
    # with each replicate's weights, from the full-sample estimate.
    def refit(w_r: np.ndarray) -> np.ndarray:
        o = newton(
            lambda b: _core.binary_derivatives(b, X, y, w_r, link),
            opt.params,
            gtol=tol,
            max_iter=max_iter,
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
        information="expected",
        df=df,
        loglik=loglik,
        weights=None if (model.weights is None and design is None) else w,
        separation=sep,
        weight_kind=model.weight_kind,
        refit=refit,
    )
    return LogisticResult(**fields)


@dataclass(frozen=True)
class LogisticResult(FixedFitResult):
    """A fitted binary regression (frozen; refit for another covariance).

    Attributes
    ----------
    params : pandas.Series
        Coefficients (``"Intercept"`` first), also available as :attr:`coef`.
    vcov : pandas.DataFrame
    loglik : float
        Log-likelihood (R ``logLik.glm`` convention).
    converged : bool
    cov_type : str
    """

    model: Logistic

    @property
    def coef(self) -> pd.Series:
        """The coefficients (same as :attr:`params`)."""
        return self.params.rename("coef")

    def to_frame(self, level: float = 0.95) -> pd.DataFrame:
        """Estimates, SEs, statistics, p-values and CIs (``block`` = "Coefficients")."""
        t = wald_table(self.params, self.std_errors, level=level, df=self.df_resid)
        t.insert(0, "block", "Coefficients")
        return t

    def summary(self, *, odds_ratios: bool = False, level: float = 0.95) -> Summary:
        """A :class:`~civmodels.results.Summary` with a "Coefficients" block.

        Parameters
        ----------
        odds_ratios : bool, default False
            Add ``exp(estimate)`` with its CI (odds ratios for the logit link).
        level : float, default 0.95
        """
        part = self.to_frame(level=level).drop(columns="block")
        if odds_ratios:
            part = with_odds_ratios(part)
        m = self.model
        info: dict[str, Any] = {
            "Formula": m.formula,
            "Link": m.link_name,
            "Observations": self.nobs,
            "Rows dropped (missing)": self.n_dropped,
            **loglik_info(self),
            "Covariance": self.cov_label,
            "Converged": f"{self.converged} ({self.n_iter} iterations, max |grad| "
            f"{self.max_grad:.2g}, cond(H) {self.hessian_cond:.2g})",
        }
        notes = [m.frame.missing.describe()]
        add_weight_notes(self, info, notes)
        if m.proportion:
            notes.append("Outcome is a proportion; weights are the numbers of trials.")
        if self.separation:
            notes.append("Separation: " + "; ".join(self.separation))
        if self.cov_type == "design":
            notes.append(f"t reference with {self.df_resid:g} degrees of freedom.")
        return Summary(
            title=f"Binary regression ({m.link_name})",
            info=info,
            blocks={"Coefficients": part},
            notes=tuple(notes),
            stats=model_stats(self),
        )

    def __repr__(self) -> str:
        return (
            f"LogisticResult(nobs={self.nobs}, loglik={self.loglik:.4f}, "
            f"converged={self.converged}, cov_type={self.cov_type!r})"
        )

    def _design(self, newdata: pd.DataFrame | None) -> np.ndarray:
        if newdata is None:
            return self.model.frame.X
        if not isinstance(newdata, pd.DataFrame):
            raise DataError(f"newdata must be a pandas DataFrame, got {type(newdata).__name__}")
        return self.model.frame.fixed.transform(newdata)

    def predict(
        self,
        newdata: pd.DataFrame | None = None,
        kind: str = "prob",
        *,
        se: bool = False,
        interval: str | None = None,
        level: float = 0.95,
    ) -> pd.Series | pd.DataFrame:
        """``P(Y = 1)`` (``kind="prob"``) or the linear predictor (``"linear"``).

        ``newdata`` is never modified. With ``se=True`` a table with index
        ``(rowid, outcome)`` and columns ``estimate``, ``std_error`` (delta method) is
        returned; ``interval="confidence"`` adds ``ci_lower``, ``ci_upper`` at ``level``
        (computed on the link scale, so probability intervals stay in [0, 1]).
        """
        if se or interval is not None:
            return self._predict_interval(newdata, kind, level, interval)
        X = self._design(newdata)
        index = self.model.frame.data.index if newdata is None else newdata.index
        eta = X @ self.params.to_numpy()
        if kind == "linear":
            return pd.Series(eta, index=index, name="linear")
        if kind == "prob":
            return pd.Series(self.model.link.cdf(eta), index=index, name="prob")
        raise ValueError(f"kind={kind!r}; a binary model supports 'prob' (P(Y = 1)) and 'linear'")

    # -- marginal effects -------------------------------------------------------------------
    def _prob(self, par: np.ndarray, data: pd.DataFrame) -> np.ndarray:
        return self.model.link.cdf(self._design(data) @ par)[:, None]

    def average_predictions(self, by: str | None = None, *, level: float = 0.95) -> pd.DataFrame:
        """Average ``P(Y = 1)`` overall or by group ``by=``, with delta-method CIs."""
        return self._average_predictions([str(self.model.frame.categories[-1])], by, level)

    def marginal_effects(
        self,
        variables: str | list[str] | None = None,
        *,
        by: str | None = None,
        level: float = 0.95,
    ) -> pd.DataFrame:
        """Average marginal effects on ``P(Y = 1)`` with delta-method CIs.

        Numeric variables: average derivative; categorical: average discrete change from
        the reference level. ``by=`` averages within groups.
        """
        return self._marginal_effects(variables, [str(self.model.frame.categories[-1])], by, level)
