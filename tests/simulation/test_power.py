"""Power by simulation against the analytic power of the two-proportion test."""

from __future__ import annotations

import functools
import math

import matplotlib
import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import proportion_effectsize

from civmodels.simulation import pearson_chi2, power, power_curve, synthetic_frame
from tests.simulation._studies import clustered_survey, survey_with_empty_category, two_groups

matplotlib.use("Agg")


def analytic_power(p0: float, p1: float, n: int, alpha: float = 0.05) -> float:
    """Normal-approximation power of the two-sided pooled two-proportion z-test, which is
    Pearson's chi-square on the 2x2 table without continuity correction."""
    z = stats.norm.ppf(1 - alpha / 2)
    pbar = (p0 + p1) / 2
    s0 = math.sqrt(2 * pbar * (1 - pbar) / n)
    s1 = math.sqrt(p0 * (1 - p0) / n + p1 * (1 - p1) / n)
    d = abs(p1 - p0)
    return float(stats.norm.cdf((d - z * s0) / s1) + stats.norm.cdf((-d - z * s0) / s1))


def p1_of(p0: float, odds_ratio: float) -> float:
    odds = p0 / (1 - p0) * odds_ratio
    return odds / (1 + odds)


def test_chi2_power_matches_two_proportion_formula():
    n_sims, effect, p0 = 2000, 1.8, 0.3
    res = power(
        effect,
        "y",
        "g",
        methods=("chi2",),
        simulate=two_groups,
        n_sims=n_sims,
        response_rate=0.5,
        random_seed=20261127,
        n_jobs=1,
        progress=False,
    )
    row = res.table.set_index("method").loc["chi2"]
    n = 150
    p1 = p1_of(p0, effect)
    expected = analytic_power(p0, p1, n)
    # statsmodels' arcsine (Cohen's h) approximation as a second, independent reference
    h = proportion_effectsize(p1, p0)
    expected_sm = NormalIndPower().power(h, nobs1=n, alpha=0.05, ratio=1.0)
    assert abs(expected - expected_sm) < 0.01  # the two approximations agree here
    mc_se = math.sqrt(expected * (1 - expected) / n_sims)
    # Monte Carlo error (3.5 SE, two-sided p ~ 5e-4) plus 0.01 for the normal approximation
    # itself at n = 150 per group.
    assert abs(row["power"] - expected) < 3.5 * mc_se + 0.01, (row["power"], expected)
    assert abs(row["mc_se"] - mc_se) < 0.002
    assert row["ci_low"] < row["power"] < row["ci_high"]
    assert row["n_sims"] == n_sims and row["n_failed"] == 0 and row["mean_n"] == 2 * n
    # the group with the higher odds answers higher: the recorded direction is positive
    assert row["mean_estimate"] == pytest.approx(p1 - p0, abs=0.01)


def test_chi2_size_is_alpha_under_no_effect():
    n_sims = 2000
    res = power(
        1.0,
        "y",
        "g",
        methods="chi2",
        simulate=two_groups,
        n_sims=n_sims,
        response_rate=0.5,
        random_seed=7,
        n_jobs=1,
        progress=False,
    )
    rate = res.table["power"].item()
    assert abs(rate - 0.05) < 3.5 * math.sqrt(0.05 * 0.95 / n_sims)
    # and at another level (p-values of a discrete statistic, so compare rates, not a KS test)
    rate20 = (res.replicates["p_value"] < 0.2).mean()
    assert abs(rate20 - 0.2) < 3.5 * math.sqrt(0.2 * 0.8 / n_sims)


@pytest.mark.parametrize("shape", [(2, 2), (2, 4), (3, 5)])
def test_pearson_chi2_matches_scipy(shape):
    rng = np.random.default_rng(sum(shape))
    table = rng.integers(0, 30, size=shape)
    table[0, 0] = 0
    ref = stats.chi2_contingency(table, correction=False)
    stat, df, p = pearson_chi2(table)
    assert stat == pytest.approx(ref.statistic, rel=1e-12)
    assert df == ref.dof
    assert p == pytest.approx(ref.pvalue, rel=1e-10)


def test_pearson_chi2_drops_empty_rows_and_columns():
    table = np.array([[10, 0, 5], [0, 0, 0], [7, 0, 9]])
    ref = stats.chi2_contingency(table[[0, 2]][:, [0, 2]], correction=False)
    assert pearson_chi2(table)[2] == pytest.approx(ref.pvalue, rel=1e-12)
    with pytest.raises(ValueError, match="fewer than two"):
        pearson_chi2(np.array([[3, 4], [0, 0]]))


