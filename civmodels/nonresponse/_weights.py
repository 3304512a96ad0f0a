"""Small numeric helpers for weights shared by the nonresponse modules."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..exceptions import DesignError

__all__ = ["balance_table", "kish", "trim_weights", "weight_distribution"]


def kish(w: np.ndarray) -> tuple[float, float]:
    """Kish's effective sample size ``(Σw)² / Σw²`` and design effect ``n / ESS = 1 + CV²``."""
    w = np.asarray(w, dtype=float)
    ess = w.sum() ** 2 / (w**2).sum()
    return float(ess), float(len(w) / ess)


def weight_distribution(w: pd.Series | np.ndarray) -> pd.Series:
    """Min, quartiles, max, mean, CV, max/min ratio, Kish ESS and deff of a weight vector."""
    w = np.asarray(w, dtype=float)
    ess, deff = kish(w)
    q = np.quantile(w, [0.0, 0.25, 0.5, 0.75, 1.0])
    return pd.Series(
        {
            "n": float(len(w)),
            "sum": w.sum(),
            "min": q[0],
            "q25": q[1],
            "median": q[2],
            "q75": q[3],
            "max": q[4],
            "mean": w.mean(),
            "cv": w.std() / w.mean(),
            "max/min": q[4] / q[0],
            "kish_ess": ess,
            "kish_deff": deff,
        },
        name="weights",
    )


def trim_weights(w: np.ndarray, cap: float, *, max_iter: int = 50) -> tuple[np.ndarray, int]:
    """Cap weights at ``cap`` times their mean, spreading the excess over the others.

    The sum of the weights is kept; capping and redistribution repeat until no weight exceeds
    the cap (Potter 1990). Returns the trimmed weights and the number capped.
    """
    if not cap > 1:
        raise DesignError(
            f"trim={cap!r}: the cap is a multiple of the mean weight, so it must be > 1"
        )
    w = np.asarray(w, dtype=float).copy()
    total = w.sum()
    capped = np.zeros(len(w), bool)
    for _ in range(max_iter):
        limit = cap * total / len(w)
        over = w > limit * (1 + 1e-12)
        if not over.any():
            break
        capped |= over
        w[capped] = limit
        free = ~capped
        if not free.any():
            break
        w[free] *= (total - w[capped].sum()) / w[free].sum()
    return w, int(capped.sum())


def _indicators(data: pd.DataFrame, variables: list[str]) -> pd.DataFrame:
    cols = {}
    for v in variables:
        col = data[v]
        if pd.api.types.is_bool_dtype(col) or (
            pd.api.types.is_numeric_dtype(col) and not isinstance(col.dtype, pd.CategoricalDtype)
        ):
            cols[v] = col.astype(float)
        else:
            levels = (
                list(col.cat.categories)
                if isinstance(col.dtype, pd.CategoricalDtype)
                else sorted(pd.unique(col.dropna()).tolist(), key=str)
            )
            for lev in levels:
                cols[f"{v}[{lev}]"] = (col == lev).astype(float)
    return pd.DataFrame(cols, index=data.index)


def balance_table(
    target: pd.DataFrame, sample: pd.DataFrame, weights: np.ndarray, variables: list[str]
) -> pd.DataFrame:
    """Covariate balance of a weighted sample against a target population.

    For every numeric covariate and every level of a categorical one: the target mean, the
    unweighted and weighted sample means, and the standardised differences
    ``(sample mean - target mean) / target SD`` before and after weighting.
    """
    t = _indicators(target, variables)
    s = _indicators(sample, variables).reindex(columns=t.columns, fill_value=0.0)
    w = np.asarray(weights, dtype=float)
    mt = t.mean()
    sd = t.std(ddof=0).replace(0.0, np.nan)
    mu = s.mean()
    mw = pd.Series(w @ s.to_numpy() / w.sum(), index=s.columns)
    return pd.DataFrame(
        {
            "target": mt,
            "unweighted": mu,
            "weighted": mw,
            "std_diff_before": (mu - mt) / sd,
            "std_diff_after": (mw - mt) / sd,
        }
    )
