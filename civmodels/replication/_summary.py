"""Summaries of a replication table shared by the report and the terminal: the verdict matrix,
the verdict counts and the list of findings that could not be tested."""

from __future__ import annotations

from collections import Counter

import pandas as pd

from ._registry import METHODS

__all__ = ["FINDING_KINDS_SHOWN", "not_testable", "verdict_counts", "verdict_matrix"]

#: Row kinds that carry the findings' verdicts (patterns M1-M13 are reported apart).
FINDING_KINDS_SHOWN = ("difference", "omnibus", "aggregate")

_INCOMPLETE = ("not testable", "not available", "failed")


def _finding_rows(table: pd.DataFrame) -> pd.DataFrame:
    main = table[table["kind"].isin(FINDING_KINDS_SHOWN)]
    # F17's outcome rows feed its pattern rule; the finding's verdict is its aggregate row.
    summary = (main["kind"] == "aggregate") & (main["outcome"] == "all")
    agg_ids = set(main.loc[summary, "finding_id"])
    rows = main[~main["finding_id"].isin(agg_ids) | summary]
    order = sorted(dict.fromkeys(rows["finding_id"]))
    return rows.set_index("finding_id", drop=False).loc[order].reset_index(drop=True)


def _cell(verdicts: list[str]) -> tuple[str, str]:
    """Text of a matrix cell and its dominant verdict (for colour)."""
    if not verdicts:
        return "", ""
    counts = Counter(verdicts)
    if len(counts) == 1:
        v = verdicts[0]
        return (v if len(verdicts) == 1 else f"{v} ({len(verdicts)})"), v
    text = ", ".join(f"{n} {v}" for v, n in counts.most_common())
    return text, "mixed"


def verdict_matrix(table: pd.DataFrame, column: str = "verdict") -> pd.DataFrame:
    """Finding x method matrix of verdicts, with the report's words, page and figures.

    Parameters
    ----------
    table : pandas.DataFrame
        Output of :func:`civmodels.replication.run`.
    column : str, default "verdict"
        ``"verdict"`` (raw p-values) or ``"verdict_holm"``.

    Returns
    -------
    pandas.DataFrame
        One row per finding (registry order): ``finding, title, stated, page, figures``, one
        text column per method (a single verdict, or counts when a finding has several
        outcome x grouping rows) and, per method, ``<method>__tone`` - the verdict that colours
        the cell (``"mixed"`` when the rows disagree).
    """
    rows = _finding_rows(table)
    methods = [m for m in METHODS if m in set(rows["method"])]
    out = []
    for fid, sub in rows.groupby("finding_id", sort=False):
        first = sub.iloc[0]
        rec: dict[str, object] = {
            "finding": fid,
            "title": first["title"],
            "stated": first.get("stated", ""),
            "page": first["page"],
            "figures": first["report_figures"] if isinstance(first["report_figures"], str) else "",
        }
        for m in methods:
            text, tone = _cell([str(v) for v in sub.loc[sub["method"] == m, column]])
            rec[m] = text or "-"
            rec[f"{m}__tone"] = tone
        out.append(rec)
    return pd.DataFrame(out)


def verdict_counts(table: pd.DataFrame, column: str = "verdict") -> pd.DataFrame:
    """Number of finding rows per method and verdict - the counts the report and the terminal
    summary both print.

    F17 counts once per method (its pattern verdict), every other finding once per outcome x
    grouping row.
    """
    rows = _finding_rows(table)
    if rows.empty:
        return pd.DataFrame()
    counts = rows.groupby(["method", column]).size().unstack(fill_value=0)
    order = [m for m in METHODS if m in counts.index]
    return counts.loc[order]


def not_testable(table: pd.DataFrame) -> pd.DataFrame:
    """Every finding or pattern row that was not tested, with its reason (one row per finding,
    outcome, verdict and reason; the methods affected are listed together)."""
    bad = table[table["verdict"].isin(_INCOMPLETE)]
    if bad.empty:
        return pd.DataFrame(columns=["finding_id", "outcome", "verdict", "methods", "reason"])
    grouped = (
        bad.assign(reason=bad["note"].fillna("").astype(str), outcome=bad["outcome"].astype(str))
        .groupby(["finding_id", "outcome", "verdict", "reason"], sort=False)["method"]
        .agg(lambda s: ", ".join(dict.fromkeys(s)))
        .reset_index()
        .rename(columns={"method": "methods"})
    )
    return grouped[["finding_id", "outcome", "verdict", "methods", "reason"]]
