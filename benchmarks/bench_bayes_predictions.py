"""Posterior predictions: the draws evaluated one by one vs in blocks.

``civmodels.predictions`` evaluates a Bayesian result's quantities for blocks of posterior
draws at once when the result's prediction model supplies ``prob_draws``; setting
``civmodels.predictions._VECTORISE_DRAWS = False`` sends the same call through the loop over
single draws. This script fits one model, times ``predictions(by=...)`` both ways, marginal
(every row integrated over the group effects by Gauss-Hermite quadrature) and conditional
(the draws of the municipalities' effects), checks that the two tables agree and prints the
ratio.

Cases (``--case``):

* ``battery`` (default): the bundled survey's motivation battery, all nine items, every
  respondent, ``~ size_group + pressure_high + bloc + (1 | municipality) + (1 | area)``,
  ``predictions(by="pressure_high")``;
* ``sim444``: the single-outcome ``bayes.Ordinal`` model of benchmarks/bench_bayes.py on the
  444-row data set, ``predictions(by="area")`` (7 areas).

Default: 4 chains x 1000 draws (4000 draws) after 500 tuning steps; the fit is not timed.
The machine is shared, so compare the ratio printed by one run rather than absolute seconds.
Both routes compute each distinct row of a design once; before that (and before blocks)
the battery's marginal predictions took 37 s for 4000 draws on the same machine.

Run:  /work/devenv/bin/python benchmarks/bench_bayes_predictions.py [--case battery]
          [--draws 1000] [--chains 4]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "reference" / "bayes" / "sim444.csv"
CATS = ["Slet ikke vigtigt", "Mindre vigtigt", "Vigtigt", "Meget vigtigt"]


def _fit(case: str, draws: int, chains: int) -> tuple[object, str, int]:
    import civmodels as cm
    from civmodels import bayes

    kw = {"draws": draws, "tune": 500, "chains": chains, "random_seed": 2024}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if case == "battery":
            survey = cm.data.load_survey()
            items = [c for c in survey.columns if c.startswith("mot_") and not c.endswith("_dk")]
            rhs = "~ size_group + pressure_high + bloc + (1 | municipality) + (1 | area)"
            res = bayes.Battery(items, rhs, survey).fit(**kw)
            return res, "pressure_high", len(res.model.data)
        if case == "sim444":
            df = pd.read_csv(DATA)
            df["y"] = pd.Categorical(df["y"], categories=CATS, ordered=True)
            f = "y ~ x1 + region + size + pressure + bloc + area + (1 | municipality)"
            return bayes.Ordinal(f, data=df).fit(**kw), "area", len(df)
    raise SystemExit(f"unknown case {case!r}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", default="battery", choices=["battery", "sim444"])
    ap.add_argument("--draws", type=int, default=1000, help="draws per chain")
    ap.add_argument("--chains", type=int, default=4)
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    import civmodels.predictions as P

    t0 = time.perf_counter()
    res, by, n = _fit(args.case, args.draws, args.chains)
    pm = res._prediction_model()  # type: ignore[attr-defined]
    n_draws = len(pm.uncertainty.draws)
    print(
        f"case {args.case}: {n} rows, {len(pm.outcomes)} probability columns, {n_draws} "
        f"draws (fit {time.perf_counter() - t0:.1f} s, not timed below)"
    )
    cols = ["estimate", "std_error", "ci_lower", "ci_upper"]
    for conditional in (False, True):
        times, tabs = {}, {}
        for route, flag in (("blocks", True), ("draw by draw", False)):
            P._VECTORISE_DRAWS = flag
            t = time.perf_counter()
            tabs[route] = res.predictions(by=by, conditional=conditional)  # type: ignore[attr-defined]
            times[route] = time.perf_counter() - t
        P._VECTORISE_DRAWS = True
        a, b = (tabs[r][cols].to_numpy() for r in ("blocks", "draw by draw"))
        call = f"predictions(by={by!r}, conditional={conditional})"
        for route, sec in times.items():
            per = 1e3 * sec / n_draws
            print(f"  {call} {route:>13}: {sec:8.2f} s ({per:.3f} ms/draw)")
        print(f"    ratio draw-by-draw / blocks: {times['draw by draw'] / times['blocks']:.1f}")
        print(f"    largest relative difference: {np.max(np.abs(a - b) / np.abs(b)):.1e}")


if __name__ == "__main__":
    main()
