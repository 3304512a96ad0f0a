"""Coverage of 95% intervals of the random-intercept models by simulation (slow).

Runs ``benchmarks/coverage_mixed.py``: 1000 survey-shaped data sets (444 respondents, 98
municipalities, SD 0.6), AGQ-10 fits of the ordinal and the binary mixed model. Wald
intervals for thresholds and effects, log-scale Wald intervals for the SD (``[0, profile
upper limit]`` when the SD is estimated at 0). A few minutes of CPU time.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

SUMMARY_ROWS = ["mean (fixed effects)", "fits with SD = 0 (boundary)"]


@pytest.fixture(scope="module")
def coverage():
    from coverage_mixed import simulate_coverage

    return simulate_coverage(n_sims=1000, random_seed=3, models=("ordinal_agq", "logistic_agq"))


@pytest.mark.slow
def test_ordinal_mixed_coverage(coverage):
    cov = coverage["ordinal_agq"].dropna()
    # every threshold, effect and the SD within 93-97% (issue 3); the binomial sd of one
    # coverage estimate over 1000 data sets is 0.7 points
    assert cov.drop(index=SUMMARY_ROWS).between(0.93, 0.97).all(), coverage
    assert cov["mean (fixed effects)"] == pytest.approx(0.95, abs=0.01)


@pytest.mark.slow
def test_binary_mixed_fixed_effect_coverage(coverage):
    cov = coverage["logistic_agq"].dropna()
    assert cov.drop(index=[*SUMMARY_ROWS, "sd"]).between(0.93, 0.97).all(), coverage


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason="known: with ~4.5 binary responses per municipality the ML SD is estimated at 0 in "
    "11% of data sets and its log-Wald and profile intervals cover about 89-90% (docs/mixed.md)",
)
def test_binary_mixed_sd_coverage(coverage):
    assert 0.93 <= coverage.loc["sd", "logistic_agq"] <= 0.97, coverage
