"""Execute examples/05_bayes.py end to end (about a minute of CPU: marked slow too)."""

from __future__ import annotations

import runpy
from pathlib import Path

import numpy as np
import pytest

EXAMPLE = Path(__file__).parents[2] / "examples" / "05_bayes.py"


@pytest.mark.example
@pytest.mark.slow
@pytest.mark.bayes
def test_example_runs():
    import matplotlib

    matplotlib.use("Agg")
    ns = runpy.run_path(str(EXAMPLE), run_name="__main__")
    comp = ns["compare"]
    assert list(comp.columns) == ["MRP", "joint model", "change"]
    np.testing.assert_allclose(comp["MRP"].sum(), 1.0, atol=1e-8)
    np.testing.assert_allclose(comp["joint model"].sum(), 1.0, atol=1e-8)
    assert ns["mrp"].n_units == 838
    assert set(ns["jres"].lambda_.index) >= {"mean", "prob_positive"}
