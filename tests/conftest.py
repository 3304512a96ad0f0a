"""Shared fixtures and guards for the civmodels test suite."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _no_global_numpy_rng():
    """Fail any test that draws from NumPy's global random state (use a seeded Generator)."""
    # The guard must read the legacy global state itself, hence the NPY002 exemptions.
    state = np.random.get_state()  # noqa: NPY002
    marker = state[1].copy()
    yield
    after = np.random.get_state()  # noqa: NPY002
    changed = not np.array_equal(after[1], marker) or after[2] != state[2]
    np.random.set_state(state)  # noqa: NPY002
    if changed:
        pytest.fail(
            "test used NumPy's global random state; pass a seeded numpy.random.Generator instead"
        )
