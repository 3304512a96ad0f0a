"""Read and validate the findings registry (``findings.yaml``).

The registry is data, not code: each entry states what the report claimed (outcome, grouping,
direction, figures, page) and which tests apply. Validation here catches a malformed entry when
the package is imported in tests, not half-way through a replication run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

import pandas as pd
import yaml

from ..exceptions import SpecificationError
from ._contrasts import check_margins

__all__ = [
    "DIRECTIONS",
    "FINDING_KINDS",
    "GROUPINGS",
    "METHODS",
    "Finding",
    "Pattern",
    "Registry",
    "load_registry",
]

#: Methods the runner knows, in the order they are reported.
METHODS: tuple[str, ...] = ("crosstab", "design", "ordinal", "mixed", "bayes")
FINDING_KINDS = ("difference", "omnibus", "aggregate")
PATTERN_KINDS = ("marginal", "ranking")
DIRECTIONS = ("higher", "lower", "differs", "none", "few")
GROUPINGS = ("pressure_high", "size_group", "region", "bloc", "area")


@dataclass(frozen=True)
class Finding:
    """One group-difference finding of the report.

    Attributes
    ----------
    id : str
        ``"F01"`` ... ``"F18"``.
    kind : {"difference", "omnibus", "aggregate"}
        A directional two-group contrast, an all-levels test ("differs" or "no/few
        differences"), or a statement about many outcomes judged from other rows.
    title : str
        Short English title.
    outcomes : tuple of str
        Codebook item ids.
    event : object
        What counts as the outcome "happening" (see the registry's header).
    by : tuple of str
        Grouping variable(s).
    contrast : dict or None
        ``{"focal": ..., "reference": ...}`` for ``kind="difference"``.
    direction : str
        ``higher``/``lower`` (focal vs reference), ``differs``, ``none`` or ``few``.
    stated, figures, page, confidence : str
        The report's wording, numbers, printed page and how explicit the statement is.
    tests : tuple of str
        Methods that apply.
    frame : bool
        Whether the finding is tested on the 838-position frame rather than the respondents.
    report_estimate : dict or None
        The report's own figures (``focal`` with ``reference`` or ``overall``).
    rule : str or None
        The decision rule of a pattern finding (F17), in words.
    """

    id: str
    kind: str
    title: str
    outcomes: tuple[str, ...]
    event: Any
    by: tuple[str, ...]
    contrast: dict[str, Any] | None
    direction: str
    stated: str
    figures: str | None
    page: str
    tests: tuple[str, ...]
    confidence: str = "stated"
    frame: bool = False
    report_estimate: dict[str, float] | None = None
    rule: str | None = None


@dataclass(frozen=True)
class Pattern:
    """One overall marginal pattern (M1-M13) of the report."""

    id: str
    kind: str
    title: str
    stated: str
    page: str
    targets: tuple[dict[str, Any], ...] = ()
    items: tuple[str, ...] = ()
    event: Any = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Registry:
    """The parsed registry: findings, patterns and the shared settings."""

    findings: tuple[Finding, ...]
    patterns: tuple[Pattern, ...]
    key_outcomes: tuple[str, ...]
    count_bands: dict[str, list[float]]
    default_events: dict[str, Any]
    margins: dict[str, float]
    adjust: tuple[str, ...]
    collinear: dict[str, list[str]]
    alpha: float
    source: str

    def finding(self, finding_id: str) -> Finding:
        """Return the finding with id ``finding_id``."""
        for f in self.findings:
            if f.id == finding_id:
                return f
        valid = ", ".join(f.id for f in self.findings)
        raise KeyError(f"no finding {finding_id!r}; the registry has {valid}")


def _as_tuple(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)


def _check(cond: bool, entry: str, msg: str) -> None:
    if not cond:
        raise SpecificationError(f"findings.yaml, entry {entry}: {msg}")


def parse_registry(raw: dict[str, Any]) -> Registry:
    """Validate a registry mapping (as read from YAML) and return a :class:`Registry`."""
    key = _as_tuple(raw.get("key_outcomes"))
    findings = []
    seen: set[str] = set()
    for entry in raw.get("findings", []):
        fid = str(entry.get("id", "?"))
        _check(fid not in seen, fid, "duplicated id")
        seen.add(fid)
        kind = entry.get("kind")
        _check(kind in FINDING_KINDS, fid, f"kind {kind!r} is not one of {FINDING_KINDS}")
        direction = entry.get("direction")
        _check(direction in DIRECTIONS, fid, f"direction {direction!r} not in {DIRECTIONS}")
        tests = _as_tuple(entry.get("tests"))
        bad = [t for t in tests if t not in METHODS]
        _check(not bad, fid, f"unknown tests {bad}; valid: {METHODS}")
        outcomes = key if entry.get("outcomes") == "key" else _as_tuple(entry.get("outcomes"))
        _check(bool(outcomes), fid, "no outcomes")
        by = _as_tuple(entry.get("by"))
        _check(bool(by), fid, "no grouping variable ('by')")
        contrast = entry.get("contrast")
        if kind == "difference":
            _check(
                isinstance(contrast, dict) and {"focal", "reference"} <= set(contrast),
                fid,
                "a 'difference' needs contrast: {focal: ..., reference: ...}",
            )
            _check(direction in ("higher", "lower"), fid, "a 'difference' is higher or lower")
            _check(len(by) == 1, fid, "a 'difference' has exactly one grouping variable")
        findings.append(
            Finding(
                id=fid,
                kind=kind,
                title=str(entry.get("title", "")),
                outcomes=outcomes,
                event=entry.get("event"),
                by=by,
                contrast=contrast,
                direction=direction,
                stated=str(entry.get("stated", "")).strip(),
                figures=entry.get("figures"),
                page=str(entry.get("page", "")),
                tests=tests,
                confidence=str(entry.get("confidence", "stated")),
                frame=bool(entry.get("frame", False)),
                report_estimate=entry.get("report_estimate"),
                rule=(str(entry["rule"]).strip() if entry.get("rule") else None),
            )
        )
    patterns = []
    for entry in raw.get("patterns", []):
        pid = str(entry.get("id", "?"))
        _check(pid not in seen, pid, "duplicated id")
        seen.add(pid)
        kind = entry.get("kind")
        _check(kind in PATTERN_KINDS, pid, f"kind {kind!r} is not one of {PATTERN_KINDS}")
        known = {"id", "kind", "title", "stated", "page", "targets", "items", "event"}
        patterns.append(
            Pattern(
                id=pid,
                kind=kind,
                title=str(entry.get("title", "")),
                stated=str(entry.get("stated", "")).strip(),
                page=str(entry.get("page", "")),
                targets=tuple(entry.get("targets") or ()),
                items=_as_tuple(entry.get("items")),
                event=entry.get("event"),
                extra={k: v for k, v in entry.items() if k not in known},
            )
        )
    return Registry(
        findings=tuple(findings),
        patterns=tuple(patterns),
        key_outcomes=key,
        count_bands={k: list(v) for k, v in (raw.get("count_bands") or {}).items()},
        default_events=dict(raw.get("default_events") or {}),
        margins=check_margins(raw.get("equivalence_margins")),
        adjust=_as_tuple(raw.get("adjust")),
        collinear={k: list(v) for k, v in (raw.get("collinear") or {}).items()},
        alpha=float(raw.get("alpha", 0.05)),
        source=str(raw.get("source", "")).strip(),
    )


@lru_cache(maxsize=1)
def load_registry() -> Registry:
    """Read the packaged ``findings.yaml`` (cached)."""
    text = resources.files("civmodels.replication").joinpath("findings.yaml").read_text("utf-8")
    return parse_registry(yaml.safe_load(text))


def registry_frame(registry: Registry | None = None) -> pd.DataFrame:
    """The findings and patterns as one DataFrame, one row per entry."""
    reg = registry or load_registry()
    rows = []
    for f in reg.findings:
        rows.append(
            {
                "id": f.id,
                "kind": f.kind,
                "title": f.title,
                "outcomes": list(f.outcomes),
                "by": list(f.by),
                "contrast": (
                    f"{f.contrast['focal']} vs {f.contrast['reference']}" if f.contrast else None
                ),
                "direction": f.direction,
                "event": f.event if not isinstance(f.event, dict) else str(f.event),
                "stated": f.stated,
                "figures": f.figures,
                "page": f.page,
                "tests": list(f.tests),
                "confidence": f.confidence,
            }
        )
    for p in reg.patterns:
        outcomes = [t["outcome"] for t in p.targets] or list(p.items)
        rows.append(
            {
                "id": p.id,
                "kind": p.kind,
                "title": p.title,
                "outcomes": list(dict.fromkeys(outcomes)),
                "by": [],
                "contrast": None,
                "direction": None,
                "event": None,
                "stated": p.stated,
                "figures": ", ".join(
                    f"{t['outcome']}={t['value']}" for t in p.targets if "value" in t
                )
                or None,
                "page": p.page,
                "tests": ["crosstab", "design"],
                "confidence": "stated",
            }
        )
    return pd.DataFrame(rows)
