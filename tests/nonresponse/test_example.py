"""Execute examples/04_nonresponse.py end to end."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).parents[2] / "examples" / "04_nonresponse.py"


@pytest.mark.example
def test_example_runs():
    ns = runpy.run_path(str(EXAMPLE), run_name="__main__")
    comp = ns["comparison"]
    assert list(comp.index) == ["unweighted", "propensity", "raked", "MRP"]
    assert ((comp.iloc[:, :2] > 0) & (comp.iloc[:, :2] < 1)).all().all()
    assert ns["tp"].table.shape[0] == 7
