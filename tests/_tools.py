"""Tests that need a system tool (pdflatex, pdftoppm, Chromium): skip locally, fail in CI."""

from __future__ import annotations

import os
import shutil

import pytest


def in_ci() -> bool:
    """True when running under CI (``CI=true``), where ``.ci/run`` installs every tool."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def require_tool(name: str, debian_packages: str) -> str:
    """Return the path of the executable ``name``, or skip the test when it is missing.

    In CI a missing tool is a failure, not a skip: ``.ci/run`` installs these tools, so a skip
    there would hide a test that never ran.
    """
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (Debian: apt-get install {debian_packages})"
        if in_ci():
            pytest.fail(f"{message}; .ci/run should have installed it")
        pytest.skip(message)
    return path
