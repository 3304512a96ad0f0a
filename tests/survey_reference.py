"""Loaders for the R survey 4.1-1 fixtures in tests/reference/survey (made by make_survey.R)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent / "reference" / "survey"


@cache
def reference() -> dict:
    return json.loads((HERE / "survey_reference.json").read_text())


def load(name: str) -> pd.DataFrame:
    return pd.read_csv(HERE / f"{name}.csv")


def arr(x: object) -> np.ndarray:
    return np.atleast_1d(np.asarray(x, dtype=float))
