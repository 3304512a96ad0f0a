# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     name: python3
# ---

# %% [markdown]
# # Nonresponse: from the 838-position frame to weighted, raked and poststratified estimates
#
# Only 53 % of the 838 department heads answered, and the social area answered more often
# than the others. This example estimates one motivation item — *how important is cost
# effectiveness as a reason to collaborate* (`mot_cost_effectiveness`) — by spending
# pressure, four ways:
#
# 1. unweighted, treating the respondents as if they were everyone;
# 2. with response-propensity weights from the frame;
# 3. with weights raked to the frame's margins (area, size group, region);
# 4. by multilevel regression and poststratification (MRP) over all 838 positions;
#
# and then asks how far nonrespondents would have to differ from respondents (MNAR) before
# the pressure difference disappears. The survey bundled with civmodels is synthetic (the
# report's microdata are not public); the frame is real.

# %%
import warnings

import matplotlib

matplotlib.use("Agg")  # the example also runs headless in CI

import pandas as pd

import civmodels as cm
from civmodels.data import load_frame, load_survey
from civmodels.nonresponse import (
    DeltaAnalysis,
    SurveyDesign,
    apply_dont_know,
    crosstab,
    margins_from_frame,
    poststratify,
    propensity_weights,
    rake,
    tipping_point,
)

frame = load_frame()  # all 838 positions, with `responded`
survey = load_survey()  # the respondents' answers
item = "mot_cost_effectiveness"
top2 = ["Vigtigt", "Meget vigtigt"]
print(frame.shape, survey.shape)
frame.groupby("area", observed=True)["responded"].mean().round(2)

# %% [markdown]
# ## The 'Ved ikke' policy
# 'Ved ikke' answers are stored as a missing item with `<item>_dk = True`. Every table and
# model uses one switch; here they are treated as missing, and the report says how many.

# %%
survey, dk = apply_dont_know(survey, "missing", items=[item])
print(dk.describe())

# %% [markdown]
# ## 1. Response-propensity weights
# A logit of `responded` on area, size group and region over the whole frame. Weighting
# respondents by `1 / p̂` balances the covariates (standardised differences after weighting
# near zero) at the price of a Kish design effect.

# %%
pw = propensity_weights(frame, "responded ~ area + size_group + region")
print(pw.summary())
fig = pw.plot()

# %% [markdown]
# The weights are indexed by `position_id`; `attach` matches them to the respondents by that
# id (never by row position) and names any respondent without a responding position.

# %%
survey["w_prop"] = pw.attach(survey)
survey["w_prop"].describe()

# %% [markdown]
# ## 2. Raking to the frame's margins
# The frame gives exact population counts of positions by area, size group and region.
# Raking (iterative proportional fitting) makes the weighted respondent counts match all
# three margins at once.

# %%
margins = margins_from_frame(frame, ["area", "size_group", "region"])
survey["w_rake"] = rake(survey, margins)
survey.groupby("area", observed=True)["w_rake"].sum().round(1)

# %% [markdown]
# ## Design-based estimates and the Rao–Scott test
# Respondents are clustered in municipalities. Every municipality is in the frame, so a
# one-stage design with `fpc` would declare the clusters a census and the variance zero;
# we instead treat municipalities as sampled with replacement (the conservative choice).

# %%
rows = {}
for label, w in [("unweighted", None), ("propensity", "w_prop"), ("raked", "w_rake")]:
    # the raked design knows its margins, so its variance uses calibration residuals
    cal = list(margins) if label == "raked" else None
    d = SurveyDesign(survey, weights=w, cluster="municipality_code", calibrated_on=cal)
    est = d.proportion(item, by="pressure_high")
    share = est.estimate.unstack()[top2].sum(axis=1)
    rows[label] = share
    if label == "raked":
        ct = crosstab(d, "pressure_high", item)
        print(ct.test("rao-scott"))
        print(ct.summary())
est.to_frame().round(3)

# %% [markdown]
# ## 3. MRP: model the item, predict all 838 positions
# A proportional-odds model with a municipality random intercept, fitted to the respondents,
# predicts every position's answer distribution; averaging over the frame (by pressure)
# estimates what all department heads would have answered, with uncertainty from
# parameter draws. If the municipality SD is estimated at 0 (a boundary fit, reported
# below), MRP reduces to poststratifying a fixed-effects model — which is then the honest
# answer for this item.

# %%
model = cm.Ordinal(
    f"{item} ~ pressure_high + area + size_group + region + (1 | municipality_code)",
    survey,
)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    res = model.fit()
for w in caught:  # e.g. a boundary fit: the municipality SD estimated at 0
    print("note:", w.message)
print(res.re_sd)
mrp = poststratify(res, frame, by="pressure_high", categories=top2, random_seed=1)
print(mrp)
rows["MRP"] = mrp.table["estimate"].droplevel("quantity").drop("overall")
print(mrp.difference(1, 0))

# %%
comparison = pd.DataFrame(rows).T
comparison.columns = [f"pressure_high={c}" for c in comparison.columns]
comparison["difference"] = comparison.iloc[:, 1] - comparison.iloc[:, 0]
comparison.round(3)

# %% [markdown]
# ## 4. How robust is the pressure difference to MNAR?
# Put all 838 positions in one table — nonrespondents with the item missing — impute the
# item by chained equations (proportional-odds model on area, size group, region and
# pressure), and shift the latent answers of the *high-pressure* nonrespondents by δ
# (δ < 0: they care less about cost effectiveness than similar respondents). Shifting
# everyone would move both groups alike and leave the difference intact. The tipping point
# is the δ at which the pressure effect stops being significant.

# %%
full = frame.merge(survey[["position_id", item]], on="position_id", how="left")
analysis = DeltaAnalysis(
    full,
    items=[item],
    fit=lambda d: cm.Ordinal(f"{item} ~ pressure_high", d).fit(),
    term="pressure_high",
    predictors=["area", "size_group", "region", "pressure_high"],
    shift_rows="pressure_high == 1",
    m=5,
    n_iter=2,
    random_seed=2015,
)
tp = tipping_point(analysis, deltas=[-3, -2, -1.5, -1, -0.5, 0, 0.5])
print(tp.summary())
fig = tp.plot()
