"""Reading and writing survey data: the bundled synthetic survey and real exports.

Every loader returns the same structure (see :func:`read_survey`): one row per responding
department head; identifier columns, the municipality covariates joined from the real frame,
one column per codebook item and a boolean ``<item>_dk`` companion per item.

'Ved ikke' convention: an item answered 'Ved ikke' is missing (NaN) with ``<item>_dk`` True;
an item missing with ``<item>_dk`` False was not answered (skipped or after breakoff).
"""

from __future__ import annotations

import csv
import difflib
import os
import re
import unicodedata
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from io import StringIO
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import DataError
from ._positions import (
    COVARIATES,
    _positions,
    join_municipality,
    load_municipalities,
    over_capacity_cells,
)
from ._resources import resource_text
from .codebook import AREAS, DONT_KNOW_COUNT_CODE, DONT_KNOW_LABEL, Question, load_codebook

__all__ = [
    "ID_COLUMNS",
    "ReadReport",
    "load_survey",
    "read_survey",
    "write_survey",
]

#: Identifier columns at the front of every survey frame.
ID_COLUMNS: tuple[str, ...] = (
    "respondent_id",
    "position_id",
    "municipality_code",
    "municipality",
    "area",
)
_FORMATS = {".csv": "csv", ".sav": "sav", ".zsav": "sav", ".dta": "dta"}
_DK_SPELLINGS = {"ved ikke", "ved ikke.", "don't know", "dont know", "do not know"}
# separators recognised in a CSV header, in order of preference on ties
_SEPARATORS = (",", ";", "\t")
_EXCEL_SEP = re.compile(r"sep=(.)")
_SEP_ALIASES = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";"}
# cell values that mark a missing answer in common exports; in an item column they are an
# error unless read_survey(missing_values=...) declares them
_MISSING_MARKERS = frozenset({"n/a", "na", "nan", "n.a.", "#n/a", ".", "-", "--", "none", "null"})
# spellings of a <item>_dk flag (after _norm); numbers 0 and 1 are accepted too
_DK_TRUE = frozenset({"true", "ja", "yes", "sand"})
_DK_FALSE = frozenset({"false", "nej", "no", "falsk"})
_FREE_TEXT_EXTRA = 3  # unknown distinct values beyond the category count that mean free text


@dataclass(frozen=True)
class ReadReport:
    """What :func:`read_survey` did to the file: rows excluded, columns added, typed or replaced.

    Attached to the returned frame as ``data.attrs["read_report"]``.

    Attributes
    ----------
    source : str
        The file read.
    n_rows_read : int
        Rows in the file.
    n_dropped : int
        Rows excluded because they answer no item at all (not respondents).
    dropped_respondent_ids : tuple
        Their respondent ids.
    missing_items : tuple of str
        Codebook items absent from the file, added as all-missing columns.
    extra_columns : tuple of str
        Columns of the file that are not codebook items or identifiers (kept, at the end).
    extra_types : dict of str to str
        The type each extra column was given: ``"numeric"`` (float; every non-missing cell
        is a number, decimal commas included) or ``"text"`` (kept as written).
    replaced_columns : tuple of str
        Covariate columns of the file replaced by the values of the municipality frame.
    n_dont_know : dict of str to int
        'Ved ikke' answers per item.
    n_set_missing : dict of str to int
        Cells per column set to missing because they held one of ``missing_values``.
    over_capacity : tuple of str
        Municipality x area cells with more respondents than the assumed 838-position frame
        has positions (their surplus respondents have a missing ``position_id``).
    separator : str or None
        The separator of a CSV file (given or detected); None for SPSS/Stata.
    """

    source: str
    n_rows_read: int
    n_dropped: int = 0
    dropped_respondent_ids: tuple[Any, ...] = ()
    missing_items: tuple[str, ...] = ()
    extra_columns: tuple[str, ...] = ()
    extra_types: dict[str, str] = field(default_factory=dict)
    replaced_columns: tuple[str, ...] = ()
    n_dont_know: dict[str, int] = field(default_factory=dict)
    n_set_missing: dict[str, int] = field(default_factory=dict)
    over_capacity: tuple[str, ...] = ()
    separator: str | None = None

    def describe(self) -> str:
        """A short human-readable account."""
        sep = f" ({_sep_name(self.separator)}-separated)" if self.separator else ""
        lines = [
            f"read {self.n_rows_read} rows from {self.source}{sep}; "
            f"{self.n_rows_read - self.n_dropped} respondents kept, {self.n_dropped} dropped"
            + (" (no item answered)" if self.n_dropped else "")
        ]
        if self.missing_items:
            lines.append(f"items not in the file (all missing): {', '.join(self.missing_items)}")
        if self.replaced_columns:
            lines.append(
                "covariates replaced by the municipality frame: " + ", ".join(self.replaced_columns)
            )
        if self.extra_columns:
            typed = [f"{c} ({self.extra_types.get(c, 'text')})" for c in self.extra_columns]
            lines.append(f"extra columns kept: {', '.join(typed)}")
        if self.n_set_missing:
            lines.append(
                "cells set to missing by missing_values: "
                + ", ".join(f"{c}: {n}" for c, n in self.n_set_missing.items())
            )
        if self.over_capacity:
            lines.append(
                "respondents without a position in the assumed frame: "
                + "; ".join(self.over_capacity)
            )
        n_dk = sum(self.n_dont_know.values())
        lines.append(f"'Ved ikke' answers: {n_dk}")
        return "\n".join(lines)


def _norm(x: object) -> str:
    return unicodedata.normalize("NFC", str(x)).strip().casefold()


def _name_key(x: object) -> str:
    s = _norm(x)
    for suffix in (" regionskommune", " kommune"):
        if s.endswith(suffix):
            s = s[: -len(suffix)]
    if s == "københavns":
        s = "københavn"
    if s == "bornholms":
        s = "bornholm"
    return s


def _fmt_values(values: list[Any], n: int = 8) -> str:
    shown = ", ".join(repr(v) for v in values[:n])
    return shown + (f", ... ({len(values)} in all)" if len(values) > n else "")


# ------------------------------------------------------------------------------------------
# Reading
# ------------------------------------------------------------------------------------------
def _check_sep(sep: object) -> str | None:
    if sep is None:
        return None
    alias = _SEP_ALIASES.get(sep.strip().lower(), sep) if isinstance(sep, str) else sep
    if not isinstance(alias, str) or len(alias) != 1 or alias.isalnum() or alias in "\"'\r\n ":
        raise DataError(
            f"sep must be one separator character such as ',', ';' or 'tab', got {sep!r}"
        )
    return alias


