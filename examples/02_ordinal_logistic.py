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
# The survey asked department heads how important each of nine motives is for collaborating
# with civil society. Here we model one of them — *increased cost-effectiveness*
# (`mot_cost_effectiveness`, four categories from "Slet ikke vigtigt" to "Meget vigtigt") —
# by the municipality's spending pressure and size and the head's policy area. The report
# found that cost-effectiveness weighs more in the high-pressure half of the municipalities
# (finding F12). We fit a proportional-odds model, compare covariance choices (the heads are
# clustered in municipalities), test the proportional-odds assumption and report marginal
# effects; then a yes/no item with the same interface.
#
# The data are the survey bundled with civmodels, `load_survey()`: a **synthetic** survey
# drawn by a simulator calibrated to the KORA 2016 report (the real microdata are not
# public), with the real municipality frame behind it.

# %%
import warnings

import pandas as pd

import civmodels as cm
from civmodels.data import codebook, load_frame, load_survey
from civmodels.nonresponse import margins_from_frame, rake
from civmodels.report import regression_table

survey = load_survey()
item = "mot_cost_effectiveness"
question = codebook[item]
print(f"{item}: {question.label_da} / {question.label_en}")
print(survey[item].value_counts(sort=False, dropna=False))
print(f"'Ved ikke': {int(survey[item + '_dk'].sum())}")

# %% [markdown]
# 'Ved ikke' (don't know) and unanswered items are missing values; the model drops those rows
# and reports how many (`n_dropped`). `pressure_high` is 1 in the half of municipalities with
# the higher spending-pressure index, `log_population` the log of the municipality's
# population.

# %% [markdown]
# ## Proportional-odds model
#
# $P(Y \le j) = F(\theta_j - x'\beta)$: positive effects shift answers towards
# "Meget vigtigt"; with `odds_ratios=True` the summary adds $\exp(\beta)$, the cumulative
# odds ratio of a more important (rather than less important) answer.

# %%
formula = f"{item} ~ pressure_high + log_population + area"
model = cm.Ordinal(formula, data=survey)
res = model.fit()
res.summary(odds_ratios=True)

# %%
res.thresholds

# %% [markdown]
# ## Cluster-robust and design-based standard errors
#
# Heads in the same municipality are not independent. Each covariance choice is a new
# fit. The design-based fit uses weights raked to the survey frame's margins (area,
# size group, region; 838 invited positions, of whom about half answered) and treats
# municipalities as clusters, as R's `svyolr` does.

# %%
clustered = model.fit(cov_type="cluster", cluster="municipality_code")
margins = margins_from_frame(load_frame(), ["area", "size_group", "region"])
survey["w_rake"] = rake(survey, margins)
design = cm.SurveyDesign(survey, weights="w_rake", cluster="municipality_code")
designed = model.fit(design=design)
pd.DataFrame(
    {
        "model-based": res.std_errors,
        "cluster (CR1)": clustered.std_errors,
        "design-based": designed.std_errors,
    }
).round(3)

# %% [markdown]
# ## Is the proportional-odds assumption reasonable?
#
# `nominal_test()` refits with each term's effect free to differ between the thresholds
# (likelihood-ratio tests); `brant_test()` compares separate binary logits of $Y > j$. The
# lowest answer is rare (19 heads), and in several areas nobody gave it. So the area
# effects on "above *Slet ikke vigtigt*" are barely (LR test) or not at all (Brant: quasi-
# complete separation, reported as NaN) estimable, and both tests say so in warnings, printed
# below. Read the rows for spending pressure and population.

# %%
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    nominal = res.nominal_test()
    brant = res.brant_test()
for w in caught:
    print(f"{type(w.message).__name__}: {str(w.message)[:160]}...")
nominal

# %%
brant

# %% [markdown]
# ## Predicted probabilities and average marginal effects
#
# The average predicted answer distribution in the low- and high-pressure halves, and the
# average marginal effect of high pressure on the probability of each answer.

# %%
res.average_predictions(by="pressure_high").pivot(
    index="pressure_high", columns="outcome", values="estimate"
).round(3)

# %%
me = clustered.marginal_effects("pressure_high")
me[["outcome", "estimate", "ci_lower", "ci_upper"]].round(3)

# %% [markdown]
# ## A binary item with the same interface
#
# Does the area collaborate with the local volunteer centre (`partner_volunteer_centres`,
# "Nej"/"Ja")? A two-level categorical outcome is modelled as the probability of its second
# level, "Ja". Municipality size enters as the size bands, so the intercept is the log-odds
# of "Ja" at the reference levels: a health-and-prevention head in a low-pressure
# municipality of under 30,000 inhabitants.

# %%
binary = "partner_volunteer_centres"
print(f"{binary}: {codebook[binary].label_da} / {codebook[binary].label_en}")
logit = cm.Logistic(f"{binary} ~ pressure_high + size_group + area", data=survey).fit(
    cov_type="cluster", cluster="municipality_code"
)
logit.summary(odds_ratios=True)

# %% [markdown]
# The two models side by side, with Danish labels from the codebook and cluster-robust
# standard errors: odds ratios, and the logistic intercept shown as the baseline odds — the
# odds of "Ja" at the reference levels — never starred, like the thresholds.

# %%
regression_table(
    clustered,
    logit,
    output="html",
    exponentiate=True,
    labels="da",
    names=["Omkostningseffektivitet", "Frivilligcenter"],
)

# %%
logit.marginal_effects("pressure_high")[["contrast", "estimate", "ci_lower", "ci_upper"]]
