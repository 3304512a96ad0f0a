"""Reading and writing survey data: the bundled synthetic survey and real exports.

Every loader returns the same structure (see :func:`read_survey`): one row per responding
department head; identifier columns, the municipality covariates joined from the real frame,
one column per codebook item and a boolean ``<item>_dk`` companion per item.

'Ved ikke' convention: an item answered 'Ved ikke' is missing (NaN) with ``<item>_dk`` True;
an item missing with ``<item>_dk`` False was not answered (skipped or after breakoff).
"""

from __future__ import annotations

import difflib
import os
import unicodedata
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from io import StringIO
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import DataError
from ._positions import COVARIATES, _positions, join_municipality, load_municipalities
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
_FREE_TEXT_EXTRA = 3  # unknown distinct values beyond the category count that mean free text


@dataclass(frozen=True)
class ReadReport:
    """What :func:`read_survey` did to the file: rows excluded, columns added or replaced.

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
    replaced_columns : tuple of str
        Covariate columns of the file replaced by the values of the municipality frame.
    n_dont_know : dict of str to int
        'Ved ikke' answers per item.
    """

    source: str
    n_rows_read: int
    n_dropped: int = 0
    dropped_respondent_ids: tuple[Any, ...] = ()
    missing_items: tuple[str, ...] = ()
    extra_columns: tuple[str, ...] = ()
    replaced_columns: tuple[str, ...] = ()
    n_dont_know: dict[str, int] = field(default_factory=dict)

    def describe(self) -> str:
        """A short human-readable account."""
        lines = [
            f"read {self.n_rows_read} rows from {self.source}; "
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
            lines.append(f"extra columns kept: {', '.join(self.extra_columns)}")
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
def _read_raw(path: Path) -> pd.DataFrame:
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise DataError(
            f"cannot read {str(path)!r}: the file type {path.suffix or '(none)'!r} is not "
            "supported; export the survey as CSV (.csv), SPSS (.sav) or Stata (.dta)"
        )
    if not path.is_file():
        raise DataError(f"survey file {str(path)!r} does not exist")
    if fmt == "csv":
        try:
            return pd.read_csv(
                path, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8-sig"
            )
        except UnicodeDecodeError:
            raise DataError(
                f"{str(path)!r} is not UTF-8; save the CSV as UTF-8 (Excel: 'CSV UTF-8')"
            ) from None
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
    return df


def _map_municipalities(raw: pd.DataFrame, m: pd.DataFrame) -> np.ndarray:
    codes_known = set(m["code"].astype(int))
    by_name = {_name_key(n): int(c) for c, n in zip(m["code"], m["name"], strict=True)}
    code_from_code = None
    if "municipality_code" in raw.columns:
        col = raw["municipality_code"]
        num = pd.to_numeric(col, errors="coerce")
        # an SPSS/Stata export may label the codes with names; labels were applied on reading
        as_name = col.map(lambda v: by_name.get(_name_key(v)) if pd.notna(v) else None)
        labelled = num.isna() & as_name.notna()
        num = num.where(~labelled, as_name)
        bad_mask = num.isna() | (num % 1 != 0) | ~num.isin(list(codes_known))
        if bad_mask.any():
            bad = sorted({str(v) for v in col[bad_mask]})
            raise DataError(
                f"column 'municipality_code' has {len(bad)} value(s) that are not codes of "
                f"the 98 municipalities: {_fmt_values(bad)}; codes are Statistics Denmark's "
                "3-digit kommunekoder (101 ... 860), see civmodels.data.load_municipalities()"
            )
        code_from_code = num.astype("int64").to_numpy()
    code_from_name = None
    if "municipality" in raw.columns:
        names = raw["municipality"]
        keys = names.map(_name_key)
        unknown = sorted({str(n) for n, k in zip(names, keys, strict=True) if k not in by_name})
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
        code_from_name = keys.map(by_name).astype("int64").to_numpy()
    if code_from_code is None and code_from_name is None:
        raise DataError(
            "the survey needs a column 'municipality_code' or 'municipality' (name); rename "
            "your column with read_survey(path, columns={'kommune': 'municipality'})"
        )
    if code_from_code is not None and code_from_name is not None:
        clash = np.flatnonzero(code_from_code != code_from_name)
        if len(clash):
            rows = ", ".join(
                f"row {i}: code {code_from_code[i]} vs name {raw['municipality'].iloc[i]!r}"
                for i in clash[:5]
            )
            raise DataError(
                f"'municipality_code' and 'municipality' disagree in {len(clash)} row(s) "
                f"({rows}); fix the rows or drop one of the two columns"
            )
    return code_from_code if code_from_code is not None else code_from_name  # type: ignore[return-value]


def _as_number(v: object) -> float | None:
    """The number a cell holds (int, float or numeric text), else None."""
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float, np.integer, np.floating)):
        return float(v)
    try:
        return float(str(v).strip().replace(",", "."))
    except ValueError:
        return None


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
    for i, v in enumerate(values):
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
            continue
        if isinstance(v, str):
            key = _norm(v)
            if key == "":
                continue
            if _is_dk(key):
                dk[i] = True
                continue
            try:
                num = float(key.replace(",", "."))
            except ValueError:
                bad.append(v)
                continue
        else:
            num = float(v)
        if q.dont_know_code is not None and num == q.dont_know_code:
            dk[i] = True
        elif num < 0 or num % 1 != 0 or not np.isfinite(num):
            bad.append(v)
        else:
            out[i] = num
    if bad:
        raise DataError(
            f"column {q.id!r} is a count but has {len(bad)} value(s) that are not "
            f"non-negative whole numbers or '{DONT_KNOW_LABEL}': "
            f"{_fmt_values(sorted({str(b) for b in bad}))}; clean them before reading"
        )
    return out, dk


