"""The survey simulator: structure, reproducibility, options, and that it does what it says."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from civmodels.data import (
    AREAS,
    BUNDLED_SEED,
    COVARIATE_TERMS,
    DIMENSIONS,
    codebook,
    load_calibration,
    load_frame,
    load_survey,
    simulate_survey,
)
from civmodels.exceptions import DataError


@pytest.fixture(scope="module")
def sim():
    return simulate_survey(random_seed=7)


def test_structure(sim):
    d, pop = sim.data, sim.population
    assert len(pop) == 838
    assert pop["responded"].sum() == len(d)
    assert d["respondent_id"].tolist() == list(range(1, len(d) + 1))
    assert set(d["position_id"]) == set(pop.loc[pop["responded"] == 1, "position_id"])
    ref = load_survey()
    assert d.columns.tolist() == ref.columns.tolist()
    pd.testing.assert_series_equal(d.dtypes, ref.dtypes)
    with pytest.raises(dataclasses.FrozenInstanceError):
        sim.data = d  # type: ignore[misc]


def test_population_has_full_answers(sim):
    pop = sim.population
    for qid in codebook.survey_columns():
        assert pop[qid].notna().all(), qid
    # respondents' answers are the population answers where observed
    d = sim.data.set_index("position_id")
    p = pop.set_index("position_id").loc[d.index]
    for qid in ("mot_quality", "policy_strategy", "n_ongoing_collaborations"):
        seen = d[qid].notna()
        if qid == "n_ongoing_collaborations":
            np.testing.assert_array_equal(d.loc[seen, qid], p.loc[seen, qid])
        else:
            assert (d.loc[seen, qid].astype(str) == p.loc[seen, qid].astype(str)).all()


def test_reproducible_and_seed_sensitive():
    a = simulate_survey(random_seed=3).data
    b = simulate_survey(random_seed=np.random.SeedSequence(3)).data
    c = simulate_survey(random_seed=4).data
    pd.testing.assert_frame_equal(a, b)
    assert not a["position_id"].equals(c["position_id"]) or not a.equals(c)


def test_dont_know_convention(sim):
    d = sim.data
    for q in codebook.items(simulated=True):
        dk = d[f"{q.id}_dk"]
        assert dk.dtype == bool
        assert d.loc[dk, q.id].isna().all()
        if not q.dont_know:
            assert not dk.any(), q.id
    assert d["mot_trust_dk"].any()


def test_breakoff_leaves_later_sections_missing(sim):
    d = sim.data
    sec4 = [q.id for q in codebook.items(section=4)]
    sec1 = [q.id for q in codebook.items(section=1)]
    answered4 = d[sec4].notna().any(axis=1) | d[[f"{c}_dk" for c in sec4]].any(axis=1)
    answered1 = d[sec1].notna().any(axis=1)
    assert (~answered4).sum() > 0  # some broke off before chapter 6
    assert answered1.all()  # nobody counted as respondent answered nothing


def test_truth_contents(sim):
    t = sim.truth
    items = codebook.survey_columns()
    assert t.coefficients.shape == (len(items), len(COVARIATE_TERMS))
    assert t.area_effects.columns.tolist() == list(AREAS)
    assert (t.area_effects[AREAS[0]] == 0).all()
    assert t.coefficients.loc["mot_cost_effectiveness", "pressure_high"] > 0
    assert t.coefficients.loc["mot_quality", "pressure_high"] < 0
    assert t.thresholds["mot_quality"].index.tolist() == [
        "Slet ikke vigtigt|Mindre vigtigt",
        "Mindre vigtigt|Vigtigt",
        "Vigtigt|Meget vigtigt",
    ]
    assert t.thresholds["new_focus_last_year"].index.tolist() == ["Nej|Ja"]
    assert np.all(np.diff(t.thresholds["cross_departmental_frequency"]) > 0)
    assert t.municipality_effects.shape == (98, len(DIMENSIONS))
    assert set(t.response) >= {
        "intercept",
        "area_log_odds",
        "coefficients",
        "municipality_sd",
        "municipality_effects",
        "mnar",
        "probability",
        "rate",
    }
    assert t.response["area_log_odds"]["social"] > 0
    # region and bloc effects are exactly null in the truth (F15)
    region_bloc = [c for c in COVARIATE_TERMS if c.startswith(("region", "bloc"))]
    assert (t.coefficients[region_bloc] == 0).all().all()


def test_new_focus_area_target_in_truth():
    # expected share of 'Ja' by area, computed from the truth by quadrature-free Monte Carlo
    # over many draws of the population (not the respondents): Teknik og miljø far below
    shares = []
    for seed in range(20):
        pop = simulate_survey(random_seed=seed).population
        shares.append(
            pop.groupby("area", observed=True)["new_focus_last_year"].apply(
                lambda s: (s == "Ja").mean()
            )
        )
    mean = pd.concat(shares, axis=1).mean(axis=1)
    assert mean["teknik_miljo"] == pytest.approx(0.70, abs=0.03)
    others = mean.drop("teknik_miljo")
    assert (others > 0.78).all()


def test_response_rate_option():
    rates = [len(simulate_survey(random_seed=s, response_rate=0.3).data) / 838 for s in range(15)]
    # binomial SE of the mean of 15 draws is ~0.005 plus municipality variation
    assert np.mean(rates) == pytest.approx(0.30, abs=0.025)
    with pytest.raises(DataError, match=r"fraction in \(0, 1\)"):
        simulate_survey(random_seed=1, response_rate=53)


def test_effects_override_keeps_marginal():
    base = simulate_survey(random_seed=1)
    big = simulate_survey(random_seed=1, effects={"mot_cost_effectiveness": {"pressure_high": 2.0}})
    assert big.truth.coefficients.loc["mot_cost_effectiveness", "pressure_high"] == 2.0
    assert base.truth.coefficients.loc["mot_cost_effectiveness", "pressure_high"] == 0.5
    # other items untouched
    pd.testing.assert_series_equal(
        base.truth.thresholds["mot_quality"], big.truth.thresholds["mot_quality"]
    )
    # the group difference grows, the pooled share of 'Meget vigtigt' stays near 40 %
    top, diff = [], []
    for s in range(10):
        pop = simulate_survey(
            random_seed=s, effects={"mot_cost_effectiveness": {"pressure_high": 2.0}}
        ).population
        hit = pop["mot_cost_effectiveness"] == "Meget vigtigt"
        top.append(hit.mean())
        diff.append(hit[pop["pressure_high"] == 1].mean() - hit[pop["pressure_high"] == 0].mean())
    assert np.mean(top) == pytest.approx(0.40, abs=0.03)
    assert np.mean(diff) > 0.3


@pytest.mark.parametrize(
    ("effects", "match"),
    [
        ({"mot_qualty": {"pressure_high": 1}}, "did you mean 'mot_quality'"),
        ({"mot_quality": {"pressure": 1}}, "covariate 'pressure'"),
        ({"mot_quality": {"pressure_high": "big"}}, "must be a number"),
        ({"mot_quality": 1.0}, "mapping"),
        ([1], "mapping"),
    ],
)
def test_effects_errors(effects, match):
    with pytest.raises(DataError, match=match):
        simulate_survey(random_seed=1, effects=effects)


def test_mnar_makes_respondents_unrepresentative():
    # with strong MNAR, responding positions come from municipalities with higher latent
    # motivation effects; at mnar=0 there is no such selection beyond chance
    gaps = {0.0: [], 2.0: []}
    for m in gaps:
        for s in range(10):
            sim = simulate_survey(random_seed=s, mnar={"motivations": m})
            u = sim.truth.municipality_effects["motivations"]
            pop = sim.population
            ur = pop["municipality_code"].map(u)
            gaps[m].append(ur[pop["responded"] == 1].mean() - ur[pop["responded"] == 0].mean())
    assert abs(np.mean(gaps[0.0])) < 0.03
    assert np.mean(gaps[2.0]) > 0.1
    with pytest.raises(DataError, match="dimension"):
        simulate_survey(random_seed=1, mnar={"motivation": 1.0})


def test_custom_frame():
    f = load_frame()
    small = f[f["region"] == "Nordjylland"].drop(columns=["position_id", "responded"])
    sim = simulate_survey(random_seed=2, frame=small)
    assert len(sim.population) == len(small)
    assert set(sim.data["municipality_code"]) <= set(small["municipality_code"])
    with pytest.raises(DataError, match="lacks column"):
        simulate_survey(random_seed=2, frame=small.drop(columns="bloc"))


def test_calibration_as_dict_changes_model():
    d = load_calibration().to_dict()
    d["items"]["new_focus_last_year"]["target_pct"]["value"] = 50
    d["items"]["new_focus_last_year"].pop("by_area_pct")
    shares = [
        (
            simulate_survey(random_seed=s, calibration=d).population["new_focus_last_year"] == "Ja"
        ).mean()
        for s in range(10)
    ]
    assert np.mean(shares) == pytest.approx(0.5, abs=0.04)


def test_does_not_mutate_default_calibration():
    before = load_calibration().to_dict()
    simulate_survey(random_seed=1, effects={"mot_quality": {"pressure_high": 1.0}})
    assert load_calibration().to_dict() == before


def test_bundled_seed_constant():
    assert BUNDLED_SEED == 20151001


def test_override_with_default_value_reproduces_default():
    # re-solving one item with its calibrated effect gives the same model and the same draws
    a = simulate_survey(random_seed=11, effects={"mot_quality": {"pressure_high": -0.45}})
    b = simulate_survey(random_seed=11)
    pd.testing.assert_frame_equal(a.data, b.data)
    pd.testing.assert_series_equal(
        a.truth.thresholds["mot_quality"], b.truth.thresholds["mot_quality"]
    )


def test_area_contrast_override():
    sim = simulate_survey(
        random_seed=1, effects={"new_focus_last_year": {"area[T.teknik_miljo]": -1.5}}
    )
    area = sim.truth.area_effects.loc["new_focus_last_year"]
    assert area["teknik_miljo"] == -1.5
    assert (area.drop("teknik_miljo") == 0).all()
    # the default instead solves Teknik og miljø's effect from its 70 % target
    default = simulate_survey(random_seed=1).truth.area_effects.loc["new_focus_last_year"]
    assert -1.5 < default["teknik_miljo"] < -0.5
    with pytest.raises(DataError, match="area contrasts"):
        simulate_survey(random_seed=1, effects={"mot_quality": {"area[T.ældre]": 1.0}})
