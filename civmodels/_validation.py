"""Shared input checks. Every public function validates through these helpers so that the
messages are uniform: they name the argument, show the value received, say what is allowed
and how to fix it."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .exceptions import DataError, FormulaError

__all__ = [
    "MissingReport",
    "check_columns",
    "check_dataframe",
    "check_positive_int",
    "check_weights",
    "drop_incomplete",
    "refuse_infinite",
]


def check_dataframe(data: object, name: str = "data") -> pd.DataFrame:
    """Return ``data`` if it is a non-empty DataFrame, else raise :class:`DataError`."""
    if not isinstance(data, pd.DataFrame):
        raise DataError(
            f"{name} must be a pandas DataFrame, got {type(data).__name__}; "
            "convert it with pandas.DataFrame(...)"
        )
    if len(data) == 0:
        raise DataError(f"{name} has no rows")
    return data


def _suggest(name: str, available: Iterable[str]) -> str:
    close = difflib.get_close_matches(str(name), [str(a) for a in available], n=3, cutoff=0.6)
    return f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""


def check_columns(
    data: pd.DataFrame,
    columns: Iterable[str],
    *,
    what: str = "the formula",
    error: type[Exception] = FormulaError,
) -> None:
    """Raise if any of ``columns`` is missing from ``data``, suggesting close matches."""
    missing = [c for c in columns if c not in data.columns]
    if missing:
        first = missing[0]
        raise error(
            f"{what} names column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(repr(m) for m in missing)} not in the data"
            f"{_suggest(first, data.columns)}"
        )


def check_positive_int(value: object, name: str) -> int:
    """Return ``value`` as int if it is a positive integer, else raise ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def check_weights(weights: pd.Series | np.ndarray, name: str = "weights") -> np.ndarray:
    """Validate case or sampling weights: finite, non-negative, not all zero."""
    w = np.asarray(weights, dtype=float)
    if np.isnan(w).any():
        raise DataError(
            f"{name} has {int(np.isnan(w).sum())} missing values; fill them or drop those rows"
        )
    if not np.isfinite(w).all():
        raise DataError(f"{name} has infinite values")
    if (w < 0).any():
        i = int(np.flatnonzero(w < 0)[0])
        raise DataError(
            f"{name} has {int((w < 0).sum())} negative values (first at position {i}: "
            f"{w[i]:g}); weights must be >= 0"
        )
    if not (w > 0).any():
        raise DataError(f"{name} are all zero; at least one row needs a positive weight")
    return w


@dataclass(frozen=True)
class MissingReport:
    """Which rows were excluded for missing values, and why.

    Attributes
    ----------
    n_total : int
        Rows before exclusion.
    n_dropped : int
        Rows excluded because at least one used column was missing.
    by_column : dict of str to int
        Number of missing values in each used column (a row may count in several).
    dropped_index : pandas.Index
        Labels of the excluded rows.
    kept_positions : ndarray of int or None
        Positions (0-based, in the input order) of the rows kept; unlike labels these are
        unambiguous when the input's index has duplicates.
    """

    n_total: int
    n_dropped: int
    by_column: dict[str, int] = field(default_factory=dict)
    dropped_index: pd.Index = field(default_factory=lambda: pd.Index([]))
    kept_positions: np.ndarray | None = None

    def describe(self) -> str:
        """One line, e.g. ``"12 of 444 rows dropped for missing values (x1: 10, y: 3)"``."""
        if self.n_dropped == 0:
            return f"no rows dropped ({self.n_total} used)"
        cols = ", ".join(f"{k}: {v}" for k, v in self.by_column.items() if v)
        return f"{self.n_dropped} of {self.n_total} rows dropped for missing values ({cols})"


def refuse_infinite(data: pd.DataFrame, columns: Sequence[str]) -> None:
    """Raise a :class:`DataError` naming the first of ``columns`` holding ``inf`` or ``-inf``.

    An infinite value is not a missing one: it is neither dropped nor used, but refused, with
    the number of rows affected, so that the user decides what it should be.
    """
    for c in dict.fromkeys(columns):
        col = data[c]
        if not pd.api.types.is_float_dtype(col.dtype):
            continue
        inf = np.isinf(col.to_numpy(dtype=float, na_value=np.nan))
        if inf.any():
            first = data.index[inf].tolist()[0]
            raise DataError(
                f"column {c!r} has {int(inf.sum())} infinite values (inf or -inf; first at "
                f"index {first!r}); a model cannot use them. Replace them with finite values, "
                "or set them to missing (NaN: those rows are then dropped and counted), or "
                "drop those rows before fitting"
            )


def drop_incomplete(
    data: pd.DataFrame, columns: Sequence[str]
) -> tuple[pd.DataFrame, MissingReport]:
    """Keep the rows complete on ``columns``; count and report the rest.

    Parameters
    ----------
    data : pandas.DataFrame
        The input data.
    columns : sequence of str
        Columns that must be non-missing.

    Returns
    -------
    kept : pandas.DataFrame
        The complete rows (a view-free copy, original index kept).
    report : MissingReport
        What was dropped, per column.
    """
    cols = list(dict.fromkeys(columns))
    # column by column on arrays (a DataFrame-wide isna() costs more than a small fit), each
    # column fetched once; infinite values are refused (as refuse_infinite) before any
    # missing value is counted
    na_cols = {}
    for c in cols:
        col = data[c]
        if isinstance(col.dtype, np.dtype) and col.dtype.kind == "f":
            values = col.to_numpy()
            if np.isinf(values).any():
                refuse_infinite(data, [c])
            na_cols[c] = np.isnan(values)
        elif isinstance(col.dtype, np.dtype) and col.dtype.kind in "biu":
            na_cols[c] = np.zeros(len(col), dtype=bool)  # NumPy integers cannot be missing
        else:
            if pd.api.types.is_float_dtype(col.dtype):  # nullable or Arrow floats
                refuse_infinite(data, [c])
            na_cols[c] = col.isna().to_numpy()
    by_col = {c: int(v.sum()) for c, v in na_cols.items()}
    bad = np.zeros(len(data), dtype=bool)
    for v in na_cols.values():
        bad |= v
    if not bad.any():
        return data.copy(deep=False), MissingReport(
            n_total=len(data),
            n_dropped=0,
            by_column=by_col,
            dropped_index=data.index[:0],
            kept_positions=np.arange(len(data)),
        )
    report = MissingReport(
        n_total=len(data),
        n_dropped=int(bad.sum()),
        by_column=by_col,
        dropped_index=data.index[bad],
        kept_positions=np.flatnonzero(~bad),
    )
    return data.loc[~bad].copy(), report
