"""The data example runs from start to end."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "01_data.py"


@pytest.mark.example
def test_data_example_runs(capsys):
    runpy.run_path(str(EXAMPLE), run_name="__main__")
    out = capsys.readouterr().out
    assert "respondents" in out
    assert "plot written to" in out
    png = Path(out.rsplit("plot written to ", 1)[1].strip())
    assert png.is_file() and png.stat().st_size > 1000