def _sep_name(sep: str) -> str:
    return "tab" if sep == "\t" else repr(sep)


def _separator_counts(line: str) -> dict[str, int]:
    """How often each usual separator occurs in a header line, outside double quotes."""
    counts = dict.fromkeys(_SEPARATORS, 0)
    quoted = False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    return counts


def _empty_file_error(path: Path) -> DataError:
    return DataError(
        f"{str(path)!r} is empty: it has no header line and no rows; export the survey again "
        "with the column names in the first row and one row per respondent"
    )


def _read_csv(path: Path, sep: str | None) -> tuple[pd.DataFrame, str]:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            data.decode("cp1252")
            guess = " (it looks like Windows-1252, which Excel's 'CSV (semikolonsepareret)' writes)"
        except UnicodeDecodeError:
            guess = ""
        raise DataError(
            f"{str(path)!r} is not UTF-8{guess}; save the CSV as UTF-8 (Excel: 'CSV UTF-8')"
        ) from None
    if not text.strip():
        raise _empty_file_error(path)
    lines = [line for line in text.splitlines() if line.strip()]
    excel_hint = _EXCEL_SEP.fullmatch(lines[0].strip(" \r\n"))
    if excel_hint:
        # Excel's "sep=;" first line names the separator; it is not part of the table
        text = text.split(lines[0], 1)[1]
        if sep is None:
            sep = excel_hint.group(1)
        if len(lines) == 1:
            raise _empty_file_error(path)
        lines = lines[1:]
    header = lines[0]
    counts = _separator_counts(header)
    # the usual separator that occurs most often in the header; ',' wins ties and is the
    # default for a header without any (a one-column file)
    detected = max(counts, key=lambda c: counts[c]) if any(counts.values()) else ","
    use = detected if sep is None else sep
    others = [c for c in _SEPARATORS if c != use and counts[c] > 0]
    if sep is not None and others:
        hint = (
            f"; its header line contains {_sep_name(others[0])}: pass sep={others[0]!r}, or "
            "leave sep unset to detect the separator"
        )
    elif sep is None and not any(counts.values()):
        hint = (
            "; its header line contains none of ',', ';' and tab: pass the file's separator "
            "with sep="
        )
    else:
        hint = "; check the separator (sep=) and that text containing it is quoted"
    names = next(csv.reader([header], delimiter=use))
    dup_names = sorted({n for n in names if names.count(n) > 1})
    if dup_names:
        raise DataError(
            f"the header of {str(path)!r} names column(s) more than once: "
            f"{_fmt_values(dup_names)}; give every column its own name"
        )
    try:
        raw = pd.read_csv(StringIO(text), sep=use, dtype=str, keep_default_na=False, na_values=[""])
    except pd.errors.ParserError as exc:
        raise DataError(
            f"cannot read {str(path)!r} as a {_sep_name(use)}-separated file: "
            f"{str(exc).strip()}{hint}"
        ) from None
    if sep is not None and raw.shape[1] == 1 and others:
        raise DataError(f"with sep={sep!r}, {str(path)!r} has a single column{hint}")
    return raw, use


def _read_raw(path: Path, sep: str | None = None) -> tuple[pd.DataFrame, str | None]:
    """The file's table (all cells as read) and the CSV separator used (None for SAV/DTA)."""
    if not path.exists():
        raise DataError(f"survey file {str(path)!r} does not exist (absolute: {path.absolute()})")
    if path.is_dir():
        inside = sorted(p.name for p in path.iterdir() if p.suffix.lower() in _FORMATS)
        raise DataError(
            f"{str(path)!r} is a directory, not a survey file; give the path of the export "
            "itself (.csv, .sav or .dta)"
            + (f", e.g. one of {_fmt_values(inside, 5)} in it" if inside else "")
        )
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise DataError(
            f"cannot read {str(path)!r}: the file type {path.suffix or '(none)'!r} is not "
            "supported; export the survey as CSV (.csv), SPSS (.sav) or Stata (.dta)"
        )
    if fmt != "csv" and sep is not None:
        raise DataError(
            f"sep={sep!r} applies to CSV files only, and {str(path)!r} is a "
            f"{'SPSS' if fmt == 'sav' else 'Stata'} file; leave sep unset"
        )
    if path.stat().st_size == 0:
        raise _empty_file_error(path)
    if fmt == "csv":
        return _read_csv(path, sep)
    import pyreadstat

    reader = pyreadstat.read_sav if fmt == "sav" else pyreadstat.read_dta
    try:
        # user_missing=True keeps codes such as 9 = 'Ved ikke' that an export may declare
        # as user-missing; otherwise they would silently become NaN and lose the distinction.
        df, _ = reader(
            str(path), apply_value_formats=True, formats_as_category=False, user_missing=True
        )
    except Exception as exc:  # pyreadstat raises its own ReadstatError and others
        raise DataError(f"cannot read {str(path)!r} as {fmt.upper()}: {exc}") from None
    return df, None


def _is_blank(v: object) -> bool:
    """A missing cell: None, NaN, pandas NA, or text that is empty after stripping spaces."""
    if v is None or v is pd.NA:
        return True
    if isinstance(v, (float, np.floating)):
        return bool(np.isnan(v))
    return isinstance(v, str) and v.strip() == ""


def _rows(mask: np.ndarray, ids: pd.Series | None = None) -> str:
    """'rows 3, 9 (counting from 1 below the header; respondent ids 12, 40)'."""
    idx = np.flatnonzero(mask)
    shown = ", ".join(str(i + 1) for i in idx[:8]) + (
        f", ... ({len(idx)} in all)" if len(idx) > 8 else ""
    )
    text = f"row{'s' if len(idx) > 1 else ''} {shown} (counting from 1 below the header"
    if ids is not None:
        text += "; respondent id(s) " + ", ".join(repr(v) for v in ids.iloc[idx[:8]])
    return text + ")"


