"""Which positions were invited and which responded: the frame the replication runs on.

The frame always follows the data. Three sources, in this order:

1. an explicit frame (``run(frame=...)``, ``civmodels replicate --frame FILE``): one row per
   invited position with ``municipality`` (name or code), ``area`` and ``responded``;
2. the data's own response column (``responded`` or ``status``) when the data hold
   nonrespondents: every row is an invited position;
3. otherwise the 838-position frame allocation (:func:`civmodels.data.load_frame`), where a
   position responded if it has a row in the data.

Every respondent is matched to one responded position of its municipality and area (on
``position_id`` where both tables carry consistent ids); a respondent without one, or a position
marked responded without a respondent, is an error naming them. The synthetic survey's own
response flags are used only with the synthetic survey itself.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import DataError

__all__ = [
    "RESPONSE_COLUMNS",
    "FrameError",
    "FrameSource",
    "read_frame",
    "resolve_frame",
    "respondents_of",
]

#: Columns read as the response indicator of an export that holds nonrespondents.
RESPONSE_COLUMNS = ("responded", "status")
_KEYS = ["municipality_code", "area"]
_RESPONDED = {
    "1",
    "1.0",
    "true",
    "ja",
    "yes",
    "responded",
    "besvaret",
    "gennemført",
    "delvist besvaret",
    "delvist gennemført",
}
_NOT_RESPONDED = {"0", "0.0", "false", "nej", "no", "ikke besvaret", "ikke gennemført"}


class FrameError(DataError):
    """The respondents and the frame of invited positions do not fit together."""


@dataclass(frozen=True)
class FrameSource:
    """The frame the replication used and a sentence saying where it came from."""

    frame: pd.DataFrame
    data: pd.DataFrame
    provenance: str


def _show(values: list[Any], n: int = 10) -> str:
    shown = ", ".join(map(str, values[:n]))
    return shown + (f", ... ({len(values)} in all)" if len(values) > n else "")


def response_column(table: pd.DataFrame) -> str | None:
    """The first of :data:`RESPONSE_COLUMNS` present in ``table``, else None."""
    return next((c for c in RESPONSE_COLUMNS if c in table.columns), None)


def parse_response(col: pd.Series, name: str) -> np.ndarray:
    """A response column as booleans; unknown or missing values are an error naming them."""
    if pd.api.types.is_bool_dtype(col.dtype) and not col.isna().any():
        return col.to_numpy(dtype=bool)
    out = np.zeros(len(col), dtype=bool)
    bad: set[str] = set()
    for i, v in enumerate(col.to_numpy(dtype=object)):
        key = "" if pd.isna(v) else str(v).strip().casefold()
        if key in _RESPONDED:
            out[i] = True
        elif key not in _NOT_RESPONDED:
            bad.add("<missing>" if key == "" else str(v))
    if bad:
        raise DataError(
            f"column {name!r} is read as the response indicator but has value(s) that say "
            f"neither responded nor not responded: {_show(sorted(map(repr, bad)))}; allowed: 1/0, "
            "true/false, ja/nej, 'besvaret'/'ikke besvaret' (recode the others, or rename the "
            "column if it is not a response status)"
        )
    return out


def _positions_from(
    table: pd.DataFrame, source: str, numeric_codes: bool, *, trusted: bool
) -> pd.DataFrame:
    """Municipality code, area and covariates of each row of a frame-like table.

    A ``trusted`` table (a DataFrame given in Python) that has ``municipality_code`` and
    covariates keeps them; a file is always mapped through the loader's municipality and area
    rules and gets the real municipalities' covariates.
    """
    from ..data.frame import COVARIATES, join_municipality, load_municipalities
    from ..data.loaders import _map_area, _map_municipalities

    table = table.reset_index(drop=True)
    if "area" not in table.columns:
        raise DataError(f"{source} lacks the column 'area' (the position's policy area)")
    if (
        trusted
        and "municipality_code" in table.columns
        and any(c in table.columns for c in COVARIATES)
    ):
        # a standard frame (load_frame, read_survey or hand-made): keep its covariates, which
        # need not be the real municipalities' (simulation studies)
        gaps = table[_KEYS].isna().any(axis=1)
        if gaps.any():
            raise DataError(
                f"{source}: 'municipality_code' or 'area' is missing in {int(gaps.sum())} "
                f"row(s) ({_show([int(i) for i in np.flatnonzero(gaps)])})"
            )
        return table.copy()
    if "municipality" in table.columns:
        blank = table["municipality"].isna() | (table["municipality"].astype(str).str.strip() == "")
        if blank.any():
            raise DataError(
                f"{source}: column 'municipality' is blank in {int(blank.sum())} row(s) "
                f"(data rows {_show([int(i) + 1 for i in np.flatnonzero(blank)])}); every "
                "invited position needs its municipality"
            )
    try:
        rows = pd.Series([f"row {i + 1}" for i in range(len(table))], index=table.index)
        codes = _map_municipalities(table, load_municipalities(), rows)
        area = _map_area(table["area"], numeric_codes)
    except DataError as err:
        raise DataError(f"{source}: {err}") from None
    out = pd.DataFrame({"municipality_code": codes, "area": area})
    if "position_id" in table.columns:
        out["position_id"] = table["position_id"]
    return join_municipality(out, load_municipalities())


def _read_table(p: Path, sep: str | None) -> pd.DataFrame:
    source = str(p)
    if p.is_dir():
        raise DataError(f"frame {source!r} is a folder; give the CSV file of invited positions")
    if not p.is_file():
        raise DataError(f"frame file {source!r} does not exist")
    if p.suffix.lower() != ".csv":
        from ..data.loaders import _read_raw

        return _read_raw(p)[0]
    try:
        raw = pd.read_csv(
            p,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            encoding="utf-8-sig",
            sep=sep or ",",
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        detail = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise DataError(f"cannot read the frame {source!r} as a UTF-8 CSV: {detail}") from None
    if raw.shape[1] == 1 and sep is None:
        header = str(raw.columns[0])
        for s, name in ((";", "';'"), ("\t", "tab")):
            if s in header:
                flag = "--sep ';'" if s == ";" else "--sep $'\\t'"
                raise DataError(
                    f"frame {source!r} has a single column {header!r}: it looks {name}-separated; "
                    f"pass sep={s!r} (command line: {flag})"
                )
    return raw


def read_frame(
    path: str | os.PathLike[str] | pd.DataFrame,
    *,
    columns: Mapping[str, str] | None = None,
    numeric_codes: bool = False,
    sep: str | None = None,
) -> pd.DataFrame:
    """Read the invited positions (respondents and nonrespondents) from a file or table.

    Parameters
    ----------
    path : str, path-like or pandas.DataFrame
        A CSV (or an SPSS/Stata export) with one row per invited position and the columns
        ``municipality`` (name) or ``municipality_code``, ``area`` (code or Danish label) and
        ``responded`` (1/0, true/false, ja/nej), or a ``status`` column ('besvaret' /
        'ikke besvaret'). A table that already has ``municipality_code`` and municipality
        covariates keeps them.
    columns : mapping, optional
        Renames applied first, ``{name in the file: civmodels name}``; renames of columns the
        file does not have are ignored (the same mapping serves the export and the frame).
    numeric_codes : bool, default False
        Read a numeric ``area`` as the codebook's area codes.
    sep : str, optional
        Field separator of a CSV (default a comma).

    Returns
    -------
    pandas.DataFrame
        One row per position: ``position_id`` (the file's, when unique whole numbers, else
        1, 2, ...), ``municipality_code``, ``municipality``, ``area``, ``responded`` (int 0/1)
        and the municipality covariates. ``attrs["frame_source"]`` says where it came from.

    Raises
    ------
    DataError
        For a missing file, a folder, a missing column, unknown municipalities or areas, blank
        municipality names and response values that are not recognised (each named).

    Examples
    --------
    >>> import pandas as pd
    >>> from civmodels.replication import read_frame
    >>> fr = read_frame(pd.DataFrame({"municipality": ["Aarhus", "Aarhus"],
    ...                               "area": ["social", "teknik_miljo"], "responded": [1, 0]}))
    >>> fr[["municipality_code", "area", "responded"]].values.tolist()
    [[751, 'social', 1], [751, 'teknik_miljo', 0]]
    """
    if isinstance(path, pd.DataFrame):
        raw, source = path, "the frame= table"
    else:
        raw, source = _read_table(Path(path), sep), str(path)
    if columns:
        raw = raw.rename(columns={k: v for k, v in columns.items() if k in raw.columns})
    if len(raw) == 0:
        raise DataError(f"frame {source!r} has no rows; it needs one row per invited position")
    name = response_column(raw)
    if name is None:
        raise DataError(
            f"{source} has no response column; add 'responded' (1 for a position that "
            "answered, 0 for one that did not) for every invited position"
        )
    responded = parse_response(raw[name], name)
    out = _positions_from(raw, source, numeric_codes, trusted=isinstance(path, pd.DataFrame))
    out["responded"] = responded.astype("int64")
    pid = pd.to_numeric(out.get("position_id", pd.Series(np.nan, index=out.index)), errors="coerce")
    if pid.isna().any() or pid.duplicated().any() or (pid % 1 != 0).any():
        out = out.drop(columns=["position_id"], errors="ignore")
        out.insert(0, "position_id", np.arange(1, len(out) + 1, dtype="int64"))
    else:
        out["position_id"] = pid.astype("int64")
    out.attrs["frame_source"] = (
        f"{source} ({len(out)} invited positions, {int(responded.sum())} responded)"
    )
    return out


def respondents_of(data: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``data`` that responded (all rows when it has no response column).

    The index is kept, so weights given as a Series aligned with ``data`` stay aligned.
    """
    name = response_column(data)
    if name is None:
        return data
    return data.loc[parse_response(data[name], name)]


