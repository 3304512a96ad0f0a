"""A synthetic 838-position frame shaped like the KORA survey (until civmodels.data lands)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

AREAS = [
    "social",
    "health",
    "school",
    "culture",
    "employment",
    "technical",
    "management",
    "citizen",
]


def make_frame(seed: int = 1, n_mun: int = 98) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    mun = pd.DataFrame(
        {
            "municipality_code": np.arange(101, 101 + n_mun),
            "region": rng.choice(["H", "S", "D", "M", "N"], n_mun),
            "size_group": rng.choice(["small", "medium", "large"], n_mun, p=[0.4, 0.4, 0.2]),
            "pressure_high": np.tile([0, 1], n_mun // 2 + 1)[:n_mun],
            "u": rng.normal(0, 0.4, n_mun),
        }
    )
    rows = []
    for _, m in mun.iterrows():
        k = rng.integers(8, 11)
        for a in rng.choice(AREAS, size=k, replace=True):
            rows.append({**m.to_dict(), "area": a})
    frame = pd.DataFrame(rows).iloc[:838].reset_index(drop=True)
    # position ids that differ from the row labels, so misalignment by position would show
    frame.insert(0, "position_id", np.arange(5001, 5001 + len(frame)))
    eta = (
        0.1
        + 1.2 * (frame["area"] == "social")
        - 0.4 * (frame["size_group"] == "small")
        + 0.3 * (frame["region"] == "M")
    )
    frame["p_true"] = 1 / (1 + np.exp(-eta))
    frame["responded"] = (rng.random(len(frame)) < frame["p_true"]).astype(int)
    # an outcome related to the response covariates: MAR given area and size
    lin = 1.5 * (frame["area"] == "social") + 0.5 * frame["pressure_high"] + frame["u"]
    frame["y"] = (rng.random(len(frame)) < 1 / (1 + np.exp(-(lin - 0.3)))).astype(int)
    return frame.drop(columns="u")


@pytest.fixture(scope="session")
def frame() -> pd.DataFrame:
    return make_frame()
