"""Bayesian hierarchical models (PyMC): ordinal and binary models pooled across
municipalities, battery models, MRP and a joint nonresponse model.

The only civmodels package that imports PyMC, nutpie and ArviZ — and only when a model is
fitted, so importing it is cheap. Version-specific sampler and ArviZ code lives in
:mod:`civmodels.bayes._backend`. The ``poststratify`` methods of the results return
:class:`civmodels.nonresponse.Poststratified`, the same MRP object as the frequentist
poststratification.
"""

from __future__ import annotations

from ._battery import Battery, BatteryResult
from ._joint import JointResponse, JointResult
from ._models import Logistic, Ordinal
from ._priors import Prior
from ._results import BayesResult, compare

__all__ = [
    "Battery",
    "BatteryResult",
    "BayesResult",
    "JointResponse",
    "JointResult",
    "Logistic",
    "Ordinal",
    "Prior",
    "compare",
]
