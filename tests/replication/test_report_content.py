"""The report reads like a results section: verdict matrix first, legend, one section per
finding, the untested rows with reasons, and the counts the terminal prints."""

from __future__ import annotations

import re

import pytest

from civmodels.replication import VERDICT_MEANINGS, run, verdict_counts, write_report


@pytest.fixture(scope="module")
def report(survey, frame, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    table = run(
        survey,
        methods=["crosstab"],
        frame=frame,
        findings=["F05", "F08", "F12", "F13", "F17"],
    )
    paths = write_report(table, out)
    return table, paths["markdown"].read_text("utf-8"), paths["html"].read_text("utf-8")


def test_report_opens_with_the_verdict_matrix(report):
    _, md, html = report
    headings = re.findall(r"^## (.+)$", md, flags=re.M)
    assert headings[0] == "Verdict matrix"
    assert headings[-3:] == ["Full table", "Provenance", "Files"]
    matrix = md.split("## Verdict matrix")[1].split("## ")[0]
    # the report's own words and page next to each finding
    assert "Teknik og miljø is the only area that deviates" in matrix
    assert "| F05 |" in matrix and "| 6-7 |" in matrix
    assert html.index("Verdict matrix") < html.index("Legend") < html.index("Full table")
    assert "class='verdict' style='background:#cdeccd'" in html  # colour-coded cells


def test_legend_defines_every_verdict_used(report):
    table, md, _ = report
    legend = md.split("## Legend")[1].split("## ")[0]
    for verdict in set(table["verdict"]):
        assert f"**{verdict}** - {VERDICT_MEANINGS[verdict]}" in legend


def test_one_section_per_finding_with_its_claim_and_rule(report):
    _, md, _ = report
    for fid in ("F05", "F12", "F13", "F17"):
        assert re.search(rf"^### {fid}: ", md, flags=re.M)
    f17 = md.split("### F17")[1]
    assert "Rule: Per method" in f17 and "tests significant" in f17
    assert "![F12: forest plot](figures/forest_F12.png)" in md


def test_untested_rows_are_listed_with_reasons(report):
    _, md, _ = report
    section = md.split("## Not tested")[1].split("## ")[0]
    assert "F08" in section and "is not in the data" in section


def test_counts_are_the_ones_the_terminal_prints(report):
    table, md, _ = report
    section = md.split("## Verdict counts")[1].split("## ")[0]
    counts = verdict_counts(table)
    row = next(line for line in section.splitlines() if line.startswith("| crosstab"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert [int(c) for c in cells[1:]] == counts.loc["crosstab"].tolist()


def test_legend_quotes_the_null_calibration(report):
    _, md, _ = report
    legend = md.split("## Legend")[1].split("## ")[0]
    assert "Null calibration" in legend
    assert "report-style 3.3% / 2.8%" in legend  # crosstab only in this report
    assert "design-based" not in legend.split("Null calibration")[1]


def test_quoted_null_rates_are_the_docs_table():
    from pathlib import Path

    from civmodels.replication.calibration import NULL_RATES

    docs = (Path(__file__).parents[2] / "docs" / "replication.md").read_text("utf-8")
    rows = {}
    for line in docs.splitlines():
        for stat in ('"replicated"', '"reversed"'):
            if line.startswith(f"| null | directional | {stat} |"):
                cells = [c.strip() for c in line.strip("|").split("|")]
                rows[stat] = [float(c.split()[0]) for c in cells[3:7]]
    assert set(rows) == {'"replicated"', '"reversed"'}
    for j, method in enumerate(("crosstab", "design", "ordinal", "mixed")):
        assert NULL_RATES[method] == (rows['"replicated"'][j], rows['"reversed"'][j])
