"""Coverage of 95% Wald intervals of civmodels.Ordinal and civmodels.Logistic by simulation.

Simulates survey-shaped data sets (444 respondents, 98 municipalities, the covariates of
``bench_ordinal.survey_data``) from a fixed-effect proportional-odds logit model with known
parameters, fits each with ``cov_type="nonrobust"`` and ``"robust"``, and reports the share
of intervals that contain the truth, per parameter and on average. The binary model is
checked the same way on the dichotomised outcome.

Run:  /work/venv/bin/python benchmarks/coverage_ordinal.py [--n-sims 1000] [--random-seed 1]
The result is reported in docs/ordinal.md; tests/ordinal/test_ordinal_coverage.py runs it
as a slow test.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a source checkout
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_ordinal import FORMULA, survey_data

import civmodels as cm

BETA = {
    "x1": 0.6,
    "x2": -0.4,
    "region[T.Midtjylland]": 0.2,
    "region[T.Nordjylland]": -0.1,
    "region[T.Sjaelland]": 0.0,
    "region[T.Syddanmark]": 0.3,
    "bloc[T.red]": 0.3,
    "area[T.culture]": -0.4,
    "area[T.elderly]": 0.5,
    "area[T.social]": 0.2,
}
THETA = np.array([-1.0, 0.5, 2.0])


def simulate_coverage(
    n_sims: int = 1000, random_seed: int = 1, level: float = 0.95
) -> pd.DataFrame:
    """Coverage per parameter (rows) for each model / covariance type (columns)."""
    rng = np.random.default_rng(random_seed)
    base = survey_data(random_seed=random_seed)
    X = cm.Ordinal(FORMULA, data=base).frame.X
    names = list(BETA)
    beta = np.array([BETA[n] for n in names])
    eta = X @ beta
    truth_o = pd.Series(np.r_[THETA, beta], index=["1|2", "2|3", "3|4", *names])
    truth_b = pd.Series(np.r_[-THETA[1], beta], index=["Intercept", *names])
    hits: dict[str, list[pd.Series]] = {k: [] for k in ("ordinal", "ordinal_robust", "logistic")}
    for _ in range(n_sims):
        lat = eta + rng.logistic(size=len(eta))
        y = np.digitize(lat, THETA) + 1
        df = base.assign(
            y=pd.Categorical(y, categories=[1, 2, 3, 4], ordered=True),
            z=(lat > THETA[1]).astype(int),
        )
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # any warning would be a failed replication
            m = cm.Ordinal(FORMULA, data=df)
            for key, res in (("ordinal", m.fit()), ("ordinal_robust", m.fit(cov_type="robust"))):
                ci = res.conf_int(level)
                hits[key].append((ci["ci_lower"] <= truth_o) & (truth_o <= ci["ci_upper"]))
            rb = cm.Logistic(FORMULA.replace("y ~", "z ~"), data=df).fit()
            ci = rb.conf_int(level)
            hits["logistic"].append((ci["ci_lower"] <= truth_b) & (truth_b <= ci["ci_upper"]))
    out = pd.DataFrame({k: pd.concat(v, axis=1).mean(axis=1) for k, v in hits.items()})
    out = out.reindex(list(dict.fromkeys([*truth_o.index, *truth_b.index])))
    out.loc["mean"] = out.mean()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-sims", type=int, default=1000)
    ap.add_argument("--random-seed", type=int, default=1)
    args = ap.parse_args()
    cov = simulate_coverage(args.n_sims, args.random_seed)
    print(f"coverage of 95% Wald intervals over {args.n_sims} simulated data sets (n = 444)")
    print(cov.round(3).to_string())


if __name__ == "__main__":
    main()
