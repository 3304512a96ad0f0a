"""civmodels: statistical inference for the survey of Danish municipalities' collaboration
with civil-society actors (Ibsen & Espersen, KORA 2016).

The public API is curated here. Heavy submodules (``bayes`` imports PyMC) load lazily, so
``import civmodels`` and the command line start fast.
"""

from __future__ import annotations

import importlib
from typing import Any

from .exceptions import (
    CivmodelsError,
    ConvergenceWarning,
    DataError,
    DesignError,
    FormulaError,
    SamplingWarning,
    SeparationError,
    SeparationWarning,
    SpecificationError,
    WeightWarning,
)

__version__ = "0.1.0.dev0"

_LAZY = {
    "SurveyDesign": ("civmodels.design", "SurveyDesign"),
    "ReplicateDesign": ("civmodels.design", "ReplicateDesign"),
    "Ordinal": ("civmodels.ordinal", "Ordinal"),
    "Logistic": ("civmodels.logistic", "Logistic"),
    "OrdinalClassifier": ("civmodels.ordinal", "OrdinalClassifier"),
    "compare": ("civmodels.inference", "compare"),
    "bayes": ("civmodels.bayes", None),
    "data": ("civmodels.data", None),
    "inference": ("civmodels.inference", None),
    "nonresponse": ("civmodels.nonresponse", None),
    "predictions": ("civmodels.predictions", None),
    "replication": ("civmodels.replication", None),
    "report": ("civmodels.report", None),
    "simulation": ("civmodels.simulation", None),
}

__all__ = [
    "CivmodelsError",
    "ConvergenceWarning",
    "DataError",
    "DesignError",
    "FormulaError",
    "SamplingWarning",
    "SeparationError",
    "SeparationWarning",
    "SpecificationError",
    "WeightWarning",
    "__version__",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, attr = _LAZY[name]
        mod = importlib.import_module(module)
        value = mod if attr is None else getattr(mod, attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'civmodels' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
