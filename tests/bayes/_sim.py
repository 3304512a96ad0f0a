"""Seeded simulators for the Bayesian tests (data with known parameters)."""

from __future__ import annotations

import numpy as np
import pandas as pd

CATS = ["Ikke vigtigt", "Mindre vigtigt", "Vigtigt", "Meget vigtigt"]


def simulate_battery(
    n_resp: int = 300, n_muni: int = 40, n_items: int = 4, random_seed: int = 0
) -> tuple[pd.DataFrame, dict]:
    """A battery with municipality and area effects, breakoff and 'Ved ikke' answers."""
    rng = np.random.default_rng(random_seed)
    muni = rng.integers(0, n_muni, n_resp)
    area = rng.integers(0, 4, n_resp)
    pressure = rng.choice(["high", "low"], n_muni)[muni]
    x1 = rng.normal(size=n_resp)
    truth = {
        "x1": 0.5,
        "pressure[T.low]": -0.6,
        "sd_municipality": 0.5,
        "sd_area": 0.4,
        "loading": np.linspace(0.8, 1.5, n_items),
    }
    u_m = rng.normal(0, truth["sd_municipality"], n_muni)
    u_a = rng.normal(0, truth["sd_area"], 4)
    zeta = 0.5 * x1 - 0.6 * (pressure == "low") + u_m[muni] + u_a[area] + rng.normal(size=n_resp)
    cuts = np.array([[-1.5, 0.0, 1.5]]) + rng.normal(0, 0.3, (n_items, 1))
    truth["cutpoints"] = cuts
    df = pd.DataFrame(
        {
            "municipality": [f"M{m:02d}" for m in muni],
            "area": [f"A{a}" for a in area],
            "pressure": pressure,
            "x1": x1,
        }
    )
    for j in range(n_items):
        lat = truth["loading"][j] * zeta + rng.logistic(size=n_resp)
        codes = np.digitize(lat, cuts[j])
        col = pd.Series(pd.Categorical.from_codes(codes, CATS, ordered=True))
        dk = rng.random(n_resp) < 0.05
        # breakoff: 10% stop after the first item
        stop = (rng.random(n_resp) < 0.1) & (j > 0)
        col[dk | stop] = np.nan
        df[f"mot_{j}"] = col
        df[f"mot_{j}_dk"] = dk & ~stop
    return df, truth
