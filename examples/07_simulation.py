# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # How much power did the 2015 survey have?
#
# The report (Ibsen & Espersen 2016, p. 8) states two differences by spending pressure:
# high-pressure municipalities give **cost-effectiveness** more weight as a reason to
# collaborate with civil society (finding F12), and lower-pressure municipalities give
# **better quality of services** more weight (F13). It gives no effect sizes. Here we ask:
# for a range of plausible odds ratios, how often would a survey like the 2015 one (838
# positions in 98 municipalities, 53 % response) detect such a difference, with the report's
# χ² test and with methods that respect the clustering of respondents in municipalities?
#
# Each replicate draws a complete synthetic survey from `civmodels.data.simulate_survey`
# with the chosen odds ratio for `pressure_high` on the item, then runs every method on it.

# %%
import os

import numpy as np

from civmodels.simulation import power, power_curve

# Small by default so the example runs in about a minute; the figures in docs/simulation.md
# come from CIVMODELS_EXAMPLE_NSIMS=200.
N_SIMS = int(os.environ.get("CIVMODELS_EXAMPLE_NSIMS", "20"))
N_JOBS = int(os.environ.get("CIVMODELS_EXAMPLE_NJOBS", "2"))
METHODS = ("chi2", "rao-scott", "ordinal-cluster")
SEED = 2015

# %% [markdown]
# ## F12 at the size the simulator is calibrated to
#
# The bundled calibration assumes a log odds ratio of 0.5 for F12 (odds ratio 1.65) and
# −0.45 for F13 (odds ratio 0.64) — assumptions, since the report gives no figures.

# %%
f12 = power(
    effect=float(np.exp(0.5)),
    outcome="mot_cost_effectiveness",
    by="pressure_high",
    methods=METHODS,
    n_sims=N_SIMS,
    random_seed=SEED,
    n_jobs=N_JOBS,
)
print(f12.table.round(3).to_string())

# %%
f13 = power(
    effect=float(np.exp(-0.45)),
    outcome="mot_quality",
    by="pressure_high",
    methods=METHODS,
    n_sims=N_SIMS,
    random_seed=SEED,
    n_jobs=N_JOBS,
)
print(f13.table.round(3).to_string())

# %% [markdown]
# ## Power over effect sizes
#
# The same seed is used at every odds ratio (common random numbers), so the curves are
# smooth and differences between points are not Monte Carlo noise. The bands are 95 %
# Monte Carlo intervals.

# %%
curve = power_curve(
    "effect",
    [1.2, 1.5, 1.8, 2.2],
    outcome="mot_cost_effectiveness",
    by="pressure_high",
    methods=METHODS,
    n_sims=N_SIMS,
    random_seed=SEED,
    n_jobs=N_JOBS,
    progress=False,
)
fig = curve.plot()
fig.axes[0].set_xlabel("odds ratio, high vs low spending pressure (cost-effectiveness)")
out = os.environ.get("CIVMODELS_EXAMPLE_FIGURE")
if out:
    fig.savefig(out, dpi=120, bbox_inches="tight")
print(curve.table.round(3).to_string())

# %% [markdown]
# ## How many more answers would it take?
#
# Power for an odds ratio of 1.5 as the response rate rises (same frame of 838 positions).

# %%
by_rate = power_curve(
    "response_rate",
    [0.4, 0.53, 0.7, 0.85],
    effect=1.5,
    outcome="mot_cost_effectiveness",
    by="pressure_high",
    methods=("rao-scott", "ordinal-cluster"),
    n_sims=N_SIMS,
    random_seed=SEED,
    n_jobs=N_JOBS,
    progress=False,
)
out = os.environ.get("CIVMODELS_EXAMPLE_FIGURE_RATE")
if out:
    by_rate.plot().savefig(out, dpi=120, bbox_inches="tight")
print(by_rate.table.round(3).to_string())

# %% [markdown]
# ## Can the intervals be trusted? Coverage and calibration
#
# `coverage_study` fits the random-intercept ordinal model (AGQ) to survey-shaped data with
# known parameters and checks how often each 95 % interval covers the truth; `sbc` checks a
# posterior by simulation-based calibration (here the exact conjugate normal model that
# serves as the reference for the machinery).

# %%
from civmodels.simulation import coverage_study, sbc

cov = coverage_study("ordinal-mixed", 5 * N_SIMS, random_seed=SEED, n_jobs=N_JOBS)
print(cov.table.round(3).to_string())
fig_cov = cov.plot()
out = os.environ.get("CIVMODELS_EXAMPLE_FIGURE_COVERAGE")
if out:
    fig_cov.savefig(out, dpi=120, bbox_inches="tight")

# %%
cal = sbc("normal-mean", 500, n_draws=99, n_bins=20, random_seed=SEED, n_jobs=1)
print(cal.table.round(3).to_string())
fig_sbc = cal.plot()
out = os.environ.get("CIVMODELS_EXAMPLE_FIGURE_SBC")
if out:
    fig_sbc.savefig(out, dpi=120, bbox_inches="tight")
