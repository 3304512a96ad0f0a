"""Rerun the R fixture scripts and check they reproduce the stored references (needs R)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

REF = Path(__file__).parent / "reference"


def _flat(x, out, key=""):
    if isinstance(x, dict):
        for k, v in x.items():
            _flat(v, out, f"{key}/{k}")
    elif isinstance(x, list):
        for i, v in enumerate(x):
            _flat(v, out, f"{key}[{i}]")
    else:
        out[key] = x
    return out


@pytest.mark.r
@pytest.mark.parametrize(
    ("folder", "script", "output"),
    [
        ("survey", "make_survey.R", "survey_reference.json"),
        ("survey", "make_replicate.R", "replicate_reference.json"),
        ("survey", "make_poisson.R", "poisson_reference.json"),
        ("mi", "make_pool.R", "pool_reference.json"),
    ],
)
def test_r_script_reproduces_fixture(tmp_path, folder, script, output):
    if shutil.which("Rscript") is None:
        pytest.skip("Rscript is not installed (CI has no R; the stored fixtures are used)")
    src = REF / folder
    for f in src.iterdir():
        shutil.copy(f, tmp_path / f.name)
    (tmp_path / output).unlink()
    subprocess.run(["Rscript", script], cwd=tmp_path, check=True, capture_output=True)
    new = _flat(json.loads((tmp_path / output).read_text()), {})
    old = _flat(json.loads((src / output).read_text()), {})
    assert new.keys() == old.keys()
    for k, v in old.items():
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            np.testing.assert_allclose(new[k], v, rtol=1e-12, err_msg=k)
        else:
            assert new[k] == v, k