def _map_municipalities(raw: pd.DataFrame, m: pd.DataFrame, ids: pd.Series) -> np.ndarray:
    codes_known = set(m["code"].astype(int))
    by_name = {_name_key(n): int(c) for c, n in zip(m["code"], m["name"], strict=True)}
    present = [c for c in ("municipality_code", "municipality") if c in raw.columns]
    if not present:
        raise DataError(
            "the survey needs a column 'municipality_code' or 'municipality' (name); rename "
            "your column with read_survey(path, columns={'kommune': 'municipality'})"
        )
    n = len(raw)
    blank = {c: raw[c].map(_is_blank).to_numpy(dtype=bool) for c in present}
    nowhere = np.logical_and.reduce([blank[c] for c in present])
    if nowhere.any():
        cols = " and ".join(repr(c) for c in present)
        raise DataError(
            f"{'columns' if len(present) > 1 else 'column'} {cols} "
            f"{'are' if len(present) > 1 else 'is'} blank in {_rows(nowhere, ids)}; every "
            "respondent needs a municipality: fill in its name or kommunekode"
        )
    code_from_code = None
    if "municipality_code" in raw.columns:
        col = raw["municipality_code"].where(~blank["municipality_code"])
        num = pd.to_numeric(col, errors="coerce")
        # an SPSS/Stata export may label the codes with names; labels were applied on reading
        as_name = col.map(lambda v: by_name.get(_name_key(v)) if pd.notna(v) else None)
        labelled = num.isna() & as_name.notna()
        num = num.where(~labelled, as_name)
        bad_mask = col.notna() & (num.isna() | (num % 1 != 0) | ~num.isin(list(codes_known)))
        if bad_mask.any():
            bad = sorted({str(v) for v in col[bad_mask]})
            raise DataError(
                f"column 'municipality_code' has {len(bad)} value(s) that are not codes of "
                f"the 98 municipalities: {_fmt_values(bad)}; codes are Statistics Denmark's "
                "3-digit kommunekoder (101 ... 860), see civmodels.data.load_municipalities()"
            )
        code_from_code = num.to_numpy(dtype=float, na_value=np.nan)
    code_from_name = None
    if "municipality" in raw.columns:
        names = raw["municipality"].to_numpy(dtype=object)
        keys = [
            None if b else _name_key(v) for v, b in zip(names, blank["municipality"], strict=True)
        ]
        unknown = sorted(
            {str(v) for v, k in zip(names, keys, strict=True) if k is not None and k not in by_name}
        )
        if unknown:
            hints = []
            for u in unknown[:8]:
                close = difflib.get_close_matches(_name_key(u), list(by_name), n=2, cutoff=0.6)
                named = [m.loc[m["code"] == by_name[c], "name"].iloc[0] for c in close]
                hints.append(
                    f"{u!r} (did you mean {' or '.join(map(repr, named))}?)" if named else repr(u)
                )
            raise DataError(
                f"column 'municipality' has {len(unknown)} name(s) not in the 98-municipality "
                f"frame: {', '.join(hints)}; use the short names of load_municipalities() "
                "or give 'municipality_code'"
            )
        code_from_name = np.array([np.nan if k is None else by_name[k] for k in keys], dtype=float)
    if code_from_code is not None and code_from_name is not None:
        both = ~np.isnan(code_from_code) & ~np.isnan(code_from_name)
        clash = np.flatnonzero(both & (code_from_code != code_from_name))
        if len(clash):
            rows = ", ".join(
                f"row {i + 1}: code {int(code_from_code[i])} vs name "
                f"{raw['municipality'].iloc[i]!r}"
                for i in clash[:5]
            )
            raise DataError(
                f"'municipality_code' and 'municipality' disagree in {len(clash)} row(s) "
                f"({rows}); fix the rows or drop one of the two columns"
            )
    codes = np.full(n, np.nan)
    for found in (code_from_name, code_from_code):  # the code wins where both are given
        if found is not None:
            codes = np.where(np.isnan(found), codes, found)
    return codes.astype("int64")


# a number written in a cell: digits with at most one decimal mark ('.' or ','), optional sign
# and exponent; no thousands separators, no 'nan' or 'inf'
_NUMBER = re.compile(r"[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?")


def _as_number(v: object) -> float | None:
    """The number a cell holds (int, float or numeric text, decimal comma allowed), else None."""
    if isinstance(v, (bool, np.bool_)):
        return None
    if isinstance(v, (int, float, np.integer, np.floating)):
        return float(v) if np.isfinite(v) else None
    text = str(v).strip()
    if not _NUMBER.fullmatch(text):
        return None
    return float(text.replace(",", "."))


def _map_area(col: pd.Series, numeric_codes: bool) -> pd.Categorical:
    q = load_codebook()["policy_area"]
    lookup = {}
    for c in q.categories:
        for key in (c.code, c.label_da, c.label_en):
            lookup[_norm(key)] = c.code
    by_value = {float(c.value): c.code for c in q.categories}
    mapped: list[str | None] = []
    numbers = []
    for v in col.to_numpy(dtype=object):
        if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
            mapped.append(None)
            continue
        num = _as_number(v)
        if num is not None:
            numbers.append(v)
            mapped.append(by_value.get(num) if numeric_codes else None)
        else:
            mapped.append(lookup.get(_norm(v)))
    if numbers and not numeric_codes:
        raise DataError(
            "column 'area' holds numbers without value labels "
            f"({_fmt_values(sorted(set(map(str, numbers))))}); "
            "export with value labels, or pass numeric_codes=True to read the codebook's "
            "codes (" + ", ".join(f"{c.value} = {c.label_da}" for c in q.categories) + ")"
        )
    bad = sorted({str(v) for v, mp in zip(col, mapped, strict=True) if mp is None and pd.notna(v)})
    if col.isna().any():
        bad = [*bad, "<missing>"]
    if bad:
        raise DataError(
            f"column 'area' has value(s) that are not policy areas of the codebook: "
            f"{_fmt_values(bad)}; allowed (code or Danish label): "
            + ", ".join(f"{c.code} / {c.label_da}" for c in q.categories)
        )
    return pd.Categorical(mapped, categories=list(AREAS))


def _is_dk(key: str) -> bool:
    return key in _DK_SPELLINGS


