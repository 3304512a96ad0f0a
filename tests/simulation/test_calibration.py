"""Coverage and simulation-based calibration studies."""

from __future__ import annotations

import math

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
from scipy import stats

from civmodels.simulation import CoverageModel, coverage_study, sbc
from tests.simulation._studies import fit_t, fit_z, normal_data

matplotlib.use("Agg")


def test_exact_t_interval_covers_at_nominal_rate():
    n_sims = 600
    model = CoverageModel("normal-t", normal_data, fit_t)
    res = coverage_study(model, n_sims, random_seed=1, n_jobs=1, progress=False)
    row = res.table.iloc[0]
    assert row["parameter"] == "mu" and row["n_sims"] == n_sims
    assert abs(row["coverage"] - 0.95) < 3.5 * math.sqrt(0.95 * 0.05 / n_sims)
    assert abs(row["bias"]) < 3.5 * 2 / math.sqrt(5 * n_sims)
    fig = res.plot()
    assert fig.axes[0].get_xlabel().startswith("coverage")
    plt.close(fig)
    assert "overall coverage" in res.summary().to_markdown()


def test_too_narrow_interval_is_detected():
    # z instead of t with n = 5: the true coverage is P(|T_4| < 1.96) ~ 0.878
    n_sims = 600
    model = CoverageModel("normal-z", normal_data, fit_z)
    res = coverage_study(model, n_sims, random_seed=1, n_jobs=1, progress=False)
    expected = 2 * stats.t.cdf(1.959964, 4) - 1
    assert abs(res.overall - expected) < 3.5 * math.sqrt(expected * (1 - expected) / n_sims)
    assert res.overall < 0.95 - 3.5 * math.sqrt(0.95 * 0.05 / n_sims)


def test_ordinal_engine_coverage_small():
    """A small version of the engines' coverage study (the 500-replicate one is slow)."""
    n_sims = 60
    res = coverage_study("ordinal", n_sims, n_obs=300, random_seed=3, n_jobs=1, progress=False)
    t = res.table.set_index("parameter")
    assert list(t.index) == ["1|2", "2|3", "3|4", "x1", "x2"]
    assert t.loc["x1", "truth"] == 0.5 and t.loc["2|3", "truth"] == 0.5
    # 5 parameters x 60 replicates; the pooled rate has SE ~ 0.0126 (ignoring correlation)
    assert abs(res.overall - 0.95) < 0.05
    assert (t["bias"].abs() < 0.15).all()
    assert (t["se_ratio"].between(0.7, 1.4)).all()


@pytest.mark.slow
@pytest.mark.parametrize(
    "model", ["ordinal", "ordinal-robust", "logistic", "ordinal-mixed", "logistic-mixed"]
)
def test_engine_coverage_500(model):
    n_sims = 500
    res = coverage_study(model, n_sims, random_seed=2026, n_jobs=2, progress=False)
    assert res.run.n_failed == 0
    # Issue 3 asks for 93-97% per parameter; with 500 replicates that band is only +-2.05
    # Monte Carlo SEs, so a correct interval would leave it for ~4% of parameters. Test at
    # 3.5 SEs (0.034) instead, and pooled over parameters at the 93-97% band.
    tol = 3.5 * (0.95 * 0.05 / n_sims) ** 0.5
    assert ((res.table["coverage"] - 0.95).abs() < tol).all(), res.table
    assert 0.93 <= res.overall <= 0.97


def test_coverage_bad_input():
    with pytest.raises(ValueError, match="unknown coverage model 'probit-x'"):
        coverage_study("probit-x", 2)
    with pytest.raises(ValueError, match="level must be in"):
        coverage_study("ordinal", 2, level=95)
    with pytest.raises(ValueError, match="n_sims must be a positive integer"):
        coverage_study("ordinal", 0)
    with pytest.raises(TypeError, match="CoverageModel"):
        coverage_study(42, 2)


def test_sbc_exact_posterior_gives_uniform_ranks():
    res = sbc("normal-mean", 400, n_draws=99, n_bins=10, random_seed=5, n_jobs=1, progress=False)
    row = res.table.iloc[0]
    assert row["parameter"] == "mu" and row["n_sims"] == 400
    assert res.ranks["rank"].between(0, 99).all()
    assert row["p_value"] > 0.001
    assert abs(row["central_90"] - 0.9) < 3.5 * math.sqrt(0.09 / 400)
    fig = res.plot()
    assert fig.axes[0].get_title() == "mu"
    plt.close(fig)


@pytest.mark.parametrize("width", [0.5, 2.0])
def test_sbc_detects_miscalibrated_posterior(width):
    res = sbc(
        "normal-mean",
        400,
        n_draws=99,
        n_bins=10,
        random_seed=5,
        n_jobs=1,
        progress=False,
        width=width,
    )
    assert res.table["p_value"].item() < 1e-6
    ranks = res.ranks["rank"].to_numpy()
    edge = np.mean((ranks < 10) | (ranks > 89))
    # too narrow: truths pile up in the tails (U shape); too wide: in the middle
    assert edge > 0.3 if width < 1 else edge < 0.1


def test_sbc_bad_input():
    with pytest.raises(ValueError, match="n_bins must be in"):
        sbc("normal-mean", 2, n_draws=9, n_bins=20)
    with pytest.raises(ValueError, match="unknown SBC model"):
        sbc("poisson", 2)


@pytest.mark.slow
@pytest.mark.bayes
def test_sbc_runs_the_bayes_ordinal_model():
    pytest.importorskip("civmodels.bayes")
    res = sbc(
        "bayes-ordinal",
        2,
        n_draws=19,
        n_bins=4,
        random_seed=1,
        n_jobs=1,
        progress=False,
        draws=100,
        tune=100,
    )
    assert list(res.table["parameter"]) == ["c1|c2", "c2|c3", "c3|c4", "x1", "x2[T.b]", "sd_g"]
    assert res.ranks["rank"].between(0, 19).all()
    # 100 draws from one short chain: the sampler's diagnostics warn, and the rows say so
    assert res.ranks["warnings"].notna().all()
