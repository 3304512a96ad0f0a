"""ArviZ output of the shared fits: NUTS statistics (energy, so BFMI works), pointwise
log-likelihood, the summary's integer counts and random-effect diagnostics."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from civmodels.bayes import _backend

pytestmark = pytest.mark.bayes

STATS = {
    "lp",
    "energy",
    "energy_error",
    "diverging",
    "tree_depth",
    "step_size",
    "n_steps",
    "acceptance_rate",
}


def check_idata(res) -> None:
    az = _backend.import_arviz()
    idata = res.idata
    assert STATS <= set(idata.sample_stats.data_vars)
    assert idata.sample_stats["diverging"].dtype == bool
    chains, draws = res._shape
    assert idata.sample_stats["energy"].shape == (chains, draws)
    bfmi = az.bfmi(idata)
    assert bfmi.shape == (chains,) and np.all(np.isfinite(bfmi)) and np.all(bfmi > 0)
    # BFMI from our stored energy equals the definition
    e = idata.sample_stats["energy"].values
    ref = (np.diff(e, axis=1) ** 2).mean(axis=1) / e.var(axis=1, ddof=1)
    np.testing.assert_allclose(bfmi, ref, rtol=1e-10)
    ll = idata.log_likelihood["y"]
    assert ll.shape[:2] == (chains, draws) and np.isfinite(ll.values).all()
    acc = idata.sample_stats["acceptance_rate"].values
    assert np.all((acc >= 0) & (acc <= 1))


@pytest.mark.parametrize("fit", ["ordinal_fit", "logistic_fit"])
def test_sample_stats_and_loglik(fit, request):
    res, _ = request.getfixturevalue(fit)
    check_idata(res)


def test_plot_energy_runs(ordinal_fit):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    az = _backend.import_arviz()
    res, _ = ordinal_fit
    ax = az.plot_energy(res.idata)
    assert ax is not None
    plt.close("all")


def test_summary_counts_and_random_effect_diagnostics(ordinal_fit):
    res, _ = ordinal_fit
    s = res.summary()
    re = s.blocks["Random effects"]
    assert re["n_levels"].dtype == np.int64
    assert int(re.loc["sd(municipality)", "n_levels"]) == res.model.groups[0].n_levels
    for col in ("r_hat", "ess_bulk", "ess_tail", "max r_hat (effects)", "min ess_bulk (effects)"):
        assert np.isfinite(re[col]).all(), col
    effects = res.random_effects("municipality")
    assert {"r_hat", "ess_bulk", "ess_tail"} <= set(effects.columns)
    assert effects["r_hat"].max() == pytest.approx(
        re.loc["sd(municipality)", "max r_hat (effects)"]
    )
    text = str(s)
    assert f"{res.model.groups[0].n_levels}.0000" not in text


def test_no_backend_warnings_on_fit(sim444, caplog):
    """A single-chain fit on the PyTensor path emits no warning or log record from PyMC,
    PyTensor or ArviZ (only civmodels' own SamplingWarning may appear)."""
    import logging

    from civmodels import bayes
    from civmodels.exceptions import SamplingWarning

    m = bayes.Logistic("yes ~ x1", sim444, link="cauchit")  # not on the fast path
    caplog.set_level(logging.WARNING)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = m.fit(draws=60, tune=60, chains=1, random_seed=1)
        res.summary()
    backend = [w for w in caught if not issubclass(w.category, SamplingWarning)]
    assert not backend, [str(w.message)[:120] for w in backend]
    assert not caplog.records, [r.getMessage()[:120] for r in caplog.records]


def _ar1(rng, shape, phi):
    """AR(1) chains (chain, draw): autocorrelated like MCMC output."""
    x = np.empty(shape)
    x[:, 0] = rng.normal(size=shape[0])
    for t in range(1, shape[1]):
        x[:, t] = phi * x[:, t - 1] + np.sqrt(1 - phi**2) * rng.normal(size=shape[0])
    return x


@pytest.mark.parametrize("shape", [(4, 1000), (2, 301), (1, 200)], ids=str)
def test_rhat_ess_equal_arviz(shape):
    """Our all-columns-at-once R-hat and bulk/tail ESS equal ArviZ's, column by column:
    autocorrelated, heavy-tailed, shifted-chain, discrete (ties), constant and NaN columns."""
    az = _backend.import_arviz()
    rng = np.random.default_rng(7)
    cols = [
        _ar1(rng, shape, 0.2),
        _ar1(rng, shape, 0.9),
        np.exp(2 * _ar1(rng, shape, 0.5)),
        _ar1(rng, shape, 0.5) + np.arange(shape[0])[:, None],  # chains disagree
        np.round(_ar1(rng, shape, 0.6)),  # ties
        rng.integers(0, 2, shape).astype(float),
        np.full(shape, 3.0),
    ]
    with_nan = _ar1(rng, shape, 0.3)
    with_nan[0, 5] = np.nan
    cols.append(with_nan)
    arr = np.stack(cols, axis=-1)
    rhat, bulk, tail = _backend.rhat_ess(arr)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = [
            (
                float(az.rhat(arr[..., j])),
                float(az.ess(arr[..., j], method="bulk")),
                float(az.ess(arr[..., j], method="tail")),
            )
            for j in range(arr.shape[-1])
        ]
    np.testing.assert_allclose(rhat, [r[0] for r in ref], rtol=1e-10, equal_nan=True)
    np.testing.assert_allclose(bulk, [r[1] for r in ref], rtol=1e-10, equal_nan=True)
    np.testing.assert_allclose(tail, [r[2] for r in ref], rtol=1e-10, equal_nan=True)
