"""Replicate-weight designs (jackknife, Rao–Wu bootstrap) against R survey 4.1-1.

Fixtures: tests/reference/survey/make_replicate.R (``as.svrepdesign`` JK1, JKn and
``subbootstrap``; the bootstrap is compared on R's own exported replicate weights because
the random number generators differ). Means, totals and proportions are closed-form, so they
agree to rounding (rtol 1e-9); model fits agree to the optimisers' convergence (R's IRLS and
polr stop at ~1e-8 relative change), so coefficients and covariances use rtol 1e-6.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import civmodels as cm
from civmodels.crosstab import crosstab
from civmodels.design import ReplicateDesign, SurveyDesign
from civmodels.exceptions import DesignError

from .survey_reference import HERE, load


@pytest.fixture(scope="module")
def ref() -> dict:
    return json.loads((HERE / "replicate_reference.json").read_text())


@pytest.fixture(scope="module")
def clus1() -> pd.DataFrame:
    return load("api_clus1")


@pytest.fixture(scope="module")
def strat() -> pd.DataFrame:
    return load("api_strat")


@pytest.fixture(scope="module")
def sim() -> pd.DataFrame:
    s = load("sim_survey")
    s["social"] = (s["area"] == "social").astype(float)
    return s


def _check(est, r: dict, rtol: float = 1e-9) -> None:
    np.testing.assert_allclose(est.estimate.to_numpy(), r["estimate"], rtol=rtol)
    np.testing.assert_allclose(est.vcov.to_numpy(), np.atleast_2d(r["vcov"]), rtol=rtol)


def _check_info(rep: ReplicateDesign, info: dict) -> None:
    assert rep.n_replicates == info["n_replicates"]
    assert rep.degf == info["degf"]
    # R folds the scale of JK1 into `scale`, of JKn into `rscales`: compare their product
    np.testing.assert_allclose(
        np.sort(rep.scale * rep.rscales), np.sort(info["scale"] * np.asarray(info["rscales"]))
    )


def _check_chisq(test_f, test_1, r: dict, *, complete: bool = True) -> None:
    np.testing.assert_allclose(test_f.statistic, r["F"], rtol=1e-8)
    np.testing.assert_allclose([test_f.ndf, test_f.ddf], [r["ndf"], r["ddf"]], rtol=1e-8)
    np.testing.assert_allclose(test_f.p_value, r["p_F"], rtol=1e-7)
    if complete:  # R rescales the table to all rows, missing ones included (see crosstab)
        # R reports Pearson's X² under statistic="Chisq" (and the p-value of X²/mean(δ))
        np.testing.assert_allclose(test_1.pearson, r["X2"], rtol=1e-8)
    np.testing.assert_allclose(test_1.p_value, r["p_chisq"], rtol=1e-7)


# ----------------------------------------------------------------------------- JK1
def test_jk1_means_totals_proportions_match_r(clus1, ref):
    rep = SurveyDesign(clus1, weights="pw", cluster="dnum").replicate("jk1")
    _check_info(rep, ref["jk1_info"])
    _check(rep.mean(["api00", "enroll"]), ref["jk1_mean"])
    _check(rep.total("enroll"), ref["jk1_total"])
    _check(rep.mean("stype"), ref["jk1_prop_stype"])
    by = rep.mean("api00", by="stype")
    np.testing.assert_allclose(by.estimate.to_numpy(), ref["jk1_by_stype"]["estimate"])
    np.testing.assert_allclose(by.vcov.to_numpy(), ref["jk1_by_stype"]["vcov"], rtol=1e-9)
    _check(rep.subset("stype == 'E'").mean("api00"), ref["jk1_subset_E"])
    assert rep.subset("stype == 'E'").degf == rep.degf  # R keeps the design's df
    assert "JK1 jackknife (15 replicates)" in rep.mean("api00").summary().info["Weights"]


def test_jk1_with_fpc_scales_by_one_minus_f(clus1, ref):
    rep = SurveyDesign(clus1, weights="pw", cluster="dnum", fpc="fpc").replicate("jk1")
    _check_info(rep, ref["jk1f_info"])
    _check(rep.mean(["api00", "enroll"]), ref["jk1f_mean"])


def test_jk1_crosstab_matches_svychisq(clus1, ref):
    rep = SurveyDesign(clus1, weights="pw", cluster="dnum").replicate("jk1")
    tab = crosstab(rep, "sch.wide", "stype")
    _check_chisq(tab.test(), tab.test("rao-scott-1"), ref["jk1_chisq_schwide_stype"])
    assert tab.summary().info["Design df"] == 14


def test_jk1_logistic_fit_matches_svyglm(clus1, ref):
    rep = SurveyDesign(clus1, weights="pw", cluster="dnum").replicate("jk1")
    d = clus1.assign(y=(clus1["sch.wide"] == "Yes").astype(float))
    rep = SurveyDesign(d, weights="pw", cluster="dnum").replicate("jk1")
    res = cm.Logistic("y ~ api99 + C(stype)", d).fit(design=rep)
    r = ref["jk1_logit"]
    np.testing.assert_allclose(res.params.to_numpy(), r["estimate"], rtol=1e-6)
    np.testing.assert_allclose(res.vcov.to_numpy(), r["vcov"], rtol=1e-6)
    assert "JK1 jackknife" in res.cov_label and "df 14" in res.cov_label


def test_jk1_ordinal_fit_matches_svyolr(sim, ref):
    rep = SurveyDesign(sim, weights="w", cluster="municipality").replicate("jk1")
    _check_info(rep, ref["sim_jk1_info"])
    _check(rep.proportion("mot"), ref["sim_jk1_prop_mot"])
    res = cm.Ordinal("mot ~ pressure_high + social", sim.dropna(subset=["mot"])).fit(design=rep)
    r = ref["sim_jk1_olr"]
    order = [r["names"].index(n) for n in ["1|2", "2|3", "3|4", "pressure_high", "social"]]
    np.testing.assert_allclose(res.params.to_numpy(), np.asarray(r["estimate"])[order], rtol=1e-6)
    V = np.asarray(r["vcov"])[np.ix_(order, order)]
    # the reference repeats svyolr's replicate loop with a tight polr tolerance (see the R
    # script); svyolr itself leaves each replicate accurate to ~1e-4, hence 2e-3 against it
    np.testing.assert_allclose(res.vcov.to_numpy(), V, rtol=1e-5)
    V_svyolr = np.asarray(r["vcov_svyolr"])[np.ix_(order, order)]
    np.testing.assert_allclose(res.vcov.to_numpy(), V_svyolr, rtol=2e-3)
    assert res.df_resid == rep.degf == 97


def test_jk1_logistic_on_survey_data_and_crosstab(sim, ref):
    rep = SurveyDesign(sim, weights="w", cluster="municipality").replicate("jk1")
    tab = crosstab(rep, "area", "mot")
    _check_chisq(tab.test(), tab.test("rao-scott-1"), ref["sim_jk1_chisq_area_mot"], complete=False)
    d = sim.dropna(subset=["mot"]).assign(top=lambda x: x["mot"].isin([3, 4]).astype(float))
    res = cm.Logistic("top ~ pressure_high + social", d).fit(design=rep)
    r = ref["sim_jk1_logit"]
    np.testing.assert_allclose(res.params.to_numpy(), r["estimate"], rtol=1e-6)
    np.testing.assert_allclose(res.vcov.to_numpy(), r["vcov"], rtol=1e-6)


# ----------------------------------------------------------------------------- JKn
def test_jkn_matches_r(strat, ref):
    rep = SurveyDesign(strat, weights="pw", cluster="dnum", strata="stype").replicate("jkn")
    _check_info(rep, ref["jkn_info"])
    _check(rep.mean(["api00", "enroll"]), ref["jkn_mean"])
    _check(rep.mean("awards"), ref["jkn_prop_awards"])
    tab = crosstab(rep, "awards", "stype")
    _check_chisq(tab.test(), tab.test("rao-scott-1"), ref["jkn_chisq_awards_stype"])
    d = strat.assign(y=(strat["awards"] == "Yes").astype(float))
    rep_d = SurveyDesign(d, weights="pw", cluster="dnum", strata="stype").replicate("jkn")
    res = cm.Logistic("y ~ api99 + enroll", d).fit(design=rep_d)
    np.testing.assert_allclose(res.params.to_numpy(), ref["jkn_logit"]["estimate"], rtol=1e-6)
    np.testing.assert_allclose(res.vcov.to_numpy(), ref["jkn_logit"]["vcov"], rtol=1e-6)


def test_jkn_with_fpc(strat, ref):
    rep = SurveyDesign(strat, weights="pw", strata="stype", fpc="fpc").replicate("jkn")
    _check_info(rep, ref["jknf_info"])
    _check(rep.mean(["api00", "enroll"]), ref["jknf_mean"])


# ----------------------------------------------------------------------------- bootstrap
def test_bootstrap_on_r_replicate_weights_matches_r(strat, ref):
    rw = pd.read_csv(HERE / "subboot_weights_strat.csv")
    info = ref["boot_info"]
    rep = ReplicateDesign(strat, weights="pw", replicate_weights=rw.to_numpy(), scale=info["scale"])
    assert rep.degf == info["degf"]
    _check(rep.mean(["api00", "enroll"]), ref["boot_mean"], rtol=1e-8)
    tab = crosstab(rep, "awards", "stype")
    _check_chisq(tab.test(), tab.test("rao-scott-1"), ref["boot_chisq_awards_stype"])
    d = strat.assign(y=(strat["awards"] == "Yes").astype(float))
    rep_d = ReplicateDesign(d, weights="pw", replicate_weights=rw.to_numpy(), scale=info["scale"])
    res = cm.Logistic("y ~ api99 + enroll", d).fit(design=rep_d)
    np.testing.assert_allclose(res.params.to_numpy(), ref["boot_logit"]["estimate"], rtol=1e-6)
    np.testing.assert_allclose(res.vcov.to_numpy(), ref["boot_logit"]["vcov"], rtol=1e-6)


def test_rao_wu_bootstrap_weights_have_the_rescaling_structure(strat):
    d = SurveyDesign(strat, weights="pw", cluster="dnum", strata="stype")
    rep = d.replicate("bootstrap", replicates=30, random_seed=1)
    again = d.replicate("bootstrap", replicates=30, random_seed=1)
    np.testing.assert_array_equal(rep.replicate_weights, again.replicate_weights)
    assert rep.n_replicates == 30 and rep.scale == pytest.approx(1 / 29)
    factors = rep.replicate_weights.to_numpy() / strat["pw"].to_numpy()[:, None]
    for _, idx in strat.groupby("stype").groups.items():
        rows = strat.index.get_indexer(idx)
        psu = strat.loc[idx, "dnum"].to_numpy()
        n_h = len(np.unique(psu))
        f = pd.DataFrame(factors[rows]).groupby(psu).first().to_numpy()
        # n_h - 1 draws with replacement, each worth n_h / (n_h - 1): factors sum to n_h
        np.testing.assert_allclose(f.sum(axis=0), n_h)
        draws = f * (n_h - 1) / n_h
        np.testing.assert_allclose(draws, np.round(draws), atol=1e-9)


@pytest.mark.slow
def test_rao_wu_bootstrap_variance_is_close_to_linearisation(strat):
    """With many replicates the bootstrap variance of a mean converges to the
    with-replacement linearisation variance (its expectation); 2000 replicates give a
    Monte Carlo relative SE of about sqrt(2/2000) = 3%, so 10% is a 3-SE band."""
    d = SurveyDesign(strat, weights="pw", cluster="dnum", strata="stype")
    rep = d.replicate("bootstrap", replicates=2000, random_seed=7)
    v_lin = d.mean("api00").vcov.to_numpy()[0, 0]
    v_boot = rep.mean("api00").vcov.to_numpy()[0, 0]
    assert v_boot == pytest.approx(v_lin, rel=0.10)


# ----------------------------------------------------------------------------- reweighting
def test_reweight_redoes_raking_in_every_replicate(clus1):
    from civmodels.nonresponse import rake

    margins = {"stype": {"E": 4421, "H": 755, "M": 1018}}
    base = SurveyDesign(clus1, weights="pw", cluster="dnum").replicate("jk1")
    raked = base.reweight(lambda d, w: rake(d, margins, weights=w), label="raked to stype")
    # every replicate reproduces the margins exactly ...
    rw = raked.replicate_weights
    for r in rw.columns:
        np.testing.assert_allclose(
            rw[r].groupby(clus1["stype"]).sum().to_numpy(), [4421, 755, 1018]
        )
    assert "raked to stype in each replicate" in raked.weights_kind
    # ... so the total of a raking variable has no variance, unlike with fixed weights
    ind = clus1.assign(isE=(clus1["stype"] == "E").astype(float))
    raked_i = (
        SurveyDesign(ind, weights="pw", cluster="dnum")
        .replicate("jk1")
        .reweight(lambda d, w: rake(d, margins, weights=w))
    )
    fixed_i = SurveyDesign(ind, weights=raked_i.weights, cluster="dnum").replicate("jk1")
    assert raked_i.total("isE").std_error.iloc[0] == pytest.approx(0.0, abs=1e-6)
    assert fixed_i.total("isE").std_error.iloc[0] > 100


def test_reweight_redoes_calibration_in_every_replicate(clus1):
    from civmodels.nonresponse import calibrate

    totals = {"stype": {"E": 4421, "H": 755, "M": 1018}, "api99": 3914069}
    base = SurveyDesign(clus1, weights="pw", cluster="dnum").replicate("jk1")
    cal = base.reweight(lambda d, w: calibrate(d, totals, weights=w), label="GREG")
    # a calibration variable's total is hit in every replicate: no variance left
    assert cal.total("api99").std_error.iloc[0] == pytest.approx(0.0, abs=1e-3)
    assert base.total("api99").std_error.iloc[0] > 1e4
    # and a variable the calibration predicts (api00 ~ api99) gains precision
    assert cal.mean("api00").std_error.iloc[0] < 0.5 * base.mean("api00").std_error.iloc[0]


# ----------------------------------------------------------------------------- bad input
def test_jackknife_on_one_cluster_is_refused():
    df = pd.DataFrame({"y": [1.0, 2.0, 3.0], "c": [1, 1, 1]})
    with pytest.raises(DesignError, match=r"at least 2 clusters.*has 1"):
        SurveyDesign(df, cluster="c", lonely_psu="certainty").replicate("jk1")


def test_fewer_than_two_replicates_are_refused():
    df = pd.DataFrame({"y": [1.0, 2.0, 3.0, 4.0], "c": [1, 1, 2, 2]})
    with pytest.raises(DesignError, match="at least 2 replicates"):
        SurveyDesign(df, cluster="c").replicate("bootstrap", replicates=1, random_seed=1)
    with pytest.raises(DesignError, match=r"1 replicate.*at least 2"):
        ReplicateDesign(df, replicate_weights=np.ones((4, 1)), scale=1.0)


def test_bad_replicate_weights_and_method_choices_are_refused(strat):
    df = pd.DataFrame({"y": [1.0, 2.0, 3.0, 4.0], "c": [1, 1, 2, 2]})
    bad = np.ones((4, 3))
    bad[2, 1] = np.nan
    with pytest.raises(DesignError, match=r"row 2, replicate 2"):
        ReplicateDesign(df, replicate_weights=bad, scale=1.0)
    with pytest.raises(DesignError, match="negative"):
        ReplicateDesign(df, replicate_weights=-np.ones((4, 3)), scale=1.0)
    with pytest.raises(DesignError, match="random_seed"):
        SurveyDesign(df, cluster="c").replicate("bootstrap")
    d = SurveyDesign(strat, weights="pw", cluster="dnum", strata="stype")
    with pytest.raises(DesignError, match="use method='jkn'"):
        d.replicate("jk1")
    with pytest.raises(DesignError, match="use method='jk1'"):
        SurveyDesign(df, cluster="c").replicate("jkn")
    with pytest.raises(DesignError, match="choose 'jk1'"):
        d.replicate("brr")  # type: ignore[arg-type]


def test_models_that_cannot_refit_refuse_a_replicate_design():
    df = pd.DataFrame({"y": [1.0, 2.0, 3.0, 4.0], "c": [1, 1, 2, 2]})
    rep = SurveyDesign(df, cluster="c").replicate("jk1")
    with pytest.raises(DesignError, match="re-fits the model"):
        rep.vcov(np.ones((4, 1)), np.eye(1))


def test_design_based_fits_show_the_design_df_and_the_kind_of_weights(clus1):
    d = clus1.assign(y=(clus1["sch.wide"] == "Yes").astype(float))
    lin = SurveyDesign(d, weights="pw", cluster="dnum")
    res = cm.Logistic("y ~ api99", d).fit(design=lin)
    assert "Taylor linearisation; sampling weights; df 14" in res.cov_label
    rep = lin.replicate("bootstrap", replicates=20, random_seed=3)
    res_b = cm.Logistic("y ~ api99", d).fit(design=rep)
    assert "Rao–Wu bootstrap (20 replicates); df 14" in res_b.cov_label


def test_bootstrap_with_fpc_is_refused(clus1):
    with pytest.raises(DesignError, match="no finite population correction"):
        SurveyDesign(clus1, weights="pw", cluster="dnum", fpc="fpc").replicate(
            "bootstrap", random_seed=1
        )


def test_a_replicate_whose_refit_fails_is_named():
    from civmodels.design import replicate_fit_vcov

    df = pd.DataFrame({"y": [1.0, 2.0, 3.0, 4.0], "c": [1, 1, 2, 2]})
    rep = SurveyDesign(df, cluster="c").replicate("jk1")

    def refit(w):
        if w[0] == 0:
            raise ValueError("singular Hessian")
        return np.array([np.average(df["y"], weights=w)])

    with pytest.raises(DesignError, match=r"replicate 1 of 2 failed: singular Hessian"):
        replicate_fit_vcov(rep, refit, np.array([2.5]), df.index)
    # the hook itself: a weighted mean refitted per replicate equals the design's mean
    ok = replicate_fit_vcov(
        rep, lambda w: np.array([np.average(df["y"], weights=w)]), np.array([2.5]), df.index
    )[0]
    np.testing.assert_allclose(ok, rep.mean("y").vcov.to_numpy())
