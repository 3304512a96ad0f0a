"""The numerics behind every verdict: one contrast, TOST equivalence, MDE, Bayesian rules."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from civmodels.exceptions import SpecificationError
from civmodels.replication._contrasts import (
    Contrast,
    check_margins,
    equivalence,
    mde,
    omnibus_mde,
    pairwise,
    posterior_interval,
    rope,
    two_sided,
)


@pytest.mark.parametrize("df", [math.inf, 12.0])
def test_interval_excludes_zero_exactly_when_p_below_alpha(df):
    rng = np.random.default_rng(5)
    for est, se in zip(rng.normal(0, 1, 400), rng.uniform(0.2, 1.0, 400), strict=True):
        out = two_sided(Contrast(float(est), float(se), df), 0.05)
        excludes = out["ci_lower"] > 0 or out["ci_upper"] < 0
        assert excludes == (out["p_value"] < 0.05)


def test_t_contrast_matches_scipy_t_test():
    c = Contrast(0.3, 0.12, 20.0)
    out = two_sided(c, 0.05)
    assert out["p_value"] == pytest.approx(2 * stats.t.sf(2.5, 20), rel=1e-12)
    assert out["ci_upper"] - out["ci_lower"] == pytest.approx(
        2 * stats.t.ppf(0.975, 20) * 0.12, rel=1e-12
    )


def test_mde_gives_80_percent_power():
    c = Contrast(0.0, 0.05)
    d = mde(c)
    power = stats.norm.sf(stats.norm.ppf(0.975) - d / c.se) + stats.norm.cdf(
        -stats.norm.ppf(0.975) - d / c.se
    )
    assert power == pytest.approx(0.80, abs=1e-3)  # the far tail adds < 1e-6


def test_omnibus_mde_matches_statsmodels_chisquare_power():
    from statsmodels.stats.power import GofChisquarePower

    for n, df in ((200, 3), (440, 7), (90, 1)):
        ref = GofChisquarePower().solve_power(
            effect_size=None, nobs=n, alpha=0.05, power=0.8, n_bins=df + 1
        )
        assert omnibus_mde(n, df) == pytest.approx(ref, rel=1e-5)


def test_tost_matches_two_one_sided_z_tests():
    c = Contrast(0.04, 0.03)
    eq = equivalence([c], 0.10)
    p_low = stats.norm.sf((0.04 + 0.10) / 0.03)
    p_up = stats.norm.sf((0.10 - 0.04) / 0.03)
    assert eq["p_value"] == pytest.approx(max(p_low, p_up), rel=1e-12)
    # interval-inclusion form: equivalent at alpha iff the 1 - 2 alpha interval is inside
    assert (eq["p_value"] < 0.05) == (-0.10 < eq["ci_lower"] and eq["ci_upper"] < 0.10)


def test_intersection_union_binds_on_the_least_equivalent_pair():
    est = np.array([0.50, 0.52, 0.61])
    v = np.diag([0.02, 0.02, 0.02]) ** 2
    pairs = pairwise(est, v, ["a", "b", "c"], math.inf)
    assert [p.label for p in pairs] == ["a vs b", "a vs c", "b vs c"]
    eq = equivalence(pairs, 0.10)
    assert eq["label"] == "a vs c"
    assert eq["n_pairs"] == 3
    single = equivalence([pairs[1]], 0.10)
    assert eq["p_value"] == pytest.approx(single["p_value"])


@pytest.mark.parametrize(
    "bad",
    [
        {"difference": 0},
        {"difference": -0.1},
        {"difference": float("nan")},
        {"odds_ratio": float("inf")},
        {"odds_ratio": 0.0},
        {"odds_ratio": 1.0},
        {"difference": 1.5},
        {"difference": "ten"},
        {"ratio": 1.5},
    ],
)
def test_bad_margins_are_refused_with_the_fix(bad):
    with pytest.raises(SpecificationError, match="margin"):
        check_margins(bad)


def test_margins_default_and_override():
    assert check_margins(None) == {"difference": 0.10, "odds_ratio": 1.5}
    assert check_margins({"difference": 0.05}) == {"difference": 0.05, "odds_ratio": 1.5}


def test_posterior_interval_agrees_with_tail_probability():
    rng = np.random.default_rng(1)
    for shift in np.linspace(-0.2, 0.2, 81):
        d = rng.normal(shift, 0.08, 1000)
        lo, hi, p = posterior_interval(d, 0.05)
        assert (lo > 0 or hi < 0) == (p < 0.05)


def test_rope_uses_the_same_margin_rule():
    rng = np.random.default_rng(2)
    assert rope(rng.normal(0.0, 0.02, 4000), 0.10)["verdict"] == "equivalent"
    assert rope(rng.normal(0.3, 0.05, 4000), 0.10)["verdict"] == "difference found"
    assert rope(rng.normal(0.0, 0.20, 4000), 0.10)["verdict"] == "inconclusive"
