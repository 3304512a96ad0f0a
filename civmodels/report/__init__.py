"""Publication tables and plots.

* :func:`regression_table` - several fitted models side by side (LaTeX, HTML, Markdown, Word
  or a DataFrame).
* :func:`summary_to_latex`, :func:`summary_to_docx` - one model's
  :class:`~civmodels.results.Summary` in LaTeX or Word (Markdown and HTML are methods of the
  Summary itself).
* :func:`verdict_table` - a compact view of the replication results for notebooks.
* :mod:`civmodels.report.plots` - coefficient/forest plots, predicted category probabilities,
  posterior densities of group differences, weight diagnostics (each returns a Figure).

Plots import matplotlib lazily, so ``import civmodels.report`` stays light.
"""

from __future__ import annotations

from typing import Any

from ._docx import summary_to_docx
from ._latex import frame_to_latex, latex_document, latex_escape, summary_to_latex
from .tables import OUTPUTS, regression_table, verdict_table

__all__ = [
    "OUTPUTS",
    "coefficient_plot",
    "forest_plot",
    "frame_to_latex",
    "latex_document",
    "latex_escape",
    "posterior_difference_plot",
    "predicted_probabilities_plot",
    "regression_table",
    "summary_to_docx",
    "summary_to_latex",
    "verdict_table",
    "weight_plot",
]

_PLOTS = {
    "coefficient_plot",
    "forest_plot",
    "posterior_difference_plot",
    "predicted_probabilities_plot",
    "weight_plot",
}


def __getattr__(name: str) -> Any:
    if name in _PLOTS:
        from . import plots

        return getattr(plots, name)
    raise AttributeError(f"module 'civmodels.report' has no attribute {name!r}")
