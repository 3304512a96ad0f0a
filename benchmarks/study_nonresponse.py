"""Simulation study: nonresponse adjustments for population proportions under MAR and MNAR.

Each replication draws one synthetic survey from the calibrated generator
(:func:`civmodels.data.simulate_survey`) over the real 838-position frame: every position gets
answers (``.population``), and a response model decides who is observed. Three scenarios:

* **MAR (generator)**: the generator's own response model (area and municipality covariates).
  The item barely depends on what drives response, so the unweighted mean is nearly unbiased.
* **MAR (shared covariates)**: response depends strongly on frame covariates that also drive
  the answers (area, spending pressure, municipality size), as a logit with known
  coefficients; respondents answer the item in full. Unweighted estimates are biased;
  weighting on those covariates removes the bias.
* **MNAR** (``mnar=``): response also depends on the municipality's latent outcome effects.

Target: the share of all 838 positions answering "Meget vigtigt" (top box) and "Vigtigt" or
"Meget vigtigt" (top two) on ``mot_cost_effectiveness``, overall and by spending pressure —
finite-population quantities, known exactly in each replication.

Estimators (95% intervals), all with the response model / margins
``area + size_group + region + pressure_high``:

* ``unweighted``       respondents as they are.
* ``propensity``       inverse response-propensity weights, treated as fixed; Poisson-sampling
  variance with the estimated propensities as inclusion probabilities (see below).
* ``propensity JK``    the same weights with delete-one-municipality jackknife replicates in
  which the response model is re-estimated (variance includes the weighting step).
* ``raked``            weights raked to the frame's counts of the four covariates; the same
  Poisson-sampling variance, with the estimated propensities (not 1/raked weight) as the
  inclusion probabilities (see below).
* ``MRP``              proportional-odds model with a municipality random intercept,
  poststratified over the frame (parameter draws).
* ``MI``               the item imputed for all 838 positions by chained equations (m = 5);
  Rubin's rules (within-imputation variance 0, as the completed data are the population).

Finite-population correction: the target is the 838 positions themselves, and response is
a Poisson sample of them (each position responds independently given its covariates, with
its own probability π_i). The weighted linearisation estimators (``propensity``, ``raked``)
therefore use ``SurveyDesign(pps="poisson")``, whose variance ``Σ (1 − π_i) z_i²`` has the
per-unit fpc of Poisson sampling (R ``poisson_sampling``). The inclusion probabilities are the
estimated response propensities p̂_i (the propensity weights are 1/p̂_i up to normalisation),
times the item-response rate among unit respondents: a unit respondent who skipped the item
(or answered 'Ved ikke') is one more nonrespondent for this item, and with item nonresponse
at random among respondents each position's probability of answering the item is
``q p̂_i``, ``q = n_item / n_respondents`` (1 in the shared-covariates scenario, where the
item is answered in full). The raked estimator uses the same p̂_i for its fpc factors, not
1/raked weight: raking fits a multiplicative response model whose weights fall below 1 for
the most-responding cells (in 95% of the replications of the shared-covariates scenario),
which as inclusion probabilities would exceed 1; its weights give the estimate and p̂ the
``1 − π_i`` (as R keeps a Poisson design's probabilities after ``calibrate``). The raking is
not credited in the variance (no ``calibrated_on=``; weights treated as fixed), and neither
is the estimation of p̂.

The ``unweighted`` estimator keeps the equal-probability design: the positions that answered
the item as a sample without replacement from the 838 (fpc = 838), without clusters — every
municipality is in the population, so clustering adds no finite-population variance. (A
two-stage design — census of municipalities, positions sampled within them — conditions on
how many responded in each municipality and understated the variance in a pilot: SE/SD
0.87.) MI's completed data are the whole frame, so its within-imputation variance is 0 and
all uncertainty is between imputations. The jackknife over municipalities has no fpc (it
treats municipalities as sampled with replacement, a superpopulation variance), so it is
expected to be conservative for these finite-population targets.

Run (the numbers in docs/nonresponse.md)::

    python benchmarks/study_nonresponse.py --reps 500 --jobs 1 --out study.md

It prints bias, RMSE and coverage with their Monte Carlo standard errors, and the ratio of
the mean SE to the empirical SD of the errors, with the command, seed and time used.
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
    margins_from_frame,
    poststratify,
    propensity_weights,
    rake,
)

ITEM = "mot_cost_effectiveness"
QUANTITIES = {"top box": ["Meget vigtigt"], "top two": ["Vigtigt", "Meget vigtigt"]}
COVARIATES = ["area", "size_group", "region", "pressure_high"]
FORMULA = "responded ~ " + " + ".join(COVARIATES)
FRAME_COLS = [
    "position_id",
    "municipality_code",
    "area",
    "size_group",
    "region",
    "pressure_high",
    "responded",
]
TARGETS = ("overall", "pressure 0", "pressure 1")
# MAR (shared covariates): response log-odds by area (aligned with how the areas answer the
# item), spending pressure and size group; the intercept is solved for a 53% response rate.
SHARED_AREA = {
    "sundhed_forebyggelse": 0.8,
    "ledelse_strategi": 0.8,
    "kultur_fritid": 0.8,
    "social": 0.8,
    "beskaeftigelse": 0.0,
    "teknik_miljo": 0.0,
    "skole_uddannelse": -0.8,
    "borgerservice": -0.8,
}
SHARED_PRESSURE = 1.2
SHARED_SIZE = {"≥100k": -0.6}


def _fpc_design(data: pd.DataFrame, frame: pd.DataFrame, weights: str | None) -> SurveyDesign:
    """Responding positions as a sample without replacement from the frame's positions.

    Under quasi-randomisation each position responds independently (a Poisson sample of the
    838 positions), whose variance a without-replacement sample with fpc = 838 approximates.
    Municipalities are not clusters here: they are all in the population (a census), and
    responses are independent across positions. A two-stage design (municipalities, then
    positions within them) would condition on how many responded in each municipality and
    understate the variance.

    The sample is the positions that answered the item: a unit respondent who skipped it
    (or answered 'Ved ikke') is one more nonrespondent for this item, so the sampling
    fraction is ``n_item / 838``. (With all unit respondents in the design the fpc would
    overstate the sampling fraction; a pilot gave SE/SD 0.88.) The estimates are the same
    either way."""
    answered = data[data[ITEM].notna()]
    return SurveyDesign(answered.assign(_n_frame=len(frame)), weights=weights, fpc="_n_frame")


def _poisson_design(data: pd.DataFrame, weights: str, p_hat: str) -> SurveyDesign:
    """Responding positions as a Poisson sample of the frame's positions.

    Each position answered the item independently with probability ``q p̂_i``: its
    estimated response propensity ``p̂_i`` times the item-response rate among unit
    respondents, ``q = n_item / n_respondents``. ``weights`` give the estimates (a ratio, so
    their scale does not matter); the fpc factors are ``1 - q p̂_i`` per position."""
    answered = data[data[ITEM].notna()]
    q = len(answered) / len(data)
    return SurveyDesign(answered, weights=weights, probs=q * answered[p_hat], pps="poisson")


def _indicators(data: pd.DataFrame) -> pd.DataFrame:
    """One 0/1 column per quantity (missing where the item is missing)."""
    item = data[ITEM]
    return data.assign(
        **{
            f"_y{i}": item.isin(cats).astype(float).where(item.notna())
            for i, cats in enumerate(QUANTITIES.values())
        }
    )


def _estimates(design: SurveyDesign) -> tuple[np.ndarray, np.ndarray]:
    """Estimates and SEs ordered (quantity, target), from two design calls."""
    cols = [f"_y{i}" for i in range(len(QUANTITIES))]
    overall = design.mean(cols)
    byp = design.mean(cols, by="pressure_high")
    est, se = [], []
    for c in cols:
        est += [overall.estimate[c], byp.estimate[(0, c)], byp.estimate[(1, c)]]
        se += [overall.std_error[c], byp.std_error[(0, c)], byp.std_error[(1, c)]]
    return np.array(est), np.array(se)


KEYS = [(q, t) for q in QUANTITIES for t in TARGETS]


def _shares(design: SurveyDesign) -> dict:
    est, se = _estimates(design)
    q = stats.t.ppf(0.975, max(design.degf, 1))
    return {k: (e, sd, e - q * sd, e + q * sd) for k, e, sd in zip(KEYS, est, se, strict=True)}


def _shared_covariate_response(pop: pd.DataFrame, seed: int) -> np.ndarray:
    lin = (
        pop["area"].map(SHARED_AREA).fillna(0.0).to_numpy()
        + SHARED_PRESSURE * pop["pressure_high"].to_numpy()
        + pop["size_group"].astype(str).map(SHARED_SIZE).fillna(0.0).to_numpy()
    )
    lo, hi = -10.0, 10.0
    for _ in range(60):  # intercept for an expected response rate of 53%
        mid = (lo + hi) / 2
        if np.mean(1 / (1 + np.exp(-(mid + lin)))) < 0.53:
            lo = mid
        else:
            hi = mid
    rng = np.random.default_rng([seed, 7])
    return rng.random(len(pop)) < 1 / (1 + np.exp(-(lo + lin)))


def one_replication(seed: int, scenario: str, mnar: float) -> list[dict]:
    sim = simulate_survey(random_seed=seed, mnar=mnar)
    pop = sim.population
    if scenario == "MAR (shared covariates)":
        responded = _shared_covariate_response(pop, seed)
        pop = pop.assign(responded=responded.astype(int))
        data = pop.loc[responded].reset_index(drop=True)
    else:
        data, _ = apply_dont_know(sim.data, "missing", items=[ITEM])
    frame = pop[FRAME_COLS].copy()
    truth = {}
    for qname, cats in QUANTITIES.items():
        hit = pop[ITEM].isin(cats)
        truth[(qname, "overall")] = hit.mean()
        for g in (0, 1):
            truth[(qname, f"pressure {g}")] = hit[pop["pressure_high"] == g].mean()
    results = {}
    data = _indicators(data)
    results["unweighted"] = _shares(_fpc_design(data, frame, None))
    pw = propensity_weights(frame, FORMULA)
    data["w_prop"] = pw.attach(data)
    p_hat = pd.Series(pw.propensity.to_numpy(), index=frame["position_id"].to_numpy())
    data["p_hat"] = p_hat.reindex(data["position_id"]).to_numpy()
    results["propensity"] = _shares(_poisson_design(data, "w_prop", "p_hat"))
    results["propensity JK"] = _shares(pw.replicate_design(data, "jk1"))
    margins = margins_from_frame(frame, COVARIATES)
    data["w_rake"] = rake(data, margins)
    results["raked"] = _shares(_poisson_design(data, "w_rake", "p_hat"))

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = cm.Ordinal(
            f"{ITEM} ~ {' + '.join(COVARIATES)} + (1 | municipality_code)",
            data,
        ).fit()
    boundary = any("boundary" in str(w.message) for w in caught)
    mrp = {}
    for qname, cats in QUANTITIES.items():
        ps = poststratify(
            res, frame, by="pressure_high", categories=cats, n_draws=200, random_seed=seed
        ).table.droplevel("quantity")
        for key, target in (("overall", "overall"), (0, "pressure 0"), (1, "pressure 1")):
            r = ps.loc[key]
            mrp[(qname, target)] = (r["estimate"], r["std_error"], r["lower"], r["upper"])
    results["MRP"] = mrp

    full = frame.merge(data[["position_id", ITEM]], on="position_id", how="left")
    m = 5
    mi = impute(full, [ITEM], predictors=COVARIATES, m=m, n_iter=2, random_seed=seed)
    # Each completed data set is the whole frame, i.e. the population: its estimates are
    # exact (within-imputation variance 0 under the census fpc), so Rubin's rules reduce to
    # T = (1 + 1/m) B on m - 1 degrees of freedom — what pool() gives with W = 0 and
    # df_complete = inf, computed directly because this is the study's costliest step.
    q = np.array([_population_shares(d) for d in mi.datasets])
    est = q.mean(axis=0)
    se = np.sqrt((1 + 1 / m) * q.var(axis=0, ddof=1))
    half = stats.t.ppf(0.975, m - 1) * se
    mires = {k: (e, sd, e - h, e + h) for k, e, sd, h in zip(KEYS, est, se, half, strict=True)}
    results["MI"] = mires

    rows = []
    for method, est in results.items():
        for key, (e, sd, lo, hi) in est.items():
            rows.append(
                {
                    "method": method,
                    "quantity": key[0],
                    "target": key[1],
                    "estimate": e,
                    "se": sd,
                    "lo": lo,
                    "hi": hi,
                    "truth": truth[key],
                    "mrp_boundary": boundary,
                    "n_respondents": len(data),
                    "raked_below_1": bool((data["w_rake"] < 1).any()),
                }
            )
    return rows


def _population_shares(d: pd.DataFrame) -> np.ndarray:
    """The six shares of a completed frame, ordered as KEYS."""
    out = []
    for cats in QUANTITIES.values():
        hit = d[ITEM].isin(cats).to_numpy(float)
        hp = d["pressure_high"].to_numpy()
        out += [hit.mean(), hit[hp == 0].mean(), hit[hp == 1].mean()]
    return np.array(out)


def summarise(rows: pd.DataFrame) -> pd.DataFrame:
    rows = rows.assign(
        err=rows["estimate"] - rows["truth"],
        cover=((rows["lo"] <= rows["truth"]) & (rows["truth"] <= rows["hi"])).astype(float),
    )
    g = rows.groupby(["scenario", "quantity", "target", "method"], sort=False)
    n = g["err"].count()
    bias = g["err"].mean()
    rmse = np.sqrt(g["err"].apply(lambda e: np.mean(e**2)))
    cov = g["cover"].mean()
    return pd.DataFrame(
        {
            "reps": n,
            "bias": bias,
            "bias_mcse": g["err"].std(ddof=1) / np.sqrt(n),
            "rmse": rmse,
            # delta method: SE(sqrt(mean e²)) = SD(e²) / (2 rmse sqrt(n))
            "rmse_mcse": g["err"].apply(lambda e: np.std(e**2, ddof=1)) / (2 * rmse * np.sqrt(n)),
            "coverage": cov,
            "coverage_mcse": np.sqrt(cov * (1 - cov) / n),
            # the targets are finite-population values that change between replications,
            # so the reported SE is compared with the SD of the error, not of the estimate
            "se/sd": g["se"].mean() / g["err"].std(ddof=1),
        }
    )


def markdown(table: pd.DataFrame) -> str:
    """Bias, RMSE and coverage in percentage points with their Monte Carlo SEs."""
    t = table.reset_index()
    out = pd.DataFrame(
        {
            "scenario": t["scenario"],
            "quantity": t["quantity"],
            "target": t["target"],
            "method": t["method"],
            "bias (pp)": [
                f"{100 * b:+.2f} ± {100 * s:.2f}"
                for b, s in zip(t["bias"], t["bias_mcse"], strict=True)
            ],
            "RMSE (pp)": [
                f"{100 * r:.2f} ± {100 * s:.2f}"
                for r, s in zip(t["rmse"], t["rmse_mcse"], strict=True)
            ],
            "coverage (%)": [
                f"{100 * c:.1f} ± {100 * s:.1f}"
                for c, s in zip(t["coverage"], t["coverage_mcse"], strict=True)
            ],
            "SE/SD": t["se/sd"].round(2),
        }
    )
    return out.to_markdown(index=False)


SCENARIOS = ("MAR (generator)", "MAR (shared covariates)", "MNAR")


def main(argv: list[str] | None = None) -> pd.DataFrame:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=500, help="replications per scenario")
    ap.add_argument("--seed", type=int, default=2016, help="base seed")
    ap.add_argument("--mnar", type=float, default=1.5, help="MNAR strength (logit SD)")
    ap.add_argument("--jobs", type=int, default=1, help="parallel workers (joblib)")
    ap.add_argument("--out", type=Path, default=None, help="write the table as Markdown")
    ap.add_argument("--rows", type=Path, default=None, help="write every replication (CSV)")
    args = ap.parse_args(argv)
    from joblib import Parallel, delayed

    seeds = np.random.SeedSequence(args.seed).generate_state(args.reps).tolist()
    t0 = time.perf_counter()
    frames = []
    for scenario in SCENARIOS:
        mnar = args.mnar if scenario == "MNAR" else 0.0
        out = Parallel(n_jobs=args.jobs)(delayed(one_replication)(s, scenario, mnar) for s in seeds)
        df = pd.DataFrame([r for rep in out for r in rep]).assign(scenario=scenario)
        frames.append(df)
        print(f"{scenario}: done after {time.perf_counter() - t0:.0f} s", flush=True)
        if args.rows:  # keep what is done so far
            pd.concat(frames, ignore_index=True).to_csv(args.rows, index=False)
    rows = pd.concat(frames, ignore_index=True)
    table = summarise(rows)
    n_boundary = (
        rows.drop_duplicates(["scenario", "truth", "quantity"])
        .groupby("scenario")["mrp_boundary"]
        .mean()
    )
    resp = (
        rows.drop_duplicates(["scenario", "truth", "quantity"])
        .groupby("scenario")["n_respondents"]
        .mean()
    )
    below1 = (
        rows.drop_duplicates(["scenario", "truth", "quantity"])
        .groupby("scenario")["raked_below_1"]
        .mean()
    )
    elapsed = time.perf_counter() - t0
    pd.set_option("display.width", 160)
    print(table.round(4).to_string())
    footer = (
        f"{args.reps} replications per scenario, seed {args.seed}, mnar={args.mnar}, "
        f"{args.jobs} worker(s), {elapsed:.0f} s. Mean respondents: "
        + ", ".join(f"{k} {v:.0f}" for k, v in resp.items())
        + ". MRP fits with the municipality SD at the boundary (0): "
        + ", ".join(f"{k} {v:.0%}" for k, v in n_boundary.items())
        + ". Replications with a raked weight below 1 (1/w would be a probability above 1): "
        + ", ".join(f"{k} {v:.0%}" for k, v in below1.items())
        + "."
    )
    print(footer)
    if args.out:
        args.out.write_text(markdown(table) + "\n\n" + footer + "\n")
    if args.rows:
        rows.to_csv(args.rows, index=False)
    return table


if __name__ == "__main__":
    main()