def _map_categorical(
    q: Question, col: pd.Series, numeric_codes: bool
) -> tuple[pd.Categorical, np.ndarray]:
    lookup: dict[str, int] = {}
    for i, c in enumerate(q.categories):
        for key in (c.code, c.label_da, c.label_en):
            lookup[_norm(key)] = i
    notna = pd.notna(col).to_numpy()
    codes = np.full(len(col), -1, dtype=np.int64)
    uniques = pd.unique(col[notna]) if notna.any() else []
    code_of: dict[Any, int] = {}
    unknown: list[Any] = []
    numeric_seen = False
    for u in uniques:
        num = _as_number(u)
        if num is not None:
            numeric_seen = True
            if numeric_codes:
                match = [i for i, c in enumerate(q.categories) if c.value == num]
                if match:
                    code_of[u] = match[0]
                    continue
                if num == q.dont_know_code:
                    code_of[u] = -2
                    continue
            unknown.append(u)
            continue
        key = _norm(u)
        if key == "":
            code_of[u] = -1
        elif _is_dk(key):
            code_of[u] = -2
        elif key in lookup:
            code_of[u] = lookup[key]
        else:
            unknown.append(u)
    markers = [u for u in unknown if _is_marker(u)]
    if markers:
        raise _stray_markers(q.id, col, markers, q.dont_know)
    if unknown:
        if numeric_seen and not numeric_codes:
            raise DataError(
                f"column {q.id!r} holds numbers without value labels ({_fmt_values(unknown)}); "
                f"it is a {q.type} item with categories {q.labels_da}. Export the file with "
                "value labels, or pass numeric_codes=True to read the codebook's numeric codes "
                f"({', '.join(f'{c.value} = {c.label_da}' for c in q.categories)}"
                + (f", {q.dont_know_code} = {DONT_KNOW_LABEL}" if q.dont_know else "")
                + ")"
            )
        codes_text = ", ".join(f"{c.value} = {c.label_da}" for c in q.categories) + (
            f", {q.dont_know_code} = {DONT_KNOW_LABEL}" if q.dont_know else ""
        )
        nums = [u for u in unknown if _as_number(u) is not None]
        if nums and numeric_codes:
            raise DataError(
                f"column {q.id!r} has number(s) that are not codebook codes of this "
                f"{q.type} item: {_fmt_values(sorted(map(str, nums)))}; allowed codes: "
                f"{codes_text}"
            )
        strs = [str(u) for u in unknown]
        if len(unknown) > len(q.categories) + _FREE_TEXT_EXTRA:
            raise DataError(
                f"column {q.id!r} looks like free text ({len(unknown)} distinct answers not in "
                f"the codebook, e.g. {_fmt_values(strs, 3)}); it is a {q.type} item that must "
                f"hold one of {q.labels_da}"
                + (f" or {DONT_KNOW_LABEL!r}" if q.dont_know else "")
                + "; recode the open answers to these categories before reading"
            )
        hints = []
        for s in strs[:5]:
            close = difflib.get_close_matches(s, q.labels_da, n=1, cutoff=0.5)
            hints.append(f"{s!r} (did you mean {close[0]!r}?)" if close else repr(s))
        raise DataError(
            f"column {q.id!r} has value label(s) not in the codebook: {', '.join(hints)}; "
            f"allowed: {q.labels_da}"
            + (f" and {DONT_KNOW_LABEL!r}" if q.dont_know else "")
            + "; recode them, or fix the export's value labels"
        )
    mapped = col.map(code_of).to_numpy(dtype=float, na_value=np.nan)
    dk = mapped == -2
    ok = mapped >= 0
    codes[ok] = mapped[ok].astype(np.int64)
    if dk.any() and not q.dont_know:
        raise DataError(
            f"column {q.id!r} has {int(dk.sum())} '{DONT_KNOW_LABEL}' answer(s), but the "
            f"codebook assumes the item does not offer '{DONT_KNOW_LABEL}'; recode them to "
            "missing if that is what they mean"
        )
    return pd.Categorical.from_codes(codes, dtype=q.dtype()), dk


def _map_count(q: Question, col: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    values = col.to_numpy(dtype=object)
    out = np.full(len(col), np.nan)
    dk = np.zeros(len(col), dtype=bool)
    bad: list[Any] = []
    markers: list[Any] = []
    for i, v in enumerate(values):
        if _is_blank(v):
            continue
        if isinstance(v, str) and _is_dk(_norm(v)):
            dk[i] = True
            continue
        num = _as_number(v)
        if num is None:
            (markers if _is_marker(v) else bad).append(v)
        elif q.dont_know_code is not None and num == q.dont_know_code:
            dk[i] = True
        elif num < 0 or num % 1 != 0:
            bad.append(v)
        else:
            out[i] = num
    if markers:
        raise _stray_markers(q.id, col, markers, q.dont_know)
    if bad:
        raise DataError(
            f"column {q.id!r} is a count but has {len(bad)} value(s) that are not "
            f"non-negative whole numbers or '{DONT_KNOW_LABEL}': "
            f"{_fmt_values(sorted({str(b) for b in bad}))}; clean them before reading"
        )
    return out, dk


def _is_marker(v: object) -> bool:
    return isinstance(v, str) and _norm(v) in _MISSING_MARKERS


def _stray_markers(name: str, col: pd.Series, markers: list[Any], dont_know: bool) -> DataError:
    """The error for missing-value markers such as 'n/a' among the answers of a column."""
    counts = col[col.isin(markers)].value_counts()
    listed = ", ".join(f"{v!r} ({n} time{'s' if n > 1 else ''})" for v, n in counts.items())
    them = "it" if len(counts) == 1 else "them"
    return DataError(
        f"column {name!r} holds {listed} among its values, which look like missing-value "
        f"markers rather than answers. If they mark unanswered questions, pass "
        f"missing_values={sorted(map(str, counts.index))!r} to read_survey to read {them} as "
        "missing"
        + (
            f"; if they mean '{DONT_KNOW_LABEL}', recode {them} to '{DONT_KNOW_LABEL}'"
            if dont_know
            else ""
        )
        + "; if they are something else, clean the column"
    )


def _parse_dk_flags(name: str, col: pd.Series) -> np.ndarray:
    """A ``<item>_dk`` column as booleans, accepting only the documented spellings."""
    flags = np.zeros(len(col), dtype=bool)
    unknown: list[Any] = []
    for i, v in enumerate(col.to_numpy(dtype=object)):
        if _is_blank(v):
            continue
        if isinstance(v, (bool, np.bool_)):
            flags[i] = bool(v)
            continue
        num = _as_number(v)
        if num is not None and num in (0.0, 1.0):
            flags[i] = num == 1.0
            continue
        key = _norm(v)
        if key in _DK_TRUE or _is_dk(key):
            flags[i] = True
        elif key not in _DK_FALSE:
            unknown.append(v)
    if unknown:
        counts = pd.Series(unknown, dtype=object).value_counts()
        listed = ", ".join(f"{v!r} ({n}x)" for v, n in counts.iloc[:8].items())
        raise DataError(
            f"column {name!r} has {len(counts)} value(s) that are not 'Ved ikke' flags: "
            f"{listed}; a '<item>_dk' column may hold true/false, 1/0, ja/nej, yes/no or "
            f"'{DONT_KNOW_LABEL}' (= true), or be empty (= false); recode the other values"
        )
    return flags


# an integer id written as text: ASCII digits, optionally with a zero decimal part ("12.0",
# as a numeric id column written to CSV by SPSS or pandas shows it)
_DIGITS = re.compile(r"([0-9]+)(?:\.0+)?")


def _normalise_ids(col: pd.Series) -> pd.Series:
    """Respondent ids by the documented rule, refusing missing and colliding ids.

    Surrounding spaces are removed; an id of ASCII digits only, optionally followed by a zero
    decimal part (``"12.0"``), or a whole number in an SPSS/Stata file, is the integer it
    spells. Ids are compared by that normalised value. The
    result is int64 when every id is an integer, otherwise text (the stripped ids as written).
    """
    values = col.to_numpy(dtype=object)
    keys: list[Any] = []
    texts: list[str] = []
    for v in values:
        if _is_blank(v):
            keys.append(None)
            texts.append("")
            continue
        if isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)):
            keys.append(int(v))
            texts.append(str(int(v)))
        elif isinstance(v, (float, np.floating)) and float(v).is_integer():
            keys.append(int(v))
            texts.append(str(int(v)))
        else:
            text = unicodedata.normalize("NFC", str(v)).strip()
            match = _DIGITS.fullmatch(text)
            keys.append(int(match.group(1)) if match else text)
            texts.append(text)
    absent = np.array([k is None for k in keys])
    if absent.any():
        raise DataError(
            f"column 'respondent_id' is blank in {_rows(absent)}; every row needs an id"
        )
    groups: dict[Any, list[int]] = {}
    for i, k in enumerate(keys):
        groups.setdefault(k, []).append(i)
    clashes = {k: rows for k, rows in groups.items() if len(rows) > 1}
    if clashes:
        shown = []
        for k, rows in list(clashes.items())[:5]:
            raws = ", ".join(f"{values[i]!r} in row {i + 1}" for i in rows[:4])
            shown.append(f"{k!r} ({raws}{', ...' if len(rows) > 4 else ''})")
        raise DataError(
            f"column 'respondent_id' has {len(clashes)} duplicated id(s): {'; '.join(shown)}. "
            "Ids are compared after removing surrounding spaces, and ids of digits only as "
            "integers ('01' and ' 1' are id 1); each responding head must appear once, so "
            "give these rows distinct ids"
        )
    if all(isinstance(k, int) for k in keys):
        return pd.Series(keys, index=col.index, dtype="int64")
    return pd.Series(texts, index=col.index, dtype=object)


