"""regression_table and the Summary contract: results whose summaries break it are refused
(never shown as a partial or mislabelled column), and real Bayesian fits mix with
frequentist ones. The Bayesian fits are small seeded MCMC runs (marked bayes and slow)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import civmodels as cm
from civmodels.report import regression_table
from civmodels.results import Summary


def _block(est, index):
    est = np.asarray(est, float)
    return pd.DataFrame(
        {"estimate": est, "std_error": 0.1, "ci_lower": est - 0.2, "ci_upper": est + 0.2},
        index=index,
    )


class _Fake:
    def __init__(self, blocks, stats):
        self._blocks, self._stats = blocks, stats

    def summary(self, level=0.95):
        return Summary(title="fake", info={}, blocks=self._blocks, stats=self._stats)


STATS = {"estimator": "bayes", "nobs": 100, "se_type": "posterior SD", "outcome": "y"}


def test_summary_without_fit_facts_is_refused():
    fake = _Fake({"Thresholds": _block([-1, 1], ["A|B", "B|C"])}, {})
    with pytest.raises(TypeError, match=r"_Fake.summary\(\) has no fit facts"):
        regression_table(fake)


def test_estimate_blocks_outside_the_contract_are_refused_not_dropped():
    blocks = {
        "Thresholds": _block([-1, 1], ["A|B", "B|C"]),
        "Response model": _block([0.3], ["lambda"]),
    }
    with pytest.raises(TypeError, match=r"estimate blocks \['Response model'\]"):
        regression_table(_Fake(blocks, STATS))
    # a block in the old posterior column names (mean/sd) counts as an estimate block too
    old = _block([0.3], ["loading[a]"]).rename(columns={"estimate": "mean"})
    with pytest.raises(TypeError, match=r"estimate blocks \['Loadings'\]"):
        regression_table(_Fake({"Thresholds": _block([0], ["A|B"]), "Loadings": old}, STATS))
    # a block without estimates (counts per item) is not a parameter block: allowed
    items = pd.DataFrame({"answered": [90], "ved_ikke": [5]}, index=["a"])
    tab = regression_table(_Fake({"Thresholds": _block([0], ["A|B"]), "Items": items}, STATS))
    assert list(tab.index.get_level_values("term").unique()) == ["A|B", "N"]


def test_a_parameter_without_estimate_is_refused_not_left_empty():
    re = pd.concat([_block([0.6], ["sd(municipality)"]), _block([np.nan], ["sd(response)"])])
    blocks = {"Thresholds": _block([0], ["A|B"]), "Random effects": re}
    with pytest.raises(TypeError, match=r"row 'sd\(response\)' of block 'Random effects'"):
        regression_table(_Fake(blocks, STATS))


# --- real Bayesian fits ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def sim444():
    from tests.bayes.conftest import load_sim444

    return load_sim444()


def _quietly(fit):
    from civmodels.exceptions import SamplingWarning

    with warnings.catch_warnings():
        # 2 x 150 draws: too few for trustworthy R-hat/ESS, plenty for a table's layout
        warnings.simplefilter("ignore", SamplingWarning)
        return fit()


@pytest.mark.bayes
@pytest.mark.slow
def test_bayesian_and_maximum_likelihood_fits_share_a_table(sim444):
    from civmodels import bayes

    f = "y ~ x1 + pressure + (1 | municipality)"
    ml = cm.Ordinal(f, data=sim444).fit()
    post = _quietly(
        lambda: bayes.Ordinal(f, sim444).fit(draws=150, tune=150, chains=2, random_seed=5)
    )
    tab = regression_table(ml, post, names=["ML", "Bayes"])
    est = tab.xs("est", level="row")
    s = post.summary()
    for name in ("Thresholds", "Location", "Random effects"):
        for term, row in s.blocks[name].iterrows():
            cells = est[est.index.get_level_values("term") == term]["Bayes"]
            assert cells.tolist() == [f"{row['estimate']:.3f}"], (name, term)
    coef = est.loc[est.index.get_level_values("block") == "Coefficients"]
    assert coef["ML"].str.contains(r"\*").any()  # the ML column has stars ...
    assert not coef["Bayes"].str.contains(r"\*").any()  # ... the posterior column none
    note = regression_table(ml, post, names=["ML", "Bayes"], labels="da").attrs["note"]
    assert "Bayes: posterior-SD; 95%-kredibilitetsintervaller med lige store haler" in note
    assert "bayesianske modeller" in note


@pytest.mark.bayes
@pytest.mark.slow
def test_battery_and_joint_fits_are_shown_whole_or_refused(sim444):
    """Never a partial table: every estimate of the summary is in the table, or the result
    is refused (BatteryResult and JointResult summaries break the contract today)."""
    from civmodels import bayes
    from tests.bayes._sim import simulate_battery
    from tests.bayes.conftest import CATS

    items = ["mot_0", "mot_1", "mot_2"]
    df, _ = simulate_battery(n_resp=150, n_muni=20, n_items=3, random_seed=2)
    battery = _quietly(
        lambda: bayes.Battery(items, "~ x1 + (1 | municipality)", df).fit(
            draws=100, tune=100, chains=2, random_seed=3
        )
    )
    non = sim444.sample(n=200, replace=True, random_state=9).reset_index(drop=True)
    non["y"] = pd.Categorical([None] * len(non), categories=CATS, ordered=True)
    frame = pd.concat(
        [sim444.assign(responded=True), non.assign(responded=False)], ignore_index=True
    )
    joint = _quietly(
        lambda: bayes.JointResponse("y ~ x1 + (1 | municipality)", "~ pressure", frame).fit(
            draws=100, tune=100, chains=2, random_seed=4
        )
    )
    for res in (battery, joint):
        try:
            tab = regression_table(res)
        except TypeError as err:
            assert type(res).__name__ in str(err)
            continue
        terms = set(tab.index.get_level_values("term"))
        for name, block in res.summary().blocks.items():
            if {"estimate", "mean"} & set(block.columns):
                assert set(block.index) <= terms, name
        assert "Bayesian models" in tab.attrs["note"]
