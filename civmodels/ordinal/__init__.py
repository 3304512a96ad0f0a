"""Cumulative link models for ordinal outcomes (fixed effects here; random intercepts in
:mod:`civmodels.ordinal.mixed`)."""

from __future__ import annotations

from typing import Any

from .model import Ordinal, OrdinalResult

__all__ = ["Ordinal", "OrdinalClassifier", "OrdinalResult"]


def __getattr__(name: str) -> Any:
    # scikit-learn is imported only when the wrapper is used
    if name == "OrdinalClassifier":
        from .sklearn import OrdinalClassifier

        return OrdinalClassifier
    raise AttributeError(f"module 'civmodels.ordinal' has no attribute {name!r}")
