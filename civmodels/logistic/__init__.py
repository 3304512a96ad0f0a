"""Binary regression models (fixed effects here; random intercepts in
:mod:`civmodels.logistic.mixed`)."""

from __future__ import annotations

from .model import Logistic, LogisticResult

__all__ = ["Logistic", "LogisticResult"]
