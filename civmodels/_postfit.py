"""Post-fit methods shared by every result class: tests of terms, predictions, comparisons.

:class:`PostFitMixin` gives a result ``wald_test``, ``wald_test_terms``, ``drop1``,
``predictions``, ``comparisons``, ``slopes`` and the ``predict(se=True)`` machinery. The
numerics live in :mod:`civmodels.inference` and :mod:`civmodels.predictions`; a result only
has to describe itself through ``_prediction_model()`` (a
:class:`~civmodels.predictions.PredictionModel`). The default implementation here covers the
fixed and mixed maximum-likelihood results; a posterior result overrides it and returns
``PosteriorDraws`` as the uncertainty.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .exceptions import SpecificationError

if TYPE_CHECKING:
    from .predictions import PredictionModel

__all__ = ["MixedPostFitMixin", "PostFitMixin"]


def _predictors(result: Any) -> list[str]:
    m = result.model
    fr = m.frame
    names = fr.parsed.variables()
    for spec in (getattr(m, "nominal", None), getattr(m, "scale", None)):
        if spec:
            from .formula import parse_formula

            names += parse_formula(spec, require_outcome=False).variables()
    groups = set(getattr(fr, "groups", {}) or {})
    return [v for v in dict.fromkeys(names) if v != fr.outcome_name and v not in groups]


def _fixed_model(result: Any) -> PredictionModel:
    from .predictions import DeltaMethod, PredictionModel

    m = result.model
    if hasattr(result, "thresholds"):
        from .ordinal.model import _cum_to_prob

        outcomes = [str(c) for c in m.frame.categories]

        def prob(t: np.ndarray, d: Any) -> np.ndarray:
            return _cum_to_prob(result._cum_from(t, *d))

        def linear(t: np.ndarray, d: Any) -> np.ndarray:
            X = d[0]
            return X @ t[result._slices["beta"]] if X.shape[1] else np.zeros(len(X))

        prepare = result._designs
    else:
        outcomes = [str(m.frame.categories[-1])]

        def prob(t: np.ndarray, d: Any) -> np.ndarray:
            return m.link.cdf(d @ t)[:, None]

        def linear(t: np.ndarray, d: Any) -> np.ndarray:
            return d @ t

        prepare = result._design
    return PredictionModel(
        theta=result.params.to_numpy(float),
        uncertainty=DeltaMethod(result.vcov.to_numpy(float), result.df_resid),
        prepare=prepare,
        prob=prob,
        linear=linear,
        data=m.frame.data,
        weights=result.weights,
        outcomes=outcomes,
        variables=_predictors(result),
        link=m.link,
    )


def _mixed_model(result: Any, conditional: bool) -> PredictionModel:
    """Mixed results: parameters = fixed effects then log SDs (covariance ``cov_full``).

    Marginal predictions integrate each row's random part over ``N(0, v_i)`` (the sum of
    the random-intercept variances plus, with random slopes, the slope terms' share at the
    row's ``x``) by 40-node Gauss-Hermite quadrature, so their uncertainty includes that of
    the variance parameters; conditional
    ones add the conditional modes (held fixed: their own uncertainty is not propagated,
    as R ``predict.merMod``) for levels seen in the fit and 0 otherwise. A variance
    parameter held on its boundary is treated as known.
    """
    from ._glmm import integrate_cdf
    from .predictions import DeltaMethod, PredictionModel

    m = result.model
    k = len(result.params)
    ordinal = hasattr(result, "thresholds")
    ka = result.k_alpha
    dist = result.dist

    def prepare(data: pd.DataFrame) -> Any:
        X, u, _ = result._newdata_parts(data, conditional)
        Z = None if conditional else result._re_design(data)
        return X, u, Z

    def eta_of(t: np.ndarray, d: Any) -> np.ndarray:
        X, u, _ = d
        beta = t[ka:k]
        return (X @ beta if X.shape[1] else np.zeros(len(X))) + u

    def cdf(tt: np.ndarray, t: np.ndarray, d: Any) -> np.ndarray:
        if conditional:
            return dist.cdf(tt)
        return integrate_cdf(dist, tt, result._row_sd(t[k:], d[2]))

    if ordinal:
        from .ordinal.model import _cum_to_prob

        outcomes = [str(c) for c in m.frame.categories]

        def prob(t: np.ndarray, d: Any) -> np.ndarray:
            tt = t[:ka][None, :] - eta_of(t, d)[:, None]
            return _cum_to_prob(cdf(tt, t, d))

    else:
        outcomes = [str(m.frame.categories[-1])]

        def prob(t: np.ndarray, d: Any) -> np.ndarray:
            # the engine's distribution is the reflected link: P(Y = 1) = 1 - F*(-eta)
            return (1.0 - cdf(-eta_of(t, d), t, d))[:, None]

    theta = np.r_[result.params.to_numpy(float), result._variance_params()]
    V = np.asarray(result.cov_full, float)
    if V.shape != (len(theta), len(theta)):
        raise SpecificationError(
            "this mixed result does not carry the joint covariance of its fixed effects and "
            "variance parameters, so predictions cannot have standard errors"
        )
    # a variance parameter held on its boundary (an SD at 0, or the singular direction of a
    # correlated block) has no variance: the predictions condition on its value rather
    # than losing every standard error
    held = np.zeros(len(theta), dtype=bool)
    held[k:] = ~np.isfinite(np.diag(V))[k:]
    if held.any():
        V = V.copy()
        V[held, :] = 0.0
        V[:, held] = 0.0
    return PredictionModel(
        theta=theta,
        uncertainty=DeltaMethod(V, None),
        prepare=prepare,
        prob=prob,
        linear=eta_of,
        data=m.frame.data,
        weights=result.weights,
        outcomes=outcomes,
        variables=_predictors(result),
        link=m.link,
    )


class PostFitMixin:
    """Tests of terms, comparisons of models and the predictions API.

    The host provides ``params``, ``vcov``, ``model`` and either the fixed-fit internals or
    the mixed-fit ones used by :meth:`_prediction_model` (or overrides it).
    """

    model: Any
    params: pd.Series
    vcov: pd.DataFrame

    # -- tests of terms ---------------------------------------------------------------------
    def wald_test(self, terms: str | Sequence[str]) -> pd.DataFrame:
        """Joint Wald test that the coefficients of ``terms`` are zero.

        See :func:`civmodels.inference.wald_test`.

        Parameters
        ----------
        terms : str or sequence of str
            Term names (``"area"``), ``"nominal(x)"``/``"scale(x)"`` or parameter names;
            several are tested jointly.

        Returns
        -------
        pandas.DataFrame
            ``df``, ``chi2``, ``p_value`` (design-based fits: also ``F`` and ``ddf``).
        """
        from .inference import wald_test

        return wald_test(self, terms)

    def wald_test_terms(self) -> pd.DataFrame:
        """Wald test of every term, one row each (as ``car::Anova(type = 3)``).

        See :func:`civmodels.inference.wald_test_terms`.

        Returns
        -------
        pandas.DataFrame
        """
        from .inference import wald_test_terms

        return wald_test_terms(self)

    def drop1(self) -> pd.DataFrame:
        """Likelihood-ratio test of each term against the model without it (R ``drop1``).

        See :func:`civmodels.inference.drop1`.

        Returns
        -------
        pandas.DataFrame
        """
        from .inference import drop1

        return drop1(self)

    # -- predictions ------------------------------------------------------------------------
    def _prediction_model(self, **options: Any) -> PredictionModel:
        """Describe this result to :mod:`civmodels.predictions` (override for new kinds).

        Mixed results take ``conditional`` (default False); fixed results take no options.
        """
        mixed = hasattr(self, "group_names")
        allowed = {"conditional"} if mixed else set()
        bad = sorted(set(options) - allowed)
        if bad:
            where = "" if mixed else " (conditional= applies to models with random terms)"
            raise SpecificationError(
                f"unexpected options {bad} for {type(self).__name__}; allowed: "
                f"{sorted(allowed) or 'none'}{where}"
            )
        if mixed:
            return _mixed_model(self, bool(options.get("conditional", False)))
        return _fixed_model(self)

    def predictions(
        self,
        newdata: pd.DataFrame | None = None,
        *,
        by: str | Sequence[str] | bool | None = None,
        at: Mapping[str, Any] | None = None,
        counterfactual: bool = True,
        type: str = "prob",
        hypothesis: str | None = None,
        p_adjust: str | None = None,
        level: float = 0.95,
        **options: Any,
    ) -> pd.DataFrame:
        """Predicted probabilities with intervals: per row, or averaged by groups.

        Parameters
        ----------
        newdata : pandas.DataFrame, optional
            Rows to predict for; the fit's rows (and weights) if omitted. Never modified.
        by : str, list of str or True, optional
            ``None``: one prediction per row. ``True``: the (weighted) average over the rows.
            A predictor: the average with that predictor set to each of its levels for
            every row (counterfactual), or within its observed groups with
            ``counterfactual=False`` (then any column of the data may be used).
        at : dict, optional
            Predictors held at given values for every row, e.g. ``{"bloc": "red"}``; a
            list of values gives one set of predictions per value.
        counterfactual : bool, default True
        type : {"prob", "linear"}, default "prob"
        hypothesis : {"reference", "pairwise", "sequential"}, optional
            Differences between the predictions (rows) instead, outcome by outcome.
        p_adjust : {"holm", "bonferroni", "hochberg", "BH", "BY"}, optional
        level : float, default 0.95
        **options
            Mixed models: ``conditional`` (default False: population-averaged
            probabilities, integrating over the random intercepts; True: given the
            conditional modes).

        Returns
        -------
        pandas.DataFrame
            Label columns, ``outcome``, ``estimate``, ``std_error``, ``statistic``,
            ``p_value``, ``ci_lower``, ``ci_upper`` (probability intervals are computed on
            the link scale and stay in [0, 1]). See :func:`civmodels.predictions.predictions`.

        Examples
        --------
        >>> res.predictions(by="area")  # doctest: +SKIP
        """
        from .predictions import predictions

        return predictions(
            self._prediction_model(**options),
            newdata=newdata,
            by=by,
            at=at,
            counterfactual=counterfactual,
            type=type,
            hypothesis=hypothesis,
            p_adjust=p_adjust,
            level=level,
        )

    def comparisons(
        self,
        variables: str | Sequence[str] | Mapping[str, Any] | None = None,
        *,
        comparison: str = "difference",
        hypothesis: str = "reference",
        newdata: pd.DataFrame | None = None,
        by: str | Sequence[str] | None = None,
        at: Mapping[str, Any] | None = None,
        counterfactual: bool = True,
        p_adjust: str | None = None,
        level: float = 0.95,
        **options: Any,
    ) -> pd.DataFrame:
        """Average differences (or ratios) of predicted probabilities between levels.

        Parameters
        ----------
        variables : str, list or dict, optional
            Predictors to compare (all by default); see
            :func:`civmodels.predictions.comparisons` for the dict form.
        comparison : {"difference", "ratio"}, default "difference"
        hypothesis : {"reference", "pairwise", "sequential"}, default "reference"
            Which level pairs of categorical predictors are compared.
        newdata, by, at, counterfactual, level
            As :meth:`predictions`.
        p_adjust : {"holm", "bonferroni", "hochberg", "BH", "BY"}, optional
            Multiplicity adjustment over all rows.
        **options
            Mixed models: ``conditional`` (default False).

        Returns
        -------
        pandas.DataFrame
        """
        from .predictions import comparisons

        return comparisons(
            self._prediction_model(**options),
            variables,
            comparison=comparison,
            hypothesis=hypothesis,
            newdata=newdata,
            by=by,
            at=at,
            counterfactual=counterfactual,
            p_adjust=p_adjust,
            level=level,
        )

    def slopes(
        self,
        variables: str | Sequence[str] | None = None,
        *,
        newdata: pd.DataFrame | None = None,
        by: str | Sequence[str] | None = None,
        at: Mapping[str, Any] | None = None,
        counterfactual: bool = True,
        p_adjust: str | None = None,
        level: float = 0.95,
        **options: Any,
    ) -> pd.DataFrame:
        """Average marginal effects: derivatives (continuous) or discrete changes (binary,
        0/1, categorical predictors) of the predicted probabilities.

        Parameters
        ----------
        variables : str or list of str, optional
        newdata, by, at, counterfactual, p_adjust, level
            As :meth:`comparisons`.
        **options
            Mixed models: ``conditional`` (default False).

        Returns
        -------
        pandas.DataFrame
            See :func:`civmodels.predictions.slopes`.
        """
        from .predictions import slopes

        return slopes(
            self._prediction_model(**options),
            variables,
            newdata=newdata,
            by=by,
            at=at,
            counterfactual=counterfactual,
            p_adjust=p_adjust,
            level=level,
        )

    def _predict_interval(
        self,
        newdata: pd.DataFrame | None,
        kind: str,
        level: float,
        interval: str | None,
        **options: Any,
    ) -> pd.DataFrame:
        """``predict(..., se=True)``: long table of row predictions with SEs/intervals."""
        if interval not in (None, "confidence"):
            raise SpecificationError(
                f"interval={interval!r}; only 'confidence' intervals are available (a "
                "prediction interval for a categorical outcome is the predicted distribution)"
            )
        if kind not in ("prob", "linear"):
            raise SpecificationError(
                f"kind={kind!r} has no standard errors; use kind='prob' or 'linear'"
            )
        from .predictions import predictions

        tab = predictions(
            self._prediction_model(**options),
            newdata=newdata,
            type=kind,
            level=level,
        )
        cols = [c for c in ("rowid", "outcome") if c in tab.columns]
        keep = ["estimate", "std_error"] + (["ci_lower", "ci_upper"] if interval else [])
        return tab.set_index(cols)[keep]


class MixedPostFitMixin(PostFitMixin):
    """Mixed results: the fixed results' ``average_predictions``/``marginal_effects`` names
    (population-averaged by default) and an explanation instead of ``nominal_test``."""

    def average_predictions(
        self, by: str | None = None, *, level: float = 0.95, conditional: bool = False
    ) -> pd.DataFrame:
        """Average predicted probabilities, overall or within the observed groups ``by``.

        The same quantity as the fixed results' method: the average over the fit's rows
        (``by`` groups as observed), here population-averaged over the random intercepts
        unless ``conditional=True``. For counterfactual averages use :meth:`predictions`.

        Parameters
        ----------
        by : str, optional
        level : float, default 0.95
        conditional : bool, default False

        Returns
        -------
        pandas.DataFrame
        """
        return self.predictions(
            by=True if by is None else by,
            counterfactual=False,
            level=level,
            conditional=conditional,
        )

    def marginal_effects(
        self,
        variables: str | list[str] | None = None,
        *,
        by: str | None = None,
        level: float = 0.95,
        conditional: bool = False,
    ) -> pd.DataFrame:
        """Average marginal effects (derivatives or discrete changes); see :meth:`slopes`.

        ``by`` groups are the observed groups, as the fixed results' method.

        Parameters
        ----------
        variables : str or list of str, optional
        by : str, optional
        level : float, default 0.95
        conditional : bool, default False

        Returns
        -------
        pandas.DataFrame
        """
        return self.slopes(
            variables, by=by, counterfactual=False, level=level, conditional=conditional
        )

    def nominal_test(self) -> pd.DataFrame:
        """Not available for mixed models; raises an error that names the alternatives.

        Raises
        ------
        SpecificationError
        """
        if not hasattr(self, "thresholds"):
            raise SpecificationError(
                "nominal_test tests proportional odds, a property of ordinal models; a binary "
                "model has a single threshold, so there is nothing to test"
            )
        raise SpecificationError(
            "nominal_test is not available for mixed models: threshold-specific (nominal) "
            "effects cannot be combined with random terms (as in R clmm). Test proportional "
            "odds on the fixed-effect model (the formula without the (1 | g) term, e.g. with "
            "cov_type='cluster'): Ordinal(...).fit(...).nominal_test() or .brant_test()"
        )

    def brant_test(self) -> pd.DataFrame:
        """Not available for mixed models; raises an error that names the alternatives.

        Raises
        ------
        SpecificationError
        """
        raise SpecificationError(
            "brant_test is not available for mixed models; run it on the fixed-effect model "
            "(the formula without the (1 | g) term): Ordinal(...).fit().brant_test()"
        )