def test_power_curve_over_response_rate_and_plot():
    curve = power_curve(
        "response_rate",
        [0.3, 0.6, 0.9],
        effect=1.8,
        outcome="y",
        by="g",
        methods=("chi2",),
        simulate=two_groups,
        n_sims=800,
        random_seed=3,
        n_jobs=1,
        progress=False,
    )
    t = curve.table
    assert list(t["response_rate"]) == [0.3, 0.6, 0.9]
    expected = [analytic_power(0.3, p1_of(0.3, 1.8), round(300 * r)) for r in (0.3, 0.6, 0.9)]
    se = np.sqrt(np.array(expected) * (1 - np.array(expected)) / 500)
    assert np.all(np.abs(t["power"].to_numpy() - expected) < 3.5 * se + 0.015)
    assert t["power"].is_monotonic_increasing
    fig = curve.plot()
    ax = fig.axes[0]
    assert ax.get_xlabel() == "response rate" and ax.get_ylabel() == "power"
    np.testing.assert_allclose(ax.lines[0].get_ydata(), t["power"])
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_common_random_numbers_across_effects():
    kw = dict(
        outcome="y",
        by="g",
        methods="chi2",
        simulate=two_groups,
        n_sims=50,
        random_seed=5,
        n_jobs=1,
        progress=False,
    )
    a = power(1.2, **kw).replicates
    b = power(1.2, **kw).replicates
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"effect": 0}, "effect must be an odds ratio > 0"),
        ({"effect": 1.5, "alpha": 1.5}, "alpha must be in"),
        ({"effect": 1.5, "response_rate": 0}, "response_rate must be in"),
        ({"effect": 1.5, "methods": ("t-test",)}, "unknown power method 't-test'"),
        ({"effect": 1.5, "methods": ()}, "at least one"),
        ({"effect": 1.5, "n_sims": 0}, "n_sims must be a positive integer"),
    ],
)
def test_power_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        power(**kwargs, outcome="y", by="g", simulate=two_groups, progress=False)


def test_power_curve_bad_input():
    with pytest.raises(ValueError, match="over must be one of"):
        power_curve("colour", [1], effect=1.5)
    with pytest.raises(ValueError, match="varied by power_curve"):
        power_curve("effect", [1.2], effect=1.5)


def test_synthetic_frame_resamples_municipalities():
    frame = pd.DataFrame(
        {"municipality_code": np.repeat([101, 147, 151, 153], [5, 3, 8, 2]), "x": range(18)}
    )
    big = synthetic_frame(frame, n_municipalities=10, positions=60, random_seed=1)
    assert big["municipality_code"].nunique() == 10 and len(big) == 60
    small = synthetic_frame(frame, n_municipalities=3, positions=6, random_seed=1)
    assert small["municipality_code"].nunique() == 3 and len(small) == 6
    assert set(small["municipality_code"]) <= {101, 147, 151, 153}
    with pytest.raises(ValueError, match="fewer than n_municipalities"):
        synthetic_frame(frame, n_municipalities=5, positions=3)


def _available(method: str) -> bool:
    from civmodels.simulation.power import _REQUIREMENTS, _need

    try:
        _need(*_REQUIREMENTS[method], method)
    except ImportError:
        return False
    return True


def test_cluster_aware_methods_hold_size_where_chi2_does_not():
    """Under no effect with a municipality-level grouping and a random intercept (ICC ~0.16),
    the naive chi-square over-rejects; Rao-Scott and cluster-robust ordinal keep ~5%."""
    n_sims = 200
    # 15 positions per municipality (9 responding) and a random-intercept SD of 1.2: a design
    # effect large enough to show the naive test's excess rejections at this n_sims
    sim = functools.partial(clustered_survey, re_sd=1.2, per_municipality=15)
    res = power(
        1.0,
        "y",
        "g",
        methods=("chi2", "rao-scott", "ordinal-cluster"),
        simulate=sim,
        response_rate=0.6,
        n_sims=n_sims,
        random_seed=11,
        n_jobs=1,
        progress=False,
    )
    t = res.table.set_index("method")
    assert (t["n_failed"] == 0).all()
    bound = 3.5 * math.sqrt(0.05 * 0.95 / n_sims)
    # cluster-robust Wald with 40 clusters is slightly liberal: allow one extra 0.02
    assert abs(t.loc["rao-scott", "power"] - 0.05) < bound
    assert abs(t.loc["ordinal-cluster", "power"] - 0.05) < bound + 0.02
    assert t.loc["chi2", "power"] > 0.05 + bound