def _standardise(
    raw: pd.DataFrame,
    source: str,
    *,
    columns: Mapping[str, str] | None = None,
    numeric_codes: bool = False,
) -> pd.DataFrame:
    if columns:
        absent = [k for k in columns if k not in raw.columns]
        if absent:
            raise DataError(
                f"columns= renames {absent}, which are not in {source}; its columns are "
                f"{_fmt_values(list(raw.columns), 12)}"
            )
        raw = raw.rename(columns=dict(columns))
    raw = raw.reset_index(drop=True)
    cb = load_codebook()
    required = ["respondent_id", "area"]
    missing = [c for c in required if c not in raw.columns]
    if missing:
        hints = []
        for c in missing:
            close = difflib.get_close_matches(c, [str(x) for x in raw.columns], n=1)
            hints.append(f"{c!r}" + (f" (is it {close[0]!r}?)" if close else ""))
        raise DataError(
            f"{source} lacks required column(s) {', '.join(hints)}; rename with "
            "read_survey(path, columns={'your_name': 'respondent_id', ...})"
        )
    dup = raw["respondent_id"][raw["respondent_id"].duplicated(keep=False)]
    if len(dup):
        dup_ids = sorted({str(v) for v in dup})
        raise DataError(
            f"column 'respondent_id' has {len(dup_ids)} duplicated id(s): "
            f"{_fmt_values(dup_ids)}; "
            "each responding head must appear once"
        )
    if raw["respondent_id"].isna().any():
        raise DataError(
            f"column 'respondent_id' has {int(raw['respondent_id'].isna().sum())} missing "
            "value(s); every row needs an id"
        )

    m = load_municipalities()
    out = pd.DataFrame(index=raw.index)
    rid = pd.to_numeric(raw["respondent_id"], errors="coerce")
    out["respondent_id"] = (
        rid.astype("int64")
        if rid.notna().all() and (rid % 1 == 0).all()
        else raw["respondent_id"].astype(str)
    )
    out["municipality_code"] = _map_municipalities(raw, m)
    out["area"] = _map_area(raw["area"], numeric_codes)
    if "position_id" in raw.columns:
        pid = pd.to_numeric(raw["position_id"], errors="coerce")
        if pid.isna().any() or (pid % 1 != 0).any():
            raise DataError("column 'position_id' must hold whole numbers without gaps")
        out["position_id"] = pid.astype("int64")
    else:
        out["position_id"] = _assign_positions(out)

    items = cb.items(simulated=True)
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
            flag = (
                raw[dk_name]
                .map(
                    lambda v: (
                        _norm(v) in ("true", "1", "1.0", "ja", "yes") if pd.notna(v) else False
                    )
                )
                .to_numpy(dtype=bool)
            )
            if isinstance(vals, pd.Categorical):
                clash = flag & (np.asarray(vals.codes) >= 0)
            else:
                clash = flag & ~np.isnan(vals)
            if clash.any():
                raise DataError(
                    f"column {dk_name!r} is true in {int(clash.sum())} row(s) where "
                    f"{q.id!r} has an answer; 'Ved ikke' rows must have the item missing"
                )
            dk = dk | flag
        item_cols[q.id] = vals
        dk_cols[dk_name] = dk

    known = set(ID_COLUMNS) | set(COVARIATES) | {q.id for q in items} | set(dk_cols)
    extra = [c for c in raw.columns if c not in known]
    replaced = tuple(c for c in COVARIATES if c in raw.columns)

    answered = np.zeros(len(raw), dtype=bool)
    for q in items:
        v = item_cols[q.id]
        present = (np.asarray(v.codes) >= 0) if isinstance(v, pd.Categorical) else ~np.isnan(v)
        answered |= present | dk_cols[f"{q.id}_dk"]

    data = join_municipality(out, m)
    data = data[[*ID_COLUMNS, *COVARIATES]]
    data = pd.concat([data, pd.DataFrame(item_cols), pd.DataFrame(dk_cols), raw[extra]], axis=1)
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
    data.attrs["read_report"] = ReadReport(
        source=source,
        n_rows_read=len(raw),
        n_dropped=len(dropped_ids),
        dropped_respondent_ids=dropped_ids,
        missing_items=tuple(missing_items),
        extra_columns=tuple(extra),
        replaced_columns=replaced,
        n_dont_know={q.id: int(dk_cols[f"{q.id}_dk"].sum()) for q in items},
    )
    return data


