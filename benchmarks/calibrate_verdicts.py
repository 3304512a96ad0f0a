"""Null calibration of the replication's verdicts (issue 11): 200 data sets with no effect.

Runs, with :func:`civmodels.simulation.run` (checkpointed, so an interrupted run resumes):

1. ``null``: ``--n-sims`` surveys from the calibrated simulator with every effect behind a
   finding set to zero (``civmodels.replication.calibration.NULL_EFFECTS``), each through
   ``civmodels.replication.run`` with the methods crosstab, design, ordinal and mixed (the
   Bayesian method needs ~20 s of MCMC per finding and is left out);
2. ``margin``: the bloc difference in 'new focus last year' planted exactly at the equivalence
   margin - 10 points (crosstab, design) and an odds ratio of 1.5 (ordinal, mixed).

and prints one Markdown table: per method, the rate of each verdict that should be rare, its
Monte Carlo standard error and the bound it should respect (alpha/2 = 0.025 for a directional
"replicated" or "reversed"; alpha = 0.05 for "difference found" on a null and for
"equivalent" at the margin), and the number of "replicated" verdicts whose interval covers the
null (must be 0).

Usage::

    PYTHONPATH=. python benchmarks/calibrate_verdicts.py [--n-sims 200] [--n-jobs 1]
        [--studies null ...] [--checkpoint-dir DIR] [--csv calibration.csv]

Takes about 19 minutes with the defaults (one worker) on the shared 2-core development machine:
the null study about 4.3 s per survey, the margin studies 0.5-0.8 s. The --csv file has a
``scenario`` column whose value "null" pandas reads as missing unless told otherwise:
``pd.read_csv(path, keep_default_na=False, na_values=[""])``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

from civmodels.replication.calibration import (
    margin_replicate,
    null_replicate,
    summarise,
    summarise_by_finding,
)
from civmodels.simulation import Study, run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-sims", type=int, default=200)
    parser.add_argument("--n-jobs", type=int, default=1)
    parser.add_argument("--seed", type=int, default=20161)
    parser.add_argument("--checkpoint-dir", type=Path, default=Path("calibration-checkpoints"))
    parser.add_argument("--csv", type=Path, default=None, help="write all rows to this file")
    parser.add_argument(
        "--studies",
        nargs="+",
        default=["null", "margin-difference", "margin-odds-ratio"],
        help="which studies to run (default all three)",
    )
    args = parser.parse_args()

    studies = [
        Study(
            null_replicate,
            name="null",
            parameters={"methods": ("crosstab", "design", "ordinal", "mixed")},
        ),
        Study(
            margin_replicate,
            name="margin-difference",
            parameters={"scale": "difference", "methods": ("crosstab", "design")},
        ),
        Study(
            margin_replicate,
            name="margin-odds-ratio",
            parameters={"scale": "odds_ratio", "methods": ("ordinal", "mixed")},
        ),
    ]
    unknown = sorted(set(args.studies) - {s.name for s in studies})
    if unknown:
        parser.error(f"unknown studies {unknown}; choose from {[s.name for s in studies]}")
    tables = []
    for study in [s for s in studies if s.name in args.studies]:
        t0 = time.perf_counter()
        res = run(
            study,
            args.n_sims,
            n_jobs=args.n_jobs,
            random_seed=args.seed,
            checkpoint=args.checkpoint_dir / f"{study.name}.parquet",
            progress=False,
        )
        print(
            f"{study.name}: {res.n_succeeded} of {args.n_sims} data sets "
            f"({res.n_failed} failed) in {time.perf_counter() - t0:.0f} s"
        )
        tables.append(res.table)
    table = pd.concat(tables, ignore_index=True)
    if args.csv is not None:
        table.to_csv(args.csv, index=False)
    summary = summarise(table)
    print()
    print(summary.to_markdown(index=False, floatfmt=".4f"))
    if "null" in args.studies:
        print()
        print("Two-sided false replication per directional finding (null data sets):")
        print(summarise_by_finding(table).to_markdown(index=False, floatfmt=".4f"))


if __name__ == "__main__":
    main()
