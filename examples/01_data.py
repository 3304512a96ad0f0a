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
# # The data: municipality frame, survey frame and the bundled survey
#
# civmodels ships the real frame of Denmark's 98 municipalities, the 838-position frame of
# invited department heads, the survey's codebook and a **synthetic** survey drawn by a
# simulator calibrated to the KORA 2016 report (the real microdata are not public). This
# example loads them, makes a table and draws a plot.

# %%
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display needed; the figure is saved to a file
import matplotlib.pyplot as plt
import pandas as pd

from civmodels.data import codebook, load_frame, load_municipalities, load_survey

# %% [markdown]
# ## The municipality frame (real)
# One row per municipality, with the derived covariates the report uses: size bands,
# the spending-pressure index and its median split, and the mayor's bloc.

# %%
municipalities = load_municipalities()
print(
    municipalities[
        [
            "code",
            "name",
            "region",
            "population",
            "size_group",
            "spending_pressure",
            "pressure_high",
            "bloc",
        ]
    ].head()
)
print(pd.crosstab(municipalities["size_group"], municipalities["pressure_high"], margins=True))

# %% [markdown]
# ## The survey frame and response
# 838 positions (one head per area and municipality plus 54 extra heads in larger
# municipalities); `responded` comes from the bundled survey.

# %%
frame = load_frame()
response = frame.groupby("area", observed=True)["responded"].agg(["size", "mean"])
print(response.rename(columns={"size": "invited", "mean": "response rate"}).round(2))

# %% [markdown]
# ## The bundled survey (synthetic)
# Ordinal items are ordered categoricals of the Danish labels. 'Ved ikke' is a missing value
# with the companion column `<item>_dk` set to True.

# %%
survey = load_survey()
print(
    f"{len(survey)} respondents; 'Ved ikke' on mot_quality: "
    f"{int(survey['mot_quality_dk'].sum())}; not answered: "
    f"{int((survey['mot_quality'].isna() & ~survey['mot_quality_dk']).sum())}"
)

# %% [markdown]
# ### Table: share answering *Meget vigtigt* to each motivation, by spending pressure
# (findings F12 and F13 of the report: cost-effectiveness weighs more, service quality less,
# in the high-pressure half).

# %%
rows = {}
for q in codebook.items(battery="motivations"):
    answered = survey.dropna(subset=[q.id])
    top = answered[q.id] == "Meget vigtigt"
    rows[q.label_en] = top.groupby(answered["pressure_high"]).mean()
table = pd.DataFrame(rows).T.rename(columns={0: "low pressure", 1: "high pressure"})
table = (100 * table).round(1).sort_values("high pressure")
print(table)

# %% [markdown]
# ### Plot: the motivation battery, stacked by answer category

# %%
items = codebook.items(battery="motivations")
shares = pd.DataFrame(
    {
        q.label_en: survey[q.id].value_counts(normalize=True).reindex(q.labels_da) * 100
        for q in items
    }
).T
fig, ax = plt.subplots(figsize=(8, 4.5))
shares.plot.barh(stacked=True, ax=ax, colormap="RdYlGn", width=0.8)
ax.set_xlabel("% of respondents who answered (synthetic data)")
ax.axvline(50, color="black", linewidth=0.8)
ax.legend(title=None, fontsize=8, ncol=4, loc="upper center", bbox_to_anchor=(0.35, -0.15))
fig.tight_layout()
out = Path(tempfile.mkdtemp()) / "motivations.png"
fig.savefig(out, dpi=100)
plt.close(fig)
print(f"plot written to {out}")
