"""HTML regression tables: civmodels' hand-written HTML against great-tables.

Renders the same table (an ordinal fit, its cluster-robust, random-intercept and design-based
versions on the bundled survey: 4 models, ~35 rows) both ways and prints the import cost,
the rendering time from the same display frame (median of repeats), the size of the HTML and
whether it carries outside resources. great-tables gets the table's display strings, row
groups (the blocks), the column labels and the note as a source note: the same content.

Run: PYTHONPATH=. python benchmarks/bench_html_tables.py   (needs great-tables installed)
"""

from __future__ import annotations

import re
import statistics
import subprocess
import sys
import time
import warnings

import civmodels as cm
from civmodels.data import load_survey
from civmodels.report import regression_table
from civmodels.report.tables import _Grid

REPEATS = 30


def _import_seconds(module: str) -> float:
    """Extra seconds to import ``module`` once civmodels.report (with pandas) is loaded."""
    code = (
        "import civmodels.report, time; t = time.perf_counter(); "
        f"import {module}; print(time.perf_counter() - t)"
    )
    runs = [
        float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout)
        for _ in range(3)
    ]
    return min(runs)


def _median_seconds(fn) -> float:
    times = []
    for _ in range(REPEATS):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    from great_tables import GT

    df = load_survey()
    f = "val_trust ~ pressure_high + size_group"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fits = [
            cm.Ordinal(f, data=df).fit(),
            cm.Ordinal(f, data=df).fit(cov_type="cluster", cluster="municipality_code"),
            cm.Ordinal(f + " + (1 | municipality_code)", data=df).fit(),
            cm.Ordinal(f, data=df).fit(design=cm.SurveyDesign(df, cluster="municipality_code")),
        ]
    frame = regression_table(*fits, labels="da")

    def hand() -> str:
        return _Grid.from_frame(frame, frame.attrs["note"], None).to_html()

    def gt() -> str:
        flat = frame.reset_index()
        flat["term"] = [
            t if r == "est" else "" for t, r in zip(flat["term"], flat["row"], strict=True)
        ]
        table = (
            GT(flat.drop(columns="row"), rowname_col="term", groupname_col="block")
            .tab_source_note(frame.attrs["note"])
            .cols_align("center")
        )
        return table.as_raw_html()

    out_hand, out_gt = hand(), gt()
    t_hand, t_gt = _median_seconds(hand), _median_seconds(gt)
    i_gt = _import_seconds("great_tables")
    ext = re.compile(r"(?:src|href)=['\"]?https?://|@import url\(")
    print(f"{'':28}{'hand-written':>14}{'great-tables':>14}{'ratio gt/hand':>15}")
    print(f"{'render (median, ms)':28}{t_hand * 1e3:14.2f}{t_gt * 1e3:14.2f}{t_gt / t_hand:15.1f}")
    print(
        f"{'HTML size (kB)':28}{len(out_hand) / 1e3:14.1f}{len(out_gt) / 1e3:14.1f}"
        f"{len(out_gt) / len(out_hand):15.1f}"
    )
    print(f"{'extra import (s)':28}{0.0:14.2f}{i_gt:14.2f}")
    print(
        f"{'outside resources':28}{bool(ext.search(out_hand))!s:>14}"
        f"{bool(ext.search(out_gt))!s:>14}"
    )


if __name__ == "__main__":
    main()
