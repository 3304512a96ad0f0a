# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Bayesian hierarchical models, MRP and a joint nonresponse model
#
# This example fits the motivation battery (all nine `mot_*` items) with a multi-item model,
# poststratifies one item to all 838 invited positions (multilevel regression and
# poststratification, MRP), and asks how the population estimate moves when response and
# outcome may share the municipality effect (the joint response model). It runs on the
# bundled synthetic survey; chains are kept short so the script finishes in a minute or two —
# use the defaults (4 chains x 1000 draws) for real analyses.

# %%
import warnings

import pandas as pd

import civmodels as cm
from civmodels.exceptions import SamplingWarning

survey = cm.data.load_survey()
frame = cm.data.load_frame(survey)
items = [c for c in survey.columns if c.startswith("mot_") and not c.endswith("_dk")]
print(len(survey), "respondents;", len(frame), "positions;", len(items), "motivation items")

# %% [markdown]
# ## 1. The whole battery
#
# One latent "motivation" trait per respondent, regressed on municipality characteristics
# with municipality and area effects; each item has its own thresholds and loading.
# 'Ved ikke' answers and items left blank are missing: the likelihood uses the answers each
# respondent gave, so nobody is dropped for a partial battery.

# %%
rhs = "~ size_group + pressure_high + bloc + (1 | municipality) + (1 | area)"
battery = cm.bayes.Battery(items, rhs, survey)
with warnings.catch_warnings():
    # short demo chains: the ESS check would (rightly) ask for more draws
    warnings.simplefilter("ignore", SamplingWarning)
    bres = battery.fit(draws=300, tune=300, chains=2, random_seed=1)
print(bres.summary().to_markdown())

# %%
bres.ppc_plot(random_seed=1)

# %% [markdown]
# ## 2. MRP for one item
#
# A hierarchical cumulative-logit model for 'cost-effectiveness' as a motive, then predictions
# for all 838 positions (respondents and nonrespondents) aggregated by spending pressure and
# size group.

# %%
item = "mot_cost_effectiveness"
f = f"{item} ~ size_group + pressure_high + bloc + region + area + (1 | municipality)"
with warnings.catch_warnings():
    # short demo chains: R-hat / ESS checks may (rightly) ask for more draws
    warnings.simplefilter("ignore", SamplingWarning)
    ores = cm.bayes.Ordinal(f, survey).fit(draws=500, tune=500, chains=2, random_seed=2)
print(ores.summary().to_markdown())

# %%
mrp = ores.poststratify(frame, by="pressure_high", random_seed=3)
print(mrp.table.round(3))
top = str(ores.model.categories[-1])
print(mrp.difference(1, 0, top))  # includes P(high pressure > low pressure)

# %% [markdown]
# ## 3. Joint response model
#
# Response and outcome share the municipality effect through a loading λ. With λ = 0 this is
# plain MRP; λ ≠ 0 lets municipalities that answered less also differ in outcome.

# %%
full = frame.merge(survey[["position_id", item]], on="position_id", how="left")
joint = cm.bayes.JointResponse(
    f"{item} ~ size_group + pressure_high + bloc + region + area + (1 | municipality)",
    "~ size_group + pressure_high + bloc + region + area",
    full,
    response="responded",
)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", SamplingWarning)
    jres = joint.fit(draws=400, tune=400, chains=2, random_seed=4)
print(jres.lambda_.round(3))
jps = jres.poststratify(by="pressure_high")

# %%
compare = pd.DataFrame(
    {"MRP": mrp.overall["estimate"], "joint model": jps.overall["estimate"]}
).assign(change=lambda d: d["joint model"] - d["MRP"])
print(compare.round(3))