def _check_missing_values(missing_values: object) -> tuple[frozenset[str], frozenset[float]]:
    if missing_values is None:
        return frozenset(), frozenset()
    if isinstance(missing_values, (str, bytes)) or not isinstance(
        missing_values, (list, tuple, set, frozenset)
    ):
        raise DataError(
            f"missing_values must be a list of cell values, e.g. missing_values=['n/a', '.'], "
            f"got {missing_values!r}"
        )
    texts, numbers = set(), set()
    for v in missing_values:
        if isinstance(v, str):
            if _is_dk(_norm(v)):
                raise DataError(
                    f"missing_values includes {v!r}, which is the '{DONT_KNOW_LABEL}' answer; "
                    "'Ved ikke' is read into the <item>_dk columns, not as missing — remove it"
                )
            texts.add(_norm(v))
        elif isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
            numbers.add(float(v))
        else:
            raise DataError(
                f"missing_values holds {v!r} ({type(v).__name__}); give text or numbers"
            )
    return frozenset(texts), frozenset(numbers)


def _apply_missing_values(
    raw: pd.DataFrame, cols: list[str], texts: frozenset[str], numbers: frozenset[float]
) -> dict[str, int]:
    """Set the cells of ``cols`` that hold a declared missing value to missing; count them."""
    counts: dict[str, int] = {}
    if not texts and not numbers:
        return counts
    for c in cols:
        hit = raw[c].map(
            lambda v: (isinstance(v, str) and _norm(v) in texts) or _as_number(v) in numbers
        )
        mask = hit.to_numpy(dtype=bool)
        if mask.any():
            raw[c] = raw[c].mask(mask)
            counts[c] = int(mask.sum())
    return counts


def _type_extra(name: str, col: pd.Series) -> tuple[pd.Series, str]:
    """An extra column as float when every non-missing cell is a number, else unchanged text."""
    if pd.api.types.is_bool_dtype(col.dtype):
        return col, "text"
    if pd.api.types.is_numeric_dtype(col.dtype):
        return col.astype("float64"), "numeric"
    parsed = np.full(len(col), np.nan)
    other: list[Any] = []
    marks = set()
    for i, v in enumerate(col.to_numpy(dtype=object)):
        if _is_blank(v):
            continue
        num = _as_number(v)
        if num is None:
            other.append(v)
            continue
        parsed[i] = num
        if isinstance(v, str):
            marks |= {c for c in ".," if c in v}
    if other:
        if not np.isnan(parsed).all() and all(_is_marker(v) for v in other):
            raise _stray_markers(name, col, sorted(set(other)), dont_know=False)
        return col, "text"
    if marks == {".", ","}:
        dots = [v for v in col.dropna() if isinstance(v, str) and "." in v]
        commas = [v for v in col.dropna() if isinstance(v, str) and "," in v]
        raise DataError(
            f"column {name!r} mixes decimal points and decimal commas (e.g. {dots[0]!r} and "
            f"{commas[0]!r}); one of them may be a thousands separator, which is not read. "
            "Write the numbers with one decimal mark and no thousands separators"
        )
    return pd.Series(parsed, index=col.index, dtype="float64"), "numeric"


def _check_renames(raw: pd.DataFrame, columns: Mapping[str, str], source: str) -> pd.DataFrame:
    absent = [k for k in columns if k not in raw.columns]
    if absent:
        raise DataError(
            f"columns= renames {absent}, which are not in {source}; its columns are "
            f"{_fmt_values(list(raw.columns), 12)}"
        )
    kept = [c for c in raw.columns if c not in columns]
    targets = list(columns.values())
    clash = sorted({t for t in targets if targets.count(t) > 1 or t in kept})
    if clash:
        raise DataError(
            f"columns= would give more than one column the name(s) {clash}: {source} already "
            "has such a column, or two columns are renamed to it; drop or rename the other one"
        )
    return raw.rename(columns=dict(columns))


