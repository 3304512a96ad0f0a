"""Statistical properties of the post-fit tools, by simulation (slow)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import special, stats

import civmodels as cm


def _binary_data(rng: np.random.Generator, n: int, n_groups: int, sd: float) -> pd.DataFrame:
    g = rng.integers(0, n_groups, n)
    x = rng.normal(size=n)
    area = rng.choice(["a", "b", "c"], n)
    eta = -1.2 + 0.5 * x + np.where(area == "b", 0.6, 0.0) + rng.normal(0, sd, n_groups)[g]
    y = (rng.uniform(size=n) < special.expit(eta)).astype(int)
    return pd.DataFrame({"y": y, "x": x, "area": area, "g": g})


@pytest.mark.slow
def test_counterfactual_prediction_intervals_cover():
    # truth: the counterfactual average P(Y = 1 | area = c) over the population of x; with
    # n = 250 per sample the x-distribution is the sample's, so the target is the average
    # over that sample's x (the estimand the delta method conditions on)
    rng = np.random.default_rng(20261130)
    reps, hits, hits_diff = 300, 0, 0
    for _ in range(reps):
        d = _binary_data(rng, 250, 1, 0.0)
        res = cm.Logistic("y ~ x + area", d).fit()
        truth = special.expit(-1.2 + 0.5 * d["x"]).mean()
        truth_b = special.expit(-1.2 + 0.5 * d["x"] + 0.6).mean()
        row = res.predictions(by="area").set_index("area").loc["a"]
        hits += row["ci_lower"] <= truth <= row["ci_upper"]
        c = res.comparisons({"area": ("a", "b")}).iloc[0]
        hits_diff += c["ci_lower"] <= truth_b - truth <= c["ci_upper"]
    # 95% nominal; binomial SE of the coverage from 300 replications is 1.3 points
    for h in (hits, hits_diff):
        assert 0.91 <= h / reps <= 0.985, h / reps


@pytest.mark.slow
def test_boundary_mixture_is_calibrated_under_the_null():
    # no municipality variation (sd = 0): the mixture p-values should reject at their level,
    # where the naive chi2(1) ones reject about half as often
    rng = np.random.default_rng(7)
    p_mix, p_naive = [], []
    for _ in range(200):
        d = _binary_data(rng, 300, 40, 0.0)
        fixed = cm.Logistic("y ~ x + area", d).fit()
        with warnings.catch_warnings():
            # about half the null fits put the SD on the boundary, which is the point here
            warnings.filterwarnings("ignore", "boundary \\(singular\\) fit", UserWarning)
            mixed = cm.Logistic("y ~ x + area + (1 | g)", d).fit()
        tab = cm.compare(fixed, mixed)
        p_mix.append(tab["p_value"].iloc[1])
        p_naive.append(stats.chi2.sf(max(tab["lr_stat"].iloc[1], 0.0), 1))
    p_mix_a, p_naive_a = np.array(p_mix), np.array(p_naive)
    # half the replications put the SD on the boundary (LR = 0, p = 1 under the mixture)
    assert 0.3 <= np.mean(p_mix_a >= 0.999) <= 0.75
    rate = np.mean(p_mix_a < 0.10)
    # expected 0.10; binomial SE from 200 replications is 0.021
    assert 0.05 <= rate <= 0.16, rate
    assert np.mean(p_naive_a < 0.10) < rate
