"""The survey's codebook as objects.

The questions, item labels and the few response categories the report confirms come from the
report extraction ``codebook.yaml`` (shipped unchanged in ``civmodels/data/_files``). The
report's questionnaire could not be read, so some response scales are unknown there. This
module completes them with *assumed* scales, and every assumed category carries
``confirmed=False``; ``docs/data.md`` lists them.

Conventions used by every loader and by the simulator:

* ordinal items are ordered categoricals whose categories are the Danish labels, lowest first;
* binary and multiple-choice (ticked / not ticked) items are categoricals ``["Nej", "Ja"]``;
* nominal items are unordered categoricals in codebook order;
* 'Ved ikke' (don't know) is never a category: the item is missing and the companion column
  ``<item>_dk`` is ``True``. Missing with ``<item>_dk`` ``False`` means not answered.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import yaml

from ._resources import resource_text

__all__ = [
    "AREAS",
    "BATTERIES",
    "DONT_KNOW_CODE",
    "DONT_KNOW_COUNT_CODE",
    "DONT_KNOW_LABEL",
    "Category",
    "Codebook",
    "Question",
    "load_codebook",
]

DONT_KNOW_LABEL = "Ved ikke"
#: Numeric code of 'Ved ikke' in SPSS/Stata exports of categorical items.
DONT_KNOW_CODE = 9
#: Numeric code of 'Ved ikke' for the count item (9 is a valid count there).
DONT_KNOW_COUNT_CODE = 9999

#: The three Likert batteries of chapter 6.
BATTERIES = ("motivations", "realised_value", "barriers")

TYPES = ("ordinal", "binary", "count", "nominal", "multiple")


@dataclass(frozen=True)
class Category:
    """One response category.

    Attributes
    ----------
    code : str
        Stable machine code (``"meget_vigtigt"``, ``"yes"``, ...).
    label_da, label_en : str
        Danish label (the value stored in data frames) and English label.
    value : int
        Numeric code used in SPSS/Stata exports.
    confirmed : bool
        True if the label appears verbatim in the accessible text of the report; False if it
        is a placeholder inferred from context (an assumption of this package).
    """

    code: str
    label_da: str
    label_en: str
    value: int
    confirmed: bool


@dataclass(frozen=True)
class Question:
    """One variable of the survey: a question, a battery item or an independent variable.

    Attributes
    ----------
    id : str
        Column name in the survey data (``"mot_cost_effectiveness"``).
    label_da, label_en : str
        Short Danish and English labels (the Resumé's wording, not necessarily the exact
        question text).
    type : {"ordinal", "binary", "count", "nominal", "multiple"}
        ``multiple`` is one option of a multiple-choice question (ticked = ``"Ja"``).
    categories : tuple of Category
        Response categories, lowest first for ordinal items; empty for counts.
    dont_know : bool
        Whether 'Ved ikke' is assumed to be offered (the report does not say for any item).
    battery : str or None
        The multi-item question the item belongs to (``"motivations"``, ``"realised_value"``,
        ``"barriers"``, ``"inspiration_sources"``, ``"partner_types"``, ``"support_forms"``,
        ``"initiator"``), else None.
    group : str or None
        Item group inside a battery (``"economic_effect"`` for the economic motivations).
    section : int
        Questionnaire section (1 = ch. 3 policy, 2 = ch. 4 collaborations, 3 = ch. 5
        organisation, 4 = ch. 6 value); the simulator's breakoff follows this order.
    chapter : int or None
        Report chapter that analyses the item.
    pages : tuple of int
        Report pages that mention the item.
    confirmed : bool
        True when every category label is confirmed by the report.
    simulated : bool
        Whether the bundled synthetic survey contains the item as a column.
    role : {"item", "independent"}
        Survey item or independent (grouping) variable.
    note : str
        Provenance remarks.
    """

    id: str
    label_da: str
    label_en: str
    type: str
    categories: tuple[Category, ...] = ()
    dont_know: bool = False
    battery: str | None = None
    group: str | None = None
    section: int = 0
    chapter: int | None = None
    pages: tuple[int, ...] = ()
    confirmed: bool = True
    simulated: bool = True
    role: str = "item"
    note: str = ""

    @property
    def labels_da(self) -> list[str]:
        """Danish category labels in codebook order (lowest first for ordinal items)."""
        return [c.label_da for c in self.categories]

    @property
    def labels_en(self) -> list[str]:
        """English category labels in codebook order."""
        return [c.label_en for c in self.categories]

    @property
    def codes(self) -> list[str]:
        """Category codes in codebook order."""
        return [c.code for c in self.categories]

    @property
    def ordered(self) -> bool:
        """True for ordinal items."""
        return self.type == "ordinal"

    @property
    def dont_know_code(self) -> int | None:
        """Numeric code of 'Ved ikke' in SPSS/Stata exports (None if not offered)."""
        if not self.dont_know:
            return None
        return DONT_KNOW_COUNT_CODE if self.type == "count" else DONT_KNOW_CODE

    def dtype(self) -> pd.CategoricalDtype:
        """The pandas dtype of the item's column (Danish labels as categories)."""
        if self.type == "count":
            raise TypeError(f"{self.id!r} is a count item; its column is numeric (float64)")
        return pd.CategoricalDtype(self.labels_da, ordered=self.ordered)

    def category(self, label: str) -> Category:
        """Return the category whose Danish label, English label or code is ``label``."""
        key = str(label).strip().casefold()
        for c in self.categories:
            if key in (c.label_da.casefold(), c.label_en.casefold(), c.code.casefold()):
                return c
        raise KeyError(f"{label!r} is not a category of {self.id!r}; allowed: {self.labels_da}")


