"""Proportional-odds tests (against R ordinal::nominal_test and by simulation) and marginal
effects / average predictions (against direct computation and statsmodels)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import civmodels as cm

REF = Path(__file__).resolve().parents[1] / "reference" / "ordinal"


def test_nominal_test_matches_r(wine):
    ref = json.loads((REF / "clm_nominal_test.json").read_text())
    res = cm.Ordinal("rating ~ temp + contact", data=wine).fit()
    nt = res.nominal_test()
    # R flags the nominal-temp fit (singular Hessian, code 1) but its maximum is well defined
    np.testing.assert_allclose(nt.loc[["temp", "contact"], "loglik"], ref["logLik"], rtol=1e-6)
    np.testing.assert_allclose(nt.loc[["temp", "contact"], "lr_stat"], ref["LRT"], rtol=1e-4)
    np.testing.assert_allclose(nt.loc[["temp", "contact"], "p_value"], ref["p"], rtol=1e-4)
    assert (nt["df"] == [3, 3, 6]).all()


def _sim(rng, n, nonpo):
    x = rng.normal(size=n)
    g = rng.binomial(1, 0.5, size=n)
    lat = 0.8 * x + 0.5 * g + rng.logistic(size=n)
    cuts = np.array([-1.0, 0.3, 1.5])
    if nonpo:
        # g shifts the lowest threshold much more than the others: not parallel
        cuts_i = cuts[None, :] + np.outer(g, [1.5, 0.0, -1.0])
    else:
        cuts_i = np.broadcast_to(cuts, (n, 3))
    y = (lat[:, None] > cuts_i).sum(axis=1)
    return pd.DataFrame({"y": y, "x": x, "g": g})


def test_brant_and_nominal_detect_non_parallel_effect():
    rng = np.random.default_rng(11)
    df = _sim(rng, 1500, nonpo=True)
    res = cm.Ordinal("y ~ x + g", data=df).fit()
    br = res.brant_test()
    assert list(br.index) == ["Omnibus", "x", "g"]
    assert br.loc["g", "p_value"] < 1e-4
    assert br.loc["x", "p_value"] > 1e-3
    nt = res.nominal_test()
    assert nt.loc["g", "p_value"] < 1e-4
    assert (br["df"] == [4, 2, 2]).all()


def test_brant_null_calibration():
    # under proportional odds the Brant p-values are roughly uniform: of 40 replications
    # with level 0.1 we expect 4 rejections; more than 12 would be a gross miscalibration
    rng = np.random.default_rng(5)
    p = []
    for _ in range(40):
        df = _sim(rng, 300, nonpo=False)
        p.append(cm.Ordinal("y ~ x + g", data=df).fit().brant_test().loc["Omnibus", "p_value"])
    assert sum(np.array(p) < 0.1) <= 12
    assert sum(np.array(p) < 0.5) >= 8


def test_brant_rejects_other_links(wine):
    res = cm.Ordinal("rating ~ temp", data=wine, link="probit").fit()
    with pytest.raises(cm.SpecificationError, match="Brant"):
        res.brant_test()


def test_average_predictions_and_effects_by_hand(wine):
    res = cm.Ordinal("rating ~ temp + contact", data=wine).fit()
    ap = res.average_predictions(by="temp")
    manual = res.predict().groupby(wine["temp"]).mean()
    np.testing.assert_allclose(
        ap[ap["temp"] == "warm"]["estimate"], manual.loc["warm"].to_numpy(), rtol=1e-12
    )
    me = res.marginal_effects("temp")
    warm = res.predict(wine.assign(temp="warm")).mean()
    cold = res.predict(wine.assign(temp="cold")).mean()
    np.testing.assert_allclose(me["estimate"], (warm - cold).to_numpy(), rtol=1e-10)
    # effects on the category probabilities sum to zero, and so does their uncertainty
    assert abs(me["estimate"].sum()) < 1e-12
    assert (me["std_error"] > 0).all()


def test_marginal_effects_match_statsmodels_logit():
    sm = pytest.importorskip("statsmodels.api")
    df = pd.read_csv(REF / "survey_sim.csv")
    res = cm.Logistic("z ~ x1 + x2", data=df).fit()
    me = res.marginal_effects(["x1", "x2"])
    X = sm.add_constant(df[["x1", "x2"]])
    mfx = sm.Logit(df["z"], X).fit(disp=0).get_margeff(at="overall", method="dydx")
    np.testing.assert_allclose(me["estimate"], mfx.margeff, rtol=1e-5)
    np.testing.assert_allclose(me["std_error"], mfx.margeff_se, rtol=1e-4)


def test_logistic_cluster_matches_statsmodels():
    sm = pytest.importorskip("statsmodels.api")
    df = pd.read_csv(REF / "survey_sim.csv")
    res = cm.Logistic("z ~ x1 + x2", data=df).fit(cov_type="cluster", cluster="municipality")
    X = sm.add_constant(df[["x1", "x2"]])
    ref = sm.Logit(df["z"], X).fit(
        disp=0, cov_type="cluster", cov_kwds={"groups": df["municipality"]}
    )
    # statsmodels' default cluster correction is G/(G-1) (n-1)/(n-k), i.e. CR1
    np.testing.assert_allclose(res.std_errors, ref.bse, rtol=1e-6)