def test_ordinal_cluster_recovers_marginal_log_odds_ratio():
    res = power(
        2.5,
        "y",
        "g",
        methods=("ordinal-cluster",),
        simulate=clustered_survey,
        response_rate=0.6,
        n_sims=60,
        random_seed=2,
        n_jobs=1,
        progress=False,
    )
    # a random intercept (sd 0.8) attenuates the marginal log odds ratio by about
    # sqrt(1 + 0.8^2 * 3 / pi^2) (Zeger, Liang & Albert 1988)
    target = math.log(2.5) / math.sqrt(1 + 0.64 * 3 / math.pi**2)
    est = res.replicates["estimate"]
    assert abs(est.mean() - target) < 3.5 * est.std() / math.sqrt(len(est)) + 0.03


@pytest.mark.parametrize(
    "method",
    [
        "rao-scott",
        "ordinal-cluster",
        "mixed",
        pytest.param("bayes", marks=[pytest.mark.slow, pytest.mark.bayes]),
    ],
)
def test_each_method_runs_or_names_what_is_missing(method):
    kw = dict(
        simulate=clustered_survey,
        response_rate=0.6,
        n_sims=2,
        random_seed=4,
        n_jobs=1,
        progress=False,
        bayes_options={"draws": 100, "tune": 100, "chains": 1},
    )
    if _available(method):
        res = power(2.0, "y", "g", methods=(method,), **kw)
        assert res.table["n_failed"].item() == 0, res.replicates["error"].tolist()
        assert res.replicates["p_value"].between(0, 1).all()
    else:
        with pytest.raises(ImportError, match=f"power method '{method}' needs civmodels"):
            power(2.0, "y", "g", methods=(method,), **kw)


def test_default_simulator_or_clear_error():
    try:
        import civmodels.data as data

        have = hasattr(data, "simulate_survey")
    except ImportError:
        have = False
    if not have:
        with pytest.raises(ImportError, match=r"civmodels\.data\.simulate_survey"):
            power(1.5, methods=("chi2",), n_sims=2, random_seed=1, progress=False)
    else:
        res = power(1.5, methods=("chi2",), n_sims=2, random_seed=1, n_jobs=1, progress=False)
        assert res.table["n_failed"].item() == 0


def test_method_warnings_are_recorded_not_raised():
    res = power(
        1.5,
        "y",
        "g",
        methods=("chi2", "ordinal-cluster"),
        simulate=survey_with_empty_category,
        response_rate=0.6,
        n_sims=3,
        random_seed=1,
        n_jobs=1,
        progress=False,
    )
    t = res.table.set_index("method")
    assert t.loc["ordinal-cluster", "n_warned"] == 3 and t.loc["chi2", "n_warned"] == 0
    msgs = res.replicates.loc[res.replicates.method == "ordinal-cluster", "warnings"]
    assert msgs.str.contains("Afgørende").all()
    assert t.loc["ordinal-cluster", "n_failed"] == 0


def test_resampled_frame_of_other_size():
    pytest.importorskip("civmodels.data")
    base = power(1.5, methods="chi2", n_sims=3, random_seed=1, n_jobs=1, progress=False)
    big = power(
        1.5,
        methods="chi2",
        n_sims=3,
        random_seed=1,
        n_jobs=1,
        progress=False,
        n_municipalities=150,
        positions=1600,
    )
    assert big.settings["frame"]["n_municipalities"] == 150
    # about 1600 / 838 times as many respondents with an answer
    ratio = big.table["mean_n"].item() / base.table["mean_n"].item()
    assert 1.6 < ratio < 2.2


def test_bayes_power_uses_the_replication_runners_two_sided_rule(monkeypatch):
    # P(direction) = 0.96: above the old one-sided 0.95 but below 1 - alpha/2 = 0.975
    import importlib

    power = importlib.import_module("civmodels.simulation.power")
    draws = np.concatenate([np.full(960, 0.3), np.full(40, -0.1)])

    class Fit:
        params = pd.Series({"g": 0.3})

    class Model:
        def __init__(self, *a, **k):
            pass

        def fit(self, **k):
            return Fit()

    monkeypatch.setattr(power, "_need", lambda *a: None)
    monkeypatch.setattr(power, "_model_class", lambda *a: Model)
    monkeypatch.setattr(power, "_coef_of", lambda params, by: "g")
    monkeypatch.setattr(power, "_posterior_draws", lambda res, name: draws)
    out = power._bayes(pd.DataFrame(), "y", "g", 0.05, np.random.default_rng(0))
    assert out["p_value"] == pytest.approx(0.08)
    assert not out["detected"]
    draws[:] = np.concatenate([np.full(980, 0.3), np.full(20, -0.1)])
    assert power._bayes(pd.DataFrame(), "y", "g", 0.05, np.random.default_rng(0))["detected"]
