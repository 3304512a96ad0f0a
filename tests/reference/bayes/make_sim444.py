"""Write sim444.csv: a seeded synthetic survey shaped like the KORA data (444 respondents in
98 municipalities, 4-category outcome, municipality-level predictors and policy area).

Used by the Bayesian tests (agreement with R ordinal::clmm, see make_clmm.R) and by
benchmarks/bench_bayes.py. Run: /work/venv/bin/python tests/reference/bayes/make_sim444.py
"""

from pathlib import Path

import numpy as np
import pandas as pd


def simulate(random_seed: int = 20151001) -> pd.DataFrame:
    rng = np.random.default_rng(random_seed)
    n_muni, n = 98, 444
    regions = ["Hovedstaden", "Midtjylland", "Nordjylland", "Sjælland", "Syddanmark"]
    muni = pd.DataFrame(
        {
            "municipality": [f"K{c:03d}" for c in range(101, 101 + n_muni)],
            "region": rng.choice(regions, n_muni, p=[0.3, 0.2, 0.1, 0.17, 0.23]),
            "size": rng.choice(["small", "medium", "large"], n_muni, p=[0.3, 0.4, 0.3]),
            "pressure": rng.choice(["low", "high"], n_muni),
            "bloc": rng.choice(["red", "blue"], n_muni),
        }
    )
    u = rng.normal(0.0, 0.5, n_muni)
    # every municipality has at least one respondent; the rest spread unevenly
    extra = rng.choice(n_muni, n - n_muni, p=rng.dirichlet(np.full(n_muni, 2.0)))
    idx = np.concatenate([np.arange(n_muni), extra])
    df = muni.iloc[idx].reset_index(drop=True)
    areas = ["social", "health", "school", "culture", "employment", "technical", "management"]
    df["area"] = rng.choice(areas, n)
    df["x1"] = rng.normal(size=n).round(3)
    eff = {
        "region": {"Midtjylland": 0.2, "Nordjylland": -0.1, "Sjælland": 0.3, "Syddanmark": 0.0},
        "size": {"medium": 0.2, "large": 0.4},
        "pressure": {"high": 0.5},
        "bloc": {"red": -0.2},
        "area": {
            "health": 0.3,
            "school": -0.2,
            "culture": 0.6,
            "employment": 0.0,
            "technical": -0.4,
            "management": 0.2,
        },
    }
    eta = 0.6 * df["x1"].to_numpy() + u[idx]
    for col, d in eff.items():
        eta = eta + df[col].map(d).fillna(0.0).to_numpy()
    latent = eta + rng.logistic(size=n)
    cats = ["Slet ikke vigtigt", "Mindre vigtigt", "Vigtigt", "Meget vigtigt"]
    df["y"] = pd.Categorical.from_codes(np.digitize(latent, [-1.0, 0.3, 1.8]), cats, ordered=True)
    df["yes"] = (latent > 0.8).astype(int)
    return df


if __name__ == "__main__":
    out = Path(__file__).with_name("sim444.csv")
    simulate().to_csv(out, index=False)
    print(f"wrote {out}")
