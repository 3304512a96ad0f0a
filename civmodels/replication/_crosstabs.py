"""The report's own analysis: every outcome cross-tabulated by each municipality/area variable
with a Pearson chi-square test (issue 2, "first version" of the replication)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ._outcomes import contingency, group_codes, prepare_outcome
from ._registry import GROUPINGS, load_registry

__all__ = ["crosstabs", "default_outcomes"]


def default_outcomes(data: pd.DataFrame) -> list[str]:
    """Outcome items of the findings list (F- and M-entries) that occur in ``data``."""
    reg = load_registry()
    items: list[str] = []
    for f in reg.findings:
        if not f.frame:
            items += list(f.outcomes)
    for p in reg.patterns:
        items += [t["outcome"] for t in p.targets] + list(p.items)
    return [i for i in dict.fromkeys(items) if i in data.columns]


def crosstabs(
    data: pd.DataFrame,
    outcomes: Sequence[str] | None = None,
    by: Sequence[str] = GROUPINGS,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cross-tabulate outcomes by grouping variables with Pearson chi-square tests.

    Parameters
    ----------
    data : pandas.DataFrame
        Survey data.
    outcomes : sequence of str, optional
        Items to tabulate (default: those of the findings list present in ``data``).
    by : sequence of str
        Grouping variables (default size group, spending pressure, region, bloc, area).

    Returns
    -------
    tables : pandas.DataFrame
        Long format: ``outcome, by, group, category, count, row_pct`` (row percentages within
        the group, 'Ved ikke' and unanswered excluded).
    tests : pandas.DataFrame
        One row per outcome x grouping: ``statistic, df, p_value, n, n_missing, cramers_v,
        min_expected``.
    """
    reg = load_registry()
    outcomes = default_outcomes(data) if outcomes is None else list(outcomes)
    tab_rows, test_rows = [], []
    for item in outcomes:
        prep = prepare_outcome(data, item, None, bands=reg.count_bands.get(item))
        y = prep.table
        for b in by:
            if b not in data.columns:
                continue
            g = group_codes(data, b)
            tab, groups, cats = contingency(g, y)
            n_missing = int(len(data) - tab.sum())
            pct = tab / np.maximum(tab.sum(axis=1, keepdims=True), 1) * 100
            for i, grp in enumerate(groups):
                for j, cat in enumerate(cats):
                    tab_rows.append(
                        {
                            "outcome": item,
                            "by": b,
                            "group": str(grp),
                            "category": str(cat),
                            "count": int(tab[i, j]),
                            "row_pct": float(pct[i, j]),
                        }
                    )
            row = {"outcome": item, "by": b, "n": int(tab.sum()), "n_missing": n_missing}
            if min(tab.shape) >= 2:
                chi = stats.chi2_contingency(tab, correction=False)
                n = tab.sum()
                row.update(
                    statistic=float(chi.statistic),
                    df=int(chi.dof),
                    p_value=float(chi.pvalue),
                    cramers_v=float(np.sqrt(chi.statistic / (n * (min(tab.shape) - 1)))),
                    min_expected=float(np.min(chi.expected_freq)),
                )
            test_rows.append(row)
    return pd.DataFrame(tab_rows), pd.DataFrame(test_rows)