def _ids(data: pd.DataFrame, rows: np.ndarray) -> list[Any]:
    if "respondent_id" in data.columns:
        return [data["respondent_id"].iloc[i] for i in rows]
    return [f"row {i}" for i in rows]


def _cells(table: pd.DataFrame, rows: np.ndarray | None = None) -> str:
    sub = table if rows is None else table.iloc[rows]
    counts = sub.groupby([sub["municipality_code"], sub["area"].astype(str)]).size()
    return _show([f"{m}/{a} ({n})" for (m, a), n in counts.items()], 5)


def _match_on_ids(data: pd.DataFrame, candidates: pd.DataFrame) -> np.ndarray | None:
    """The respondents' own position ids when all are responded positions of their cell."""
    if "position_id" not in data.columns:
        return None
    pid = pd.to_numeric(data["position_id"], errors="coerce")
    if pid.isna().any() or pid.duplicated().any():
        return None
    by_id = candidates.set_index("position_id")
    if not pid.isin(by_id.index).all():
        return None
    at = by_id.loc[pid.to_numpy()]
    same = (at["municipality_code"].to_numpy() == data["municipality_code"].to_numpy()) & (
        at["area"].astype(str).to_numpy() == data["area"].astype(str).to_numpy()
    )
    return pid.to_numpy().astype("int64") if same.all() else None


