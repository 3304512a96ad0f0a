"""A small synthetic survey with known group effects, shaped like civmodels.data.load_survey().

Used by the replication, report and CLI tests so that they do not depend on the bundled data
and can plant effects of known sign (strong, reversed, null).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

AREAS = [
    "sundhed_forebyggelse",
    "social",
    "skole_uddannelse",
    "kultur_fritid",
    "beskaeftigelse",
    "teknik_miljo",
    "ledelse_strategi",
    "borgerservice",
]
MOT = ["Slet ikke vigtigt", "Mindre vigtigt", "Vigtigt", "Meget vigtigt"]
POLICY = [
    "Kommunal politik/strategi for hele kommunen",
    "Politik for eget fagområde",
    "Under udarbejdelse",
    "Nej / ingen politik",
]


def _ordinal(rng: np.random.Generator, eta: np.ndarray, cuts=(-2.5, -1.0, 0.3)) -> pd.Categorical:
    latent = eta + rng.logistic(size=len(eta))
    codes = np.searchsorted(np.asarray(cuts), latent)
    return pd.Categorical.from_codes(codes, categories=MOT, ordered=True)


def make_frame(n_mun: int = 40, random_seed: int = 1) -> pd.DataFrame:
    """Positions: municipality x area, with municipality covariates and a response flag."""
    rng = np.random.default_rng(random_seed)
    codes = np.arange(101, 101 + n_mun)
    pop = np.exp(rng.normal(10.5, 0.7, n_mun))
    mun = pd.DataFrame(
        {
            "municipality_code": codes,
            "log_population": np.log(pop),
            "region": rng.choice(
                ["Hovedstaden", "Sjælland", "Syddanmark", "Midtjylland", "Nordjylland"], n_mun
            ),
            "bloc": rng.choice(["red", "blue"], n_mun),
            "spending_pressure": rng.normal(size=n_mun),
        }
    )
    mun["pressure_high"] = mun["spending_pressure"] > mun["spending_pressure"].median()
    mun["size_group"] = pd.cut(
        mun["log_population"],
        bins=[-np.inf, *np.quantile(mun["log_population"], [1 / 3, 2 / 3]), np.inf],
        labels=["small", "medium", "large"],
        ordered=True,
    )
    frame = mun.merge(pd.DataFrame({"area": AREAS}), how="cross")
    p = np.where(frame["area"] == "social", 0.75, 0.5)
    frame["responded"] = rng.random(len(frame)) < p
    frame["position_id"] = np.arange(len(frame))
    return frame


def make_survey(n_mun: int = 40, random_seed: int = 1, effect: float = 1.2) -> pd.DataFrame:
    """Respondents with planted effects.

    mot_cost_effectiveness: high pressure -> higher (+effect, F12 direction);
    mot_quality: high pressure -> higher too (+effect, so F13 comes out *reversed*);
    mot_trust, mot_reduce_expenditure: no group effects;
    new_focus_last_year: Teknik og miljø lower (F05 direction);
    policy_strategy: larger municipalities more often municipality-wide;
    n_ongoing_collaborations: counts rising with size.
    """
    rng = np.random.default_rng(random_seed + 1000)
    frame = make_frame(n_mun, random_seed)
    df = frame[frame["responded"]].drop(columns="responded").reset_index(drop=True)
    n = len(df)
    u = rng.normal(0, 0.5, n_mun)[df["municipality_code"].to_numpy() - 101]
    hp = df["pressure_high"].to_numpy(float)
    df["mot_cost_effectiveness"] = _ordinal(rng, effect * hp + u)
    df["mot_quality"] = _ordinal(rng, effect * hp + u + 1.0)
    df["mot_trust"] = _ordinal(rng, u + 1.0)
    df["mot_reduce_expenditure"] = _ordinal(rng, u - 0.5)
    teknik = (df["area"] == "teknik_miljo").to_numpy(float)
    pf = 1 / (1 + np.exp(-(1.8 - 1.6 * teknik + u)))
    df["new_focus_last_year"] = pd.Categorical(
        np.where(rng.random(n) < pf, "Ja", "Nej"), categories=["Nej", "Ja"]
    )
    z = df["log_population"].to_numpy() - 10.5
    pw = 1 / (1 + np.exp(-(0.2 + 1.5 * z)))
    other = rng.choice(POLICY[1:], n, p=[0.45, 0.25, 0.30])
    df["policy_strategy"] = pd.Categorical(
        np.where(rng.random(n) < pw, POLICY[0], other), categories=POLICY
    )
    df["n_ongoing_collaborations"] = rng.poisson(np.exp(2.3 + 0.5 * z + u))
    # a few 'Ved ikke' on one item, kept distinguishable from missing
    dk = df["mot_trust"].cat.add_categories(["Ved ikke"])
    dk[rng.random(n) < 0.05] = "Ved ikke"
    df["mot_trust"] = dk
    df["respondent_id"] = np.arange(1, n + 1)
    return df
