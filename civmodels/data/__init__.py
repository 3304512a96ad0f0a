"""Data layer of civmodels: the real municipality frame, the 838-position survey frame, the
codebook, a calibrated survey simulator, the bundled synthetic survey and loaders for the real
export (CSV, SPSS, Stata).

What is real and what is simulated is documented in ``docs/data.md`` ("Data and provenance").
The bundled survey is synthetic: the report's microdata are not public.
"""

from __future__ import annotations

from .calibration import (
    COVARIATE_TERMS,
    DIMENSIONS,
    Calibration,
    assumption_entries,
    load_calibration,
)
from .codebook import (
    AREAS,
    BATTERIES,
    DONT_KNOW_LABEL,
    Category,
    Codebook,
    Question,
    load_codebook,
)
from .frame import (
    COVARIATES,
    DEFAULT_SIZE_CUTS,
    N_POSITIONS,
    REGIONS,
    allocate_positions,
    load_frame,
    load_municipalities,
)
from .loaders import ReadReport, load_survey, read_survey, write_survey
from .simulate import BUNDLED_SEED, SimulatedSurvey, SurveyTruth, simulate_survey

#: The bundled codebook (see :class:`Codebook`).
codebook: Codebook = load_codebook()

__all__ = [
    "AREAS",
    "BATTERIES",
    "BUNDLED_SEED",
    "COVARIATES",
    "COVARIATE_TERMS",
    "DEFAULT_SIZE_CUTS",
    "DIMENSIONS",
    "DONT_KNOW_LABEL",
    "N_POSITIONS",
    "REGIONS",
    "Calibration",
    "Category",
    "Codebook",
    "Question",
    "ReadReport",
    "SimulatedSurvey",
    "SurveyTruth",
    "allocate_positions",
    "assumption_entries",
    "codebook",
    "load_calibration",
    "load_codebook",
    "load_frame",
    "load_municipalities",
    "load_survey",
    "read_survey",
    "simulate_survey",
    "write_survey",
]
