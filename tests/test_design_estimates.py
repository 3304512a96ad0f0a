"""Design-based means, totals, proportions and domains against R survey 4.1-1.

Tolerances: estimates and variances are closed-form (no iteration), so they agree with R to
rounding error; rtol 1e-9 leaves room for summation order only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from civmodels.design import SurveyDesign
from civmodels.exceptions import DesignError
from tests.survey_reference import arr, load, reference

RTOL = 1e-9


@pytest.fixture(scope="module")
def clus1() -> SurveyDesign:
    return SurveyDesign(load("api_clus1"), weights="pw", cluster="dnum", fpc="fpc")


@pytest.fixture(scope="module")
def strat() -> SurveyDesign:
    return SurveyDesign(load("api_strat"), weights="pw", strata="stype", fpc="fpc")


def check(est, ref: dict, *, deff: bool = True) -> None:
    np.testing.assert_allclose(est.estimate.to_numpy(), arr(ref["estimate"]), rtol=RTOL)
    np.testing.assert_allclose(
        est.vcov.to_numpy(), np.asarray(ref["vcov"], float), rtol=RTOL, atol=1e-14
    )
    np.testing.assert_allclose(est.std_error.to_numpy(), arr(ref["se"]), rtol=RTOL)
    if deff:
        np.testing.assert_allclose(est.deff.to_numpy(), arr(ref["deff"]), rtol=RTOL)


def test_cluster_fpc_means(clus1):
    check(clus1.mean(["api00", "enroll"]), reference()["clus1_mean"])


def test_cluster_total(clus1):
    check(clus1.total("enroll"), reference()["clus1_total"])


def test_cluster_categorical_proportions(clus1):
    est = clus1.mean("stype")
    check(est, reference()["clus1_prop_stype"])
    assert list(est.estimate.index) == ["stype[E]", "stype[H]", "stype[M]"]
    prop = clus1.proportion("stype")
    assert list(prop.estimate.index) == ["E", "H", "M"]
    np.testing.assert_allclose(prop.estimate.sum(), 1.0)


def test_without_fpc():
    d = SurveyDesign(load("api_clus1"), weights="pw", cluster="dnum")
    check(d.mean("api00"), reference()["clus1_nofpc_mean"], deff=False)


def test_missing_values_are_a_domain_and_counted(clus1):
    est = clus1.mean("acs.k3")
    check(est, reference()["clus1_mean_acs_narm"], deff=False)
    assert est.n_dropped == int(clus1.data["acs.k3"].isna().sum()) > 0
    with pytest.raises(DesignError, match="na_rm=True"):
        clus1.mean("acs.k3", na_rm=False)


def test_by_domains_full_covariance(clus1):
    ref = reference()["clus1_by_stype"]
    est = clus1.mean("api00", by="stype")
    np.testing.assert_allclose(est.estimate.to_numpy(), arr(ref["estimate"]), rtol=RTOL)
    np.testing.assert_allclose(est.vcov.to_numpy(), np.asarray(ref["vcov"]), rtol=RTOL)
    assert list(est.estimate.index.get_level_values("stype")) == ref["levels"]


def test_subset_equals_by(clus1):
    sub = clus1.subset("stype == 'E'")
    est = sub.mean("api00")
    check(est, reference()["clus1_subset_E"], deff=False)
    mask = sub2 = clus1.subset(clus1.data["stype"].eq("E"))
    assert mask.n_obs == sub.n_obs
    np.testing.assert_allclose(sub2.mean("api00").std_error, est.std_error)


def test_stratified(strat):
    ref = reference()
    check(strat.mean(["api00", "enroll"]), ref["strat_mean"])
    check(strat.total("enroll"), ref["strat_total"], deff=False)
    check(strat.mean("awards"), ref["strat_prop_awards"], deff=False)


def test_stratified_clustered_degf():
    d = SurveyDesign(load("api_strat"), weights="pw", strata="stype", cluster="dnum")
    check(d.mean("api00"), reference()["stratclus_mean"], deff=False)
    assert d.degf == reference()["stratclus_degf"]


def test_survey_shaped_set_by_pressure():
    ref = reference()
    d = SurveyDesign(load("sim_survey"), weights="w", cluster="municipality")
    prop = d.proportion("mot")
    check(prop, ref["sim_prop_mot"])
    by = d.proportion("mot", by="pressure_high")
    se = np.asarray(ref["sim_by_pressure"]["se"])  # pressure x level
    np.testing.assert_allclose(by.std_error.to_numpy().reshape(2, 4), se, rtol=RTOL)
    est = np.asarray(ref["sim_by_pressure"]["estimate"]).reshape(4, 2).T
    np.testing.assert_allclose(by.estimate.to_numpy().reshape(2, 4), est, rtol=RTOL)
    # the difference between domains gets its covariance from the joint vcov
    frame = by.to_frame()
    assert {"estimate", "std_error", "ci_lower", "ci_upper", "deff", "n"} <= set(frame)
    assert by.summary().to_frame().shape[0] == 8


def test_census_of_clusters_has_zero_variance():
    """fpc equal to the number of PSUs sampled: a one-stage design has no variance (as R)."""
    d = SurveyDesign(
        load("sim_survey"), weights="w", cluster="municipality", fpc="n_municipalities"
    )
    ref = reference()["sim_census_prop_mot"]
    est = d.proportion("mot")
    np.testing.assert_allclose(est.estimate.to_numpy(), arr(ref["estimate"]), rtol=RTOL)
    np.testing.assert_allclose(est.std_error.to_numpy(), 0.0, atol=1e-12)


def test_simulated_coverage_of_design_based_mean():
    """95% intervals of a cluster-sample mean cover the population mean about 95% of the time."""
    rng = np.random.default_rng(11)
    n_cl = 200
    u = rng.normal(size=n_cl)
    sizes = rng.integers(5, 15, size=n_cl)
    pop = pd.DataFrame({"cl": np.repeat(np.arange(n_cl), sizes), "y": np.repeat(u, sizes)})
    pop["y"] += rng.normal(size=len(pop))
    truth = pop["y"].mean()
    hits = 0
    reps = 200
    for _ in range(reps):
        take = rng.choice(n_cl, size=30, replace=False)
        s = pop[pop["cl"].isin(take)].reset_index(drop=True)
        s["w"] = n_cl / 30
        ci = SurveyDesign(s, weights="w", cluster="cl").mean("y").conf_int().iloc[0]
        hits += ci["ci_lower"] <= truth <= ci["ci_upper"]
    # binomial sd of the coverage at 200 reps is 0.015; ratio estimator in 30 clusters
    assert 0.90 <= hits / reps <= 0.99


def test_bad_inputs(clus1):
    with pytest.raises(DesignError, match="did you mean 'api00'"):
        clus1.mean("api0")
    with pytest.raises(DesignError, match="selects no rows"):
        clus1.subset("stype == 'Z'")
    with pytest.raises(DesignError, match="non-unique index"):
        SurveyDesign(pd.DataFrame({"y": [1, 2]}, index=[0, 0]))
    with pytest.raises(DesignError, match="boolean mask"):
        clus1.subset(np.ones(3, bool))


@pytest.fixture(scope="module")
def twostage() -> SurveyDesign:
    return SurveyDesign(
        load("sim_survey"),
        weights="w",
        cluster=["municipality", "position"],
        fpc=["n_municipalities", "n_positions"],
    )


def test_two_stage_census_of_psus(twostage):
    ref = reference()
    check(twostage.proportion("mot"), ref["twostage_prop_mot"], deff=False)
    check(twostage.mean("pressure_high"), ref["twostage_mean_pressure"], deff=False)


def test_two_stage_with_sampled_psus():
    d = SurveyDesign(
        load("sim_survey").assign(n150=150),
        weights="w",
        cluster=["municipality", "position"],
        fpc=["n150", "n_positions"],
    )
    check(d.mean("pressure_high"), reference()["twostage150_mean_pressure"], deff=False)


def test_two_stage_errors():
    sim = load("sim_survey")
    with pytest.raises(DesignError, match="stage-one fpc"):
        SurveyDesign(sim, cluster=["municipality", "position"], fpc=[None, "n_positions"])
    with pytest.raises(DesignError, match="cluster names one"):
        SurveyDesign(sim, cluster="municipality", fpc=["n_municipalities", "n_positions"])
    one = sim.groupby("municipality").head(1).reset_index(drop=True)
    with pytest.raises(DesignError, match="single second-stage unit"):
        SurveyDesign(
            one, cluster=["municipality", "position"], fpc=["n_municipalities", "n_positions"]
        )
    ok = SurveyDesign(
        one,
        cluster=["municipality", "position"],
        fpc=["n_municipalities", "n_positions"],
        lonely_psu="certainty",
    )
    np.testing.assert_allclose(ok.mean("pressure_high").std_error, 0.0, atol=1e-15)


@pytest.mark.parametrize(
    ("col", "key"), [("yr.rnd", "ciprop_clus1_yrrnd"), ("awards", "ciprop_clus1_awards")]
)
def test_logit_interval_matches_svyciprop(clus1, col, key):
    """R fits a quasibinomial svyglm, converged to ~1e-8, so rtol 1e-6."""
    ref = reference()[key]
    est = clus1.proportion(col)
    np.testing.assert_allclose(est.estimate["Yes"], ref["estimate"], rtol=1e-6)
    ci = est.conf_int(method="logit").loc["Yes"]
    np.testing.assert_allclose(ci.to_numpy(), ref["ci"], rtol=1e-6)
    wald = est.conf_int().loc["Yes"]
    assert ci["ci_lower"] > 0 and (col != "yr.rnd" or wald["ci_lower"] < ci["ci_lower"])
    with pytest.raises(DesignError, match="for proportions"):
        clus1.total("enroll").conf_int(method="logit")


def test_difference_between_domains(clus1):
    ref = reference()["clus1_by_stype"]
    est = clus1.mean("api00", by="stype")
    V = np.asarray(ref["vcov"])
    d = est.difference(("E", "api00"), ("H", "api00"))
    np.testing.assert_allclose(d["estimate"], ref["estimate"][0] - ref["estimate"][1], rtol=1e-9)
    np.testing.assert_allclose(d["std_error"], np.sqrt(V[0, 0] + V[1, 1] - 2 * V[0, 1]), rtol=1e-9)
    assert d["ci_lower"] < d["estimate"] < d["ci_upper"]
    with pytest.raises(DesignError, match="not an estimate label"):
        est.difference("E", "H")