# ---------------------------------------------------------------------------------------
# Scales the report does not give. Every category here is confirmed=False unless the label
# appears verbatim in the report extraction (see codebook.yaml).
# ---------------------------------------------------------------------------------------
_YES_NO = (("no", "Nej", "No", False), ("yes", "Ja", "Yes", True))
_TICKED = (("no", "Nej", "Not ticked", False), ("yes", "Ja", "Ticked", False))
_FREQUENCY = (
    ("never", "Aldrig", "Never", False),
    ("rarely", "Sjældent", "Rarely", False),
    ("sometimes", "Nogle gange", "Sometimes", False),
    ("often", "Ofte", "Often", True),
    ("always", "Altid", "Always", True),
)
# realised value and barriers: the report speaks of 'tilslutning' (agreement) without the
# scale; a 4-point degree scale matching the 4-point motivation scale is assumed.
_DEGREE = (
    ("not_at_all", "Slet ikke", "Not at all", False),
    ("small", "I mindre grad", "To a small extent", False),
    ("some", "I nogen grad", "To some extent", False),
    ("high", "I høj grad", "To a high extent", False),
)

_SECTIONS = {3: 1, 4: 2, 5: 3, 6: 4}

# Items of the yaml that the simulator does not generate (open or repeated-block answers
# whose categories are unknown).
_NOT_SIMULATED = {"cc_issue", "cc_target_group", "cc_task_type"}

# Yaml question types mapped onto the five types used here.
_MULTI_ITEM_TYPE = {
    "inspiration_sources": ("multiple", _TICKED),
    "partner_types": ("multiple", _TICKED),
    "support_forms": ("multiple", _TICKED),
    "initiator": ("ordinal", _FREQUENCY),
    "realised_value": ("ordinal", _DEGREE),
    "barriers": ("ordinal", _DEGREE),
}

# 'Ved ikke' is assumed to be offered on the rating batteries, the cross-departmental
# frequency and the count the report calls hard to estimate (method.md section 6).
_DONT_KNOW = {"motivations", "realised_value", "barriers"}
_DONT_KNOW_SINGLE = {"cross_departmental_frequency", "n_ongoing_collaborations"}

# Evaluation: the Resumé gives three answers that cannot exhaust a single-choice question
# (25 % + 'slightly more' + 10 %); a fourth, unconfirmed 'other evaluation' category closes it.
_EVALUATION_EXTRA = ("other", "Anden form for evaluering", "Other evaluation", False)
# Formalisation is described as a contrast; its two answers are assumed.
_FORMALISATION = (
    ("informal", "Uformelle/netværksbaserede samarbejder", "Informal / network-based", False),
    ("formalised", "Formaliserede samarbejder", "Formalised", False),
)


