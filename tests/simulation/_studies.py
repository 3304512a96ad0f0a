"""Module-level study functions, so that worker processes can import them."""

from __future__ import annotations

import numpy as np


def normal_summary(rng: np.random.Generator, n: int = 20) -> list[dict]:
    """Two rows per replicate: the sample mean and SD of n standard normals."""
    x = rng.normal(size=n)
    return [{"stat": "mean", "value": float(x.mean())}, {"stat": "sd", "value": float(x.std())}]


def flaky(rng: np.random.Generator, fail_every: int = 4) -> dict:
    """Raises for replicates whose first uniform draw falls below 1 / fail_every."""
    u = rng.random()
    if u < 1 / fail_every:
        raise ZeroDivisionError(f"bad draw {u:.3f}")
    return {"u": u}


class Interrupting:
    """Callable that interrupts the run (like Ctrl-C) at a given call, counting calls."""

    def __init__(self, stop_at: int | None) -> None:
        self.stop_at = stop_at
        self.calls = 0

    def __call__(self, rng: np.random.Generator) -> dict:
        if self.stop_at is not None and self.calls == self.stop_at:
            raise KeyboardInterrupt
        self.calls += 1
        return {"x": float(rng.normal())}


def two_groups(
    rng: np.random.Generator,
    *,
    effect: float,
    outcome: str,
    by: str,
    response_rate: float,
    n_invited: int = 300,
    baseline: float = 0.3,
):
    """Two independent binomial samples: ``round(n_invited * response_rate)`` respondents per
    group; success probability ``baseline`` in group 0 and odds ``effect`` times higher in
    group 1. The chi-square test's power on these data is known analytically."""
    import pandas as pd

    n = round(n_invited * response_rate)
    odds1 = baseline / (1 - baseline) * effect
    p1 = odds1 / (1 + odds1)
    y = np.concatenate([rng.random(n) < baseline, rng.random(n) < p1]).astype(int)
    g = np.repeat([0, 1], n)
    return pd.DataFrame({outcome: y, by: g})


def clustered_survey(
    rng: np.random.Generator,
    *,
    effect: float,
    outcome: str,
    by: str,
    response_rate: float,
    n_municipalities: int = 40,
    per_municipality: int = 10,
    re_sd: float = 0.8,
):
    """A small clustered survey: a municipality-level binary ``by`` (half the
    municipalities), a municipality random intercept, and a 4-category ordinal outcome from a
    cumulative-logit model with log odds ratio ``log(effect)`` for ``by``; each position
    responds with probability ``response_rate``."""
    import pandas as pd

    g = np.repeat(np.arange(n_municipalities), per_municipality)
    high = (np.arange(n_municipalities) % 2 == 1).astype(int)
    u = rng.normal(0, re_sd, n_municipalities)
    eta = np.log(effect) * high[g] + u[g]
    latent = eta + rng.logistic(size=g.size)
    y = np.digitize(latent, [-1.0, 0.5, 2.0])
    keep = rng.random(g.size) < response_rate
    labels = ["Uvæsentligt", "Mindre vigtigt", "Vigtigt", "Meget vigtigt"]
    cat = pd.Categorical.from_codes(y[keep], categories=labels, ordered=True)
    return pd.DataFrame({outcome: cat, by: high[g][keep], "municipality_code": 101 + g[keep]})


class MeanResult:
    """Minimal result of a normal-mean fit: the civmodels result contract's interval part."""

    def __init__(self, y: np.ndarray, use_t: bool) -> None:
        from scipy import stats

        self.n = len(y)
        self.mean = float(y.mean())
        self.se = float(y.std(ddof=1) / np.sqrt(self.n))
        self.q = stats.t.ppf if use_t else (lambda p, df: stats.norm.ppf(p))
        import pandas as pd

        self.params = pd.Series({"mu": self.mean})
        self.std_errors = pd.Series({"mu": self.se})

    def conf_int(self, level: float = 0.95):
        import pandas as pd

        h = self.q(0.5 + level / 2, self.n - 1) * self.se
        return pd.DataFrame({"lower": [self.mean - h], "upper": [self.mean + h]}, index=["mu"])


def normal_data(rng: np.random.Generator, n: int = 5):
    import pandas as pd

    return pd.DataFrame({"y": rng.normal(1.0, 2.0, size=n)}), pd.Series({"mu": 1.0})


def fit_t(data):
    return MeanResult(data["y"].to_numpy(), use_t=True)


def fit_z(data):
    return MeanResult(data["y"].to_numpy(), use_t=False)


def survey_with_empty_category(rng: np.random.Generator, **kw):
    """clustered_survey with an extra, never-used top category (the engines warn about it)."""
    df = clustered_survey(rng, **kw)
    outcome = kw["outcome"]
    df[outcome] = df[outcome].cat.add_categories(["Afgørende"])
    return df


#: Filled by the chunking test (see test_runner.py).
CHUNK_SIZES: list[int] = []


def kills_its_worker(rng: np.random.Generator, victim: int = 3) -> dict:
    """Replicate ``victim`` (recognised by its first draw) kills the process running it."""
    import os
    import signal

    x = float(rng.normal())
    if (
        abs(
            x
            - float(np.random.default_rng(np.random.SeedSequence(5, spawn_key=(victim,))).normal())
        )
        < 1e-15
    ):
        os.kill(os.getpid(), signal.SIGKILL)
    return {"x": x}


def other_study(rng: np.random.Generator, n: int = 20) -> list[dict]:
    """Same signature and rows as normal_summary, other code."""
    x = rng.normal(size=n) + 1
    return [{"stat": "mean", "value": float(x.mean())}, {"stat": "sd", "value": float(x.std())}]
