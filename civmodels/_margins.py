"""Average predictions and average marginal effects behind the fixed results'
``average_predictions`` and ``marginal_effects`` methods.

Both are the observed-group special cases of :mod:`civmodels.predictions` (``by`` groups as
observed, not counterfactual) and are computed by it; this module adapts the array-level
signature the engines call with (a model supplies ``prob(params, data) -> (n, J)``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .predictions import DeltaMethod, PredictionModel, predictions, slopes

__all__ = ["average_effects", "average_predictions"]

ProbFn = Callable[[np.ndarray, pd.DataFrame], np.ndarray]


def _model(
    prob: ProbFn,
    params: np.ndarray,
    vcov: np.ndarray,
    data: pd.DataFrame,
    outcomes: Sequence[str],
    variables: Sequence[str],
    weights: np.ndarray | None,
    df: float | None,
    link: Any,
) -> PredictionModel:
    return PredictionModel(
        theta=np.asarray(params, float),
        uncertainty=DeltaMethod(np.asarray(vcov, float), df),
        prepare=lambda d: d,
        prob=prob,
        linear=None,
        data=data,
        weights=weights,
        outcomes=list(outcomes),
        variables=list(variables),
        link=link,
    )


def average_predictions(
    prob: ProbFn,
    params: np.ndarray,
    vcov: np.ndarray,
    data: pd.DataFrame,
    outcomes: Sequence[str],
    *,
    by: str | None = None,
    weights: np.ndarray | None = None,
    level: float = 0.95,
    df: float | None = None,
    link: Any = None,
) -> pd.DataFrame:
    """Average predicted probability of each outcome, overall or within observed groups ``by``.

    Probability intervals are computed on the scale of ``link`` (when given) so they stay
    in [0, 1].
    """
    pm = _model(prob, params, vcov, data, outcomes, [], weights, df, link)
    return predictions(pm, by=True if by is None else by, counterfactual=False, level=level)


def average_effects(
    prob: ProbFn,
    params: np.ndarray,
    vcov: np.ndarray,
    data: pd.DataFrame,
    variables: Sequence[str],
    outcomes: Sequence[str],
    *,
    by: str | None = None,
    weights: np.ndarray | None = None,
    level: float = 0.95,
    df: float | None = None,
) -> pd.DataFrame:
    """Average marginal effects on each outcome probability, within observed groups ``by``.

    Continuous variables: the average derivative ``d P / d x`` (central difference on the
    data, step ``1e-4`` times the variable's standard deviation). Binary, 0/1 and categorical
    variables: the average discrete change from the reference level to each other level,
    all other variables at their observed values (see :func:`civmodels.predictions.slopes`).
    """
    pm = _model(prob, params, vcov, data, outcomes, variables, weights, df, None)
    return slopes(pm, list(variables), by=by, counterfactual=False, level=level)
