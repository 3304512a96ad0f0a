"""The replication's progress bar: tests weighted by their expected cost, so the ETA is sane
from the first test (one Bayesian fit costs as much as a few hundred chi-square tests)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["COST", "Progress"]

#: Relative cost of one test by method, from the run times in docs/replication.md (per-method
#: CPU seconds of ``replicate --fast`` over its ~65 tests per method; a Bayesian fit with MRP
#: costs about as much as 60 random-intercept fits). Only the ratios matter: they spread the
#: ETA over the tests still to come.
COST = {"crosstab": 0.01, "design": 0.02, "ordinal": 0.03, "mixed": 0.07, "bayes": 4.0}


class Progress:
    """Counts tests; shows a tqdm bar whose position and ETA follow the weighted cost.

    Parameters
    ----------
    methods : sequence of str
        The method of every planned test, in any order.
    progress : bool or callable
        ``True`` for a tqdm bar on stderr; a callable receives the number of tests and returns
        an object with ``update(n)`` and ``close()`` (called once per test).
    """

    def __init__(self, methods: Sequence[str], progress: bool | Callable[[int], Any]) -> None:
        self.n_total = len(methods)
        self.n_done = 0
        self._bar: Any = None
        self._weighted = False
        if progress is True:
            from tqdm.auto import tqdm

            self._weighted = True
            self._bar = tqdm(
                total=sum(COST.get(m, 0.05) for m in methods),
                desc=self._label(),
                file=sys.stderr,
                # the rate since the start, not a moving average: a slow Bayesian fit between
                # fast tests must not swing the ETA
                smoothing=0,
                bar_format="{desc}: {percentage:3.0f}%|{bar}| [{elapsed}<{remaining}]",
            )
        elif callable(progress):
            self._bar = progress(self.n_total)

    def _label(self) -> str:
        return f"replicate {self.n_done}/{self.n_total} tests"

    def tick(self, method: str) -> None:
        """One test of ``method`` is done."""
        self.n_done += 1
        if self._bar is None:
            return
        if self._weighted:
            self._bar.set_description_str(self._label(), refresh=False)
            self._bar.update(COST.get(method, 0.05))
        else:
            self._bar.update(1)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