def _cats(spec: tuple[tuple[str, str, str, bool], ...], start: int = 1) -> tuple[Category, ...]:
    return tuple(
        Category(code=c, label_da=da, label_en=en, value=start + i, confirmed=conf)
        for i, (c, da, en, conf) in enumerate(spec)
    )


def _binary_cats(confirmed_yes: bool) -> tuple[Category, ...]:
    # Binary exports code Nej = 0, Ja = 1 (event second).
    return (
        Category("no", "Nej", "No", 0, False),
        Category("yes", "Ja", "Yes", 1, confirmed_yes),
    )


def _repair(node: Any) -> Any:
    """Rejoin text that YAML split at unquoted commas inside flow mappings.

    ``{da: I et center/en enhed, der koordinerer alle samarbejder, en: ...}`` parses as
    ``da: "I et center/en enhed"`` plus a stray key ``"der koordinerer alle samarbejder"``
    with no value. The report extraction has a few such lines; the stray keys are appended
    back to the preceding text field (the source file is kept unchanged).
    """
    if isinstance(node, list):
        return [_repair(v) for v in node]
    if not isinstance(node, dict):
        return node
    out: dict[Any, Any] = {}
    last: Any = None
    for k, v in node.items():
        if v is None and last is not None and isinstance(out[last], str):
            out[last] = f"{out[last]}, {k}"
            continue
        out[k] = _repair(v)
        last = k
    return out


def _pages(raw: Any) -> tuple[int, ...]:
    if raw is None:
        return ()
    if isinstance(raw, (int, str)):
        raw = [raw]
    return tuple(int(p) for p in raw)


def _yaml_cats(raw: list[Mapping[str, Any]]) -> list[tuple[str, str, str, bool]]:
    return [(str(c["code"]), c["da"], c["en"], bool(c.get("confirmed", False))) for c in raw]


