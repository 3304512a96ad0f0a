"""Re-run the R reference scripts and check the stored fixtures are what R produces now.

Needs R with ordinal, MASS and survey (marker ``r``); CI without R deselects it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

REF = Path(__file__).resolve().parents[1] / "reference" / "ordinal"


@pytest.mark.r
@pytest.mark.parametrize(
    ("script", "outputs"),
    [
        ("make_clm.R", ["clm_logit.json", "clm_nominal.json", "clm_symmetric.json"]),
        ("make_polr.R", ["polr_housing.json"]),
    ],
)
def test_fixtures_are_reproducible(tmp_path, script, outputs):
    if shutil.which("Rscript") is None:
        pytest.skip("Rscript is not installed (CI has no R; the stored fixtures are used)")
    for f in ("_common.R", script):
        shutil.copy(REF / f, tmp_path / f)
    subprocess.run(["Rscript", script], cwd=tmp_path, check=True, capture_output=True)
    for out in outputs:
        new = json.loads((tmp_path / out).read_text())
        old = json.loads((REF / out).read_text())
        assert new["names"] == old["names"]
        np.testing.assert_allclose(new["estimate"], old["estimate"], rtol=1e-10)
        np.testing.assert_allclose(new["std_error"], old["std_error"], rtol=1e-8)
