"""Simulation studies at scale: a seeded, parallel, checkpointed study runner (joblib or
Dask), power analysis for the survey design, and coverage and calibration studies of the
civmodels engines."""

from __future__ import annotations

from ._checkpoint import CheckpointMismatchError
from ._runner import (
    DaskClientError,
    ReplicateFailureWarning,
    SimulationResult,
    Study,
    StudyFailedError,
    replicate_rng,
    run,
)

__all__ = [
    "CheckpointMismatchError",
    "DaskClientError",
    "ReplicateFailureWarning",
    "SimulationResult",
    "Study",
    "StudyFailedError",
    "replicate_rng",
    "run",
]
