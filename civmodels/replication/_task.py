"""What every method shares: the task of one test and the model frame built from it.

Kept below :mod:`._methods` and :mod:`._bayes` so that both import it and neither imports the
other (the import graph stays one-way: ``_methods -> _bayes -> _task``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ._outcomes import PreparedOutcome, contrast_indicator, group_codes, resolve_level

__all__ = [
    "CLUSTER",
    "MethodUnavailable",
    "Task",
    "model_frame",
    "predictor_columns",
    "task_mode",
]

CLUSTER = "municipality_code"


class MethodUnavailable(RuntimeError):
    """A method's module is not installed/merged; the message says which and why."""


@dataclass
class Task:
    """One test: a finding's outcome item against one grouping variable."""

    finding: Any
    item: str
    by: str
    outcome: PreparedOutcome
    contrast: dict[str, Any] | None
    adjust: tuple[str, ...]
    notes: list[str] = field(default_factory=list)


def task_mode(task: Task) -> str:
    """What a task tests: ``directional``, ``differs`` or ``equivalence`` (see ``_methods``)."""
    direction = getattr(task.finding, "direction", None)
    if direction in ("higher", "lower") and task.contrast is not None:
        return "directional"
    if direction in ("none", "few"):
        return "equivalence"
    return "differs"


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in str(name))


def model_frame(task: Task, data: pd.DataFrame) -> tuple[pd.DataFrame, list[str], str | None, str]:
    """Outcome, grouping dummies and adjustment columns under formula-safe names."""
    out = pd.DataFrame(index=data.index)
    kind = task.outcome.kind
    if task.outcome.ordered is not None and kind in ("ordinal", "count"):
        out["y"] = task.outcome.ordered
        family = "ordinal"
    else:
        ev = task.outcome.event
        if ev is None:
            if kind != "binary":
                raise ValueError(
                    f"{task.item!r} is a {kind} item with no event defined; a model needs an "
                    "ordered or binary outcome"
                )
            assert task.outcome.ordered is not None  # binary items always have an order
            ev = task.outcome.ordered.cat.codes.replace(-1, np.nan).astype(float)
        out["y"] = ev
        family = "binary"
    labels: dict[str, str] = {}
    pred, terms, focal_term = predictor_columns(task, data, labels)
    out = pd.concat([out, pred], axis=1)
    out.attrs["term_labels"] = labels
    out.attrs["group_levels"] = pred.attrs.get("group_levels")
    return out, terms, focal_term, family


def predictor_columns(
    task: Task, data: pd.DataFrame, labels: dict[str, str] | None = None
) -> tuple[pd.DataFrame, list[str], str | None]:
    """Grouping dummies (``g_*``) and adjustment covariates (``a_*``) under formula-safe names.

    Applied to the respondents for fitting and to the 838-position frame for MRP, so both get
    identical columns. Adjustment covariates keep their own names when these are valid
    identifiers (so tables show them); ``labels``, when given, receives a readable label for
    each grouping dummy.
    """
    out = pd.DataFrame(index=data.index)
    terms: list[str] = []
    focal_term: str | None = None
    if task.contrast is not None and task.contrast.get("reference") == "rest":
        ind, _, _ = contrast_indicator(data, task.by, task.contrast)
        out["g_focal"] = ind
        terms.append("g_focal")
        focal_term = "g_focal"
        if labels is not None:
            _, focal_label, ref_label = contrast_indicator(data, task.by, task.contrast)
            labels["g_focal"] = f"{focal_label} (vs {ref_label})"
    else:
        g = group_codes(data, task.by)
        levels = list(g.cat.categories)
        focal = None
        if task.contrast is not None:
            # the same level matching as every other method (contrast_indicator)
            ref = resolve_level(levels, task.contrast["reference"], task.by)
            focal = resolve_level(levels, task.contrast["focal"], task.by)
            levels = [ref, *[lv for lv in levels if lv != ref]]
        out.attrs["group_levels"] = [str(lv) for lv in levels]
        for j, lev in enumerate(levels[1:], start=1):
            col = f"g_{j}"
            out[col] = (g == lev).astype(float).where(g.notna())
            terms.append(col)
            if labels is not None:
                labels[col] = f"{task.by} = {lev} (vs {levels[0]})"
            if focal is not None and lev == focal:
                focal_term = col
    for a in task.adjust:
        col = a if a.isidentifier() and not a.startswith(("g_", "y")) else f"a_{_safe(a)}"
        s = data[a]
        if pd.api.types.is_bool_dtype(s.dtype):
            s = s.astype(float)
        elif isinstance(s.dtype, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(s):
            s = s.astype("object").astype(str).where(s.notna())
        out[col] = s
    out[CLUSTER] = data[CLUSTER]
    return out, terms, focal_term