def _standardise(
    raw: pd.DataFrame,
    source: str,
    *,
    columns: Mapping[str, str] | None = None,
    numeric_codes: bool = False,
    missing_values: object = None,
    separator: str | None = None,
) -> pd.DataFrame:
    miss_text, miss_num = _check_missing_values(missing_values)
    if columns:
        raw = _check_renames(raw, columns, source)
    raw = raw.reset_index(drop=True)
    if len(raw) == 0:
        raise DataError(
            f"{source} has column names but no rows: there are no respondents to read; "
            "export the survey again with its data rows"
        )
    cb = load_codebook()
    required = ["respondent_id", "area"]
    missing = [c for c in required if c not in raw.columns]
    if missing:
        hints = []
        for c in missing:
            close = difflib.get_close_matches(c, [str(x) for x in raw.columns], n=1)
            hints.append(f"{c!r}" + (f" (is it {close[0]!r}?)" if close else ""))
        one_column = (
            f" The file was read as a single column ({str(raw.columns[0])[:60]!r}); if it "
            "uses a separator other than ',', ';' or tab, pass sep="
            if raw.shape[1] == 1
            else ""
        )
        raise DataError(
            f"{source} lacks required column(s) {', '.join(hints)}; rename with "
            "read_survey(path, columns={'your_name': 'respondent_id', ...})." + one_column
        )
    rid = _normalise_ids(raw["respondent_id"])

    items = cb.items(simulated=True)
    dk_names = {f"{q.id}_dk" for q in items}
    known = set(ID_COLUMNS) | set(COVARIATES) | {q.id for q in items} | dk_names
    extra = [c for c in raw.columns if c not in known]
    raw = raw.copy()
    n_set_missing = _apply_missing_values(
        raw,
        [c for c in raw.columns if c in extra or c in dk_names or c in {q.id for q in items}],
        miss_text,
        miss_num,
    )

    m = load_municipalities()
    out = pd.DataFrame(index=raw.index)
    out["respondent_id"] = rid
    out["municipality_code"] = _map_municipalities(raw, m, rid)
    out["area"] = _map_area(raw["area"], numeric_codes)
    unplaced: tuple[str, ...] = ()
    if "position_id" in raw.columns:
        pid = pd.to_numeric(raw["position_id"], errors="coerce")
        if pid.isna().any() or (pid % 1 != 0).any():
            raise DataError("column 'position_id' must hold whole numbers without gaps")
        out["position_id"] = pid.astype("int64")
    else:
        out["position_id"], unplaced = _assign_positions(out)

    item_cols: dict[str, Any] = {}
    dk_cols: dict[str, np.ndarray] = {}
    missing_items = []
    for q in items:
        if q.id not in raw.columns:
            missing_items.append(q.id)
            item_cols[q.id] = (
                np.full(len(raw), np.nan)
                if q.type == "count"
                else pd.Categorical.from_codes(np.full(len(raw), -1), dtype=q.dtype())
            )
            dk_cols[f"{q.id}_dk"] = np.zeros(len(raw), dtype=bool)
            continue
        vals: np.ndarray | pd.Categorical
        if q.type == "count":
            vals, dk = _map_count(q, raw[q.id])
        else:
            vals, dk = _map_categorical(q, raw[q.id], numeric_codes)
        dk_name = f"{q.id}_dk"
        if dk_name in raw.columns:
            flag = _parse_dk_flags(dk_name, raw[dk_name])
            if isinstance(vals, pd.Categorical):
                clash = flag & (np.asarray(vals.codes) >= 0)
            else:
                clash = flag & ~np.isnan(vals)
            if clash.any():
                raise DataError(
                    f"column {dk_name!r} is true in {int(clash.sum())} row(s) where "
                    f"{q.id!r} has an answer; 'Ved ikke' rows must have the item missing"
                )
            if flag.any() and not q.dont_know:
                raise DataError(
                    f"column {dk_name!r} is true in {int(flag.sum())} row(s), but the "
                    f"codebook assumes {q.id!r} does not offer '{DONT_KNOW_LABEL}'; recode "
                    "them to false (not answered) if that is what they mean"
                )
            dk = dk | flag
        item_cols[q.id] = vals
        dk_cols[dk_name] = dk

    extra_types: dict[str, str] = {}
    extra_cols: dict[str, pd.Series] = {}
    for c in extra:
        extra_cols[c], extra_types[c] = _type_extra(c, raw[c])
    replaced = tuple(c for c in COVARIATES if c in raw.columns)

    answered = np.zeros(len(raw), dtype=bool)
    for q in items:
        v = item_cols[q.id]
        present = (np.asarray(v.codes) >= 0) if isinstance(v, pd.Categorical) else ~np.isnan(v)
        answered |= present | dk_cols[f"{q.id}_dk"]

    data = join_municipality(out, m)
    data = data[[*ID_COLUMNS, *COVARIATES]]
    data = pd.concat(
        [
            data,
            pd.DataFrame(item_cols),
            pd.DataFrame(dk_cols),
            pd.DataFrame(extra_cols, index=raw.index, columns=extra),
        ],
        axis=1,
    )
    dropped_ids = tuple(data.loc[~answered, "respondent_id"].tolist())
    if not answered.all():
        data = data.loc[answered].reset_index(drop=True)
        warnings.warn(
            f"read_survey: {len(dropped_ids)} row(s) of {source} answer no item and were "
            f"dropped (respondent ids {_fmt_values(list(dropped_ids), 5)}); see "
            "data.attrs['read_report']",
            UserWarning,
            stacklevel=3,
        )
    if missing_items:
        warnings.warn(
            f"read_survey: {len(missing_items)} codebook item(s) are not in {source} and were "
            f"added as all-missing columns: {_fmt_values(missing_items, 5)}",
            UserWarning,
            stacklevel=3,
        )
    if unplaced:
        warnings.warn(
            f"read_survey: respondents of {source} exceed the positions that the assumed "
            f"838-position frame has in {len(unplaced)} municipality x area cell(s): "
            f"{'; '.join(unplaced[:5])}; their position_id is missing, and load_frame(survey) "
            "refuses them until their municipality and area are checked",
            UserWarning,
            stacklevel=3,
        )
    data.attrs["read_report"] = ReadReport(
        source=source,
        n_rows_read=len(raw),
        n_dropped=len(dropped_ids),
        dropped_respondent_ids=dropped_ids,
        missing_items=tuple(missing_items),
        extra_columns=tuple(extra),
        extra_types=extra_types,
        replaced_columns=replaced,
        n_dont_know={q.id: int(dk_cols[f"{q.id}_dk"].sum()) for q in items},
        n_set_missing=n_set_missing,
        over_capacity=unplaced,
        separator=separator,
    )
    return data


