"""Shared synthetic data for the replication tests (session-scoped: built once)."""

from __future__ import annotations

import pytest

from .synth import make_frame, make_survey


@pytest.fixture(scope="session")
def survey():
    return make_survey()


@pytest.fixture(scope="session")
def frame():
    return make_frame()
