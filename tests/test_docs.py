"""Build the documentation site with warnings as errors, executing the examples."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.example
@pytest.mark.docs
@pytest.mark.skipif(
    importlib.util.find_spec("sphinx") is None or importlib.util.find_spec("myst_nb") is None,
    reason="the docs extra (sphinx, myst-nb, pydata-sphinx-theme, numpydoc) is not installed",
)
def test_docs_build_without_warnings(tmp_path):
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-W",
            "--keep-going",
            "-b",
            "html",
            "-q",
            "-d",
            str(tmp_path / "doctrees"),
            str(ROOT / "docs"),
            str(tmp_path / "html"),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1500,
    )
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-6000:]
    html = tmp_path / "html"
    assert (html / "index.html").exists()
    assert (html / "getting_started.html").exists()
    # the examples were executed: their outputs are in the pages
    for page in (html / "_generated" / "examples").glob("*.html"):
        assert "cell_output" in page.read_text(encoding="utf-8"), page.name
