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