def _assign_positions(out: pd.DataFrame) -> tuple[pd.Series, tuple[str, ...]]:
    """Give each respondent a free position of its municipality and area (in row order).

    Also returns the cells (as text) with more respondents than positions; their surplus
    respondents get a missing position_id.
    """
    frame = _positions()
    seat = out.groupby(["municipality_code", "area"], observed=True).cumcount() + 1
    key = pd.MultiIndex.from_arrays(
        [frame["municipality_code"], frame["area"].astype(str), frame["seat"]]
    )
    lookup = pd.Series(frame["position_id"].to_numpy(), index=key)
    idx = pd.MultiIndex.from_arrays([out["municipality_code"], out["area"].astype(str), seat])
    pid = lookup.reindex(idx)
    if not pid.isna().any():
        return pd.Series(pid.to_numpy().astype("int64"), index=out.index), ()
    cells = over_capacity_cells(out, frame)
    return pd.Series(pid.to_numpy(), index=out.index, dtype="Int64"), tuple(cells)


def read_survey(
    path: str | os.PathLike[str],
    *,
    columns: Mapping[str, str] | None = None,
    numeric_codes: bool = False,
    sep: str | None = None,
    missing_values: Sequence[str | float] | None = None,
) -> pd.DataFrame:
    """Read a survey export (CSV, SPSS ``.sav`` or Stata ``.dta``) into the standard frame.

    Parameters
    ----------
    path : str or path-like
        The file. Its type is taken from the suffix.
    columns : mapping, optional
        Renames applied first, ``{name in the file: civmodels name}``, e.g.
        ``{"kommune": "municipality", "id": "respondent_id"}``.
    numeric_codes : bool, default False
        Accept the codebook's numeric codes (1 = lowest category, 0/1 for Nej/Ja,
        9 = 'Ved ikke') where a categorical item has numbers without value labels.
    sep : str, optional
        Separator of a CSV file: ``","``, ``";"``, ``"\\t"`` (or ``"tab"``), or another
        single character. Default: detected from the header line (the one of ``,``, ``;``
        and tab that occurs most often outside quotes; Excel's ``sep=;`` first line is
        honoured). CSV files only.
    missing_values : list of str or float, optional
        Cell values that mean "not answered", e.g. ``["n/a", "."]`` or ``[99]``; matched
        like labels (ignoring case and surrounding spaces). They are set to missing in the
        item columns, the ``<item>_dk`` columns and the extra columns (never in the
        identifier columns), and counted in ``read_report.n_set_missing``.

    Returns
    -------
    pandas.DataFrame
        One row per respondent: ``respondent_id``, ``position_id`` (from the file, else a
        position of the respondent's municipality and area in the frame),
        ``municipality_code``, ``municipality`` (short name), ``area`` (codebook code),
        the covariates ``region``, ``population``, ``log_population``, ``size_group``,
        ``spending_pressure``, ``pressure_high``, ``bloc`` (from the municipality frame), one
        column per codebook item (ordinal: ordered categorical of Danish labels, lowest
        first; binary and multiple choice: ``["Nej", "Ja"]``; nominal: unordered
        categorical; count: float), then ``<item>_dk`` (bool, 'Ved ikke') for every item,
        then any other columns of the file (float if numeric, else text as written).
        ``data.attrs["read_report"]`` holds a :class:`ReadReport`.

    Raises
    ------
    DataError
        For a path that does not exist or is a directory; a file type other than
        CSV/SAV/DTA; an empty file or one without data rows; a CSV that does not parse with
        the (given or detected) separator; missing ``respondent_id``, ``area`` or
        municipality columns; blank, duplicated or colliding respondent ids; blank
        municipalities; municipality codes or names not in the frame (close names are
        suggested); area values or item value labels not in the codebook; an ordinal item
        stored as free text; counts that are not whole numbers; missing-value markers such as
        ``'n/a'`` in an item (see ``missing_values``); ``<item>_dk`` values that are not
        flags; an extra column mixing decimal points and commas.

    Warns
    -----
    UserWarning
        When rows answering no item are dropped, codebook items are absent from the file, or
        a municipality x area cell has more respondents than the assumed frame has positions.

    Notes
    -----
    **Respondent ids.** Surrounding spaces are removed, and an id of digits only (optionally
    with a zero decimal part, ``"12.0"``), or a whole number in an SPSS/Stata file, is the
    integer it spells: ``"01"``, ``" 1"`` and ``"1"``
    are the same id 1, and ``"007"`` is 7. Two rows whose ids normalise to the same value are
    an error that names both raw values. When every id is such an integer the column is
    int64; otherwise it is text, holding the ids as written (stripped), so ``"A-007"`` stays
    ``"A-007"`` and ``"007"`` stays ``"007"`` beside it (still compared as 7).

    **Extra columns** (neither identifiers, covariates, items nor ``<item>_dk``) are numeric
    (float) when every non-missing cell is a number, with ``.`` or ``,`` as decimal mark;
    otherwise they are kept as text. A column that is numeric except for missing-value
    markers (``'n/a'``, ``'.'``, ...) is an error that suggests ``missing_values``.

    **'Ved ikke'** may appear as a label in the item column or as a true ``<item>_dk``
    column, which may hold true/false, 1/0, ja/nej, yes/no, the label 'Ved ikke' (true), or be
    empty (false); anything else is an error.

    Municipality names are matched ignoring case and a trailing " Kommune" /
    " Regionskommune". Labels are matched after Unicode normalisation, ignoring case and
    surrounding spaces; English labels and codebook codes are accepted too. A blank cell is
    missing (not answered); ``'n/a'``, ``'NaN'``, ``'.'``, ``'-'`` and similar markers in an
    item are an error unless declared with ``missing_values``.
    """
    p = Path(path)
    sep_checked = _check_sep(sep)
    raw, used = _read_raw(p, sep_checked)
    try:
        return _standardise(
            raw,
            str(p),
            columns=columns,
            numeric_codes=numeric_codes,
            missing_values=missing_values,
            separator=used,
        )
    except DataError as err:
        if not columns:
            raise
        raise DataError(_with_file_names(str(err), columns)) from None


def _with_file_names(message: str, columns: Mapping[str, str]) -> str:
    """Name renamed columns in an error as the file has them: "column 'kommune' (read as
    'municipality')", so the message points at the user's own column."""
    for old, new in columns.items():
        if old != new:
            # a plain replacement string: re.escape only escapes the pattern
            named = f"{old!r} (read as {new!r})".replace("\\", "\\\\")
            message = re.sub(
                rf"\b(column|columns|and) {re.escape(repr(new))}", rf"\1 {named}", message
            )
    return message


