"""Speed of civmodels' random-intercept ordinal model against R ordinal::clmm.

Fits ``y ~ x1 + x2 + region + bloc + area + (1 | municipality)`` (10 location effects,
3 thresholds, 1 SD) on the survey-shaped data of ``bench_ordinal.py`` (444 respondents in 98
municipalities, seeded) by adaptive Gauss–Hermite quadrature with 10 nodes and by the
Laplace approximation, end to end (formula and DataFrame to estimates and standard errors).
Prints the median time per fit, R clmm's median time on the same data in the same run (when
``Rscript`` exists; R's timing excludes its start-up), their ratio, and the largest
relative difference between the two sets of estimates.

Then the same model with sampling weights at both levels (respondents and municipalities;
seeded, see ``with_weights``), fitted by pseudo-maximum likelihood with the sandwich by
municipality, against the unweighted fit: median times and their ratio (weighted /
unweighted), and with the delete-one-municipality jackknife (``cov_type="jackknife"``).
R has no weighted clmm, so there is no R column there.

Run:  /work/venv/bin/python benchmarks/bench_mixed.py [--repeat 15] [--no-r]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # run from a source checkout
sys.path.insert(0, str(HERE))
from bench_ordinal import survey_data  # noqa: E402  (same seeded survey-shaped data)

import civmodels as cm  # noqa: E402

FORMULA = "y ~ x1 + x2 + region + bloc + area + (1 | municipality)"

R_SCRIPT = """
suppressPackageStartupMessages(library(ordinal))
d <- read.csv("{csv}", stringsAsFactors = TRUE)
d$y <- factor(d$y, ordered = TRUE)
d$municipality <- factor(d$municipality)
f <- y ~ x1 + x2 + region + bloc + area + (1 | municipality)
for (q in c(10L, 1L)) {{
  t <- numeric({reps})
  for (i in seq_len({reps})) t[i] <- system.time(fit <- clmm(f, data = d, nAGQ = q))[["elapsed"]]
  cat(q, median(t), format(c(fit$alpha, fit$beta, log(unlist(fit$ST))), digits = 15), "\\n")
}}
"""


def fit_civmodels(
    df: pd.DataFrame, method: str, weighted: bool = False, cov_type: str | None = None
) -> np.ndarray:
    kw = {"weights": "weight", "group_weights": "muni_weight"} if weighted else {}
    res = cm.Ordinal(FORMULA, data=df, **kw).fit(method=method, n_quad=10, cov_type=cov_type)
    _ = res.std_errors
    return np.r_[res.params.to_numpy(), res.log_sd.to_numpy()]


def timed(
    df: pd.DataFrame,
    method: str,
    repeat: int,
    weighted: bool = False,
    cov_type: str | None = None,
) -> tuple[float, np.ndarray]:
    out = fit_civmodels(df, method, weighted, cov_type)  # warm-up: imports, BLAS discovery
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fit_civmodels(df, method, weighted, cov_type)
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), out


def with_weights(df: pd.DataFrame) -> pd.DataFrame:
    """Seeded sampling weights: respondents' in [0.5, 3], municipalities' in [1, 3]."""
    rng = np.random.default_rng(7)
    codes, levels = pd.factorize(df["municipality"], sort=True)
    w2 = rng.uniform(1.0, 3.0, len(levels))
    return df.assign(weight=rng.uniform(0.5, 3.0, len(df)), muni_weight=w2[codes])


def fit_r(df: pd.DataFrame, repeat: int) -> dict[int, tuple[float, np.ndarray]] | None:
    if shutil.which("Rscript") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "d.csv"
        df.assign(y=df["y"].astype(int)).to_csv(csv, index=False)
        script = Path(tmp) / "bench.R"
        script.write_text(R_SCRIPT.format(csv=csv.as_posix(), reps=repeat))
        out = subprocess.run(["Rscript", str(script)], capture_output=True, text=True)
    if out.returncode != 0:
        print("R failed:", out.stderr[-500:])
        return None
    res = {}
    for line in out.stdout.strip().splitlines():
        parts = line.split()
        res[int(parts[0])] = (float(parts[1]), np.array(parts[2:], dtype=float))
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=15, help="timed fits per method (median)")
    ap.add_argument("--r-repeat", type=int, default=5, help="timed clmm fits per method")
    ap.add_argument("--no-r", action="store_true", help="skip R even if installed")
    args = ap.parse_args()
    df = survey_data()
    # R sorts factor levels alphabetically, as civmodels' formulaic treatment contrasts do
    print(f"data: {len(df)} rows, {df['municipality'].nunique()} municipalities; {FORMULA}")
    r = None if args.no_r else fit_r(df, args.r_repeat)
    print(
        f"{'method':<10}{'civmodels (s)':>15}{'R clmm (s)':>13}{'R / civmodels':>15}"
        f"{'max rel diff':>14}"
    )
    for method, q in (("agq", 10), ("laplace", 1)):
        t, est = timed(df, method, args.repeat)
        label = "AGQ-10" if method == "agq" else "Laplace"
        if r is None:
            print(f"{label:<10}{t:>15.4f}{'-':>13}{'-':>15}{'-':>14}")
            continue
        tr, est_r = r[q]
        diff = np.max(np.abs(est - est_r) / np.maximum(np.abs(est_r), 1e-2))
        print(f"{label:<10}{t:>15.4f}{tr:>13.4f}{tr / t:>15.1f}{diff:>14.2g}")
    dw = with_weights(df)
    print("\nsampling weights at both levels (pseudo-ML; sandwich or jackknife by municipality)")
    print(
        f"{'method':<10}{'unweighted (s)':>16}{'weighted (s)':>14}{'weighted / unw.':>17}"
        f"{'jackknife (s)':>15}{'jk / unw.':>11}"
    )
    for method in ("agq", "laplace"):
        t0, _ = timed(dw, method, args.repeat)
        t1, _ = timed(dw, method, args.repeat, weighted=True)
        t2, _ = timed(dw, method, args.repeat, weighted=True, cov_type="jackknife")
        label = "AGQ-10" if method == "agq" else "Laplace"
        print(f"{label:<10}{t0:>16.4f}{t1:>14.4f}{t1 / t0:>17.2f}{t2:>15.4f}{t2 / t0:>11.1f}")


if __name__ == "__main__":
    main()
