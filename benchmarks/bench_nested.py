"""Speed of nested random intercepts ``(1 | a/b)`` and random slopes against R
``ordinal::clmm`` and ``lme4::glmer``.

Fits ``y ~ x + (1 | a/b)`` (ordinal, Laplace) and ``high ~ x + (1 | a/b)`` (binary,
Laplace) on the nested data of ``tests/reference/mixed/nested.csv`` (600 rows, 15 regions,
60 units), ``y ~ x + (1 + x | a)`` (ordinal, correlated slope, Laplace) on the same data,
and ``yb ~ x + (1 | g) + (0 + x | g)`` (uncorrelated) and ``yb ~ x + (1 + x | g)``
(correlated; binary, Laplace) on ``tests/reference/mixed/slopes.csv`` (600 rows, 40
groups), end to end: formula and DataFrame to estimates and standard errors (the CSV files
are read once, outside the timing, as in R; glmer's ``vcov`` is included, as it is computed
on demand).

One R session stays open for the whole run (R times itself with ``system.time``, so its
start-up and the pipe are not counted). For each model the two sides alternate in blocks
of ``--repeat`` back-to-back fits, for ``--rounds`` rounds, each block after untimed
warm-up fits (after waiting for the other side's block the CPU needs some tens of ms to
come back to speed, which would fall on the first few 8 ms fits but on a fraction of one
100 ms fit): the steady state of repeated fits, as R's ``microbenchmark`` or Python's
``timeit`` measure it, while alternating keeps a slow period of the shared machine from
falling on one side only.

``--cold`` times instead single fits interleaved one by one with R's, so each fit starts
after the process has waited for the other side's fit: caches and the CPU are then cold, as
for a fit run once in a notebook. A short fit loses relatively more to that (civmodels'
8 ms fit by about 1-5 ms, R's 100 ms fit by a few ms), so the cold ratios are lower.

Prints, per model, the median and the fastest time per fit of each side, their ratios
(R / civmodels) and the largest difference between the estimates relative to
max(|estimate|, SE) (R runs with its default controls, so differences of ~1e-3 are R's
optimiser tolerance).

Run:  python benchmarks/bench_nested.py [--repeat 9] [--rounds 3] [--cold] [--no-r]
      [--models binary slope ...]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # run from a source checkout

import civmodels as cm  # noqa: E402

DATA = HERE.parent / "tests" / "reference" / "mixed" / "nested.csv"
SLOPES = DATA.with_name("slopes.csv")

R_SETUP = """
suppressPackageStartupMessages({{library(ordinal); library(lme4)}})
d <- read.csv("{csv}", stringsAsFactors = TRUE)
d$y <- factor(d$y, ordered = TRUE)
d$high <- as.integer(as.integer(as.character(d$y)) >= 3)
s <- read.csv("{slopes}")
tm <- function(expr) system.time(expr)[["elapsed"]]
cat("ready\\n")
"""

# per model: the fit (with vcov for glmer, whose vcov is computed on demand) and the
# estimates in civmodels' order
R_FITS = {
    "ordinal": ("f <- clmm(y ~ x + (1 | a/b), data = d)", "c(f$alpha, f$beta)"),
    "binary": (
        "{g <- glmer(high ~ x + (1 | a/b), data = d, family = binomial); v <- vcov(g)}",
        "fixef(g)",
    ),
    "slope": (
        "{g <- glmer(yb ~ x + (1 | g) + (0 + x | g), data = s, family = binomial); v <- vcov(g)}",
        "fixef(g)",
    ),
    "slope_corr": (
        "{g <- glmer(yb ~ x + (1 + x | g), data = s, family = binomial); v <- vcov(g)}",
        "fixef(g)",
    ),
    "ord_slope": ("f <- clmm(y ~ x + (1 + x | a), data = d)", "c(f$alpha, f$beta)"),
}


def load() -> pd.DataFrame:
    df = pd.read_csv(DATA)
    df["y"] = pd.Categorical(df["y"], ordered=True)
    df["high"] = (df["y"].astype(int) >= 3).astype(int)
    return df


def fit(df: pd.DataFrame, slopes: pd.DataFrame, kind: str):
    """One civmodels fit of model ``kind``, with its standard errors."""
    if kind == "slope":
        res = cm.Logistic("yb ~ x + (1 | g) + (0 + x | g)", data=slopes).fit()
    elif kind == "slope_corr":
        res = cm.Logistic("yb ~ x + (1 + x | g)", data=slopes).fit()
    elif kind == "ord_slope":
        res = cm.Ordinal("y ~ x + (1 + x | a)", data=df).fit()
    elif kind == "ordinal":
        res = cm.Ordinal("y ~ x + (1 | a/b)", data=df).fit()
    else:
        res = cm.Logistic("high ~ x + (1 | a/b)", data=df).fit()
    _ = res.std_errors
    return res


class RSession:
    """A persistent R process fed over a pipe; :meth:`run` returns R's printed line."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            ["R", "--vanilla", "--slave"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            bufsize=1,
        )
        ready = self.run(R_SETUP.format(csv=DATA.as_posix(), slopes=SLOPES.as_posix()))
        if ready != "ready":  # pragma: no cover - a broken R installation
            raise RuntimeError(f"R did not start: {ready!r}")

    def run(self, code: str) -> str:
        """Run ``code`` (which prints one line); an R error is raised here, not left to
        hang the pipe."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        wrapped = (
            "tryCatch({" + code.strip() + "}, error = function(e) "
            'cat("R-ERROR:", gsub("\\n", " ", conditionMessage(e)), "\\n"))'
        )
        self.proc.stdin.write(wrapped + "\n")  # R's parser reads on inside the braces
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("R exited unexpectedly")
        if line.startswith("R-ERROR:"):
            raise RuntimeError(f"R failed: {line[8:].strip()}")
        return line.strip()

    def timed_fits(self, kind: str, repeat: int) -> list[float]:
        """``repeat`` back-to-back fits timed in R."""
        fit_code, _ = R_FITS[kind]
        line = self.run(
            f"t <- numeric({repeat}); for (i in seq_len({repeat})) t[i] <- tm({fit_code}); "
            'cat(t, "\\n")'
        )
        return [float(v) for v in line.split()]

    def estimates(self, kind: str) -> np.ndarray:
        fit_code, est = R_FITS[kind]
        line = self.run(f'invisible({fit_code}); cat(format({est}, digits = 15), "\\n")')
        return np.array([float(v) for v in line.split()])

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("q('no')\n")
        self.proc.stdin.flush()
        self.proc.wait(timeout=60)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=9, help="fits per block")
    ap.add_argument("--rounds", type=int, default=3, help="alternating blocks per side")
    ap.add_argument("--cold", action="store_true", help="interleave single fits instead")
    ap.add_argument("--no-r", action="store_true")
    ap.add_argument(
        "--models",
        nargs="+",
        choices=list(R_FITS),
        default=list(R_FITS),
        help="the models to time (default: all five)",
    )
    args = ap.parse_args()
    df = load()
    slopes = pd.read_csv(SLOPES)
    r = None if args.no_r or shutil.which("R") is None else RSession()
    print("cold: single fits interleaved with R's" if args.cold else "warm: alternating blocks")
    print(
        f"{'model':<12}{'civmodels s':>13}{'R s':>8}{'R / civmodels':>15}"
        f"{'min: civm. s':>14}{'R s':>8}{'ratio':>8}{'max rel diff':>14}"
    )
    for kind in args.models:
        res = fit(df, slopes, kind)  # warm-up (imports, compiled kernels)
        ours: list[float] = []
        theirs: list[float] = []
        if r is not None:
            r.timed_fits(kind, 1)  # warm-up
        blocks = args.repeat * args.rounds if args.cold else args.rounds
        per_block = 1 if args.cold else args.repeat
        for _ in range(blocks):
            if not args.cold:
                # each block starts after the process has waited for the other side's block;
                # the CPU then needs some tens of ms to come back to speed, so both sides get
                # untimed fits first (civmodels for 0.3 s, R one fit of 0.1-3 s)
                t_end = time.perf_counter() + 0.3
                while time.perf_counter() < t_end:
                    fit(df, slopes, kind)
            for _ in range(per_block):
                t0 = time.perf_counter()
                res = fit(df, slopes, kind)
                ours.append(time.perf_counter() - t0)
            if r is not None:
                if not args.cold:
                    r.timed_fits(kind, 1)
                theirs.extend(r.timed_fits(kind, per_block))
        t, tmin = float(np.median(ours)), float(np.min(ours))
        if r is None:
            print(f"{kind:<12}{t:>13.4f}{'—':>8}{'—':>15}{tmin:>14.4f}{'—':>8}{'—':>8}{'—':>14}")
            continue
        tr, trmin = float(np.median(theirs)), float(np.min(theirs))
        est = r.estimates(kind)
        mine = res.params.to_numpy()
        diff = np.max(np.abs(mine - est) / np.maximum(np.abs(est), res.std_errors.to_numpy()))
        print(
            f"{kind:<12}{t:>13.4f}{tr:>8.3f}{tr / t:>15.1f}"
            f"{tmin:>14.4f}{trmin:>8.3f}{trmin / tmin:>8.1f}{diff:>14.1e}"
        )
    if r is not None:
        r.close()


if __name__ == "__main__":
    main()
