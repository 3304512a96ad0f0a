"""Unit and item nonresponse: weighting, calibration, design-based tables, poststratification,
multiple imputation and MNAR sensitivity.

The design concepts live on the bottom floor (:mod:`civmodels.design`,
:mod:`civmodels.crosstab`, :mod:`civmodels.missing`) so that models and tables can use them;
they are re-exported here, where survey users look for them.
"""

from __future__ import annotations

from ..crosstab import Crosstab, CrosstabTest, crosstab
from ..design import DesignEstimate, ReplicateDesign, SurveyDesign
from ..missing import DontKnowReport, apply_dont_know
from .imputation import MultipleImputation, PooledResult, impute, pool
from .poststratification import Poststratified, poststratify, prediction_draws
from .propensity import PropensityWeights, propensity_weights
from .raking import calibrate, margins_from_frame, rake
from .sensitivity import DeltaAnalysis, TippingPoint, tipping_point

__all__ = [
    "Crosstab",
    "CrosstabTest",
    "DeltaAnalysis",
    "DesignEstimate",
    "DontKnowReport",
    "MultipleImputation",
    "PooledResult",
    "Poststratified",
    "PropensityWeights",
    "ReplicateDesign",
    "SurveyDesign",
    "TippingPoint",
    "apply_dont_know",
    "calibrate",
    "crosstab",
    "impute",
    "margins_from_frame",
    "pool",
    "poststratify",
    "prediction_draws",
    "propensity_weights",
    "rake",
    "tipping_point",
]
