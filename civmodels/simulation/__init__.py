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
from .calibration import (
    COVERAGE_MODELS,
    SBC_MODELS,
    CoverageModel,
    CoverageResult,
    SBCModel,
    SBCResult,
    coverage_study,
    sbc,
)
from .power import (
    METHODS,
    PowerCurve,
    PowerResult,
    PowerStudy,
    pearson_chi2,
    power,
    power_curve,
    synthetic_frame,
)

__all__ = [
    "COVERAGE_MODELS",
    "METHODS",
    "SBC_MODELS",
    "CheckpointMismatchError",
    "CoverageModel",
    "CoverageResult",
    "DaskClientError",
    "PowerCurve",
    "PowerResult",
    "PowerStudy",
    "ReplicateFailureWarning",
    "SBCModel",
    "SBCResult",
    "SimulationResult",
    "Study",
    "StudyFailedError",
    "coverage_study",
    "pearson_chi2",
    "power",
    "power_curve",
    "replicate_rng",
    "run",
    "sbc",
    "synthetic_frame",
]
