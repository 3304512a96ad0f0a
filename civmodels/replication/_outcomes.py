"""Turn a codebook item and a grouping variable into what each test needs.

Every method sees the same prepared outcome: 'Ved ikke' (don't know) and unanswered items are
missing (counted, never silently lost), ordinal items keep their order, counts are banded for
cross-tabulation and ordinal models, and the registry's ``event`` gives the binary indicator
behind a difference in proportions.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import SpecificationError

__all__ = [
    "PreparedOutcome",
    "contingency",
    "contrast_indicator",
    "group_codes",
    "prepare_outcome",
    "resolve_level",
]

#: Answers treated as "don't know" wherever they appear as a category.
DONT_KNOW = ("ved ikke", "don't know", "dont know", "do not know")
_YES = {"ja", "yes", "true", "1", "1.0"}
_NO = {"nej", "no", "false", "0", "0.0"}


@dataclass(frozen=True)
class PreparedOutcome:
    """An outcome ready for testing.

    Attributes
    ----------
    item : str
        Codebook id.
    kind : {"ordinal", "binary", "nominal", "count"}
        Measurement level as detected from the data.
    table : pandas.Series
        Categorical version used for cross-tabulation (counts banded), 'Ved ikke' removed.
    ordered : pandas.Series or None
        Ordered categorical for ordinal models (``None`` for nominal items).
    event : pandas.Series or None
        1.0 / 0.0 / NaN event indicator, when the registry gives an event.
    numeric : pandas.Series or None
        The raw count for count items (for means).
    n_dont_know : int
        Answers of 'Ved ikke' turned into missing.
    """

    item: str
    kind: str
    table: pd.Series
    ordered: pd.Series | None
    event: pd.Series | None
    numeric: pd.Series | None
    n_dont_know: int


def _is_dont_know(value: Any) -> bool:
    return isinstance(value, str) and value.strip().casefold() in DONT_KNOW


def _strip_dont_know(s: pd.Series) -> tuple[pd.Series, int]:
    if isinstance(s.dtype, pd.CategoricalDtype):
        dk = [c for c in s.cat.categories if _is_dont_know(c)]
        n = int(s.isin(dk).sum()) if dk else 0
        return (s.cat.remove_categories(dk) if dk else s), n
    if s.dtype == object or pd.api.types.is_string_dtype(s.dtype):
        mask = s.map(_is_dont_know).fillna(False).astype(bool)
        return s.mask(mask), int(mask.sum())
    return s, 0


def _detect_kind(s: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(s.dtype):
        return "binary"
    if isinstance(s.dtype, pd.CategoricalDtype):
        cats = [str(c).strip().casefold() for c in s.cat.categories]
        if len(cats) == 2 or (set(cats) <= _YES | _NO and cats):
            return "binary"
        return "ordinal" if s.cat.ordered else "nominal"
    if pd.api.types.is_numeric_dtype(s.dtype):
        vals = pd.unique(s.dropna())
        if set(np.asarray(vals, dtype=float).tolist()) <= {0.0, 1.0}:
            return "binary"
        return "count"
    vals = {str(v).strip().casefold() for v in s.dropna().unique()}
    if vals and vals <= _YES | _NO:
        return "binary"
    return "nominal"


def _binary_values(s: pd.Series) -> pd.Series:
    """Map a binary item to 1.0 (yes) / 0.0 (no) / NaN."""
    if pd.api.types.is_bool_dtype(s.dtype):
        return s.astype("float64")
    if pd.api.types.is_numeric_dtype(s.dtype) and not isinstance(s.dtype, pd.CategoricalDtype):
        return s.astype("float64")
    text = s.astype("object").map(lambda v: None if pd.isna(v) else str(v).strip().casefold())
    out = pd.Series(np.nan, index=s.index)
    out[text.isin(_YES)] = 1.0
    out[text.isin(_NO)] = 0.0
    if isinstance(s.dtype, pd.CategoricalDtype) and len(s.cat.categories) == 2:
        # A two-level categorical whose labels are not yes/no: the second level is the event,
        # the convention of civmodels' binary models (ModelFrame).
        unknown = out.isna() & s.notna()
        if unknown.any():
            second = s.cat.categories[1]
            out[unknown] = (s[unknown] == second).astype(float)
    return out


def _band(values: pd.Series, bounds: list[float]) -> pd.Series:
    edges = [*bounds, np.inf]
    labels = []
    for lo, hi in itertools.pairwise(edges):
        labels.append(f"{lo:g}+" if np.isinf(hi) else f"{lo:g}-{hi - 1:g}")
    return pd.cut(values, bins=edges, right=False, labels=labels, ordered=True)


def _codebook_labels(item: str, codes: list[Any]) -> list[str]:
    """Danish and English labels of category ``codes`` of ``item`` in the data codebook."""
    try:
        from ..data import codebook
    except ImportError:
        return []
    if item not in codebook:
        return []
    wanted = {str(c) for c in codes}
    out = []
    for cat in getattr(codebook[item], "categories", ()):
        if str(cat.code) in wanted:
            out += [str(cat.label_da), str(cat.label_en)]
    return out


def _match_labels(s: pd.Series, event: dict[str, Any]) -> pd.Series:
    names = list(event.get("codes", [])) + list(event.get("labels", []))
    # The codebook maps stable category codes to the labels stored in the data, so a
    # registry entry keeps working when a label is reworded.
    names += _codebook_labels(str(s.name), list(event.get("codes", [])))
    wanted = {str(v).strip().casefold() for v in names}
    present = {str(v).strip().casefold() for v in s.dropna().unique()}
    if not wanted & present:
        raise SpecificationError(
            f"none of the event categories {sorted(wanted)} occur in item {s.name!r}; "
            f"observed values: {sorted(present)[:8]}"
        )
    text = s.astype("object").map(lambda v: None if pd.isna(v) else str(v).strip().casefold())
    return text.isin(wanted).astype(float).where(s.notna())


def prepare_outcome(
    data: pd.DataFrame,
    item: str,
    event: Any = None,
    *,
    bands: list[float] | None = None,
) -> PreparedOutcome:
    """Prepare item ``item`` of ``data`` for the tests.

    Parameters
    ----------
    data : pandas.DataFrame
        Survey data with the codebook ids as columns.
    item : str
        Column to prepare.
    event : object, optional
        ``"top"``, ``"top2"``, ``"yes"``, ``"mean"``, ``{"codes": [...], "labels": [...]}`` or
        ``{"at_least": k}``; see the registry's header.
    bands : list of float, optional
        Lower band limits for a count item (default: quartiles of the observed counts).

    Returns
    -------
    PreparedOutcome

    Raises
    ------
    KeyError
        If ``item`` is not a column (the runner reports it as 'not testable').
    SpecificationError
        If the event does not fit the item.
    """
    if item not in data.columns:
        raise KeyError(item)
    raw, n_dk = _strip_dont_know(data[item])
    kind = _detect_kind(raw)
    numeric = None
    if kind == "count":
        numeric = pd.to_numeric(raw, errors="coerce").astype("float64")
        if bands is None:
            q = np.unique(np.nanquantile(numeric, [0, 0.25, 0.5, 0.75]))
            bands = [float(v) for v in q]
        table = _band(numeric, bands)
        ordered: pd.Series | None = table
    elif kind == "binary":
        vals = _binary_values(raw)
        table = pd.Series(
            pd.Categorical(vals.map({0.0: "no", 1.0: "yes"}), categories=["no", "yes"]),
            index=raw.index,
        )
        ordered = pd.Series(
            pd.Categorical(table, categories=["no", "yes"], ordered=True), index=raw.index
        )
    elif kind == "ordinal":
        table = raw
        ordered = raw
    else:
        table = raw.astype("category") if not isinstance(raw.dtype, pd.CategoricalDtype) else raw
        ordered = None
    table = table.rename(item)

    ev: pd.Series | None = None
    if event is None or event == "mean":
        ev = None
    elif event in ("yes", True):
        if kind != "binary":
            raise SpecificationError(f"event 'yes' needs a binary item; {item!r} is {kind}")
        ev = _binary_values(raw)
    elif event in ("top", "top2"):
        if ordered is None:
            raise SpecificationError(f"event {event!r} needs an ordered item; {item!r} is {kind}")
        cats = list(ordered.cat.categories)
        k = 1 if event == "top" else 2
        ev = ordered.isin(cats[-k:]).astype(float).where(ordered.notna())
    elif isinstance(event, dict) and "at_least" in event:
        if numeric is None:
            raise SpecificationError(f"event 'at_least' needs a count item; {item!r} is {kind}")
        ev = (numeric >= float(event["at_least"])).astype(float).where(numeric.notna())
    elif isinstance(event, dict):
        ev = _match_labels(raw.rename(item), event)
    else:
        raise SpecificationError(f"unknown event {event!r} for item {item!r}")
    return PreparedOutcome(
        item=item,
        kind=kind,
        table=table,
        ordered=ordered,
        event=ev,
        numeric=numeric,
        n_dont_know=n_dk,
    )


def group_codes(data: pd.DataFrame, by: str) -> pd.Series:
    """The grouping variable as a categorical (booleans become ``False``/``True`` levels)."""
    if by not in data.columns:
        raise KeyError(by)
    s = data[by]
    if isinstance(s.dtype, pd.CategoricalDtype):
        return s.cat.remove_unused_categories()
    if pd.api.types.is_bool_dtype(s.dtype) or set(pd.unique(s.dropna())) <= {0, 1}:
        return pd.Series(
            pd.Categorical(
                s.map(lambda v: None if pd.isna(v) else bool(v)), categories=[False, True]
            ),
            index=s.index,
        )
    levels = sorted(pd.unique(s.dropna()), key=str)
    return pd.Series(pd.Categorical(s, categories=levels), index=s.index)


def resolve_level(levels: list[Any], spec: Any, by: str) -> Any:
    if spec == "last":
        return levels[-1]
    if spec == "first":
        return levels[0]
    for lev in levels:
        if lev == spec or str(lev).casefold() == str(spec).casefold():
            return lev
    raise SpecificationError(
        f"contrast level {spec!r} is not a level of {by!r}; levels are {levels}"
    )


def contrast_indicator(
    data: pd.DataFrame, by: str, contrast: dict[str, Any]
) -> tuple[pd.Series, str, str]:
    """1.0 for the focal group, 0.0 for the reference group, NaN otherwise.

    Returns
    -------
    indicator : pandas.Series
    focal, reference : str
        Labels of the two groups for the report.
    """
    g = group_codes(data, by)
    levels = list(g.cat.categories)
    focal = resolve_level(levels, contrast["focal"], by)
    ind = pd.Series(np.nan, index=data.index)
    ind[g == focal] = 1.0
    if contrast["reference"] == "rest":
        ind[g.notna() & (g != focal)] = 0.0
        ref_label = f"other {by} levels"
    else:
        ref = resolve_level(levels, contrast["reference"], by)
        ind[g == ref] = 0.0
        ref_label = f"{by}={ref}"
    return ind, f"{by}={focal}", ref_label


def contingency(g: pd.Series, y: pd.Series) -> tuple[np.ndarray, list[Any], list[Any]]:
    """Counts of two categoricals (rows with either missing left out), empty rows and columns
    removed.

    A bincount on the category codes: the replication tabulates a few hundred tables per run,
    and ``pandas.crosstab`` costs ~30 ms each.

    Returns
    -------
    counts : ndarray of shape (r, c)
    rows, cols : list
        Level labels of the rows and columns kept.
    """
    gc = pd.Categorical(g)
    yc = pd.Categorical(y)
    a, b = np.asarray(gc.codes), np.asarray(yc.codes)
    ok = (a >= 0) & (b >= 0)
    r, c = len(gc.categories), len(yc.categories)
    counts = np.bincount(a[ok] * c + b[ok], minlength=r * c).reshape(r, c)
    keep_r, keep_c = counts.sum(axis=1) > 0, counts.sum(axis=0) > 0
    counts = counts[keep_r][:, keep_c]
    rows = [v for v, k in zip(gc.categories, keep_r, strict=True) if k]
    cols = [v for v, k in zip(yc.categories, keep_c, strict=True) if k]
    return counts, rows, cols
