"""The command line, through ``main([...])`` and once as a subprocess."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import types
from pathlib import Path

import pandas as pd
import pytest

import civmodels
from civmodels.cli import main
from civmodels.exceptions import DataError
from civmodels.replication import COLUMNS
from tests._tools import require_tool
from tests.replication.synth import make_frame, make_survey

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def fake_data(monkeypatch):
    """A stand-in for civmodels.data serving the small synthetic survey, so the CLI's own logic
    is tested independently of the bundled data set."""
    survey, frame = make_survey(), make_frame()
    mod = types.ModuleType("civmodels.data")

    def read_survey(path):
        if Path(path).suffix not in (".csv", ".sav", ".dta"):
            raise DataError(
                f"{path}: unsupported file type {Path(path).suffix!r}; civmodels reads CSV, "
                "SPSS .sav and Stata .dta"
            )
        return survey

    mod.load_survey = lambda: survey
    mod.read_survey = read_survey
    mod.load_frame = lambda: frame
    mod.load_municipalities = lambda: frame.drop_duplicates("municipality_code")
    mod.codebook = {}
    mod.simulate_survey = lambda random_seed: types.SimpleNamespace(
        data=make_survey(random_seed=random_seed)
    )
    monkeypatch.setitem(sys.modules, "civmodels.data", mod)
    monkeypatch.setattr(civmodels, "data", mod, raising=False)
    return mod


def test_unknown_method_lists_valid_ones(tmp_path, capsys, fake_data):
    code = main(["replicate", "--methods", "crosstab", "anova", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2
    assert "unknown method(s): anova" in err
    assert "crosstab, design, ordinal, mixed, bayes" in err


def test_refuses_non_empty_output_folder(tmp_path, capsys, fake_data):
    (tmp_path / "keep.txt").write_text("mine")
    code = main(["replicate", "--out", str(tmp_path), "--methods", "crosstab", "--fast"])
    assert code == 2
    assert "--overwrite" in capsys.readouterr().err
    assert (tmp_path / "keep.txt").read_text() == "mine"


def test_loader_rejection_is_shown_with_exit_code_2(tmp_path, capsys, fake_data):
    bad = tmp_path / "survey.txt"
    bad.write_text("not a survey")
    code = main(["replicate", "--data", str(bad), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2
    assert "rejected by the loader" in err and "unsupported file type '.txt'" in err
    assert main(["replicate", "--data", str(tmp_path / "missing.csv")]) == 2


def test_fast_skips_mcmc(tmp_path, fake_data):
    out = tmp_path / "o"
    code = main(
        [
            "replicate",
            "--methods",
            "crosstab",
            "bayes",
            "--fast",
            "--out",
            str(out),
            "--no-progress",
        ]
    )
    assert code == 0
    assert set(pd.read_csv(out / "findings.csv")["method"]) == {"crosstab"}


def test_fast_leaves_nothing_when_only_bayes_asked(tmp_path, capsys, fake_data):
    code = main(["replicate", "--methods", "bayes", "--fast", "--out", str(tmp_path / "o")])
    assert code == 2
    assert "no methods left" in capsys.readouterr().err


def test_replicate_writes_the_report(tmp_path, capsys, fake_data):
    out = tmp_path / "rep"
    code = main(["replicate", "--out", str(out), "--methods", "crosstab,ordinal", "--seed", "3"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "replicate" in captured.err  # tqdm progress bar goes to stderr
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "data:image/png;base64," in html  # figures embedded: opens anywhere
    assert "Synthetic data" in html
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "![" in md and (out / "figures" / "forest.png").exists()
    table = pd.read_csv(out / "findings.csv")
    assert list(table.columns[: len(COLUMNS)]) == COLUMNS
    assert set(table["method"]) == {"crosstab", "ordinal"}
    assert (out / "crosstabs" / "crosstabs.md").exists()
    tests = pd.read_csv(out / "crosstabs" / "chi2_tests.csv")
    assert {"size_group", "pressure_high", "region", "bloc", "area"} <= set(tests["by"])
    assert (out / "tables" / "findings.tex").exists()
    # running again needs --overwrite
    assert main(["replicate", "--out", str(out), "--methods", "crosstab"]) == 2
    assert (
        main(
            [
                "replicate",
                "--out",
                str(out),
                "--methods",
                "crosstab",
                "--overwrite",
                "--no-progress",
            ]
        )
        == 0
    )


@pytest.mark.latex
def test_report_latex_tables_compile(tmp_path, fake_data):
    require_tool("pdflatex", "texlive-latex-base texlive-latex-recommended")
    out = tmp_path / "rep"
    assert (
        main(["replicate", "--out", str(out), "--methods", "crosstab", "ordinal", "--no-progress"])
        == 0
    )
    for doc in ("findings_document.tex", "models_document.tex"):
        proc = subprocess.run(
            ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", doc],
            cwd=out / "tables",
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stdout[-2000:]


def test_describe_and_simulate(tmp_path, capsys, fake_data):
    assert main(["describe"]) == 0
    text = capsys.readouterr().out
    assert "invited positions" in text and "respondents" in text
    target = tmp_path / "sim.csv"
    assert main(["simulate", "--seed", "5", "--out", str(target)]) == 0
    assert len(pd.read_csv(target)) > 0
    assert main(["simulate", "--seed", "5", "--out", str(target)]) == 2  # exists


def test_real_loader_rejection_reaches_the_user(tmp_path, capsys):
    bad = tmp_path / "survey.xlsx"
    bad.write_bytes(b"PK\x03\x04 not really a spreadsheet")
    code = main(["replicate", "--data", str(bad), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2
    assert "rejected by the loader" in err
    assert not (tmp_path / "o").exists()  # nothing written


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "replicate" in capsys.readouterr().out


@pytest.mark.skipif(
    importlib.util.find_spec("civmodels.data") is None,
    reason="needs the bundled survey (civmodels.data, issue 2)",
)
def test_subprocess_replicate_fast_on_bundled_data(tmp_path):
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "civmodels",
            "replicate",
            "--fast",
            "--methods",
            "crosstab",
            "--out",
            str(tmp_path / "out"),
            "--no-progress",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / "out" / "report.html").exists()
    assert "report written to" in proc.stdout


# ------------------------------------------------------------------------------------------
# Issue 10: a command line as capable as the loader, and safe
# ------------------------------------------------------------------------------------------
def _one_line_error(err: str) -> None:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err


def test_negative_seed_is_a_one_line_usage_error(tmp_path, capsys):
    code = main(["simulate", "--seed", "-1", "--out", str(tmp_path / "s.csv")])
    err = capsys.readouterr().err
    assert code == 2
    _one_line_error(err)
    assert "--seed" in err and "-1" in err
    assert main(["replicate", "--seed", "x"]) == 2


def test_simulate_refuses_unwritable_targets(tmp_path, capsys, fake_data):
    (tmp_path / "afile").write_text("x")
    assert main(["simulate", "--seed", "1", "--out", str(tmp_path / "afile" / "s.csv")]) == 2
    err = capsys.readouterr().err
    _one_line_error(err)
    assert "is a file, not a folder" in err
    assert main(["simulate", "--seed", "1", "--out", str(tmp_path)]) == 2
    assert "is a folder" in capsys.readouterr().err


@pytest.mark.parametrize("where", ["under_a_file", "proc"])
def test_unwritable_out_is_refused_before_any_work(tmp_path, capsys, fake_data, where):
    calls = []
    fake_data.read_survey = lambda path, **kw: calls.append(path)
    data = tmp_path / "export.csv"
    data.write_text("x")
    if where == "under_a_file":
        (tmp_path / "afile").write_text("x")
        out = tmp_path / "afile" / "report"
    else:
        if not Path("/proc/self").exists():
            pytest.skip("needs Linux /proc (a folder no one can write in, even root)")
        out = Path("/proc/civmodels-report")
    code = main(["replicate", "--data", str(data), "--out", str(out), "--methods", "crosstab"])
    err = capsys.readouterr().err
    assert code == 2
    _one_line_error(err)
    assert str(out) in err
    assert calls == []  # the export was not even read


def test_out_that_is_a_file_or_non_empty(tmp_path, capsys, fake_data):
    target = tmp_path / "report.html"
    target.write_text("x")
    assert main(["replicate", "--out", str(target), "--methods", "crosstab"]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err


def test_failure_mid_run_leaves_no_output_and_rerun_works(tmp_path, capsys, fake_data, monkeypatch):
    import civmodels.replication._writer as writer

    out = tmp_path / "report"

    def broken(*args, **kwargs):
        raise RuntimeError("disk full while writing LaTeX")

    monkeypatch.setattr(writer, "_tex_tables", broken)
    args = ["replicate", "--out", str(out), "--methods", "crosstab", "--no-progress"]
    assert main(args) == 1
    err = capsys.readouterr().err
    _one_line_error(err)
    assert "disk full" in err
    assert list(tmp_path.iterdir()) == []  # neither the report nor a staging folder
    monkeypatch.undo()
    assert main(args) == 0
    assert (out / "report.html").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["report"]


def test_overwrite_replaces_report_files_and_keeps_others(tmp_path, fake_data):
    out = tmp_path / "report"
    args = ["replicate", "--out", str(out), "--methods", "crosstab", "--no-progress"]
    assert main(args) == 0
    (out / "notes.txt").write_text("mine")
    (out / "figures" / "stale.png").write_bytes(b"old")
    assert main([*args, "--overwrite"]) == 0
    assert (out / "notes.txt").read_text() == "mine"
    assert not (out / "figures" / "stale.png").exists()  # figures/ is the report's own
    assert (out / "report.md").exists()


def test_loader_options_are_forwarded(tmp_path, capsys, fake_data):
    seen = {}
    survey = fake_data.load_survey()

    def read_survey(path, **kwargs):
        seen.update(kwargs)
        return survey

    fake_data.read_survey = read_survey
    data = tmp_path / "export.csv"
    data.write_text("x")
    frame = tmp_path / "frame.csv"
    make_frame()[["municipality_code", "area", "responded"]].to_csv(frame, index=False)
    code = main(
        [
            "replicate",
            "--data",
            str(data),
            "--columns",
            "kommune=municipality",
            "--columns",
            "id=respondent_id",
            "--numeric-codes",
            "--sep",
            ";",
            "--out",
            str(tmp_path / "o"),
            "--methods",
            "crosstab",
        ]
    )
    assert code == 0, capsys.readouterr().err
    assert seen == {
        "columns": {"kommune": "municipality", "id": "respondent_id"},
        "numeric_codes": True,
        "sep": ";",
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--columns", "kommune"], "OLD=NEW"),
        (["--columns", "a=b", "--columns", "a=c"], "more than once"),
        (["--sep", ";;"], "one character"),
    ],
)
def test_bad_loader_options(tmp_path, capsys, fake_data, args, message):
    data = tmp_path / "export.csv"
    data.write_text("x")
    code = main(["replicate", "--data", str(data), *args, "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2
    _one_line_error(err)
    assert message in err


def test_loader_options_without_data(tmp_path, capsys, fake_data):
    assert main(["replicate", "--numeric-codes", "--out", str(tmp_path / "o")]) == 2
    assert "--data" in capsys.readouterr().err


def test_data_or_frame_that_is_a_folder(tmp_path, capsys, fake_data):
    assert main(["replicate", "--data", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert "is a folder" in capsys.readouterr().err
    assert main(["replicate", "--frame", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert "is a folder" in capsys.readouterr().err


# -- on the real data layer: exports written by civmodels.data.write_survey ----------------
def _export(tmp_path, data, name="export.csv", **renames):
    import civmodels.data as cmdata

    path = tmp_path / name
    cmdata.write_survey(data.drop(columns=["position_id"]), path)
    if renames:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False)
        raw.rename(columns=renames).to_csv(path, index=False)
    return path


def _assert_f18_is_the_frames(out, frame):
    """F18 in the written report is the chi-square of area x responded over ``frame``."""
    from scipy import stats

    f18 = pd.read_csv(out / "findings.csv").query("finding_id == 'F18'").iloc[0]
    tab = pd.crosstab(frame["area"], frame["responded"])
    expected = stats.chi2_contingency(tab, correction=False).statistic
    assert f18["statistic"] == pytest.approx(expected, rel=1e-10)


def _run(tmp_path, *args, methods=("crosstab",)):
    out = tmp_path / "report"
    code = main(["replicate", *args, "--out", str(out), "--methods", *methods, "--no-progress"])
    return code, out


def test_tiny_export_is_not_testable_with_reasons(tmp_path, capsys):
    import civmodels.data as cmdata

    path = _export(tmp_path, cmdata.load_survey().iloc[:20])
    code, out = _run(tmp_path, "--data", str(path), methods=("crosstab", "design", "ordinal"))
    err = capsys.readouterr().err
    assert code == 0, err
    assert "Traceback" not in err and "RuntimeWarning" not in err
    table = pd.read_csv(out / "findings.csv")
    respondent_rows = table[table["finding_id"] != "F18"]
    assert set(respondent_rows["verdict"]) == {"not testable"}
    # each row says why; F17's summary row says that none of its outcomes could be tested
    reason = r"the data have 20 respondent\(s\)|no outcome could be tested"
    assert respondent_rows["note"].str.contains(reason).all()
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "20 of 838" in md  # provenance: the frame built from the export


def test_header_only_data_in_python_is_not_testable(tmp_path):
    import civmodels.data as cmdata
    from civmodels.replication import crosstabs, run, write_report

    empty = cmdata.load_survey().iloc[:0]
    table = run(empty, methods=["crosstab", "design"])
    assert set(table["verdict"]) == {"not testable"}
    assert table["note"].str.len().gt(0).all()
    paths = write_report(table, tmp_path / "r", crosstabs=crosstabs(empty), synthetic=False)
    assert "(0 of 838)" in paths["markdown"].read_text(encoding="utf-8")


@pytest.mark.slow
def test_absent_items_are_not_testable(tmp_path, capsys):
    import civmodels.data as cmdata

    data = cmdata.simulate_survey(random_seed=4).data.drop(columns=["mot_quality"])
    path = _export(tmp_path, data)
    code, out = _run(tmp_path, "--data", str(path))
    err = capsys.readouterr().err
    assert code == 0, err
    assert "note: read_survey: 1 codebook item(s) are not in" in err  # one line, no stack
    table = pd.read_csv(out / "findings.csv")
    rows = table.query("outcome == 'mot_quality'")
    assert len(rows) and set(rows["verdict"]) == {"not testable"}
    assert rows["note"].str.contains("not in the export").all()
    # the ranking of the motivations (M-pattern) cannot be checked without it either
    ranking = table[table["outcome"].str.contains("mot_quality, ", na=False)]
    assert len(ranking) and set(ranking["verdict"]) == {"not testable"}


@pytest.mark.slow
def test_renamed_columns_and_an_explicit_frame(tmp_path, capsys):
    import civmodels.data as cmdata

    sim = cmdata.simulate_survey(random_seed=6)
    path = _export(tmp_path, sim.data, kommune="municipality", id="respondent_id")
    path_renamed = tmp_path / "renamed.csv"
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    raw.rename(columns={"municipality": "kommune", "respondent_id": "id"}).to_csv(
        path_renamed, index=False
    )
    pop = sim.population
    frame = tmp_path / "frame.csv"
    pd.DataFrame(
        {"kommune": pop["municipality"], "area": pop["area"], "responded": pop["responded"]}
    ).to_csv(frame, index=False)
    args = ["--data", str(path_renamed), "--columns", "kommune=municipality"]
    code, out = _run(tmp_path, *args, "--columns", "id=respondent_id", "--frame", str(frame))
    err = capsys.readouterr().err
    assert code == 0, err
    md = (out / "report.md").read_text(encoding="utf-8")
    assert f"frame given explicitly: {frame}" in md
    _assert_f18_is_the_frames(out, pop)


def test_frame_file_disagreeing_with_the_export_names_respondents(tmp_path, capsys):
    import civmodels.data as cmdata

    sim = cmdata.simulate_survey(random_seed=6)
    path = _export(tmp_path, sim.data)
    pop = sim.population.copy()
    first = sim.data.iloc[0]
    cell = (pop["municipality_code"] == first["municipality_code"]) & (pop["area"] == first["area"])
    pop.loc[cell, "responded"] = 0
    frame = tmp_path / "frame.csv"
    pop[["municipality", "area", "responded"]].to_csv(frame, index=False)
    code, out = _run(tmp_path, "--data", str(path), "--frame", str(frame))
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in err
    assert f"respondent_id {first['respondent_id']}" in err
    assert not out.exists()


@pytest.mark.slow
def test_export_holding_nonrespondents_is_its_own_frame(tmp_path, capsys):
    import civmodels.data as cmdata

    sim = cmdata.simulate_survey(random_seed=8)
    pop = sim.population
    non = pop.loc[pop["responded"] == 0, ["municipality_code", "municipality", "area"]]
    non = non.assign(**{c: False for c in sim.data.columns if c.endswith("_dk")})
    data = pd.concat([sim.data, non], ignore_index=True)
    data["respondent_id"] = range(1, len(data) + 1)
    path = _export(tmp_path, data)
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    raw["status"] = ["besvaret"] * len(sim.data) + ["ikke besvaret"] * len(non)
    raw.to_csv(path, index=False)
    code, out = _run(tmp_path, "--data", str(path))
    err = capsys.readouterr().err
    assert code == 0, err
    md = (out / "report.md").read_text(encoding="utf-8")
    assert f"{path} (838 invited positions, {len(sim.data)} responded)" in md
    _assert_f18_is_the_frames(out, pop)
