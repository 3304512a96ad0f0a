"""Benchmark: hierarchical cumulative-logit model, civmodels.bayes vs bambi, same data, one run.

Model: y ~ x1 + region + size + pressure + bloc + area + (1 | municipality) on the seeded
444-row data set in tests/reference/bayes/sim444.csv (98 municipalities, 15 fixed effects,
4 categories); 4 chains x 1000 draws after 1000 tuning steps.

Each configuration runs in a fresh subprocess that fits twice: the first fit includes imports,
graph construction and compilation ("cold"); the second is a repeat fit on the same model
object ("warm"). Reported: wall seconds and the minimum bulk ESS over thresholds, coefficients
and the group SD, per wall second. The machine is shared, so compare the ratios printed by one
run rather than absolute seconds.

Run:  /work/venv/bin/python benchmarks/bench_bayes.py [--configs civmodels-nutpie,bambi]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "reference" / "bayes" / "sim444.csv"
CATS = ["Slet ikke vigtigt", "Mindre vigtigt", "Vigtigt", "Meget vigtigt"]
RHS = "x1 + region + size + pressure + bloc + area"
CONFIGS = [
    "civmodels-nutpie",
    "bambi",
    "civmodels-nutpie-pytensor",
    "civmodels-pymc",
    "bambi-nutpie",
]
DRAWS, TUNE, CHAINS = 1000, 1000, 4


def _load():
    import pandas as pd

    df = pd.read_csv(DATA)
    df["y"] = pd.Categorical(df["y"], categories=CATS, ordered=True)
    return df


def _min_ess(idata, var_names):
    import arviz as az
    import numpy as np

    ess = az.ess(idata, var_names=var_names, method="bulk")
    return float(min(np.min(v.values) for v in ess.data_vars.values()))


def worker(config: str) -> dict:
    t0 = time.perf_counter()
    import warnings

    warnings.simplefilter("ignore")
    df = _load()
    out: dict = {"config": config}
    if config.startswith("civmodels"):
        sys.path.insert(0, str(ROOT))
        from civmodels import bayes

        sampler = config.split("-", 1)[1]
        model = bayes.Ordinal(f"y ~ {RHS} + (1 | municipality)", data=df)
        names = ["cutpoints", "coef", "sd_municipality"]

        def fit(seed):
            return model.fit(
                draws=DRAWS, tune=TUNE, chains=CHAINS, sampler=sampler, random_seed=seed
            ).idata

    else:
        import bambi as bmb

        model = bmb.Model(f"y ~ {RHS} + (1 | municipality)", df, family="cumulative")
        kw = {"nuts_sampler": "nutpie"} if config == "bambi-nutpie" else {}
        if config == "bambi-serial":
            # chains one after another in one process, as civmodels runs them
            kw = {"cores": 1}
        names = None

        def fit(seed):
            return model.fit(
                draws=DRAWS, tune=TUNE, chains=CHAINS, random_seed=seed, progressbar=False, **kw
            )

    idata = fit(1)
    t1 = time.perf_counter()
    if names is None:
        # bambi: thresholds, fixed effects and the group SD (not the group effects)
        names = [
            v
            for v in idata.posterior.data_vars
            if not v.startswith("1|municipality") or v.endswith("sigma")
        ]
    out["cold_s"] = t1 - t0
    out["cold_min_ess"] = _min_ess(idata, names)
    idata = fit(2)
    t2 = time.perf_counter()
    out["warm_s"] = t2 - t1
    out["warm_min_ess"] = _min_ess(idata, names)
    out["warm_ess_per_s"] = out["warm_min_ess"] / out["warm_s"]
    out["cold_ess_per_s"] = out["cold_min_ess"] / out["cold_s"]
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--worker")
    ap.add_argument("--configs", default=",".join(CONFIGS[:2]))
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker)))
        return
    rows = []
    for cfg in args.configs.split(","):
        proc = subprocess.run(
            [sys.executable, __file__, "--worker", cfg], capture_output=True, text=True, cwd=ROOT
        )
        if proc.returncode != 0:
            print(f"{cfg} failed:\n{proc.stderr[-2000:]}", file=sys.stderr)
            continue
        rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        print(json.dumps(rows[-1]), flush=True)
    base = next((r for r in rows if r["config"].startswith("bambi")), None)
    print(f"\nratios against {base['config'] if base else 'n/a'}")
    print(f"{'config':<28}{'cold s':>8}{'warm s':>8}{'min ESS':>9}{'ESS/s':>8}{'vs bambi':>10}")
    for r in rows:
        ratio = r["warm_ess_per_s"] / base["warm_ess_per_s"] if base else float("nan")
        print(
            f"{r['config']:<28}{r['cold_s']:>8.1f}{r['warm_s']:>8.1f}{r['warm_min_ess']:>9.0f}"
            f"{r['warm_ess_per_s']:>8.1f}{ratio:>9.2f}x"
        )


if __name__ == "__main__":
    main()
