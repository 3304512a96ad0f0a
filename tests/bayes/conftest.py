"""Session-scoped Bayesian fits shared by the fast API tests.

Compiling the PyTensor log density is the expensive step, so each model is built and fitted
once per session and every test reads the same result.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REF = Path(__file__).resolve().parents[1] / "reference" / "bayes"
CATS = ["Slet ikke vigtigt", "Mindre vigtigt", "Vigtigt", "Meget vigtigt"]
FORMULA = "y ~ x1 + region + size + pressure + bloc + area + (1 | municipality)"


def load_sim444() -> pd.DataFrame:
    df = pd.read_csv(REF / "sim444.csv")
    df["y"] = pd.Categorical(df["y"], categories=CATS, ordered=True)
    return df


@pytest.fixture(scope="session")
def sim444() -> pd.DataFrame:
    return load_sim444()


@pytest.fixture(scope="session")
def clmm_ref() -> dict:
    return json.loads((REF / "clmm_sim444.json").read_text(encoding="utf-8"))


def _fit(model, **kw):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = model.fit(**kw)
    return res, caught


@pytest.fixture(scope="session")
def ordinal_fit(sim444):
    """Ordinal model on the 444-row data: 2 chains x 600 draws (nutpie)."""
    from civmodels import bayes

    model = bayes.Ordinal(FORMULA, data=sim444)
    res, caught = _fit(model, draws=600, tune=600, chains=2, random_seed=11)
    return res, caught


@pytest.fixture(scope="session")
def logistic_fit(sim444):
    from civmodels import bayes

    f = FORMULA.replace("y ~", "yes ~")
    model = bayes.Logistic(f, data=sim444)
    res, caught = _fit(model, draws=600, tune=600, chains=2, random_seed=12)
    return res, caught


@pytest.fixture(scope="session")
def frame838(sim444) -> pd.DataFrame:
    """A population frame: every respondent position plus nonrespondent positions, and a
    few municipalities without any respondent."""
    rng = np.random.default_rng(5)
    munis = sim444.drop_duplicates("municipality")[
        ["municipality", "region", "size", "pressure", "bloc"]
    ]
    extra_munis = pd.DataFrame(
        {
            "municipality": ["K900", "K901"],
            "region": ["Sjælland", "Hovedstaden"],
            "size": ["small", "large"],
            "pressure": ["high", "low"],
            "bloc": ["red", "blue"],
        }
    )
    allm = pd.concat([munis, extra_munis], ignore_index=True)
    n_non = 838 - len(sim444)
    rows = np.concatenate([[len(allm) - 2, len(allm) - 1], rng.integers(0, len(allm), n_non - 2)])
    pick = allm.iloc[rows].reset_index(drop=True)
    areas = sorted(sim444["area"].unique())
    pick["area"] = rng.choice(areas, n_non)
    pick["x1"] = rng.normal(size=n_non).round(3)
    resp = sim444.drop(columns=["y", "yes"]).assign(responded=True)
    return pd.concat([resp, pick.assign(responded=False)], ignore_index=True)


# -- the models with several outcomes (tests/bayes/test_battery_joint.py, test_postfit_multi.py)
BATTERY_ITEMS = ["mot_0", "mot_1", "mot_2"]
BATTERY_RHS = "~ x1 + pressure + (1 | municipality) + (1 | area)"


@pytest.fixture(scope="session")
def battery_data():
    from tests.bayes._sim import simulate_battery

    df, truth = simulate_battery(n_resp=200, n_muni=25, n_items=3, random_seed=2)
    # one respondent who answered nothing (all 'Ved ikke')
    for it in BATTERY_ITEMS:
        df.loc[0, it] = np.nan
        df.loc[0, f"{it}_dk"] = True
    return df, truth


@pytest.fixture(scope="session")
def battery_fit(battery_data):
    """Battery of three items, 2 chains x 400 draws (nutpie)."""
    from civmodels import bayes
    from civmodels.exceptions import SamplingWarning

    df, _ = battery_data
    m = bayes.Battery(BATTERY_ITEMS, BATTERY_RHS, df)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SamplingWarning)
        return m.fit(draws=400, tune=400, chains=2, random_seed=3)


@pytest.fixture(scope="session")
def joint_frame():
    """sim444 respondents plus nonrespondent positions (outcome missing)."""
    df = load_sim444()
    rng = np.random.default_rng(9)
    non = df.sample(n=300, replace=True, random_state=rng).reset_index(drop=True)
    non["y"] = pd.Categorical([None] * len(non), categories=CATS, ordered=True)
    return pd.concat([df.assign(responded=True), non.assign(responded=False)], ignore_index=True)


@pytest.fixture(scope="session")
def joint_fit(joint_frame):
    """Joint response-outcome model, 2 chains x 300 draws (nutpie)."""
    from civmodels import bayes
    from civmodels.exceptions import SamplingWarning

    m = bayes.JointResponse(
        "y ~ x1 + pressure + (1 | municipality)", "~ pressure + size", joint_frame
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SamplingWarning)
        return m.fit(draws=300, tune=300, chains=2, random_seed=4)
