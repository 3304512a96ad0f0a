# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Ordinal and logistic regression with civmodels
#
# A Likert item ("how important is collaboration with civil society?", four categories) and a
# yes/no item, answered by department heads clustered in municipalities. We simulate data
# shaped like the KORA survey (444 respondents in 98 municipalities, sampling weights), fit
# proportional-odds and logistic models, compare covariance choices, test the
# proportional-odds assumption and report marginal effects.

# %%
import numpy as np
import pandas as pd

import civmodels as cm

rng = np.random.default_rng(2016)
G = 98
size = rng.multinomial(444 - G, np.full(G, 1 / G)) + 1
mun = np.repeat(np.arange(G), size)
log_pop = rng.normal(10.3, 0.6, G)[mun]
pressure = rng.normal(0, 1, G)[mun]
area = rng.choice(["children", "elderly", "culture", "social"], len(mun))
u = rng.normal(0, 0.4, G)[mun]
eta = (
    0.6 * (log_pop - 10.3)
    - 0.4 * pressure
    + pd.Series({"children": 0, "elderly": 0.5, "culture": -0.4, "social": 0.2})[area].to_numpy()
    + u
)
labels = ["Ikke vigtigt", "Mindre vigtigt", "Vigtigt", "Meget vigtigt"]
importance = np.digitize(eta + rng.logistic(size=len(mun)), [-1.0, 0.5, 2.0])
df = pd.DataFrame(
    {
        "municipality": mun,
        "importance": pd.Categorical.from_codes(importance, categories=labels, ordered=True),
        "collaborates": (eta + rng.logistic(size=len(mun)) > 0.3).astype(int),
        "log_pop": log_pop,
        "pressure": pressure,
        "area": area,
        "weight": rng.uniform(0.5, 3.0, len(mun)),
    }
)
df.loc[rng.choice(len(df), 6, replace=False), "pressure"] = np.nan  # item nonresponse
df.head()

# %% [markdown]
# ## Proportional-odds model
#
# $P(Y \le j) = F(\theta_j - x'\beta)$: positive effects shift answers towards "Meget vigtigt".
# Rows with a missing predictor are dropped and reported.

# %%
model = cm.Ordinal("importance ~ log_pop + pressure + area", data=df)
res = model.fit()
res.summary(odds_ratios=True)

# %%
res.thresholds

# %% [markdown]
# ## Cluster-robust and design-based standard errors
#
# Respondents in the same municipality are not independent. Each covariance choice is a new
# fit; the design-based fit uses the sampling weights as R's `svyolr` does.

# %%
clustered = model.fit(cov_type="cluster", cluster="municipality")
design = cm.SurveyDesign(df, weights="weight", cluster="municipality")
designed = model.fit(design=design)
pd.DataFrame(
    {
        "model-based": res.std_errors,
        "cluster (CR1)": clustered.std_errors,
        "design-based": designed.std_errors,
    }
)

# %% [markdown]
# ## Is the proportional-odds assumption reasonable?

# %%
res.nominal_test()

# %%
res.brant_test()

# %% [markdown]
# ## Predicted probabilities and average marginal effects, by policy area

# %%
res.average_predictions(by="area").pivot(index="area", columns="outcome", values="estimate")

# %%
me = res.marginal_effects("pressure")
me[["outcome", "estimate", "ci_lower", "ci_upper"]]

# %% [markdown]
# ## A binary item with the same interface

# %%
logit = cm.Logistic("collaborates ~ log_pop + pressure + area", data=df).fit(
    cov_type="cluster", cluster="municipality"
)
logit.summary(odds_ratios=True)

# %%
logit.marginal_effects("area")[["contrast", "estimate", "ci_lower", "ci_upper"]]