def _build(raw: Mapping[str, Any]) -> tuple[list[Question], list[Question]]:
    items: list[Question] = []
    for q in raw["questions"]:
        qid = q["id"]
        chapter = q.get("chapter")
        section = _SECTIONS.get(chapter, 0)
        pages = _pages(q.get("page"))
        common = dict(section=section, chapter=chapter, pages=pages)
        if qid == "motivations":
            scale = sorted(q["scale"], key=lambda c: c["code"])
            spec = tuple(
                (
                    str(c["en"]).lower().replace(" ", "_"),
                    c["da"],
                    c["en"],
                    bool(c.get("confirmed", False)),
                )
                for c in scale
            )
            cats = _cats(spec)
            for grp, members in q["item_groups"].items():
                for it in members:
                    items.append(
                        Question(
                            it["id"],
                            it["da"],
                            it["en"],
                            "ordinal",
                            cats,
                            dont_know=True,
                            battery=qid,
                            group=grp,
                            confirmed=all(c.confirmed for c in cats),
                            **common,
                        )
                    )
        elif qid in _MULTI_ITEM_TYPE:
            kind, spec = _MULTI_ITEM_TYPE[qid]
            cats = _binary_cats(False) if kind == "multiple" else _cats(spec)
            for it in q["items"]:
                items.append(
                    Question(
                        it["id"],
                        it["da"],
                        it["en"],
                        kind,
                        cats,
                        dont_know=qid in _DONT_KNOW,
                        battery=qid,
                        confirmed=False,
                        note=str(it.get("note", "")),
                        **common,
                    )
                )
        elif qid == "concrete_collaboration_block":
            for it in q["sub_items"]:
                sid = it["id"]
                if sid == "cc_partners_n":
                    cats = _cats(
                        tuple((str(c["code"]), c["da"], c["en"], False) for c in it["categories"])
                    )
                    items.append(
                        Question(
                            sid,
                            it["da"],
                            it["en"],
                            "nominal",
                            cats,
                            battery=qid,
                            confirmed=False,
                            **common,
                        )
                    )
                else:
                    items.append(
                        Question(
                            sid,
                            it["da"],
                            it["en"],
                            "nominal",
                            (),
                            battery=qid,
                            confirmed=False,
                            simulated=sid not in _NOT_SIMULATED,
                            note=str(it.get("note", "")),
                            **common,
                        )
                    )
        elif qid == "new_focus_last_year":
            items.append(
                Question(
                    qid,
                    q["label_da"],
                    q["label_en"],
                    "binary",
                    _binary_cats(True),
                    **common,
                    confirmed=False,
                )
            )
        elif qid == "n_ongoing_collaborations":
            items.append(
                Question(
                    qid,
                    q["label_da"],
                    q["label_en"],
                    "count",
                    (),
                    dont_know=True,
                    note=str(q["summary"]["note"]),
                    **common,
                )
            )
        elif qid == "cross_departmental_frequency":
            # The yaml lists Altid ... Aldrig; data are lowest first.
            spec = tuple(reversed(_yaml_cats(q["categories"])))
            cats = _cats(spec)
            items.append(
                Question(
                    qid,
                    q["label_da"],
                    q["label_en"],
                    "ordinal",
                    cats,
                    dont_know=True,
                    confirmed=False,
                    note=str(q.get("note", "")),
                    **common,
                )
            )
        elif qid == "formalisation":
            items.append(
                Question(
                    qid,
                    q["label_da"],
                    q["label_en"],
                    "nominal",
                    _cats(_FORMALISATION),
                    confirmed=False,
                    note=str(q.get("note", "")),
                    **common,
                )
            )
        elif qid == "evaluation":
            spec = (*_yaml_cats(q["categories"]), _EVALUATION_EXTRA)
            items.append(
                Question(
                    qid,
                    q["label_da"],
                    q["label_en"],
                    "nominal",
                    _cats(spec),
                    confirmed=False,
                    **common,
                )
            )
        elif "categories" in q:
            spec = tuple(_yaml_cats(q["categories"]))
            items.append(
                Question(
                    qid,
                    q["label_da"],
                    q["label_en"],
                    "nominal",
                    _cats(spec),
                    confirmed=all(s[3] for s in spec),
                    note=str(q.get("note", "")),
                    **common,
                )
            )
        else:  # pragma: no cover - guards a future codebook.yaml with a new question shape
            raise ValueError(f"codebook.yaml question {qid!r} has a shape civmodels cannot map")
    items = [
        Question(**{**it.__dict__, "dont_know": it.dont_know or it.id in _DONT_KNOW_SINGLE})
        for it in items
    ]

    independent: list[Question] = []
    for v in raw["independent_variables"]:
        cats_raw = v.get("categories")
        cats = _cats(tuple(_yaml_cats(cats_raw))) if isinstance(cats_raw, list) else ()
        independent.append(
            Question(
                v["id"],
                v["label_da"],
                v["label_en"],
                v["type"],
                cats,
                role="independent",
                pages=_pages(v.get("page")),
                confirmed=bool(cats) and all(c.confirmed for c in cats),
                simulated=False,
                note=str(v.get("note", "")),
            )
        )
    return items, independent


