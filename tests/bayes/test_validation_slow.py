"""Slow statistical validation: simulation-based calibration and parameter recovery.

The full runs (200 SBC data sets per family, 5 recovery data sets) are in
benchmarks/validate_bayes.py and docs/bayes.md; these are smaller versions of the same code.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

pytestmark = [pytest.mark.slow, pytest.mark.bayes]


FAMILIES = [
    "ordinal-logit",
    "ordinal-probit-normal",
    "ordinal-cloglog-t",
    "logistic-logit",
    "binomial-probit",
]


@pytest.mark.parametrize("family", FAMILIES)
def test_sbc_ranks_are_uniform(family):
    from validate_bayes import FAMILIES as ALL
    from validate_bayes import run_sbc

    assert family in ALL
    res = run_sbc(30, family, random_seed=3, draws=400)
    ranks = np.array(res["ranks"])
    assert ranks.shape == (30 - res["n_skipped"], len(res["names"]))
    # a prior draw whose simulated outcome has a single category cannot be fitted and is
    # skipped; that happens to about 4 % of the binary data sets (8 of 200 in the full run), so
    # more than 5 of 30 (probability about 0.002 at 4 %) means something else is wrong
    assert res["n_skipped"] <= 5
    # uniformity per parameter (chi-square over 10 bins); with 6 parameters a 0.001 level
    # flags a real miscalibration, not chance
    for name, p in res["chisq_pvalues"].items():
        assert p > 0.001, (name, p)
    # ranks are not piled at the ends (a shifted or too narrow posterior does that)
    ends = np.mean((ranks < 5) | (ranks > 94))
    assert ends < 0.25


def test_parameter_recovery_90_intervals():
    from validate_bayes import run_recovery

    res = run_recovery(2, random_seed=7)
    # the criterion: true values inside the 90% interval for >= 85% of parameters
    assert res["share_inside_overall"] >= 0.85, res["share_inside_per_dataset"]
