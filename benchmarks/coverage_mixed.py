"""Coverage of 95% intervals of the random-intercept models by simulation.

Simulates survey-shaped data sets (444 respondents in 98 municipalities, the covariates of
``bench_ordinal.survey_data``) from a cumulative logit model with a municipality random
intercept (SD 0.6) and known fixed effects, fits each by adaptive Gauss–Hermite quadrature
(10 nodes), and reports the share of 95% intervals containing the truth: Wald intervals for
the thresholds and location effects, the log-scale Wald interval for the random-intercept
SD. The binary mixed model is checked the same way on the dichotomised outcome (latent
variable above the middle threshold), and the ordinal model also by Laplace.

Run:  /work/venv/bin/python benchmarks/coverage_mixed.py [--n-sims 1000] [--random-seed 3]
          [--models ordinal_agq ordinal_laplace logistic_agq] [--sd-interval wald|profile]
The result is reported in docs/mixed.md; tests/ordinal/test_ordinal_mixed_coverage.py runs it
as a slow test.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # run from a source checkout
sys.path.insert(0, str(HERE))
from bench_ordinal import survey_data  # noqa: E402

import civmodels as cm  # noqa: E402

FIXED = "y ~ x1 + x2 + region + bloc + area"
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
SD = 0.6


def simulate_coverage(
    n_sims: int = 1000,
    random_seed: int = 3,
    level: float = 0.95,
    models: tuple[str, ...] = ("ordinal_agq", "ordinal_laplace", "logistic_agq"),
    sd_interval: str = "wald",
) -> pd.DataFrame:
    """Coverage per parameter (rows) for each model and method (columns).

    Every replication draws new random intercepts and new latent errors on the fixed
    covariates of ``survey_data(random_seed)``; a fit that warns counts as a failure
    (the warning is raised as an error). ``sd_interval`` is ``"wald"`` (log-scale Wald,
    ``[0, profile upper]`` for an SD estimated at 0) or ``"profile"`` (profile likelihood).
    """
    rng = np.random.default_rng(random_seed)
    base = survey_data(random_seed=random_seed)
    X = cm.Ordinal(FIXED, data=base).frame.X
    names = list(BETA)
    beta = np.array([BETA[n] for n in names])
    eta = X @ beta
    mun = pd.factorize(base["municipality"])[0]
    n_groups = mun.max() + 1
    truth_o = pd.Series(np.r_[THETA, beta, SD], index=["1|2", "2|3", "3|4", *names, "sd"])
    truth_b = pd.Series(np.r_[-THETA[1], beta, SD], index=["Intercept", *names, "sd"])
    mixed = FIXED + " + (1 | municipality)"
    hits: dict[str, list[pd.Series]] = {k: [] for k in models}
    boundary = dict.fromkeys(models, 0)

    def covered(res, truth: pd.Series) -> pd.Series:
        ci = res.conf_int(level)
        if sd_interval == "profile":
            sd_ci = res.profile_re_sd(level).iloc[0]
        else:
            sd_ci = res.re_sd_conf_int(level).iloc[0]
        lo = pd.concat([ci["ci_lower"], pd.Series({"sd": sd_ci["ci_lower"]})])
        hi = pd.concat([ci["ci_upper"], pd.Series({"sd": sd_ci["ci_upper"]})])
        return (lo <= truth) & (truth <= hi)

    for _ in range(n_sims):
        u = rng.normal(0.0, SD, n_groups)[mun]
        lat = eta + u + rng.logistic(size=len(eta))
        y = np.digitize(lat, THETA) + 1
        df = base.assign(
            y=pd.Categorical(y, categories=[1, 2, 3, 4], ordered=True),
            z=(lat > THETA[1]).astype(int),
        )
        fits = {}
        with warnings.catch_warnings():
            # a convergence (or any other) warning is a failed replication and raises; an SD
            # estimated at 0 is a legitimate ML outcome: it is counted, and its SD interval
            # (undefined) counts as not covering
            warnings.simplefilter("error")
            warnings.filterwarnings("ignore", message="boundary .singular. fit")
            m = cm.Ordinal(mixed, data=df)
            if "ordinal_agq" in hits:
                fits["ordinal_agq"] = (m.fit(method="agq", n_quad=10), truth_o)
            if "ordinal_laplace" in hits:
                fits["ordinal_laplace"] = (m.fit(method="laplace"), truth_o)
            if "logistic_agq" in hits:
                rb = cm.Logistic(mixed.replace("y ~", "z ~"), data=df)
                fits["logistic_agq"] = (rb.fit(method="agq", n_quad=10), truth_b)
        for key, (res, truth) in fits.items():
            hits[key].append(covered(res, truth))
            boundary[key] += bool(res.boundary)
    out = pd.DataFrame({k: pd.concat(v, axis=1).mean(axis=1) for k, v in hits.items()})
    out = out.reindex(list(dict.fromkeys([*truth_o.index, *truth_b.index])))
    out = pd.concat([out.drop(index="sd"), out.loc[["sd"]]])
    out.loc["mean (fixed effects)"] = out.drop(index="sd").mean()
    out.loc["fits with SD = 0 (boundary)"] = pd.Series(boundary) / n_sims
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-sims", type=int, default=1000)
    ap.add_argument("--random-seed", type=int, default=3)
    ap.add_argument(
        "--models", nargs="+", default=["ordinal_agq", "ordinal_laplace", "logistic_agq"]
    )
    ap.add_argument("--sd-interval", choices=["wald", "profile"], default="wald")
    args = ap.parse_args()
    cov = simulate_coverage(
        args.n_sims, args.random_seed, models=tuple(args.models), sd_interval=args.sd_interval
    )
    print(
        f"coverage of 95% intervals over {args.n_sims} simulated data sets "
        f"(n = 444, 98 municipalities, SD = {SD}; seed {args.random_seed}; "
        f"SD interval: {args.sd_interval})"
    )
    print(cov.round(3).to_string())


if __name__ == "__main__":
    main()
