"""The simulator's calibration file: loading and validation.

Every number :func:`~civmodels.data.simulate_survey` is tuned to lives in
``data/calibration.yaml`` (packaged as ``civmodels/data/_files/calibration.yaml``). Each
number sits in an *entry* ``{value: ..., page: ...}`` citing the report page, or
``{value: ..., assumption: true}``. :func:`load_calibration` checks this and the
consistency with the codebook, and raises :class:`~civmodels.exceptions.DataError` naming the
offending key path and the fix.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..exceptions import DataError
from ._resources import resource_text
from .codebook import AREAS, BATTERIES, load_codebook

__all__ = [
    "COVARIATE_TERMS",
    "DIMENSIONS",
    "Calibration",
    "assumption_entries",
    "load_calibration",
]

#: Latent dimensions of the generative model.
DIMENSIONS: tuple[str, ...] = ("engagement", *BATTERIES)
#: Names of the municipality covariates an item effect may refer to (formulaic's names for
#: treatment contrasts, with Hovedstaden and red as reference levels).
COVARIATE_TERMS: tuple[str, ...] = (
    "log_population",
    "pressure_high",
    "spending_pressure",
    "bloc[T.blue]",
    "region[T.Sjælland]",
    "region[T.Syddanmark]",
    "region[T.Midtjylland]",
    "region[T.Nordjylland]",
)


def _is_entry(node: Any) -> bool:
    return isinstance(node, Mapping) and "value" in node


def _walk(node: Any, path: str) -> Iterator[tuple[str, Any]]:
    """Yield (path, entry) for every entry; raise on a bare number outside an entry."""
    if _is_entry(node):
        yield path, node
        return
    if isinstance(node, Mapping):
        for k, v in node.items():
            yield from _walk(v, f"{path}.{k}" if path else str(k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                raise DataError(
                    f"calibration: {path}[{i}] is a bare number ({v!r}); every number must "
                    "sit in an entry {value: ..., page: N} or {value: ..., assumption: true}"
                )
            yield from _walk(v, f"{path}[{i}]")
    elif isinstance(node, (int, float)) and not isinstance(node, bool) and path != "version":
        raise DataError(
            f"calibration: {path} is a bare number ({node!r}); write it as "
            f"{{value: {node!r}, page: N}} citing the report page, or "
            f"{{value: {node!r}, assumption: true, note: why}}"
        )


def _numbers(value: Any) -> list[float]:
    if isinstance(value, bool):
        raise TypeError
    if isinstance(value, (int, float)):
        return [float(value)]
    if isinstance(value, list):
        return [x for v in value for x in _numbers(v)]
    if isinstance(value, Mapping):
        return [x for v in value.values() for x in _numbers(v)]
    raise TypeError


def _check_entry(path: str, entry: Mapping[str, Any]) -> None:
    has_page = entry.get("page") not in (None, "", [])
    if not has_page and entry.get("assumption") is not True:
        raise DataError(
            f"calibration: entry {path} has no source; add 'page: N' (the report page it "
            "comes from) or 'assumption: true' with a note"
        )
    if "assumption" in entry and not isinstance(entry["assumption"], bool):
        raise DataError(f"calibration: {path}.assumption must be true or false")
    try:
        nums = _numbers(entry["value"])
    except TypeError:
        raise DataError(
            f"calibration: {path}.value must be a number, a list of numbers or a mapping of "
            f"numbers; got {entry['value']!r}"
        ) from None
    if any(x != x or x in (float("inf"), float("-inf")) for x in nums):
        raise DataError(f"calibration: {path}.value has a non-finite number")
    last = path.rsplit(".", 1)[-1]
    if last.endswith("_pct") or path.startswith("dont_know_pct."):
        bad = [x for x in nums if not 0 <= x <= 100]
        if bad:
            raise DataError(
                f"calibration: {path} is a percentage but has value(s) {bad} outside [0, 100]"
            )
    if last == "target_pct" and isinstance(entry["value"], list) and len(nums) > 1:
        total = sum(nums)
        if abs(total - 100) > 0.5:
            raise DataError(
                f"calibration: {path} is a distribution over categories and must sum to "
                f"100, but sums to {total:g}"
            )


def _unknown(kind: str, path: str, keys: Any, allowed: Any) -> None:
    bad = [k for k in keys if k not in allowed]
    if bad:
        close = difflib.get_close_matches(str(bad[0]), [str(a) for a in allowed], n=2)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise DataError(
            f"calibration: {path} names unknown {kind} {bad}{hint}; allowed: {list(allowed)}"
        )


def _require(node: Mapping[str, Any], key: str, path: str) -> Any:
    if key not in node:
        raise DataError(f"calibration: {path} lacks required key {key!r}")
    return node[key]


def _validate(raw: Any) -> None:
    if not isinstance(raw, Mapping):
        raise DataError(
            f"calibration must be a mapping (a YAML file with top-level keys), got "
            f"{type(raw).__name__}"
        )
    for key in ("response", "dimensions", "covariate_effects_default", "dont_know_pct", "items"):
        _require(raw, key, "the file")
    for path, entry in _walk(raw, ""):
        _check_entry(path, entry)
    resp = raw["response"]
    for key in (
        "rate_pct",
        "municipality_sd",
        "area_log_odds",
        "covariate_log_odds",
        "breakoff_pct",
        "item_skip_pct",
    ):
        _require(resp, key, "response")
    _unknown("areas", "response.area_log_odds", resp["area_log_odds"]["value"], AREAS)
    _unknown(
        "covariates",
        "response.covariate_log_odds",
        resp["covariate_log_odds"]["value"],
        COVARIATE_TERMS,
    )
    if sum(_numbers(resp["breakoff_pct"]["value"])) >= 100:
        raise DataError("calibration: response.breakoff_pct must sum to less than 100")
    if len(resp["breakoff_pct"]["value"]) != 3:
        raise DataError(
            "calibration: response.breakoff_pct needs 3 numbers (stop after section 1, 2, 3)"
        )
    _unknown("dimensions", "dimensions", raw["dimensions"], DIMENSIONS)
    for d in DIMENSIONS:
        node = _require(raw["dimensions"], d, "dimensions")
        for key in ("municipality_sd", "respondent_sd", "area_effects"):
            _require(node, key, f"dimensions.{d}")
        _unknown("areas", f"dimensions.{d}.area_effects", node["area_effects"]["value"], AREAS)
        for key in ("municipality_sd", "respondent_sd"):
            if node[key]["value"] < 0:
                raise DataError(f"calibration: dimensions.{d}.{key} must be >= 0")
    if raw["response"]["municipality_sd"]["value"] < 0:
        raise DataError("calibration: response.municipality_sd must be >= 0")

    cb = load_codebook()
    simulated = {q.id: q for q in cb.items(simulated=True)}
    dk_keys = set(BATTERIES) | {q.id for q in simulated.values() if q.dont_know}
    _unknown("items or batteries", "dont_know_pct", raw["dont_know_pct"], sorted(dk_keys))
    items = raw["items"]
    _unknown("items", "items", items, list(simulated))
    missing = [q for q in simulated if q not in items]
    if missing:
        raise DataError(f"calibration: items lacks the simulated codebook item(s) {missing}")
    for qid, node in items.items():
        q = simulated[qid]
        path = f"items.{qid}"
        _unknown("dimension", f"{path}.dimension", [_require(node, "dimension", path)], DIMENSIONS)
        if "effects" in node:
            _unknown("covariates", f"{path}.effects", node["effects"]["value"], COVARIATE_TERMS)
        if "area_effects" in node:
            _unknown("areas", f"{path}.area_effects", node["area_effects"]["value"], AREAS)
        if q.type == "count":
            _require(node, "mean", path)
            _require(node, "dispersion", path)
            if node["mean"]["value"] <= 0 or node["dispersion"]["value"] <= 0:
                raise DataError(f"calibration: {path}.mean and .dispersion must be > 0")
            continue
        target = _require(node, "target_pct", path)["value"]
        n_cat = len(q.categories)
        if q.type in ("binary", "multiple"):
            if not isinstance(target, (int, float)):
                raise DataError(f"calibration: {path}.target_pct must be one number (% 'Ja')")
        elif not isinstance(target, list) or len(target) != n_cat:
            raise DataError(
                f"calibration: {path}.target_pct needs {n_cat} percentages (one per category "
                f"{q.labels_da}), got {target!r}"
            )
        if q.type == "nominal":
            order = _require(node, "latent_order", path)
            if sorted(order) != sorted(q.codes):
                raise DataError(
                    f"calibration: {path}.latent_order must list each of {q.codes} once, "
                    f"got {order!r}"
                )
        if "by_area_pct" in node:
            if q.type not in ("binary", "multiple"):
                raise DataError(f"calibration: {path}.by_area_pct is only for yes/no items")
            _unknown("areas", f"{path}.by_area_pct", node["by_area_pct"]["value"], AREAS)


@dataclass(frozen=True, eq=False)
class Calibration:
    """A validated calibration (read-only).

    Attributes
    ----------
    raw : dict
        The parsed file (a deep copy; mutate :meth:`to_dict` output instead).
    key : str
        A hash of the content, used to cache the solved thresholds.
    source : str
        Where it came from (a path, ``"<packaged>"`` or ``"<dict>"``).
    """

    raw: dict[str, Any]
    key: str
    source: str

    def value(self, *path: str) -> Any:
        """The ``value`` of the entry at ``path`` (e.g. ``("response", "rate_pct")``)."""
        node: Any = self.raw
        for p in path:
            node = node[p]
        return copy.deepcopy(node["value"]) if _is_entry(node) else copy.deepcopy(node)

    def to_dict(self) -> dict[str, Any]:
        """A deep copy of the calibration as a plain dict (edit it and pass it back)."""
        return copy.deepcopy(self.raw)

    def __repr__(self) -> str:
        return f"<Calibration from {self.source} ({len(self.raw['items'])} items)>"


def load_calibration(
    calibration: str | os.PathLike[str] | Mapping[str, Any] | Calibration | None = None,
) -> Calibration:
    """Load and validate a simulator calibration.

    Parameters
    ----------
    calibration : path, mapping, Calibration or None
        A YAML file, an already parsed mapping (e.g. an edited ``to_dict()``), a
        :class:`Calibration` (returned as is), or None for the packaged default.

    Returns
    -------
    Calibration

    Raises
    ------
    DataError
        If a number lacks a source (``page`` or ``assumption: true``), a percentage lies
        outside [0, 100], a distribution does not sum to 100, or an item, area, covariate
        or dimension is unknown or missing.
    """
    if isinstance(calibration, Calibration):
        return calibration
    if calibration is None:
        if _DEFAULT:
            return _DEFAULT[0]
        raw, source = _load_yaml(resource_text("calibration.yaml")), "<packaged>"
    elif isinstance(calibration, Mapping):
        raw, source = copy.deepcopy(dict(calibration)), "<dict>"
    elif isinstance(calibration, (str, os.PathLike)):
        path = Path(calibration)
        if not path.is_file():
            raise DataError(f"calibration file {str(path)!r} does not exist")
        try:
            raw = _load_yaml(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise DataError(f"calibration file {str(path)!r} is not valid YAML: {exc}") from None
        source = str(path)
    else:
        raise DataError(
            "calibration must be None, a path to a YAML file, a mapping or a Calibration; "
            f"got {type(calibration).__name__}"
        )
    _validate(raw)
    key = hashlib.sha256(json.dumps(raw, sort_keys=True, default=str).encode()).hexdigest()
    cal = Calibration(raw=raw, key=key[:16], source=source)
    if calibration is None:
        _DEFAULT.append(cal)
    return cal


_DEFAULT: list[Calibration] = []


def _load_yaml(text: str) -> Any:
    # the C loader is ~10x faster; fall back to the pure-Python one where libyaml is absent
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(text, Loader=loader)


def assumption_entries(calibration: Calibration | None = None) -> list[dict[str, Any]]:
    """Every calibration entry marked ``assumption: true``, with its path, value and note.

    Parameters
    ----------
    calibration : Calibration, optional
        Default: the packaged calibration.

    Returns
    -------
    list of dict
        Keys ``path``, ``value``, ``page`` (None if no report page) and ``note``.
    """
    cal = load_calibration(calibration)
    return [
        {"path": p, "value": e["value"], "page": e.get("page"), "note": e.get("note", "")}
        for p, e in _walk(cal.raw, "")
        if e.get("assumption") is True
    ]
