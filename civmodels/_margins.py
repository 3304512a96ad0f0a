"""Average predictions and average marginal effects with delta-method intervals.

Shared by the ordinal and binary engines. A model supplies ``prob(params, data) -> (n, J)``
(category probabilities, or ``P(Y = 1)`` as one column); everything here works through that
function, so the same code serves every link and every threshold structure.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["average_effects", "average_predictions"]

ProbFn = Callable[[np.ndarray, pd.DataFrame], np.ndarray]


def _wmean(p: np.ndarray, w: np.ndarray | None) -> np.ndarray:
    if w is None:
        return p.mean(axis=0)
    return (w[:, None] * p).sum(axis=0) / w.sum()


def _jacobian(f: Callable[[np.ndarray], np.ndarray], par: np.ndarray) -> np.ndarray:
    """Central-difference Jacobian of a vector function of the parameters."""
    cols = []
    for i in range(len(par)):
        h = 1e-6 * max(1.0, abs(par[i]))
        e = np.zeros_like(par)
        e[i] = h
        cols.append((f(par + e) - f(par - e)) / (2 * h))
    return np.column_stack(cols)


def _table(
    est: np.ndarray, jac: np.ndarray, vcov: np.ndarray, level: float, df: float | None
) -> pd.DataFrame:
    se = np.sqrt(np.clip(np.einsum("ij,jk,ik->i", jac, vcov, jac), 0, None))
    ref = stats.norm if df is None else stats.t(df)
    q = ref.ppf(0.5 + level / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = est / se
    return pd.DataFrame(
        {
            "estimate": est,
            "std_error": se,
            "statistic": z,
            "p_value": 2 * ref.sf(np.abs(z)),
            "ci_lower": est - q * se,
            "ci_upper": est + q * se,
        }
    )


def _groups(data: pd.DataFrame, by: str | None) -> list[tuple[object, np.ndarray]]:
    if by is None:
        return [(None, np.ones(len(data), dtype=bool))]
    if by not in data.columns:
        raise KeyError(f"by={by!r} is not a column of the model data; choose from {list(data)}")
    col = data[by]
    levels = col.cat.categories if isinstance(col.dtype, pd.CategoricalDtype) else pd.unique(col)
    if not isinstance(col.dtype, pd.CategoricalDtype):
        levels = sorted(levels, key=str)
    return [(lev, (col == lev).to_numpy()) for lev in levels if (col == lev).any()]


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
) -> pd.DataFrame:
    """Average predicted probability of each outcome, overall or within groups ``by``."""
    rows = []
    for lev, mask in _groups(data, by):
        sub = data.loc[mask]
        w = None if weights is None else weights[mask]

        def f(p: np.ndarray, sub: pd.DataFrame = sub, w: np.ndarray | None = w) -> np.ndarray:
            return _wmean(prob(p, sub), w)

        tab = _table(f(params), _jacobian(f, params), vcov, level, df)
        tab.insert(0, "outcome", list(outcomes))
        if by is not None:
            tab.insert(0, by, lev)
        rows.append(tab)
    return pd.concat(rows, ignore_index=True)


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
    """Average marginal effects on each outcome probability.

    Numeric variables: the average derivative ``d P / d x`` (central difference on the data,
    step ``1e-4`` times the variable's standard deviation). Other variables: the average
    discrete change ``P(x = level) - P(x = reference)`` for every non-reference level,
    with all other variables at their observed values.
    """
    rows = []
    for v in variables:
        col = data[v]
        numeric = pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)
        if numeric:
            h = 1e-4 * (float(col.std()) or 1.0)
            contrasts: list[tuple[str, object, object]] = [("dy/dx", None, None)]
        else:
            if isinstance(col.dtype, pd.CategoricalDtype):
                levels = list(col.cat.categories)
            else:
                levels = sorted(pd.unique(col), key=str)
            contrasts = [(f"{lv} - {levels[0]}", lv, levels[0]) for lv in levels[1:]]
        for label, hi, lo in contrasts:
            for g, mask in _groups(data, by):
                sub = data.loc[mask]
                w = None if weights is None else weights[mask]
                if numeric:
                    up = sub.assign(**{v: sub[v] + h})
                    dn = sub.assign(**{v: sub[v] - h})
                    scale = 2 * h
                else:
                    up = sub.assign(**{v: _set(sub[v], hi)})
                    dn = sub.assign(**{v: _set(sub[v], lo)})
                    scale = 1.0

                def f(
                    p: np.ndarray,
                    up: pd.DataFrame = up,
                    dn: pd.DataFrame = dn,
                    w: np.ndarray | None = w,
                    scale: float = scale,
                ) -> np.ndarray:
                    return (_wmean(prob(p, up), w) - _wmean(prob(p, dn), w)) / scale

                tab = _table(f(params), _jacobian(f, params), vcov, level, df)
                tab.insert(0, "outcome", list(outcomes))
                tab.insert(0, "contrast", label)
                tab.insert(0, "variable", v)
                if by is not None:
                    tab.insert(0, by, g)
                rows.append(tab)
    return pd.concat(rows, ignore_index=True)


def _set(col: pd.Series, value: object) -> pd.Series:
    if isinstance(col.dtype, pd.CategoricalDtype):
        return pd.Series(
            pd.Categorical([value] * len(col), categories=col.cat.categories,
                           ordered=col.cat.ordered),
            index=col.index,
        )
    return pd.Series([value] * len(col), index=col.index, dtype=col.dtype)
