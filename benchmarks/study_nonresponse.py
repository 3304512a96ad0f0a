"""Simulation study: nonresponse adjustments for population proportions under MAR and MNAR.

Each replication draws one synthetic survey from the calibrated generator
(:func:`civmodels.data.simulate_survey`) over the real 838-position frame: every position gets
answers (``.population``), and a response model decides who is observed (``.data``).
Under **MAR** response depends on area and municipality covariates only; under **MNAR**
(``mnar=``) it also depends on the municipality's latent outcome effects, so respondents'
municipalities are systematically different in what is measured.

Target: the share of all 838 positions answering "Meget vigtigt" (top box) and "Vigtigt" or
"Meget vigtigt" (top two) on ``mot_cost_effectiveness``, overall and by spending pressure —
finite-population quantities, known exactly in each replication.

Estimators (95% intervals):

* ``unweighted``  respondents as they are; design SE with municipalities as PSUs.
* ``propensity``  inverse response-propensity weights (logit of responded on area, size
  group, region over the frame).
* ``raked``       weights raked to the frame's area, size-group and region counts.
* ``MRP``         proportional-odds model with a municipality random intercept, poststratified
  over the frame (parameter draws).
* ``MI``          the item imputed for all 838 positions by chained equations (m = 5) from
  area, size group, region and pressure; Rubin's rules.

Design-based SEs treat municipalities as sampled with replacement, i.e. they target a
superpopulation variance; the truth is the finite population of 838, so those intervals are
expected to be conservative (coverage above 95%) — the report says so.

Run::

    python benchmarks/study_nonresponse.py              # default: 40 replications/scenario
    python benchmarks/study_nonresponse.py --reps 200 --jobs 2 --out table.md

It prints the table (bias, RMSE, coverage, mean SE / empirical SD) that docs/nonresponse.md
shows, with the command and seed used.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import civmodels as cm
from civmodels.data import simulate_survey
from civmodels.missing import apply_dont_know
from civmodels.nonresponse import (
    SurveyDesign,
    impute,
    poststratify,
    propensity_weights,
    rake,
)

ITEM = "mot_cost_effectiveness"
QUANTITIES = {"top box": ["Meget vigtigt"], "top two": ["Vigtigt", "Meget vigtigt"]}
COVARIATES = ["area", "size_group", "region"]
FRAME_COLS = [
    "position_id",
    "municipality_code",
    "area",
    "size_group",
    "region",
    "pressure_high",
    "responded",
]


def _design_shares(data: pd.DataFrame, weights: str | None) -> dict:
    d = SurveyDesign(data, weights=weights, cluster="municipality_code")
    out = {}
    for qname, cats in QUANTITIES.items():
        col = data[ITEM].isin(cats).astype(float).where(data[ITEM].notna())
        dd = SurveyDesign(data.assign(_y=col), weights=weights, cluster="municipality_code")
        overall = dd.mean("_y")
        byp = dd.mean("_y", by="pressure_high")
        est = [overall.estimate.iloc[0], *byp.estimate.to_numpy()]
        se = [overall.std_error.iloc[0], *byp.std_error.to_numpy()]
        q = stats.t.ppf(0.975, max(d.degf, 1))
        for target, e, s in zip(("overall", "pressure 0", "pressure 1"), est, se, strict=True):
            out[(qname, target)] = (e, s, e - q * s, e + q * s)
    return out


def one_replication(seed: int, mnar: float) -> list[dict]:
    sim = simulate_survey(random_seed=seed, mnar=mnar)
    pop = sim.population
    frame = pop[FRAME_COLS].copy()
    data, _ = apply_dont_know(sim.data, "missing", items=[ITEM])
    truth = {}
    for qname, cats in QUANTITIES.items():
        hit = pop[ITEM].isin(cats)
        truth[(qname, "overall")] = hit.mean()
        for g in (0, 1):
            truth[(qname, f"pressure {g}")] = hit[pop["pressure_high"] == g].mean()
    results = {}
    results["unweighted"] = _design_shares(data, None)
    pw = propensity_weights(frame)
    data = data.merge(
        pw.weights.rename("w_prop").to_frame().join(frame["position_id"]), on="position_id"
    )
    results["propensity"] = _design_shares(data, "w_prop")
    margins = {v: frame[v].value_counts().to_dict() for v in COVARIATES}
    data["w_rake"] = rake(data, margins)
    results["raked"] = _design_shares(data, "w_rake")

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = cm.Ordinal(
            f"{ITEM} ~ pressure_high + area + size_group + region + (1 | municipality_code)",
            data,
        ).fit()
    boundary = any("boundary" in str(w.message) for w in caught)
    mrp = {}
    for qname, cats in QUANTITIES.items():
        ps = poststratify(
            res, frame, by="pressure_high", categories=cats, n_draws=400, random_seed=seed
        ).table.droplevel("quantity")
        for key, target in (("overall", "overall"), (0, "pressure 0"), (1, "pressure 1")):
            r = ps.loc[key]
            mrp[(qname, target)] = (r["estimate"], r["std_error"], r["ci_lower"], r["ci_upper"])
    results["MRP"] = mrp

    full = frame.merge(data[["position_id", ITEM]], on="position_id", how="left")
    mi = impute(
        full, [ITEM], predictors=[*COVARIATES, "pressure_high"], m=5, n_iter=2, random_seed=seed
    )
    mires = {}
    for qname, cats in QUANTITIES.items():

        def fit(d, cats=cats):
            dd = SurveyDesign(
                d.assign(_y=d[ITEM].isin(cats).astype(float)), cluster="municipality_code"
            )
            overall = dd.mean("_y")
            byp = dd.mean("_y", by="pressure_high")
            return _Stacked(overall, byp)

        pr = mi.pool(fit)
        ci = pr.conf_int()
        for j, target in enumerate(("overall", "pressure 0", "pressure 1")):
            mires[(qname, target)] = (
                pr.params.iloc[j],
                pr.std_errors.iloc[j],
                ci["ci_lower"].iloc[j],
                ci["ci_upper"].iloc[j],
            )
    results["MI"] = mires

    rows = []
    for method, est in results.items():
        for key, (e, s, lo, hi) in est.items():
            rows.append(
                {
                    "method": method,
                    "quantity": key[0],
                    "target": key[1],
                    "estimate": e,
                    "se": s,
                    "lo": lo,
                    "hi": hi,
                    "truth": truth[key],
                    "mrp_boundary": boundary,
                }
            )
    return rows


class _Stacked:
    """Overall and by-pressure design estimates as one params/vcov result for pool()."""

    def __init__(self, overall, byp) -> None:
        names = ["overall", "pressure 0", "pressure 1"]
        self.params = pd.Series([overall.estimate.iloc[0], *byp.estimate.to_numpy()], index=names)
        # only the diagonal matters for per-quantity pooling; the overall/by covariance is
        # left at 0 rather than estimated
        v = np.zeros((3, 3))
        v[0, 0] = overall.vcov.to_numpy()[0, 0]
        v[1:, 1:] = byp.vcov.to_numpy()
        self.vcov = pd.DataFrame(v, index=names, columns=names)
        self.df_resid = float(overall.df)


def summarise(rows: pd.DataFrame) -> pd.DataFrame:
    rows = rows.assign(
        err=rows["estimate"] - rows["truth"],
        cover=(rows["lo"] <= rows["truth"]) & (rows["truth"] <= rows["hi"]),
    )
    g = rows.groupby(["scenario", "quantity", "target", "method"], sort=False)
    return pd.DataFrame(
        {
            "bias": g["err"].mean(),
            "rmse": g["err"].apply(lambda e: np.sqrt(np.mean(e**2))),
            "coverage": g["cover"].mean(),
            "se/sd": g["se"].mean() / g["estimate"].std(ddof=1),
        }
    )


def main(argv: list[str] | None = None) -> pd.DataFrame:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=40, help="replications per scenario")
    ap.add_argument("--seed", type=int, default=2016, help="base seed")
    ap.add_argument("--mnar", type=float, default=1.5, help="MNAR strength (logit SD)")
    ap.add_argument("--jobs", type=int, default=1, help="parallel workers (joblib)")
    ap.add_argument("--out", type=Path, default=None, help="write the table as Markdown")
    args = ap.parse_args(argv)
    from joblib import Parallel, delayed

    seeds = np.random.SeedSequence(args.seed).generate_state(args.reps).tolist()
    t0 = time.perf_counter()
    frames = []
    for scenario, mnar in (("MAR", 0.0), ("MNAR", args.mnar)):
        out = Parallel(n_jobs=args.jobs)(delayed(one_replication)(s, mnar) for s in seeds)
        df = pd.DataFrame([r for rep in out for r in rep]).assign(scenario=scenario)
        frames.append(df)
    rows = pd.concat(frames, ignore_index=True)
    table = summarise(rows)
    n_boundary = (
        rows.drop_duplicates(["scenario", "truth", "quantity"])
        .groupby("scenario")["mrp_boundary"]
        .mean()
    )
    elapsed = time.perf_counter() - t0
    pd.set_option("display.width", 140)
    print(table.round(3).to_string())
    print(
        f"\n{args.reps} replications per scenario, seed {args.seed}, mnar={args.mnar}, "
        f"{elapsed:.0f} s"
    )
    print(
        "share of MRP fits with the municipality SD at the boundary (0): "
        + ", ".join(f"{k} {v:.0%}" for k, v in n_boundary.items())
    )
    if args.out:
        args.out.write_text(table.round(3).reset_index().to_markdown(index=False) + "\n")
    return table


if __name__ == "__main__":
    main()