def _assign_positions(out: pd.DataFrame) -> pd.Series:
    """Give each respondent a free position of its municipality and area (in row order)."""
    frame = _positions()
    seat = out.groupby(["municipality_code", "area"], observed=True).cumcount() + 1
    key = pd.MultiIndex.from_arrays(
        [frame["municipality_code"], frame["area"].astype(str), frame["seat"]]
    )
    lookup = pd.Series(frame["position_id"].to_numpy(), index=key)
    idx = pd.MultiIndex.from_arrays([out["municipality_code"], out["area"].astype(str), seat])
    pid = lookup.reindex(idx)
    if pid.isna().any():
        n = int(pid.isna().sum())
        warnings.warn(
            f"read_survey: {n} respondent(s) exceed the positions the assumed 838-position "
            "frame has for their municipality and area; their position_id is missing",
            UserWarning,
            stacklevel=4,
        )
        return pd.Series(pid.to_numpy(), index=out.index, dtype="Int64")
    return pd.Series(pid.to_numpy().astype("int64"), index=out.index)


def read_survey(
    path: str | os.PathLike[str],
    *,
    columns: Mapping[str, str] | None = None,
    numeric_codes: bool = False,
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
        then any other columns of the file. ``data.attrs["read_report"]`` holds a
        :class:`ReadReport`.

    Raises
    ------
    DataError
        For a file type other than CSV/SAV/DTA; missing ``respondent_id``, ``area`` or
        municipality columns; duplicated respondent ids; municipality codes or names not in
        the frame (close names are suggested); area values or item value labels not in the
        codebook; an ordinal item stored as free text; counts that are not whole numbers.

    Warns
    -----
    UserWarning
        When rows answering no item are dropped or codebook items are absent from the file.

    Notes
    -----
    Municipality names are matched ignoring case and a trailing " Kommune" /
    " Regionskommune". Labels are matched after Unicode normalisation, ignoring case and
    surrounding spaces; English labels and codebook codes are accepted too. 'Ved ikke' may
    appear as a label in the item column or as a true ``<item>_dk`` column.
    """
    p = Path(path)
    raw = _read_raw(p)
    return _standardise(raw, str(p), columns=columns, numeric_codes=numeric_codes)


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
