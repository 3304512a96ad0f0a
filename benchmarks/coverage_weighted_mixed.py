"""Weighted random-intercept models under informative nonresponse: bias and coverage.

What it shows
-------------
When who answers depends on what drives the answers, an unweighted multilevel fit is biased;
the pseudo-maximum-likelihood fit with respondent and municipality weights (Pfeffermann et
al. 1998; Rabe-Hesketh & Skrondal 2006) is not, and its sandwich intervals cover.

Simulation
----------
A population of ``G = 100`` municipalities with ``N = 40`` employees each. Outcome: a
4-category cumulative logit model

    P(Y <= j | x, u) = F(theta_j - beta x - u_g),   theta = (-1, 0.5, 2), beta = 0.8,
    u_g ~ N(0, 0.7^2),  x ~ N(0, 1).

Nonresponse at both levels, driven by the outcome's drivers:

* a municipality answers with probability ``expit(0.3 + 1.2 u_g)`` (municipalities that
  rate the item high answer more often);
* ``--scenario drivers`` (default): an employee of an answering municipality answers with
  probability ``expit(-0.2 + x)`` (the employee-level driver of the outcome);
* ``--scenario outcome``: an employee answers with probability ``expit(-0.4 + 0.7 y*)``,
  ``y* = beta x + u_g + e`` the latent outcome itself, so response depends on ``x``, ``u``
  *and* the error. This is the hard case for pseudo-likelihood: the weighted conditional
  likelihood inside the integral is a nonlinear function of within-municipality weighted
  totals, so with ~18 respondents per municipality a bias of order ``1/n_j`` remains
  (Pfeffermann et al. 1998; Rabe-Hesketh & Skrondal 2006). It is run to show that limit.

The weights are the inverse response probabilities (as if the response model were known):
``group_weights = 1 / P(municipality answers)`` and ``weights = 1 / P(employee answers |
municipality)``, scaled within municipalities to the number of respondents
(``weight_scaling="size"``). Each data set is fitted unweighted (model-based SEs) and
weighted, with two variance estimators: the sandwich by municipality (``G/(G-1)``, the
default) and the delete-one-municipality jackknife (``cov_type="jackknife"``); by adaptive
quadrature (10 nodes) or the Laplace approximation. Reported: bias, RMSE and the coverage
of 95% Wald intervals (the SD on the log scale), each with its Monte Carlo standard error.

Run:  PYTHONPATH=. python benchmarks/coverage_weighted_mixed.py [--n-sims 500]
          [--random-seed 11] [--method agq|laplace] [--model ordinal|logistic]
          [--scenario drivers|outcome] [--weight-scaling size|effective|none]
The table is reported in docs/mixed.md; tests/ordinal/test_weighted_mixed.py runs a short
version as a slow test.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import special

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a source checkout
import civmodels as cm

THETA = np.array([-1.0, 0.5, 2.0])
BETA = 0.8
SD = 0.7
G_POP, N_POP = 100, 40
MUNI_RESPONSE = (0.3, 1.2)  # intercept, effect of u_g
PERSON_RESPONSE = (-0.4, 0.7)  # scenario "outcome": intercept, effect of the latent outcome
DRIVER_RESPONSE = (-0.2, 1.0)  # scenario "drivers": intercept, effect of x


def simulate(
    rng: np.random.Generator, model: str = "ordinal", scenario: str = "drivers"
) -> pd.DataFrame:
    """One respondent sample with its response weights (see the module docstring)."""
    u = rng.normal(0.0, SD, G_POP)
    g = np.repeat(np.arange(G_POP), N_POP)
    x = rng.normal(size=G_POP * N_POP)
    latent = BETA * x + u[g] + rng.logistic(size=len(x))
    if model == "ordinal":
        y = np.searchsorted(THETA, latent)  # category j when theta_{j-1} < y* <= theta_j
    else:
        y = (latent > THETA[1]).astype(int)
    p_muni = special.expit(MUNI_RESPONSE[0] + MUNI_RESPONSE[1] * u)
    if scenario == "outcome":
        p_pers = special.expit(PERSON_RESPONSE[0] + PERSON_RESPONSE[1] * latent)
    elif scenario == "drivers":
        p_pers = special.expit(DRIVER_RESPONSE[0] + DRIVER_RESPONSE[1] * x)
    else:
        raise ValueError(f"scenario={scenario!r}; choose 'drivers' or 'outcome'")
    muni_in = rng.random(G_POP) < p_muni
    pers_in = rng.random(len(x)) < p_pers
    keep = muni_in[g] & pers_in
    return pd.DataFrame(
        {
            "y": y[keep],
            "x": x[keep],
            "municipality": g[keep],
            "w1": 1.0 / p_pers[keep],
            "w2": 1.0 / p_muni[g[keep]],
        }
    )


def truth(model: str) -> pd.Series:
    """The population parameters, named as the fit names them."""
    if model == "ordinal":
        return pd.Series([*THETA, BETA, SD], index=["0|1", "1|2", "2|3", "x", "sd"])
    # P(Y = 1) = P(y* > theta_2) = F(beta x + u - theta_2)
    return pd.Series([-THETA[1], BETA, SD], index=["Intercept", "x", "sd"])


def fit_one(
    df: pd.DataFrame,
    model: str,
    method: str,
    weighted: bool,
    scaling: str = "size",
    cov_type: str | None = None,
) -> pd.DataFrame:
    """Estimates and 95% intervals (SD on the log scale) of one fit."""
    f = "y ~ x + (1 | municipality)"
    kw = {"weights": "w1", "group_weights": "w2"} if weighted else {}
    if model == "ordinal":
        df = df.assign(y=pd.Categorical(df["y"], categories=[0, 1, 2, 3], ordered=True))
        m = cm.Ordinal(f, data=df, **kw)
    else:
        m = cm.Logistic(f, data=df, **kw)
    extra = {"weight_scaling": scaling} if weighted else {}
    if cov_type is not None:
        extra["cov_type"] = cov_type
    res = m.fit(method=method, n_quad=10 if method == "agq" else 1, **extra)
    ci = res.conf_int()
    sd_ci = res.re_sd_conf_int()
    est = pd.concat([res.params, res.re_sd.rename({"municipality": "sd"})])
    lo = pd.concat([ci["ci_lower"], sd_ci["ci_lower"].rename({"municipality": "sd"})])
    hi = pd.concat([ci["ci_upper"], sd_ci["ci_upper"].rename({"municipality": "sd"})])
    return pd.DataFrame({"estimate": est, "lower": lo, "upper": hi})


# (label, weighted, cov_type): model-based errors unweighted; with the sampling weights the
# default sandwich by municipality and the delete-one-municipality jackknife
ESTIMATORS = [
    ("unweighted", False, None),
    ("weighted", True, None),
    ("weighted, jackknife", True, "jackknife"),
]


def simulate_coverage(
    n_sims: int = 500,
    *,
    random_seed: int = 11,
    method: str = "agq",
    model: str = "ordinal",
    scaling: str = "size",
    scenario: str = "drivers",
) -> tuple[pd.DataFrame, dict]:
    """Run the study; return the summary table and facts (sizes, failures, seconds)."""
    true = truth(model)
    seeds = np.random.SeedSequence(random_seed).spawn(n_sims)
    rows = []
    n_resp, n_muni, failed = [], [], 0
    t0 = time.perf_counter()
    for s in seeds:
        df = simulate(np.random.default_rng(s), model, scenario)
        n_resp.append(len(df))
        n_muni.append(df["municipality"].nunique())
        for label, weighted, cov in ESTIMATORS:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("error")
                    r = fit_one(df, model, method, weighted, scaling, cov)
            except Exception:
                failed += 1
                continue
            r = r.loc[true.index]
            rows.append(
                pd.DataFrame(
                    {
                        "estimator": label,
                        "parameter": true.index,
                        "error": r["estimate"].to_numpy() - true.to_numpy(),
                        "covered": (r["lower"] <= true) & (true <= r["upper"]),
                    }
                )
            )
    seconds = time.perf_counter() - t0
    allr = pd.concat(rows, ignore_index=True)
    out = []
    for (est, par), grp in allr.groupby(["estimator", "parameter"], sort=False):
        e = grp["error"].to_numpy()
        c = grp["covered"].to_numpy(float)
        k = len(e)
        out.append(
            {
                "estimator": est,
                "parameter": par,
                "truth": float(true[par]),
                "bias": e.mean(),
                "bias_mcse": e.std(ddof=1) / np.sqrt(k),
                "rmse": np.sqrt((e**2).mean()),
                "coverage": c.mean(),
                "coverage_mcse": np.sqrt(c.mean() * (1 - c.mean()) / k),
                "n_fits": k,
            }
        )
    facts = {
        "n_sims": n_sims,
        "mean_respondents": float(np.mean(n_resp)),
        "mean_municipalities": float(np.mean(n_muni)),
        "failed_fits": failed,
        "seconds": seconds,
    }
    return pd.DataFrame(out), facts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n-sims", type=int, default=500)
    ap.add_argument("--random-seed", type=int, default=11)
    ap.add_argument("--method", choices=["agq", "laplace"], default="agq")
    ap.add_argument("--model", choices=["ordinal", "logistic"], default="ordinal")
    ap.add_argument("--scenario", choices=["drivers", "outcome"], default="drivers")
    ap.add_argument("--weight-scaling", choices=["size", "effective", "none"], default="size")
    a = ap.parse_args()
    table, facts = simulate_coverage(
        a.n_sims,
        random_seed=a.random_seed,
        method=a.method,
        model=a.model,
        scaling=a.weight_scaling,
        scenario=a.scenario,
    )
    print(
        f"{a.model}, {a.method}, scenario {a.scenario!r}, weight_scaling="
        f"{a.weight_scaling!r}: {facts['n_sims']} data sets, on average "
        f"{facts['mean_respondents']:.0f} respondents in {facts['mean_municipalities']:.1f} "
        f"municipalities; {facts['failed_fits']} failed fits; {facts['seconds']:.0f} s"
    )
    with pd.option_context("display.width", 120, "display.precision", 3):
        print(table.to_string(index=False))


if __name__ == "__main__":
    main()
