"""Replication of the findings of Ibsen & Espersen (2016), KORA.

* :func:`findings` - the registry of the report's findings (F01-F18) and overall patterns
  (M1-M13) as a DataFrame; the source is the packaged ``findings.yaml``.
* :func:`run` - every finding tested by the report's kind of test and by model-based
  inference (design-based, cluster-robust, random-intercept and Bayesian with MRP), with
  multiplicity adjustment and a verdict per row.
* :func:`crosstabs` - the report's own analysis: every outcome cross-tabulated by size group,
  spending pressure, region, bloc and area with chi-square tests.
* :func:`verdict_matrix`, :func:`verdict_counts`, :func:`not_testable` - the summaries the
  report opens with (the terminal summary prints the same counts).
* :func:`read_frame` - the invited positions (respondents and nonrespondents) from a file.
* :func:`write_report` - the Markdown/HTML/CSV/LaTeX report written by ``civmodels
  replicate``.
"""

from __future__ import annotations

import pandas as pd

from ._crosstabs import crosstabs, default_outcomes
from ._frame import read_frame, respondents_of
from ._methods import METHOD_LABELS
from ._registry import METHODS, load_registry, registry_frame
from ._runner import COLUMNS, FAMILIES, VERDICT_MEANINGS, VERDICTS, adjust_pvalues, run
from ._summary import not_testable, verdict_counts, verdict_matrix
from ._writer import write_report

__all__ = [
    "COLUMNS",
    "FAMILIES",
    "METHODS",
    "METHOD_LABELS",
    "VERDICTS",
    "VERDICT_MEANINGS",
    "adjust_pvalues",
    "crosstabs",
    "default_outcomes",
    "findings",
    "load_registry",
    "not_testable",
    "read_frame",
    "respondents_of",
    "run",
    "verdict_counts",
    "verdict_matrix",
    "write_report",
]


def findings() -> pd.DataFrame:
    """The report's findings and overall patterns, one row per entry.

    Returns
    -------
    pandas.DataFrame
        Columns ``id, kind, title, outcomes, by, contrast, direction, event, stated, figures,
        page, tests, confidence``. ``kind`` is difference / omnibus / aggregate for the group
        findings F01-F18 and marginal / ranking for the patterns M1-M13.

    Examples
    --------
    >>> from civmodels.replication import findings
    >>> findings().set_index("id").loc["F12", "direction"]
    'higher'
    """
    return registry_frame(load_registry())