class Codebook(Mapping[str, Question]):
    """The survey's codebook: look up an item by id, filter items, tabulate.

    Build it with :func:`load_codebook`; the package-level ``civmodels.data.codebook`` is
    the bundled one.

    Examples
    --------
    >>> from civmodels.data import codebook
    >>> codebook["mot_cost_effectiveness"].labels_da
    ['Slet ikke vigtigt', 'Mindre vigtigt', 'Vigtigt', 'Meget vigtigt']
    >>> [q.id for q in codebook.items(battery="barriers")][:2]
    ['bar_missing_documentation_tools', 'bar_staff_knowledge']
    """

    def __init__(
        self, questions: list[Question], independent: list[Question], meta: Mapping[str, Any]
    ):
        self._questions = {q.id: q for q in questions}
        self._independent = {q.id: q for q in independent}
        self.meta: dict[str, Any] = dict(meta)
        if len(self._questions) != len(questions):
            raise ValueError("codebook has duplicated item ids")

    def __getitem__(self, key: str) -> Question:
        if key in self._questions:
            return self._questions[key]
        if key in self._independent:
            return self._independent[key]
        close = difflib.get_close_matches(key, list(self._questions), n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise KeyError(f"{key!r} is not an item of the codebook{hint}")

    def __iter__(self) -> Iterator[str]:
        return iter(self._questions)

    def __len__(self) -> int:
        return len(self._questions)

    def __contains__(self, key: object) -> bool:
        return key in self._questions or key in self._independent

    def __repr__(self) -> str:
        return f"<Codebook: {len(self)} items, {len(self._independent)} independent variables>"

    @property
    def independent(self) -> tuple[Question, ...]:
        """The independent (grouping) variables: policy area, size, bloc, region, pressure."""
        return tuple(self._independent.values())

    @property
    def areas(self) -> list[str]:
        """Policy-area codes in codebook order."""
        return self._independent["policy_area"].codes

    def items(  # type: ignore[override]
        self,
        battery: str | None = None,
        *,
        type: str | None = None,
        section: int | None = None,
        simulated: bool | None = None,
    ) -> list[Question]:
        """Items of the codebook, optionally filtered.

        Parameters
        ----------
        battery : str, optional
            Keep items of this battery (``"motivations"``, ``"realised_value"``,
            ``"barriers"``, ``"inspiration_sources"``, ``"partner_types"``,
            ``"support_forms"``, ``"initiator"``).
        type : str, optional
            Keep items of this type (``"ordinal"``, ``"binary"``, ``"count"``, ``"nominal"``,
            ``"multiple"``).
        section : int, optional
            Keep items of this questionnaire section (1-4).
        simulated : bool, optional
            Keep items that are (True) or are not (False) columns of the survey data.

        Returns
        -------
        list of Question
            In codebook order.

        Note: unlike ``dict.items`` this returns questions, not ``(key, value)`` pairs.
        """
        out = list(self._questions.values())
        if battery is not None:
            known = {q.battery for q in out if q.battery}
            if battery not in known:
                raise KeyError(f"battery={battery!r} is unknown; allowed: {sorted(known)}")
            out = [q for q in out if q.battery == battery]
        if type is not None:
            if type not in TYPES:
                raise ValueError(f"type={type!r} is unknown; allowed: {list(TYPES)}")
            out = [q for q in out if q.type == type]
        if section is not None:
            out = [q for q in out if q.section == section]
        if simulated is not None:
            out = [q for q in out if q.simulated == simulated]
        return out

    def survey_columns(self) -> list[str]:
        """Ids of the items that are columns of the survey data, in questionnaire order."""
        return [q.id for q in self.items(simulated=True)]

    def to_frame(self, *, categories: bool = False) -> pd.DataFrame:
        """One row per item (or, with ``categories=True``, per item and category).

        Parameters
        ----------
        categories : bool, default False
            Expand the categories into rows (columns ``category_code``, ``label_da``,
            ``label_en``, ``value``, ``confirmed``).

        Returns
        -------
        pandas.DataFrame
        """
        if not categories:
            rows = [
                {
                    "id": q.id,
                    "label_da": q.label_da,
                    "label_en": q.label_en,
                    "type": q.type,
                    "battery": q.battery,
                    "group": q.group,
                    "section": q.section,
                    "chapter": q.chapter,
                    "n_categories": len(q.categories),
                    "categories_da": " | ".join(q.labels_da),
                    "dont_know": q.dont_know,
                    "confirmed": q.confirmed,
                    "simulated": q.simulated,
                    "pages": ",".join(str(p) for p in q.pages),
                }
                for q in self._questions.values()
            ]
            return pd.DataFrame(rows)
        rows = [
            {
                "id": q.id,
                "category_code": c.code,
                "label_da": c.label_da,
                "label_en": c.label_en,
                "value": c.value,
                "confirmed": c.confirmed,
            }
            for q in self._questions.values()
            for c in q.categories
        ]
        return pd.DataFrame(rows)


@dataclass(frozen=True)
class _Cache:
    value: dict[str, Codebook] = field(default_factory=dict)


_CACHE = _Cache()


def load_codebook() -> Codebook:
    """Parse the packaged ``codebook.yaml`` into a :class:`Codebook` (cached).

    Returns
    -------
    Codebook
    """
    if "default" not in _CACHE.value:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        raw = _repair(yaml.load(resource_text("codebook.yaml"), Loader=loader))
        items, independent = _build(raw)
        _CACHE.value["default"] = Codebook(items, independent, raw.get("meta", {}))
    return _CACHE.value["default"]


#: Policy-area codes in codebook order.
AREAS: tuple[str, ...] = tuple(load_codebook().areas)
