"""Speed of civmodels.Ordinal against statsmodels OrderedModel (and R clm when available).

Fits the same proportional-odds logit model, end to end from formula and DataFrame to
estimates and standard errors, on survey-shaped data (444 respondents in 98 municipalities,
13 parameters) and on 10x, 100x and 1000x copies of it. Prints per-fit times (median of
repeated runs), the ratio statsmodels / civmodels measured in the same run, and the largest
difference between the two sets of estimates.

Run:  /work/venv/bin/python benchmarks/bench_ordinal.py [--sizes 1 10 100 1000] [--no-r]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a source checkout
import civmodels as cm

FORMULA = "y ~ x1 + x2 + region + bloc + area"
REGIONS = ["Hovedstaden", "Midtjylland", "Nordjylland", "Sjaelland", "Syddanmark"]
AREAS = ["children", "elderly", "culture", "social"]
# civmodels' coefficient order (formula order); statsmodels/patsy puts factors first
COEF_ORDER = [
    "x1",
    "x2",
    *[f"region[T.{r}]" for r in REGIONS[1:]],
    "bloc[T.red]",
    *[f"area[T.{a}]" for a in sorted(AREAS)[1:]],
]


def survey_data(random_seed: int = 2016) -> pd.DataFrame:
    """444 respondents in 98 municipalities; a 4-category Likert outcome."""
    rng = np.random.default_rng(random_seed)
    G = 98
    size = rng.multinomial(444 - G, np.full(G, 1 / G)) + 1
    mun = np.repeat(np.arange(G), size)
    x1 = rng.normal(0, 0.6, G)[mun]
    x2 = rng.normal(0, 1, G)[mun]
    region = rng.choice(REGIONS, G)[mun]
    bloc = rng.choice(["blue", "red"], G)[mun]
    u = rng.normal(0, 0.5, G)[mun]
    area = rng.choice(AREAS, len(mun))
    eff = pd.Series([0.0, 0.5, -0.4, 0.2], index=AREAS)[area].to_numpy()
    eta = 0.6 * x1 - 0.4 * x2 + 0.3 * (bloc == "red") + eff + u
    y = np.digitize(eta + rng.logistic(size=len(mun)), [-1.0, 0.5, 2.0]) + 1
    return pd.DataFrame(
        {
            "municipality": mun,
            "y": pd.Categorical(y, categories=[1, 2, 3, 4], ordered=True),
            "x1": x1,
            "x2": x2,
            "region": region,
            "bloc": bloc,
            "area": area,
        }
    )


def fit_civmodels(df: pd.DataFrame) -> np.ndarray:
    res = cm.Ordinal(FORMULA, data=df).fit()
    _ = res.std_errors
    return res.params.to_numpy()


def fit_statsmodels(df: pd.DataFrame) -> np.ndarray:
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mod = OrderedModel.from_formula(FORMULA, data=df, distr="logit")
        res = mod.fit(method="bfgs", disp=False, maxiter=1000)
        _ = res.bse
    k = len(res.params) - 3
    cuts = mod.transform_threshold_params(res.params.to_numpy())[1:-1]
    return np.r_[cuts, res.params.iloc[:k].reindex(COEF_ORDER).to_numpy()]


def timed(f, df: pd.DataFrame, repeat: int) -> tuple[float, np.ndarray]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = f(df)
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), out


R_SCRIPT = """
suppressPackageStartupMessages(library(ordinal))
d <- read.csv("{path}")
d$y <- factor(d$y, ordered = TRUE)
reps <- {repeat}
t <- numeric(reps)
for (i in seq_len(reps)) t[i] <- system.time({{
  m <- clm(y ~ x1 + x2 + region + bloc + area, data = d); v <- vcov(m)
}})[["elapsed"]]
cat(median(t))
"""


def fit_r(df: pd.DataFrame, repeat: int) -> float | None:
    if shutil.which("Rscript") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "d.csv"
        df.assign(y=df["y"].astype(int)).to_csv(path, index=False)
        script = Path(tmp) / "clm.R"
        script.write_text(R_SCRIPT.format(path=path, repeat=repeat))
        out = subprocess.run(["Rscript", str(script)], capture_output=True, text=True)
        try:
            return float(out.stdout.strip())
        except ValueError:
            return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1, 10, 100, 1000])
    ap.add_argument("--no-r", action="store_true", help="skip R clm timings")
    args = ap.parse_args()
    base = survey_data()
    fit_civmodels(base)  # warm imports (formulaic, scipy) outside the timings
    fit_statsmodels(base)
    print(f"model: {FORMULA}  (logit, 13 parameters)")
    header = (
        f"{'copies':>7} {'rows':>8} {'civmodels s':>12} {'statsmodels s':>14} "
        f"{'ratio':>7} {'max |diff|':>11} {'R clm s':>9}"
    )
    print(header)
    for k in args.sizes:
        df = pd.concat([base] * k, ignore_index=True)
        rep_c = 20 if k <= 10 else (5 if k <= 100 else 3)
        rep_s = 5 if k <= 10 else (2 if k <= 100 else 1)
        tc, pc = timed(fit_civmodels, df, rep_c)
        ts, ps = timed(fit_statsmodels, df, rep_s)
        tr = None if args.no_r else fit_r(df, rep_s)
        r_txt = f"{tr:9.4f}" if tr is not None else f"{'-':>9}"
        print(
            f"{k:>7} {len(df):>8} {tc:12.4f} {ts:14.4f} {ts / tc:7.1f} "
            f"{np.max(np.abs(pc - ps)):11.2e} {r_txt}",
            flush=True,
        )


if __name__ == "__main__":
    main()
