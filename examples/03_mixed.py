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
# Department heads in the same municipality answer alike. This example models how far
# collaboration with civil society has *strengthened trust* between citizens and the
# municipality (`val_trust`: "Slet ikke" < "I mindre grad" < "I nogen grad" < "I høj grad")
# with a municipality random intercept (`(1 | municipality)`), reads the variance components,
# compares Laplace with adaptive quadrature, and contrasts conditional and marginal
# predictions. Predictors: the municipality's spending pressure and (log) population and the
# head's policy area.
#
# The data are the survey bundled with civmodels, `load_survey()`: a **synthetic** survey
# of 457 heads in 97 municipalities, drawn by a simulator calibrated to the KORA 2016 report
# (the real microdata are not public), so the municipality differences below are the
# simulator's, not Denmark's.

# %%
import pandas as pd

import civmodels as cm
from civmodels.data import codebook, load_survey

survey = load_survey()
item = "val_trust"
print(f"{item}: {codebook[item].label_da} / {codebook[item].label_en}")
per_municipality = survey.groupby("municipality").size()
print(
    f"{len(survey)} heads in {len(per_municipality)} municipalities "
    f"({per_municipality.min()}–{per_municipality.max()} each)"
)
survey[item].value_counts(sort=False, dropna=False)

# %% [markdown]
# ## Fit by adaptive Gauss–Hermite quadrature
#
# Ten nodes per municipality are plenty for an ordinal outcome; `summary()` shows the
# thresholds, the location effects (conditional on the municipality) and a
# "Random effects" block with the SD, its log-scale interval and the ICC. Heads who
# answered 'Ved ikke' or skipped the item are dropped and counted.

# %%
formula = f"{item} ~ log_population + pressure_high + area + (1 | municipality)"
agq = cm.Ordinal(formula, data=survey).fit(method="agq", n_quad=10)
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
# under five heads per municipality it is close to the quadrature fit here.

# %%
lap = cm.Ordinal(formula, data=survey).fit(method="laplace")
pd.DataFrame(
    {
        "laplace": [*lap.params, lap.re_sd.iloc[0], lap.loglik],
        "agq10": [*agq.params, agq.re_sd.iloc[0], agq.loglik],
    },
    index=[*agq.params.index, "sd(municipality)", "loglik"],
).round(4)

# %% [markdown]
# ## Which municipalities stand out?
#
# Conditional modes are empirical-Bayes predictions of each municipality's intercept,
# shrunk towards 0; their conditional SDs show how uncertain the ranking is — with four or
# five heads per municipality, very.

# %%
modes = agq.conditional_modes().loc["municipality"].sort_values("mode")
pd.concat([modes.head(3), modes.tail(3)])

# %% [markdown]
# ## Conditional and marginal predictions
#
# For a culture-and-leisure head in a low-pressure municipality of median size: conditional
# on an *average* municipality (u = 0) and averaged over all municipalities (marginal). The
# marginal probabilities are flatter: the spread between municipalities is integrated in.

# %%
new = pd.DataFrame(
    {
        "log_population": [survey["log_population"].median()],
        "pressure_high": [0],
        "area": ["kultur_fritid"],
    }
)
pd.concat(
    {
        "conditional (u = 0)": agq.predict(new),
        "marginal": agq.predict(new, conditional=False),
    }
)

# %% [markdown]
# ## A binary item
#
# The same works for yes/no items with `civmodels.Logistic`, e.g. whether the area
# collaborates with the local volunteer centre (`partner_volunteer_centres`, "Nej"/"Ja"; the
# second level is the event). Example 02 handled the clustering of this item with
# cluster-robust standard errors; here the municipalities get their own intercepts.

# %%
binary = cm.Logistic(
    "partner_volunteer_centres ~ log_population + pressure_high + area + (1 | municipality)",
    data=survey,
).fit(method="agq", n_quad=15)
print(binary.summary(odds_ratios=True))
