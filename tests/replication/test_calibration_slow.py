"""Null calibration of the verdicts (a smaller version of benchmarks/calibrate_verdicts.py)."""

from __future__ import annotations

import numpy as np
import pytest

from civmodels.replication.calibration import margin_replicate, null_replicate, summarise
from civmodels.simulation import Study, run

N_SIMS = 40


def _bound(rate: float, target: float, n: int) -> bool:
    # at most the target plus three Monte Carlo standard errors at the target
    return rate <= target + 3 * np.sqrt(target * (1 - target) / n)


@pytest.mark.slow
def test_no_false_replication_on_null_data():
    res = run(
        Study(null_replicate, parameters={"methods": ("crosstab", "design")}),
        N_SIMS,
        n_jobs=1,
        random_seed=7,
        progress=False,
    )
    summary = summarise(res.table)
    direc = summary[summary["findings"] == "directional"].set_index(["method", "statistic"])
    for method in ("crosstab", "design"):
        n = int(direc.loc[(method, "replicated"), "n_rows"])
        assert n == 6 * N_SIMS
        for stat in ("replicated", "reversed"):
            assert _bound(direc.loc[(method, stat), "rate"], 0.025, n), (method, stat)
        covers = "replicated with interval covering the null (count)"
        assert direc.loc[(method, covers), "rate"] == 0
    equi = summary[summary["statistic"] == "difference found"]
    assert all(_bound(r.rate, 0.05, r.n_rows) for r in equi.itertuples())


@pytest.mark.slow
def test_equivalence_at_the_margin_is_rarely_declared():
    res = run(
        Study(margin_replicate, parameters={"scale": "difference", "methods": ("crosstab",)}),
        N_SIMS,
        n_jobs=1,
        random_seed=8,
        progress=False,
    )
    summary = summarise(res.table)
    row = summary[summary["statistic"] == "equivalent"].iloc[0]
    assert row["n_rows"] == N_SIMS
    assert _bound(row["rate"], 0.05, N_SIMS)
