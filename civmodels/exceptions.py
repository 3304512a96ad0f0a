"""Errors and warnings raised by civmodels.

Every error derives from :class:`CivmodelsError` *and* from the built-in exception a caller
would naturally catch (``ValueError``, ``KeyError``, ...), so existing ``except ValueError``
clauses keep working.
"""

from __future__ import annotations

__all__ = [
    "CivmodelsError",
    "ConvergenceWarning",
    "DataError",
    "DesignError",
    "FormulaError",
    "NotFittedError",
    "SamplingWarning",
    "SeparationError",
    "SeparationWarning",
    "SpecificationError",
    "WeightWarning",
]


class CivmodelsError(Exception):
    """Root of every error raised by civmodels."""


class DataError(CivmodelsError, ValueError):
    """Input data are unusable as given (bad codes, labels, types, duplicated ids, ...)."""


class FormulaError(CivmodelsError, ValueError):
    """A model formula cannot be parsed or names columns that do not exist."""


class SpecificationError(CivmodelsError, ValueError):
    """A model is mis-specified (collinear predictors, invalid option combination, ...)."""


class DesignError(CivmodelsError, ValueError):
    """A survey design or set of weights / calibration margins is invalid."""


class SeparationError(CivmodelsError, ValueError):
    """Complete separation: the maximum-likelihood estimate does not exist."""


class NotFittedError(CivmodelsError, AttributeError):
    """An estimator was used before ``fit``."""


class ConvergenceWarning(UserWarning):
    """An optimiser or sampler did not meet its convergence criteria."""


class SeparationWarning(UserWarning):
    """Quasi-complete separation: some estimates run off to infinity."""


class SamplingWarning(UserWarning):
    """MCMC diagnostics (R-hat, ESS, divergences) indicate an unreliable posterior."""


class WeightWarning(UserWarning):
    """Weighting produced extreme adjustment factors (raking, calibration)."""
