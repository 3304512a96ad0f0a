"""Speed of the simulation runner: one study, sequential, 2 loky workers, 2 Dask workers.

Runs the same 200-replicate coverage study (default: the random-intercept ordinal model fitted
by AGQ on survey-shaped data, 444 respondents in 98 municipalities) three ways and prints

* wall time of each, and the speed-up of 2 loky workers and of 2 Dask workers over 1
  (target: >= 1.7x on a 2-core machine);
* the per-replicate overhead of the Dask path relative to loky, from the same study
  ((t_dask - t_loky) / n_sims) and from a no-op study that isolates the scheduling cost;
* that the three tables are identical (same seed => same table).

Pool and cluster start-up are timed separately and excluded from the study times (a
researcher pays them once per session, not per study).

Usage::

    /work/venv/bin/python benchmarks/bench_simulation.py [--n-sims 200] [--model ordinal-mixed]

Timings are wall-clock on a shared machine: compare the ratios printed in one run.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import pandas as pd


def _noop(rng: np.random.Generator) -> dict:
    return {"u": float(rng.random())}


def _timed(label: str, fn):
    t0 = time.perf_counter()
    out = fn()
    dt = time.perf_counter() - t0
    print(f"  {label:<34s} {dt:8.2f} s")
    return out, dt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-sims", type=int, default=200)
    parser.add_argument("--model", default="ordinal-mixed")
    parser.add_argument("--n-noop", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=20261127)
    args = parser.parse_args()

    from distributed import Client, LocalCluster

    from civmodels.simulation import Study, coverage_study, run

    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} (1 min)")
    print(f"study: coverage_study({args.model!r}, n_sims={args.n_sims}), seed {args.seed}\n")

    def study(**kw):
        return coverage_study(args.model, args.n_sims, random_seed=args.seed, progress=False, **kw)

    def warm(**kw):
        # a few replicates import civmodels and the engine in every worker
        coverage_study(args.model, 4, random_seed=0, progress=False, **kw)

    print("start-up and warm-up (excluded from study times)")
    _timed("sequential warm-up", lambda: warm(n_jobs=1))
    _timed("loky pool, 2 workers + warm-up", lambda: warm(n_jobs=2))
    cluster, _ = _timed(
        "Dask LocalCluster, 2 workers",
        lambda: LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ),
    )
    client = Client(cluster)
    client.wait_for_workers(2)
    _timed("Dask warm-up", lambda: warm(backend="dask", client=client))

    try:
        print("\nstudy")
        one, t1 = _timed("sequential (n_jobs=1)", lambda: study(n_jobs=1))
        two, t2 = _timed("loky, 2 workers", lambda: study(n_jobs=2))
        dsk, td = _timed(
            "Dask LocalCluster, 2 workers", lambda: study(backend="dask", client=client)
        )

        print("\nno-op study (scheduling overhead only)")
        noop = Study(_noop, name="noop")
        _, n1 = _timed(
            f"sequential, {args.n_noop} replicates",
            lambda: run(noop, args.n_noop, n_jobs=1, random_seed=1, progress=False),
        )
        _, n2 = _timed(
            f"loky 2 workers, {args.n_noop} replicates",
            lambda: run(noop, args.n_noop, n_jobs=2, random_seed=1, progress=False),
        )
        _, nd = _timed(
            f"Dask 2 workers, {args.n_noop} replicates",
            lambda: run(
                noop, args.n_noop, backend="dask", client=client, random_seed=1, progress=False
            ),
        )
    finally:
        client.close()
        cluster.close()

    same = one.replicates.equals(two.replicates) and one.replicates.equals(dsk.replicates)
    pd.testing.assert_frame_equal(one.replicates, two.replicates)
    pd.testing.assert_frame_equal(one.replicates, dsk.replicates)
    n = args.n_sims
    print("\nresults")
    print(f"  per replicate, sequential:          {1000 * t1 / n:8.1f} ms")
    print(f"  speed-up, loky 2 workers:           {t1 / t2:8.2f}x   (target >= 1.7x)")
    print(f"  speed-up, Dask 2 workers:           {t1 / td:8.2f}x   (target >= 1.7x)")
    print(
        f"  Dask vs loky, per replicate:        {1000 * (td - t2) / n:+8.2f} ms "
        f"({100 * (td - t2) / t2:+.1f}% of the loky time)"
    )
    print(
        f"  scheduling cost per replicate:      sequential {1e6 * n1 / args.n_noop:7.0f} us, "
        f"loky {1e6 * n2 / args.n_noop:7.0f} us, Dask {1e6 * nd / args.n_noop:7.0f} us"
    )
    print(
        f"  Dask - loky scheduling overhead:    {1e6 * (nd - n2) / args.n_noop:+8.0f} us "
        "per replicate"
    )
    print(f"  identical tables (1, loky 2, Dask 2): {same}")
    print(f"  overall coverage: {one.overall:.3f} over {len(one.replicates)} intervals")
    print(f"\nload average after: {os.getloadavg()[0]:.2f} (1 min)")


if __name__ == "__main__":
    main()
