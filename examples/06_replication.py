# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Replicating the report, finding by finding
#
# Ibsen & Espersen (2016) state a handful of differences between municipality types and
# policy areas (spending pressure and the weight given to cost-effectiveness, Teknik og miljø
# and new collaborations, ...) without printing a test. `civmodels.replication` tests each of
# them with the report's kind of test - an unweighted chi-square - and with inference that
# respects the clustering of respondents in 98 municipalities, the 53 % response and the number
# of tests. The bundled survey is **synthetic** (the real microdata are not public), so the
# verdicts below show how the methods behave, not what the real survey says.

# %%
import tempfile
from pathlib import Path

import pandas as pd

from civmodels import replication
from civmodels.data import load_survey
from civmodels.report import plots

pd.set_option("display.width", 120)
df = load_survey()
print(f"{len(df)} respondents in {df['municipality_code'].nunique()} municipalities")

# %% [markdown]
# ## The registry
# Every finding names its outcome item, grouping variable, stated direction and page.

# %%
reg = replication.findings()
reg.loc[reg["kind"] == "difference", ["id", "title", "outcomes", "by", "direction", "page"]]

# %% [markdown]
# ## Run three methods
# `crosstab` is the report-style test; `design` weights respondents by their inverse response
# propensity (estimated on the 838-position frame) and uses the Rao-Scott correction for the
# municipality clusters; `ordinal` adjusts for the other municipality characteristics with
# cluster-robust errors. (`mixed` and `bayes` are added by `civmodels replicate`; the Bayesian
# method runs MCMC and takes minutes.)

# %%
results = {}
table = replication.run(df, methods=("crosstab", "design", "ordinal"), results=results)
cols = [
    "finding_id",
    "outcome",
    "method",
    "estimate_type",
    "estimate",
    "ci_lower",
    "ci_upper",
    "p_value",
    "p_holm",
    "verdict",
    "verdict_holm",
]
table.loc[table["kind"] == "difference", cols].round(3)

# %% [markdown]
# How the verdicts move between methods, over all tested findings:

# %%
tested = table[table["kind"].isin(["difference", "omnibus"])]
pd.crosstab(tested["method"], tested["verdict_holm"])

# %% [markdown]
# ## A forest plot of the directional findings
# Differences in proportions (chi-square and design-based methods) and odds ratios (models)
# are drawn in separate panels.

# %%
rows = table[(table["kind"] == "difference")].assign(
    label=lambda d: d["finding_id"] + " " + d["outcome"]
)
plots.forest_plot(rows)

# %% [markdown]
# ## The report's own cross-tabulations
# For every outcome of the findings list, row percentages by size group, spending pressure,
# region, bloc and area with Pearson chi-square tests.

# %%
tabs, tests = replication.crosstabs(df)
tests.sort_values("p_value").head(10).round(4)

# %% [markdown]
# ## The report folder
# `write_report` produces what `civmodels replicate` writes: `report.html` with embedded
# figures, `report.md`, `findings.csv`, LaTeX tables and the cross-tabulations.

# %%
with tempfile.TemporaryDirectory() as tmp:
    paths = replication.write_report(
        table,
        Path(tmp) / "report",
        crosstabs=(tabs, tests),
        results=results,
        methods=("crosstab", "design", "ordinal"),
    )
    print(sorted(p.name for p in (Path(tmp) / "report").iterdir()))
