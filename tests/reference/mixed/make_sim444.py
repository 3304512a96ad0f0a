"""Write ``sim444.csv``: a survey-shaped ordinal data set with municipality random intercepts.

444 respondents in 98 municipalities (uneven cluster sizes), municipality-level predictors
(size, spending pressure, region, mayor's bloc), a respondent-level policy area and a
4-category Likert-type outcome from a cumulative logit model with a municipality random
intercept (SD 0.6). Run from the repository root:

    /work/venv/bin/python tests/reference/mixed/make_sim444.py
"""

from pathlib import Path

import numpy as np
import pandas as pd
from scipy import special

OUT = Path(__file__).with_name("sim444.csv")


def simulate(seed: int = 20161, n: int = 444, n_groups: int = 98) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    # every municipality answers at least once; the rest spread unevenly
    sizes = np.ones(n_groups, dtype=int) + rng.multinomial(
        n - n_groups, rng.dirichlet(np.full(n_groups, 2.0))
    )
    muni = np.repeat(np.arange(n_groups), sizes)
    log_pop = rng.normal(0, 1, n_groups)
    pressure = rng.normal(0, 1, n_groups)
    region = rng.choice(
        ["Hovedstaden", "Midtjylland", "Nordjylland", "Sjaelland", "Syddanmark"], n_groups
    )
    bloc = rng.choice(["red", "blue"], n_groups)
    area = rng.choice(["children", "culture", "elderly", "social"], n)
    u = rng.normal(0, 0.6, n_groups)
    beta_area = {"children": 0.0, "culture": 0.5, "elderly": -0.3, "social": 0.2}
    beta_region = {
        "Hovedstaden": 0.0,
        "Midtjylland": 0.2,
        "Nordjylland": -0.2,
        "Sjaelland": 0.1,
        "Syddanmark": 0.3,
    }
    eta = (
        0.4 * log_pop[muni]
        - 0.3 * pressure[muni]
        + np.array([beta_region[r] for r in region[muni]])
        + 0.25 * (bloc[muni] == "red")
        + np.array([beta_area[a] for a in area])
        + u[muni]
    )
    theta = np.array([-1.0, 0.3, 1.6])
    cum = special.expit(theta[None, :] - eta[:, None])
    ucut = rng.uniform(size=n)
    y = (ucut[:, None] > cum).sum(axis=1) + 1
    return pd.DataFrame(
        {
            "y": y,
            "municipality": [f"m{g:03d}" for g in muni],
            "log_pop": np.round(log_pop[muni], 6),
            "pressure": np.round(pressure[muni], 6),
            "region": region[muni],
            "bloc": bloc[muni],
            "area": area,
        }
    )


if __name__ == "__main__":
    simulate().to_csv(OUT, index=False)
