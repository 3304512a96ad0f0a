"""Fixtures for the ordinal tests: reference data and R outputs (tests/reference/ordinal)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

REF = Path(__file__).resolve().parents[1] / "reference" / "ordinal"


@pytest.fixture(scope="session")
def wine() -> pd.DataFrame:
    df = pd.read_csv(REF / "wine.csv")
    df["rating"] = pd.Categorical(df["rating"], categories=[1, 2, 3, 4, 5], ordered=True)
    return df


@pytest.fixture(scope="session")
def housing() -> pd.DataFrame:
    df = pd.read_csv(REF / "housing.csv")
    df["Sat"] = pd.Categorical(df["Sat"], categories=["Low", "Medium", "High"], ordered=True)
    # keep R's factor level order (not alphabetical) so reference levels agree
    df["Infl"] = pd.Categorical(df["Infl"], categories=["Low", "Medium", "High"])
    df["Type"] = pd.Categorical(df["Type"], categories=["Tower", "Apartment", "Atrium", "Terrace"])
    df["Cont"] = pd.Categorical(df["Cont"], categories=["Low", "High"])
    return df


@pytest.fixture(scope="session")
def survey_sim() -> pd.DataFrame:
    df = pd.read_csv(REF / "survey_sim.csv")
    df["y"] = pd.Categorical(df["y"], categories=[1, 2, 3, 4], ordered=True)
    return df
