"""The 'Ved ikke' (don't know) policy: one documented switch used by every model and table.

Data convention (see ``civmodels.data``): an item column holds the answer or ``NaN``; a
boolean companion column ``<item>_dk`` is True where the respondent answered 'Ved ikke'.
``NaN`` with ``<item>_dk`` False means the item was not answered at all (item nonresponse).

:func:`apply_dont_know` turns that convention into one of three analysis choices:

``"missing"``
    'Ved ikke' is treated like item nonresponse: the value stays missing and the row is left
    out of (or imputed for) that item's analysis. The report counts the values affected.
``"category"``
    'Ved ikke' becomes its own (unordered, last) level, labelled ``"Ved ikke"``: useful for
    descriptive tables. An ordinal model cannot use this column any more.
``"drop"``
    Rows with 'Ved ikke' on any of the items are removed entirely; the report counts them.

Nothing happens silently: every call returns a :class:`DontKnowReport`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from ._validation import check_dataframe
from .exceptions import DataError

__all__ = ["DONT_KNOW_LABEL", "DontKnowPolicy", "DontKnowReport", "apply_dont_know"]

DontKnowPolicy = Literal["missing", "category", "drop"]
DONT_KNOW_LABEL = "Ved ikke"


@dataclass(frozen=True)
class DontKnowReport:
    """What :func:`apply_dont_know` changed.

    Attributes
    ----------
    policy : str
        The policy applied.
    items : tuple of str
        Items the policy was applied to.
    n_values : dict of str to int
        'Ved ikke' answers per item.
    n_rows_affected : int
        Rows with 'Ved ikke' on at least one of the items.
    n_rows_dropped : int
        Rows removed (only under ``"drop"``).
    n_total : int
        Rows before the policy was applied.
    """

    policy: str
    items: tuple[str, ...]
    n_values: dict[str, int] = field(default_factory=dict)
    n_rows_affected: int = 0
    n_rows_dropped: int = 0
    n_total: int = 0

    def describe(self) -> str:
        """One line, e.g. ``"'Ved ikke' as missing: 37 values in 21 of 444 rows (...)"``."""
        what = {
            "missing": "treated as missing",
            "category": f"kept as category {DONT_KNOW_LABEL!r}",
            "drop": "rows dropped",
        }[self.policy]
        per = ", ".join(f"{k}: {v}" for k, v in self.n_values.items() if v) or "none"
        tail = f"; {self.n_rows_dropped} rows dropped" if self.policy == "drop" else ""
        return (
            f"'Ved ikke' {what}: {sum(self.n_values.values())} values in "
            f"{self.n_rows_affected} of {self.n_total} rows ({per}){tail}"
        )


def _dk_items(data: pd.DataFrame) -> list[str]:
    return [c[:-3] for c in data.columns if str(c).endswith("_dk") and c[:-3] in data.columns]


def apply_dont_know(
    data: pd.DataFrame,
    policy: DontKnowPolicy = "missing",
    items: Sequence[str] | None = None,
    *,
    label: str = DONT_KNOW_LABEL,
) -> tuple[pd.DataFrame, DontKnowReport]:
    """Apply the 'Ved ikke' policy to survey items.

    Parameters
    ----------
    data : pandas.DataFrame
        Survey data following the convention item ``NaN`` + ``<item>_dk`` True.
    policy : {"missing", "category", "drop"}, default "missing"
        See the module documentation.
    items : sequence of str, optional
        Items to treat. Defaults to every column that has a ``<item>_dk`` companion.
    label : str, default "Ved ikke"
        Level used by ``policy="category"``.

    Returns
    -------
    data : pandas.DataFrame
        A new frame (the input is not modified).
    report : DontKnowReport
        How many values and rows the policy affected.

    Raises
    ------
    DataError
        Unknown policy; an item without a ``_dk`` companion; a companion that is not boolean;
        or a row marked 'Ved ikke' that also holds an answer.

    Examples
    --------
    >>> df = pd.DataFrame({"q": [1.0, None, None], "q_dk": [False, True, False]})
    >>> out, rep = apply_dont_know(df, "drop")
    >>> len(out), rep.n_rows_dropped
    (2, 1)
    """
    check_dataframe(data)
    if policy not in ("missing", "category", "drop"):
        raise DataError(
            f"dont_know policy={policy!r}; choose 'missing' (treat as item nonresponse), "
            "'category' (own level) or 'drop' (remove those rows)"
        )
    if items is None:
        items = _dk_items(data)
    elif isinstance(items, str):
        items = [items]
    items = list(items)
    for it in items:
        if it not in data.columns:
            raise DataError(f"item {it!r} is not a column of the data")
        if f"{it}_dk" not in data.columns:
            raise DataError(
                f"item {it!r} has no companion column '{it}_dk' marking 'Ved ikke' answers; "
                "add it (True where the answer was 'Ved ikke') or leave the item out of items="
            )
    dk = pd.DataFrame(index=data.index)
    for it in items:
        comp = data[f"{it}_dk"]
        if comp.isna().any() or not (
            pd.api.types.is_bool_dtype(comp) or set(pd.unique(comp)) <= {0, 1}
        ):
            raise DataError(
                f"column '{it}_dk' must be boolean (True = 'Ved ikke') without missing values"
            )
        flag = comp.astype(bool)
        clash = flag & data[it].notna()
        if clash.any():
            raise DataError(
                f"{int(clash.sum())} rows have '{it}_dk' True but an answer in {it!r} (first "
                f"at index {data.index[np.flatnonzero(clash.to_numpy())[0]]!r}); a 'Ved ikke' "
                "row must have the item missing"
            )
        dk[it] = flag
    any_dk = dk.any(axis=1) if items else pd.Series(False, index=data.index)
    report = DontKnowReport(
        policy=policy,
        items=tuple(items),
        n_values={it: int(dk[it].sum()) for it in items},
        n_rows_affected=int(any_dk.sum()),
        n_total=len(data),
    )
    out = data.copy()
    if policy == "drop":
        out = out.loc[~any_dk.to_numpy()]
        return out, dataclasses.replace(report, n_rows_dropped=int(any_dk.sum()))
    if policy == "category":
        for it in items:
            col = out[it]
            if isinstance(col.dtype, pd.CategoricalDtype):
                levels = list(col.cat.categories)
                values = col.astype(object)
            else:
                values = col.astype(object)
                levels = sorted(pd.unique(col.dropna()).tolist())
            if label in levels:
                raise DataError(f"item {it!r} already has a level {label!r}; pass another label=")
            values = values.where(~dk[it], label)
            out[it] = pd.Categorical(values, categories=[*levels, label], ordered=False)
    return out, report
