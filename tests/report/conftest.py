"""Fits on the bundled survey shared by the reporting tests (fixed, cluster-robust, mixed,
weighted, design-based), fitted once per module run."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import civmodels as cm
from civmodels.data import load_survey

FORMULA = "val_trust ~ pressure_high + size_group"


@pytest.fixture(scope="session")
def survey() -> pd.DataFrame:
    df = load_survey()
    # a deterministic, unequal sampling weight (larger municipalities answered more often)
    df["w"] = 1.0 + 1.0 / np.sqrt(df["population"] / df["population"].median())
    return df


@pytest.fixture(scope="session")
def survey_fits(survey) -> dict:
    df = survey
    design = cm.SurveyDesign(df, cluster="municipality_code", weights="w")
    return {
        "fixed": cm.Ordinal(FORMULA, data=df).fit(),
        "cluster": cm.Ordinal(FORMULA, data=df).fit(
            cov_type="cluster", cluster="municipality_code"
        ),
        "mixed": cm.Ordinal(FORMULA + " + (1 | municipality_code)", data=df).fit(),
        "weighted": cm.Ordinal(FORMULA, data=df, weights="w").fit(cov_type="robust"),
        "design": cm.Ordinal(FORMULA, data=df).fit(design=design),
        "logistic": cm.Logistic("partner_local_associations ~ pressure_high", data=df).fit(),
    }
