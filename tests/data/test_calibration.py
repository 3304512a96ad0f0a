"""Calibration: the file's rules, and the bundled survey against the report.

Tolerance rule for report figures
---------------------------------
A share ``p`` reported in the Resumé holds on the bundled data if the observed share among
the respondents who answered the item lies within ``TOL_SE = 3`` binomial standard errors,
``sqrt(p (1 - p) / n)``, of ``p``. Why 3 rather than 2.5: about twenty figures are checked,
and 3 SEs keep the chance that any of them fails by chance on a fresh seed near 5 % (2.5 SEs:
~20 %). The binomial SE is not too small for this design: over 150 simulated surveys the
variance of these shares is 0.84-0.99 times the binomial variance (the area composition of
the frame is fixed, which works like stratification and outweighs the municipality
clustering). A mean uses ``s / sqrt(n)``. Verbal figures ("about a
quarter") are tested at the number the extraction converted them to (25).

Statements without numbers (rankings, "the only ones under half", directions of group
differences) are tested as stated on the bundled data, and the direction is also checked on
the simulator's true parameters, which do not depend on sampling.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
import yaml

from civmodels.data import (
    assumption_entries,
    codebook,
    load_calibration,
    load_survey,
    simulate_survey,
)
from civmodels.data._resources import resource_text
from civmodels.exceptions import DataError

TOL_SE = 3.0
WHOLE = "Kommunal politik/strategi for hele kommunen"
OWN = "Politik for eget fagområde"
PREP = "Under udarbejdelse"


@pytest.fixture(scope="module")
def survey() -> pd.DataFrame:
    return load_survey()


def _share(s: pd.Series, values: list[str]) -> tuple[float, int]:
    answered = s.dropna()
    return float(answered.isin(values).mean()), len(answered)


def _assert_share(s: pd.Series, values: list[str], target_pct: float, what: str) -> None:
    p_hat, n = _share(s, values)
    p = target_pct / 100
    se = math.sqrt(p * (1 - p) / n)
    assert abs(p_hat - p) <= TOL_SE * se, (
        f"{what}: observed {100 * p_hat:.1f} % (n = {n}) vs report {target_pct} %, "
        f"tolerance {TOL_SE} x SE = {100 * TOL_SE * se:.1f} points"
    )


# ------------------------------------------------------------------ the file's rules
def _packaged() -> dict:
    return yaml.safe_load(resource_text("calibration.yaml"))


def test_packaged_calibration_is_valid():
    cal = load_calibration()
    assert cal.value("response", "rate_pct") == 53
    assert load_calibration(cal) is cal


def test_every_report_figure_cites_its_page():
    raw = _packaged()
    assert raw["response"]["rate_pct"]["page"] == 6
    assert raw["items"]["new_focus_last_year"]["target_pct"] == {"value": 82, "page": [6, 7]}
    assert raw["items"]["n_ongoing_collaborations"]["mean"] == {"value": 12, "page": 7}
    assert raw["items"]["sup_staff_competence"]["target_pct"]["page"] == 7


def test_assumption_entries_listed():
    entries = assumption_entries()
    paths = {e["path"] for e in entries}
    assert "response.municipality_sd" in paths
    assert "response.area_log_odds" in paths
    assert "items.mot_trust.target_pct" in paths
    assert "items.new_focus_last_year.target_pct" not in paths  # a report figure
    assert all(set(e) == {"path", "value", "page", "note"} for e in entries)


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (
            lambda r: r["items"]["new_focus_last_year"]["target_pct"].update(value=120),
            r"items\.new_focus_last_year\.target_pct .* outside \[0, 100\]",
        ),
        (lambda r: r["response"]["rate_pct"].update(value=-5), r"outside \[0, 100\]"),
        (
            lambda r: r["items"]["new_focus_last_year"]["target_pct"].pop("page"),
            r"items\.new_focus_last_year\.target_pct has no source.*page.*assumption",
        ),
        (lambda r: r["response"].update(rate_pct=53), r"response\.rate_pct is a bare number"),
        (
            lambda r: r["items"]["mot_trust"]["target_pct"].update(value=[1, 6, 33, 50]),
            r"must sum to 100, but sums to 90",
        ),
        (
            lambda r: r["items"]["mot_trust"]["target_pct"].update(value=[50, 50]),
            r"needs 4 percentages",
        ),
        (lambda r: r["items"].pop("mot_trust"), r"lacks the simulated codebook item.*mot_trust"),
        (
            lambda r: r["items"].update(mot_trst=r["items"]["mot_trust"]),
            r"unknown items \['mot_trst'\]; did you mean 'mot_trust'",
        ),
        (
            lambda r: r["dimensions"]["motivations"]["area_effects"]["value"].update(aeldre=1),
            r"unknown areas \['aeldre'\]",
        ),
        (
            lambda r: r["items"]["mot_quality"]["effects"]["value"].update(bloc_blue=1),
            r"unknown covariates \['bloc_blue'\]",
        ),
        (
            lambda r: r["items"]["mot_trust"].update(dimension="motivation"),
            r"unknown dimension \['motivation'\]",
        ),
        (
            lambda r: r["response"]["breakoff_pct"].update(value=[50, 30, 30]),
            r"breakoff_pct must sum to less than 100",
        ),
        (lambda r: r["dimensions"]["barriers"]["respondent_sd"].update(value=-1), r">= 0"),
        (lambda r: r.pop("items"), r"lacks required key 'items'"),
        (
            lambda r: r["items"]["policy_strategy"].update(latent_order=["none", "own_area"]),
            r"latent_order must list each of",
        ),
        (lambda r: r["response"]["rate_pct"].update(value="many"), r"must be a number"),
    ],
)
def test_bad_calibration_is_a_clear_error(edit, match):
    raw = _packaged()
    edit(raw)
    with pytest.raises(DataError, match=match):
        load_calibration(raw)


def test_bad_calibration_file(tmp_path):
    p = tmp_path / "cal.yaml"
    p.write_text("response: [unclosed", encoding="utf-8")
    with pytest.raises(DataError, match="not valid YAML"):
        load_calibration(p)
    with pytest.raises(DataError, match="does not exist"):
        load_calibration(tmp_path / "missing.yaml")
    p.write_text("- 1\n- 2\n", encoding="utf-8")
    with pytest.raises(DataError, match="must be a mapping"):
        load_calibration(p)
    with pytest.raises(DataError, match="calibration must be None"):
        load_calibration(42)  # type: ignore[arg-type]
    # a valid file round-trips and is used by the simulator
    raw = _packaged()
    raw["response"]["rate_pct"]["value"] = 30
    p.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    assert load_calibration(p).value("response", "rate_pct") == 30
    with pytest.raises(DataError, match="outside"):
        bad = _packaged()
        bad["dont_know_pct"]["motivations"]["value"] = 101
        load_calibration(bad)


# ------------------------------------------------------------------ Resumé figures
RESUME_SHARES = [
    # (item, values counted, report %, page, what)
    ("policy_strategy", [WHOLE], 60, 6, "municipality-wide policy"),
    ("policy_strategy", [OWN], 19, 6, "policy for own area"),
    ("policy_strategy", [PREP], 10, 6, "policy being prepared"),
    ("new_focus_last_year", ["Ja"], 82, 6, "new focus last year"),
    ("cross_departmental_frequency", ["Altid", "Ofte"], 39, 7, "always/often across"),
    (
        "responsibility_placement",
        ["Hos én eller flere medarbejdere i forvaltningen"],
        64,
        7,
        "responsibility with staff in the department",
    ),
    (
        "responsibility_placement",
        ["I et center/en enhed, der koordinerer alle samarbejder"],
        17,
        7,
        "responsibility in a coordinating centre",
    ),
    ("evaluation", ["Evaluerer/måler ikke"], 25, 8, "no evaluation (about a quarter)"),
    (
        "evaluation",
        ["Måler udbyttet på tværs af kommune og civile aktører"],
        10,
        8,
        "joint measurement (about one in ten)",
    ),
    ("sup_staff_competence", ["Ja"], 67, 7, "dedicated staff (about two thirds)"),
    ("cc_partners_n", ["Flere end én"], 67, 7, "more than one partner (two in three)"),
    ("val_cost_effectiveness", ["I høj grad"], 5, 8, "realised cost-effectiveness (1 in 20)"),
    ("val_reduce_expenditure", ["I høj grad"], 5, 8, "realised lower expenditure (1 in 20)"),
    ("val_gain_in_future", ["I høj grad"], 32, 8, "gain lies in the future (just under 1/3)"),
]


@pytest.mark.parametrize(
    ("item", "values", "pct", "page", "what"),
    RESUME_SHARES,
    ids=[f"{r[0]}-{r[2]}" for r in RESUME_SHARES],
)
def test_resume_share(survey, item, values, pct, page, what):
    assert set(values) <= set(codebook[item].labels_da)
    _assert_share(survey[item], values, pct, f"{what} (p. {page})")


def test_new_focus_teknik_og_miljo(survey):
    tm = survey.loc[survey["area"] == "teknik_miljo", "new_focus_last_year"]
    _assert_share(tm, ["Ja"], 70, "new focus in Teknik og miljø (p. 7)")


def test_mean_number_of_collaborations(survey):
    x = survey["n_ongoing_collaborations"].dropna()
    se = x.std() / math.sqrt(len(x))
    assert abs(x.mean() - 12) <= TOL_SE * se, (x.mean(), se)


def test_support_forms(survey):
    for item in ("sup_workshops", "sup_financial"):  # a little / a good half
        p, n = _share(survey[item], ["Ja"])
        assert p > 0.5 - TOL_SE * math.sqrt(0.25 / n), item
    p_training, _ = _share(survey["sup_training"], ["Ja"])
    others = [
        _share(survey[c], ["Ja"])[0]
        for c in ("sup_staff_competence", "sup_workshops", "sup_financial")
    ]
    assert p_training < 0.25 and p_training < min(others)  # used only rarely


def test_goal_attainment_slightly_more_than_none(survey):
    ev = survey["evaluation"].dropna()
    none = (ev == "Evaluerer/måler ikke").mean()
    goal = (ev == "Undersøger om målene med samarbejdet nås").mean()
    se_diff = math.sqrt((none + goal) / len(ev))  # multinomial difference, conservative
    assert goal - none > -TOL_SE * se_diff


def test_economic_motivations_only_ones_under_half(survey):
    for q in codebook.items(battery="motivations"):
        p, _ = _share(survey[q.id], ["Meget vigtigt"])
        if q.group == "economic_effect":
            assert p < 0.5, (q.id, p)
        else:
            assert p >= 0.5, (q.id, p)
        # very few 'Slet ikke vigtigt' in any group
        assert _share(survey[q.id], ["Slet ikke vigtigt"])[0] < 0.08, q.id


def test_realised_value_lower_than_motivations(survey):
    top = {
        q.id: _share(survey[q.id], [q.labels_da[-1]])[0]
        for q in codebook.items(battery="realised_value") + codebook.items(battery="motivations")
    }
    # item by item (same theme) and on average, the top category is chosen less often
    pairs = [k[4:] for k in top if k.startswith("val_") and f"mot_{k[4:]}" in top]
    assert len(pairs) == 9
    for theme in pairs:
        assert top[f"val_{theme}"] < top[f"mot_{theme}"], theme
    val = [v for k, v in top.items() if k.startswith("val_")]
    mot = [v for k, v in top.items() if k.startswith("mot_")]
    assert np.mean(val) < np.mean(mot) - 0.2  # "clearly lower"
    # trust and quality get the highest agreement of the value items
    ranked = sorted((v, k) for k, v in top.items() if k.startswith("val_"))
    assert {ranked[-1][1], ranked[-2][1]} == {"val_trust", "val_quality"}


def test_barrier_ranking(survey):
    agree = {
        q.id: _share(survey[q.id], ["I nogen grad", "I høj grad"])[0]
        for q in codebook.items(battery="barriers")
    }
    order = sorted(agree, key=agree.get)
    assert order[-1] == "bar_missing_documentation_tools"  # most agreement
    assert order[0] == "bar_citizen_insecurity"  # least agreement
    # own-organisation barriers above lack of civil capacity
    assert (
        min(agree["bar_staff_knowledge"], agree["bar_staff_competences"])
        > agree["bar_civil_capacity"]
    )


def test_partner_and_inspiration_rankings(survey):
    partner = {
        q.id: _share(survey[q.id], ["Ja"])[0] for q in codebook.items(battery="partner_types")
    }
    assert max(partner, key=partner.get) == "partner_local_associations"
    assert min(partner, key=partner.get) == "partner_mosques_other_faith"
    insp = {
        q.id: _share(survey[q.id], ["Ja"])[0] for q in codebook.items(battery="inspiration_sources")
    }
    high = [
        "insp_kl_ministries_councils",
        "insp_local_volunteer_centres",
        "insp_national_organisations",
    ]
    low = ["insp_research", "insp_national_knowledge_centres", "insp_methods_models"]
    assert min(insp[h] for h in high) > max(insp[lo] for lo in low)


def test_response_rate_and_social_over_representation(survey):
    from civmodels.data import load_frame

    frame = load_frame()
    n = len(frame)
    p = 0.53
    assert abs(len(survey) / n - p) <= TOL_SE * math.sqrt(p * (1 - p) / n)
    rate = frame.groupby("area", observed=True)["responded"].mean()
    assert rate["social"] == rate.max()


# ------------------------------------------------------------------ findings: direction
def _by(survey, item, by, values):
    d = survey.dropna(subset=[item])
    return d.groupby(by, observed=True)[item].apply(lambda s: s.isin(values).mean())


def test_f01_policy_more_often_under_high_pressure(survey):
    r = _by(survey, "policy_strategy", "pressure_high", [WHOLE])
    assert r[1] > r[0]


def test_f02_policy_more_often_in_larger_municipalities(survey):
    d = survey.assign(larger=(survey["population"] >= 50_000).astype(int))
    r = _by(d, "policy_strategy", "larger", [WHOLE, OWN])
    assert r[1] > r[0]


def test_f05_teknik_og_miljo_lower(survey):
    r = _by(survey, "new_focus_last_year", "area", ["Ja"])
    overall = _share(survey["new_focus_last_year"], ["Ja"])[0]
    assert r["teknik_miljo"] < overall
    assert r["teknik_miljo"] == r.min()


def test_f12_cost_effectiveness_weighs_more_under_high_pressure(survey):
    r = _by(survey, "mot_cost_effectiveness", "pressure_high", ["Meget vigtigt"])
    assert r[1] > r[0]


def test_f13_quality_weighs_more_under_low_pressure(survey):
    r = _by(survey, "mot_quality", "pressure_high", ["Meget vigtigt"])
    assert r[0] > r[1]


def test_findings_directions_in_truth():
    t = simulate_survey(random_seed=0).truth.coefficients
    assert t.loc["policy_strategy", "pressure_high"] > 0  # F01
    assert t.loc["policy_strategy", "log_population"] > 0  # F02
    assert t.loc["mot_cost_effectiveness", "pressure_high"] > 0  # F12
    assert t.loc["mot_quality", "pressure_high"] < 0  # F13
    assert t.loc["n_ongoing_collaborations", "log_population"] > 0  # F06 (assumed direction)
    area = simulate_survey(random_seed=0).truth.area_effects.loc["new_focus_last_year"]
    assert area["teknik_miljo"] == area.min() and area.drop("teknik_miljo").abs().max() == 0


def test_region_and_bloc_null_in_truth():
    t = simulate_survey(random_seed=0).truth
    cols = [c for c in t.coefficients.columns if c.startswith(("region", "bloc"))]
    assert (t.coefficients[cols] == 0).all().all()
    assert (t.response["coefficients"][cols] == 0).all()


def test_region_and_bloc_near_null_given_size_in_data(survey):
    """Loose data check (F15): adjusting for size, pressure and area, the bloc and region
    terms are significant at 5 % for no more items than chance allows.

    Each categorical item is dichotomised at its top category (or 'Ja'); a logistic model
    with municipality-clustered standard errors gives a Wald test for bloc (1 df) and region
    (4 df). Under the null the number of items with p < 0.05 is Binomial(k, 0.05); we require
    at most the 99.9 % quantile of that distribution.
    """
    import statsmodels.formula.api as smf
    from scipy import stats

    items = [
        q for q in codebook.items(simulated=True) if q.type in ("ordinal", "binary", "multiple")
    ]
    p_bloc, p_region = [], []
    for q in items:
        d = survey.dropna(subset=[q.id]).copy()
        d["y"] = (d[q.id] == q.labels_da[-1]).astype(int)
        if d["y"].mean() < 0.08 or d["y"].mean() > 0.92:
            continue  # too few events for a stable 14-parameter logistic fit
        d["region"] = d["region"].astype(str)
        d["bloc"] = d["bloc"].astype(str)
        d["area"] = d["area"].astype(str)
        with warnings.catch_warnings():
            # quasi-separation in a small area x item cell is harmless for a Wald test of
            # the municipality-level terms; statsmodels warns about it
            warnings.simplefilter("ignore")
            fit = smf.logit(
                "y ~ log_population + pressure_high + C(area) + C(bloc) + C(region)", d
            ).fit(disp=0, cov_type="cluster", cov_kwds={"groups": d["municipality_code"]})
        names = fit.params.index
        bloc = [n for n in names if n.startswith("C(bloc)")]
        region = [n for n in names if n.startswith("C(region)")]
        p_bloc.append(float(fit.wald_test(" + ".join(bloc) + " = 0", scalar=True).pvalue))
        r = np.zeros((len(region), len(names)))
        for i, n in enumerate(region):
            r[i, names.get_loc(n)] = 1
        p_region.append(float(fit.wald_test(r, scalar=True).pvalue))
    k = len(p_bloc)
    assert k >= 30
    limit = stats.binom.ppf(0.999, k, 0.05)
    assert sum(p < 0.05 for p in p_bloc) <= limit, sorted(p_bloc)[:5]
    assert sum(p < 0.05 for p in p_region) <= limit, sorted(p_region)[:5]


# ------------------------------------------------------------------ expectation
def test_simulator_matches_targets_in_expectation():
    """Averaged over surveys, respondents' distributions equal the calibration targets.

    Tolerance: 4 Monte Carlo standard errors of the mean over the draws, plus 0.25 points for
    the quadrature/Newton solve (which is exact to ~1e-10, so in practice MC error only).
    """
    cal = load_calibration()
    n_sims = 30
    acc: dict[str, list[np.ndarray]] = {}
    for s in range(n_sims):
        d = simulate_survey(random_seed=1000 + s).data
        for q in codebook.items(simulated=True):
            if q.type == "count":
                acc.setdefault(q.id, []).append(np.array([d[q.id].mean()]))
            else:
                vc = d[q.id].value_counts(normalize=True).reindex(q.labels_da).fillna(0)
                acc.setdefault(q.id, []).append(vc.to_numpy() * 100)
    for q in codebook.items(simulated=True):
        node = cal.raw["items"][q.id]
        draws = np.array(acc[q.id])
        mean, mc_se = draws.mean(0), draws.std(0, ddof=1) / math.sqrt(n_sims)
        if q.type == "count":
            target = np.array([node["mean"]["value"]])
        elif q.type in ("binary", "multiple"):
            t = node["target_pct"]["value"]
            target = np.array([100 - t, t])
        else:
            order = node.get("latent_order", q.codes)
            t = node["target_pct"]["value"]
            target = np.array([t[order.index(c)] for c in q.codes])
        assert np.all(np.abs(mean - target) <= 4 * mc_se + 0.25), (q.id, mean, target)


def test_docs_list_every_assumption():
    """docs/data.md must list each assumption entry of the calibration (kept in sync)."""
    from pathlib import Path

    docs = (Path(__file__).resolve().parents[2] / "docs" / "data.md").read_text(encoding="utf-8")
    missing = [e["path"] for e in assumption_entries() if f"`{e['path']}`" not in docs]
    assert not missing, f"add these assumption entries to docs/data.md: {missing}"
    assert "synthetic" in docs