def _seat_index(table: pd.DataFrame) -> pd.MultiIndex:
    code = table["municipality_code"].to_numpy()
    area = table["area"].astype(str).to_numpy()
    seat = pd.DataFrame({"c": code, "a": area}).groupby(["c", "a"]).cumcount().to_numpy()
    return pd.MultiIndex.from_arrays([code, area, seat])


def _match_on_cells(data: pd.DataFrame, candidates: pd.DataFrame, what: str) -> np.ndarray:
    """Each respondent takes the next free candidate position of its municipality and area."""
    lookup = pd.Series(candidates["position_id"].to_numpy(), index=_seat_index(candidates))
    pid = lookup.reindex(_seat_index(data)).to_numpy()
    lost = np.flatnonzero(pd.isna(pid))
    if len(lost):
        raise FrameError(
            f"{len(lost)} respondent(s) have no {what} position of their municipality and area "
            f"in the frame: respondent_id {_show(_ids(data, lost))} (municipality/area, "
            f"respondents: {_cells(data, lost)}); check their 'municipality' and 'area', or "
            "give the invited positions with --frame FILE (Python: frame=)"
        )
    return pid.astype("int64")


def _attach(
    data: pd.DataFrame, frame: pd.DataFrame, *, explicit: bool, source: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``frame`` with ``responded`` set, and ``data`` with the matching ``position_id``."""
    for col in _KEYS:
        if col not in data.columns:
            raise FrameError(
                f"the data lack column {col!r}, needed to place respondents in the frame; read "
                "the export with civmodels.data.read_survey, which adds it"
            )
    candidates = frame[frame["responded"].astype(bool)] if explicit else frame
    pid = _match_on_ids(data, candidates)
    if pid is None:
        pid = _match_on_cells(data, candidates, "responded" if explicit else "invited")
    unused = candidates[~candidates["position_id"].isin(pid)]
    if explicit and len(unused):
        report = data.attrs.get("read_report")
        dropped = tuple(getattr(report, "dropped_respondent_ids", ()))
        hint = (
            f"; the loader dropped {len(dropped)} row(s) of the export that answer no item "
            f"(respondent_id {_show(list(dropped))})"
            if dropped
            else ""
        )
        raise FrameError(
            f"{source} marks {len(unused)} position(s) as responded that have no respondent "
            f"in the data (municipality/area, positions: {_cells(unused)}){hint}; the frame "
            "and the export must describe the same respondents"
        )
    frame = frame.copy()
    frame["responded"] = frame["position_id"].isin(pid).astype("int64")
    data = data.copy()
    data["position_id"] = pid
    return data, frame


def resolve_frame(data: pd.DataFrame, frame: pd.DataFrame | None, *, bundled: bool) -> FrameSource:
    """The respondents and the frame they come from, with a provenance sentence.

    ``bundled`` says that ``data`` is the bundled synthetic survey, the only data that may be
    combined with the synthetic frame's response flags.
    """
    name = response_column(data)
    if frame is not None:
        if not isinstance(frame, pd.DataFrame):
            raise DataError(f"frame must be a pandas DataFrame, got {type(frame).__name__}")
        fr = frame if "frame_source" in frame.attrs else read_frame(frame)
        label = fr.attrs["frame_source"]
        resp, fr = _attach(respondents_of(data), fr, explicit=True, source=label)
        text = f"frame given explicitly: {label}"
    elif name is not None and not parse_response(data[name], name).all():
        fr = read_frame(data)
        fr = fr[[c for c in fr.columns if c in _FRAME_COLUMNS or c in _covariates()]]
        label = f"the data's {name!r} column"
        resp, fr = _attach(respondents_of(data), fr, explicit=True, source=label)
        text = (
            f"nonrespondents from the data's own {name!r} column: {len(fr)} invited positions, "
            f"{len(resp)} responded, {len(fr) - len(resp)} did not"
        )
    else:
        from ..data import load_frame

        n_dropped = int(getattr(data.attrs.get("read_report"), "n_dropped", 0) or 0)
        if name is not None and n_dropped:
            raise FrameError(
                f"the export has a {name!r} column, but the loader dropped its "
                f"{n_dropped} row(s) that answer no item (the nonrespondents?); pass "
                "the invited positions explicitly: run(data, frame=read_frame(path)) or "
                "civmodels replicate --frame FILE"
            )
        positions = load_frame()
        # the synthetic frame's flags describe the bundled survey only; any other data fill
        # the allocation's positions themselves
        resp, fr = _attach(
            respondents_of(data), positions, explicit=bundled, source="the bundled frame"
        )
        if bundled:
            text = (
                f"the {len(fr)}-position frame with the bundled synthetic survey's response "
                f"flags ({len(resp)} responded; civmodels.data.load_frame)"
            )
        else:
            text = (
                f"built from the {len(fr)}-position frame allocation "
                "(civmodels.data.load_frame): the data hold no nonrespondents, so a position "
                f"responded if it has a row in the data ({len(resp)} of {len(fr)})"
            )
    return FrameSource(frame=fr, data=resp, provenance=text)


_FRAME_COLUMNS = ("position_id", "municipality_code", "municipality", "area", "seat", "responded")


def _covariates() -> tuple[str, ...]:
    from ..data.frame import COVARIATES

    return COVARIATES