_BUNDLED: list[pd.DataFrame] = []


def load_survey() -> pd.DataFrame:
    """The bundled synthetic survey (not the real data, which are not public).

    It was drawn by :func:`~civmodels.data.simulate_survey` with the seed
    :data:`~civmodels.data.BUNDLED_SEED` (``data/make_bundled_survey.py`` regenerates it) and
    is read through the same code as :func:`read_survey`.

    Returns
    -------
    pandas.DataFrame
        One row per responding head, structured as described in :func:`read_survey`.

    Examples
    --------
    >>> from civmodels.data import load_survey
    >>> df = load_survey()
    >>> df["mot_cost_effectiveness"].cat.categories.tolist()
    ['Slet ikke vigtigt', 'Mindre vigtigt', 'Vigtigt', 'Meget vigtigt']
    """
    if not _BUNDLED:
        raw = pd.read_csv(
            StringIO(resource_text("survey.csv")), dtype=str, keep_default_na=False, na_values=[""]
        )
        _BUNDLED.append(_standardise(raw, "<bundled survey.csv>"))
    return _BUNDLED[0].copy()


# ------------------------------------------------------------------------------------------
# Writing
# ------------------------------------------------------------------------------------------
def _export_frame(data: pd.DataFrame, covariates: bool) -> pd.DataFrame:
    cb = load_codebook()
    missing = [c for c in ("respondent_id", "municipality_code", "area") if c not in data.columns]
    if missing:
        raise DataError(
            f"data lacks column(s) {missing}; write_survey expects the structure of load_survey()"
        )
    ids = [c for c in ID_COLUMNS if c in data.columns]
    out = data[ids].copy()
    area_q = cb["policy_area"]
    out["area"] = data["area"].astype(str).map({c.code: c.label_da for c in area_q.categories})
    if covariates:
        for c in COVARIATES:
            if c in data.columns:
                out[c] = (
                    data[c].astype(str)
                    if isinstance(data[c].dtype, pd.CategoricalDtype)
                    else data[c]
                )
    for q in cb.items(simulated=True):
        if q.id not in data.columns:
            continue
        dk = (
            data[f"{q.id}_dk"].to_numpy(dtype=bool)
            if f"{q.id}_dk" in data.columns
            else np.zeros(len(data), dtype=bool)
        )
        col = data[q.id]
        if q.type == "count":
            num = col.to_numpy(dtype=float, na_value=np.nan)
            vals = np.array([None if np.isnan(v) else int(v) for v in num], dtype=object)
        else:
            vals = np.array(col.astype(object), dtype=object, copy=True)
            vals[pd.isna(col).to_numpy()] = None
        vals[dk] = DONT_KNOW_LABEL
        out[q.id] = pd.Series(vals, index=out.index, dtype=object)
    extra = [
        c
        for c in data.columns
        if c not in out.columns and not c.endswith("_dk") and c not in COVARIATES
    ]
    for c in extra:
        out[c] = data[c]
    return out


def write_survey(
    data: pd.DataFrame, path: str | os.PathLike[str], *, covariates: bool = False
) -> Path:
    """Write survey data as a CSV, SPSS ``.sav`` or Stata ``.dta`` export with Danish labels.

    The file looks like a real export: items hold their Danish labels (CSV) or numeric codes
    with Danish value labels (SPSS/Stata; 'Ved ikke' = 9, or 9999 for the count), and
    :func:`read_survey` reads it back into the identical frame.

    Parameters
    ----------
    data : pandas.DataFrame
        Survey data with the structure of :func:`load_survey`.
    path : str or path-like
        Target file; the suffix (``.csv``, ``.sav``, ``.dta``) sets the format.
    covariates : bool, default False
        Also write the municipality covariates (the reader replaces them from the frame).

    Returns
    -------
    pathlib.Path
        The path written.
    """
    p = Path(path)
    fmt = _FORMATS.get(p.suffix.lower())
    if fmt is None:
        raise DataError(f"cannot write {str(p)!r}: use a .csv, .sav or .dta suffix")
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    out = _export_frame(data, covariates)
    if fmt == "csv":
        out.to_csv(p, index=False, encoding="utf-8")
        return p
    import pyreadstat

    cb = load_codebook()
    labels: dict[str, dict[int | float, str]] = {}
    column_labels: dict[str, str | None] = {}
    area_q = cb["policy_area"]
    out["area"] = out["area"].map({c.label_da: c.value for c in area_q.categories})
    labels["area"] = {c.value: c.label_da for c in area_q.categories}
    for q in cb.items(simulated=True):
        if q.id not in out.columns:
            continue
        column_labels[q.id] = q.label_da[:80]
        if q.type == "count":
            code = q.dont_know_code
            out[q.id] = (
                out[q.id]
                .map(
                    lambda v, code=code: (
                        np.nan if v is None else (code if v == DONT_KNOW_LABEL else float(v))
                    )
                )
                .astype(float)
            )
            labels[q.id] = {DONT_KNOW_COUNT_CODE: DONT_KNOW_LABEL}
            continue
        to_code = {c.label_da: c.value for c in q.categories}
        value_labels: dict[int | float, str] = {c.value: c.label_da for c in q.categories}
        if q.dont_know:
            to_code[DONT_KNOW_LABEL] = q.dont_know_code  # type: ignore[assignment]
            value_labels[q.dont_know_code] = DONT_KNOW_LABEL  # type: ignore[index]
        out[q.id] = out[q.id].map(lambda v, t=to_code: np.nan if v is None else t[v]).astype(float)
        labels[q.id] = value_labels
    for c in out.columns:
        if isinstance(out[c].dtype, pd.StringDtype) or out[c].dtype == object:
            out[c] = out[c].astype(object)
    if fmt == "dta":
        # pyreadstat names a Stata label set <variable><running number>, and Stata allows 32
        # characters: long-named labelled variables go first so they get one-digit numbers.
        # The reader restores the canonical column order.
        first = sorted(labels, key=lambda c: -len(c))
        out = out[first + [c for c in out.columns if c not in labels]]
        too_long = [c for i, c in enumerate(first) if len(c) + len(str(i)) > 32]
        if too_long:
            raise DataError(f"cannot write Stata value labels for {too_long}: name too long")
        pyreadstat.write_dta(out, str(p), column_labels=column_labels, variable_value_labels=labels)
    else:
        pyreadstat.write_sav(out, str(p), column_labels=column_labels, variable_value_labels=labels)
    return p
