# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Random intercepts for municipalities
#
# Department heads in the same municipality answer alike. This example fits an ordinal
# model with a municipality random intercept (`(1 | municipality)`), reads the variance
# components, compares Laplace with adaptive quadrature, and contrasts conditional and
# marginal predictions. The data are simulated to look like the survey: 444 respondents
# in 98 municipalities, a 4-point importance item, municipality size and spending
# pressure, and the respondent's policy area.

# %%
import numpy as np
import pandas as pd

import civmodels as cm

rng = np.random.default_rng(2016)
n_mun = 98
size = rng.multinomial(444 - n_mun, np.full(n_mun, 1 / n_mun)) + 1
mun = np.repeat(np.arange(n_mun), size)
log_pop = rng.normal(0, 0.6, n_mun)[mun]
pressure = rng.normal(0, 1, n_mun)[mun]
area = rng.choice(["children", "culture", "elderly", "social"], len(mun))
u = rng.normal(0, 0.7, n_mun)[mun]  # municipality effects on the latent scale
area_eff = pd.Series({"children": 0.0, "culture": -0.5, "elderly": 0.4, "social": 0.2})
latent = 0.6 * log_pop - 0.3 * pressure + area_eff[area].to_numpy() + u
latent += rng.logistic(size=len(mun))
labels = ["Ikke vigtigt", "Mindre vigtigt", "Vigtigt", "Meget vigtigt"]
df = pd.DataFrame(
    {
        "importance": pd.Categorical.from_codes(
            np.digitize(latent, [-1.0, 0.5, 2.0]), categories=labels, ordered=True
        ),
        "municipality": [f"k{m:03d}" for m in mun],
        "log_pop": log_pop,
        "pressure": pressure,
        "area": area,
    }
)
df.head()

# %% [markdown]
# ## Fit by adaptive Gauss–Hermite quadrature
#
# Ten nodes per municipality are plenty for an ordinal outcome; `summary()` shows the
# thresholds, the location effects (conditional on the municipality) and a
# "Random effects" block with the SD, its log-scale interval and the ICC.

# %%
formula = "importance ~ log_pop + pressure + area + (1 | municipality)"
agq = cm.Ordinal(formula, data=df).fit(method="agq", n_quad=10)
print(agq.summary())

# %% [markdown]
# `re_sd` is the SD of the municipality intercepts on the latent (logit) scale; the ICC is
# the share of latent variance between municipalities.

# %%
print(agq.re_sd, agq.re_sd_conf_int(), agq.icc, sep="\n\n")

# %% [markdown]
# ## Laplace versus quadrature
#
# The Laplace approximation (one node) is what `clmm` and `glmer` use by default. With
# about 4.5 respondents per municipality it is close to the quadrature fit here.

# %%
lap = cm.Ordinal(formula, data=df).fit(method="laplace")
pd.DataFrame(
    {
        "laplace": [*lap.params, lap.re_sd.iloc[0], lap.loglik],
        "agq10": [*agq.params, agq.re_sd.iloc[0], agq.loglik],
    },
    index=[*agq.params.index, "sd(municipality)", "loglik"],
)

# %% [markdown]
# ## Which municipalities stand out?
#
# Conditional modes are empirical-Bayes predictions of each municipality's intercept,
# shrunk towards 0; their conditional SDs show how uncertain the ranking is.

# %%
modes = agq.conditional_modes().loc["municipality"].sort_values("mode")
pd.concat([modes.head(3), modes.tail(3)])

# %% [markdown]
# ## Conditional and marginal predictions
#
# For a respondent in the culture area of an average-size municipality: conditional on
# an *average* municipality (u = 0) and averaged over all municipalities (marginal). The
# marginal probabilities are flatter: the spread between municipalities is integrated in.

# %%
new = pd.DataFrame({"log_pop": [0.0], "pressure": [0.0], "area": ["culture"]})
pd.concat(
    {
        "conditional (u = 0)": agq.predict(new),
        "marginal": agq.predict(new, conditional=False),
    }
)

# %% [markdown]
# ## A binary item
#
# The same works for yes/no items with `civmodels.Logistic`, e.g. whether the department
# head rates the item at least "Vigtigt".

# %%
df["important"] = (df["importance"] >= "Vigtigt").astype(int)
binary = cm.Logistic(
    "important ~ log_pop + pressure + area + (1 | municipality)", data=df
).fit(method="agq", n_quad=15)
print(binary.summary(odds_ratios=True))
