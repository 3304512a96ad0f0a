"""Speed of the data layer: the survey simulator and the loaders.

Simulation studies (power, coverage) call ``simulate_survey`` thousands of times, so its
per-call cost matters. There is no external peer that simulates this survey, so the ratios
printed are against floors measured in the same run:

* simulator: the bare NumPy draws one survey needs (normals, logistic noise, uniforms,
  gamma-Poisson) — the ratio is the overhead of building labelled pandas frames and the truth;
* loaders: the raw read of the same file (``pandas.read_csv`` / ``pyreadstat``) — the ratio is
  the cost of validating, mapping labels and joining the frame.

Run:  /work/venv/bin/python benchmarks/bench_data.py [--repeats 50]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a source checkout
from civmodels.data import (
    codebook,
    load_calibration,
    load_survey,
    read_survey,
    simulate_survey,
    write_survey,
)


def _median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _numpy_floor(rng: np.random.Generator) -> None:
    n, n_mun, n_dim = 838, 98, 4
    n_items = len(codebook.survey_columns())
    rng.standard_normal((n_mun, n_dim))
    rng.standard_normal(n_mun)
    rng.random(n)
    rng.standard_normal((n, n_dim))
    rng.logistic(size=(n, n_items))
    rng.poisson(rng.gamma(1.5, 8.0, size=n))
    rng.choice(4, size=450)
    rng.random((450, n_items))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=50)
    args = ap.parse_args()
    r = args.repeats

    t0 = time.perf_counter()
    simulate_survey(random_seed=0)
    cold = time.perf_counter() - t0
    seeds = iter(range(1, 10**6))
    warm = _median_time(lambda: simulate_survey(random_seed=next(seeds)), r)
    rng = np.random.default_rng(0)
    floor = _median_time(lambda: _numpy_floor(rng), r)
    effects = iter(np.linspace(0, 1, 10**4))
    override = _median_time(
        lambda: simulate_survey(
            random_seed=1, effects={"mot_cost_effectiveness": {"pressure_high": next(effects)}}
        ),
        max(5, r // 10),
    )
    cal = load_calibration().to_dict()
    with_dict = _median_time(lambda: simulate_survey(random_seed=2, calibration=cal), r)

    print("simulate_survey (838 positions, ~450 respondents, 61 items)")
    print(f"  first call incl. threshold solve : {1000 * cold:8.1f} ms")
    print(f"  per survey, cached set-up        : {1000 * warm:8.1f} ms")
    print(
        f"  bare NumPy draws (floor)         : {1000 * floor:8.1f} ms   ratio {warm / floor:5.1f}x"
    )
    print(f"  new effect size (1 item re-solved): {1000 * override:8.1f} ms")
    print(f"  calibration passed as a dict     : {1000 * with_dict:8.1f} ms")
    print(f"  surveys per second (1 core)      : {1 / warm:8.1f}")

    survey = load_survey()
    with tempfile.TemporaryDirectory() as tmp:
        print("\nread_survey on the bundled data (457 rows)")
        for suffix in (".csv", ".sav", ".dta"):
            path = write_survey(survey, Path(tmp) / f"s{suffix}")
            ours = _median_time(lambda p=path: read_survey(p), max(3, r // 10))
            if suffix == ".csv":
                raw = _median_time(lambda p=path: pd.read_csv(p, dtype=str), max(3, r // 10))
            else:
                import pyreadstat

                reader = pyreadstat.read_sav if suffix == ".sav" else pyreadstat.read_dta
                raw = _median_time(
                    lambda p=path, f=reader: f(str(p), apply_value_formats=True), max(3, r // 10)
                )
            print(
                f"  {suffix:5s} read_survey {1000 * ours:7.1f} ms   raw read "
                f"{1000 * raw:7.1f} ms   ratio {ours / raw:5.1f}x"
            )


if __name__ == "__main__":
    main()
