"""Verdicts on planted nulls and planted effects, bad input, the report's summaries."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from civmodels.exceptions import SpecificationError
from civmodels.replication import (
    VERDICT_MEANINGS,
    VERDICTS,
    load_registry,
    not_testable,
    run,
    verdict_counts,
    verdict_matrix,
)
from civmodels.replication._runner import _aggregate_rows, decide

from .synth import make_frame, make_survey

METHODS3 = ("crosstab", "design", "ordinal")


@pytest.fixture(scope="module")
def null_run():
    # no effect of spending pressure on either motivation item
    survey = make_survey(random_seed=4, effect=0.0)
    return run(survey, methods=METHODS3, frame=make_frame(random_seed=4), findings=["F12", "F13"])


@pytest.fixture(scope="module")
def effect_run(survey, frame):
    return run(survey, methods=METHODS3, frame=frame, findings=["F05", "F12", "F13", "F15"])


def _directional(t):
    return t[t["kind"] == "difference"]


def test_planted_null_is_not_significant_for_every_method(null_run):
    rows = _directional(null_run)
    assert len(rows) == 6
    assert (rows["verdict"] == "not significant").all(), rows[["method", "p_value"]]


def test_planted_effects_are_replicated_or_reversed_for_every_method(effect_run):
    v = _directional(effect_run).set_index(["finding_id", "method"])["verdict"]
    for m in METHODS3:
        assert v[("F12", m)] == "replicated"
        assert v[("F05", m)] == "replicated"
        assert v[("F13", m)] == "reversed"  # planted opposite to the report


@pytest.mark.parametrize("fixture", ["null_run", "effect_run"])
def test_verdict_and_interval_come_from_one_contrast(fixture, request):
    rows = _directional(request.getfixturevalue(fixture))
    for r in rows.itertuples():
        centre = 1.0 if r.estimate_type == "odds ratio" else 0.0
        covers = r.ci_lower <= centre <= r.ci_upper
        if r.verdict in ("replicated", "reversed"):
            assert not covers, r
            assert r.p_value < 0.05
        else:
            assert covers and r.p_value >= 0.05, r
        assert r.ci_lower < r.estimate < r.ci_upper
        assert r.n_used > 0 and r.n_dropped >= 0
        assert r.mde > 0
        assert isinstance(r.omnibus_test, str)  # the omnibus test stays as context


def test_no_difference_finding_is_tested_for_equivalence(effect_run):
    f15 = effect_run[effect_run["finding_id"] == "F15"]
    assert set(f15["verdict"]) <= {"equivalent", "difference found", "inconclusive"}
    assert np.allclose(f15["ci_level"].to_numpy(float), 0.90)
    ordinal = f15[f15["method"] == "ordinal"]
    assert (ordinal["margin"] == 1.5).all() and (ordinal["estimate_type"] == "odds ratio").all()
    assert (f15.loc[f15["method"] == "crosstab", "margin"] == 0.10).all()
    # equivalence is read off the 90 % interval of the least equivalent pair
    for r in f15.itertuples():
        lo, hi = (1 / r.margin, r.margin) if r.method == "ordinal" else (-r.margin, r.margin)
        assert (r.verdict == "equivalent") == (lo < r.ci_lower and r.ci_upper < hi)


def test_a_wide_margin_makes_a_null_equivalent_and_a_tiny_one_inconclusive(survey, frame):
    def verdicts(margin):
        out = run(
            survey,
            methods=["crosstab"],
            frame=frame,
            findings=["F15"],
            margins={"difference": margin},
        )
        return set(out["verdict"])

    assert "equivalent" in verdicts(0.6)
    assert "equivalent" not in verdicts(0.001)


@pytest.mark.parametrize("margins", [{"difference": 0}, {"odds_ratio": float("nan")}])
def test_bad_margin_is_an_error_before_any_work(survey, margins):
    with pytest.raises(SpecificationError, match="margins"):
        run(survey, methods=["crosstab"], margins=margins)


def test_absent_contrast_level_is_not_testable_naming_it(survey, frame):
    data = survey[survey["area"] != "teknik_miljo"]
    # the frame follows the data: those heads are nonrespondents now
    frame = frame.assign(responded=frame["responded"] & (frame["area"] != "teknik_miljo"))
    out = run(data, methods=METHODS3, frame=frame, findings=["F05"])
    assert (out["verdict"] == "not testable").all()
    assert out["note"].str.contains("teknik_miljo").all()


def test_failing_method_is_reported_with_its_first_line(survey, frame, monkeypatch):
    from civmodels.replication import _methods

    def boom(task, data, ctx):
        raise RuntimeError("the optimiser exploded\nsecond line of the traceback text")

    monkeypatch.setitem(_methods._DISPATCH, "ordinal", boom)
    out = run(survey, methods=["crosstab", "ordinal"], frame=frame, findings=["F12"])
    row = out[out["method"] == "ordinal"].iloc[0]
    assert row["verdict"] == "failed"
    assert row["note"] == "RuntimeError: the optimiser exploded"
    assert out[out["method"] == "crosstab"].iloc[0]["verdict"] == "replicated"


def test_every_method_matches_group_levels_the_same_way(survey):
    from civmodels.replication._outcomes import contrast_indicator, prepare_outcome
    from civmodels.replication._task import Task, predictor_columns

    f = load_registry().finding("F02")
    contrast = {"focal": "LARGE", "reference": "Small"}  # case differs from the data
    task = Task(
        finding=f,
        item="policy_strategy",
        by="size_group",
        outcome=prepare_outcome(survey, "policy_strategy", f.event),
        contrast=contrast,
        adjust=(),
    )
    pred, _, focal = predictor_columns(task, survey)
    ind, _, _ = contrast_indicator(survey, "size_group", contrast)
    assert focal is not None
    pd.testing.assert_series_equal(
        pred[focal][ind.notna()], ind[ind.notna()], check_names=False, check_dtype=False
    )


def test_design_contrast_keeps_the_psus_of_missing_answers(survey, frame):
    data = survey.copy()
    one = data["municipality_code"] == data["municipality_code"].iloc[0]
    data.loc[one, "mot_cost_effectiveness"] = np.nan
    w = pd.Series(1.0, index=data.index)
    full = run(survey, methods=["design"], frame=frame, findings=["F12"], weights=w)
    gap = run(data, methods=["design"], frame=frame, findings=["F12"], weights=w)
    # the municipality without answers stays a PSU of the design (the Rao-Scott context test
    # uses all of them); the contrast's CR2 variance and Satterthwaite df rest on the clusters
    # that answered, to which it adds nothing
    n_psu = survey["municipality_code"].nunique()
    assert f"({n_psu} of {n_psu} municipality clusters" in full.iloc[0]["test"]
    assert f"({n_psu - 1} of {n_psu} municipality clusters" in gap.iloc[0]["test"]
    assert 1 < gap.iloc[0]["df"] < n_psu - 1
    assert gap.iloc[0]["n_dropped"] == int(one.sum())


def test_f05_report_value_is_on_the_rows_estimand(effect_run, survey):
    row = effect_run.query("finding_id == 'F05' and method == 'crosstab'").iloc[0]
    w = (survey["area"] == "teknik_miljo").mean()
    assert row["report_value"] == pytest.approx((0.70 - 0.82) / (1 - w))
    assert "focal - rest" in row["note"]


def _f17_rows(omnibus_p, tost_p):
    f = load_registry().finding("F17")
    rows = [
        {
            "finding_id": "F17",
            "outcome": f"y{i}",
            "method": "crosstab",
            "omnibus_p": po,
            "p_value": pe,
            "note": "",
        }
        for i, (po, pe) in enumerate(zip(omnibus_p, tost_p, strict=True))
    ]
    return f, pd.DataFrame(rows)


@pytest.mark.parametrize(
    ("omnibus_p", "tost_p", "expected"),
    [
        ([0.001, 0.5, 0.6, 0.7], [0.9, 0.001, 0.002, 0.003], "replicated"),
        ([0.001, 0.5, 0.6, 0.7], [0.9, 0.5, 0.6, 0.7], "inconclusive"),
        ([0.001, 0.001, 0.002, 0.7], [0.9, 0.9, 0.9, 0.001], "not replicated"),
        ([0.3, 0.5, 0.6, 0.7], [0.001, 0.001, 0.001, 0.001], "not significant"),
    ],
)
def test_f17_pattern_rule(omnibus_p, tost_p, expected):
    f, table = _f17_rows(omnibus_p, tost_p)
    [row] = _aggregate_rows(f, table, 0.05)
    assert row["verdict"] == expected
    assert f.rule and "at least half" in f.rule


def test_decide_uses_one_rule_for_every_method():
    base = {"direction": "higher", "estimate_type": "difference in proportions"}
    assert decide({**base, "estimate": 0.1, "p_value": 0.01}, 0.05) == "replicated"
    assert decide({**base, "estimate": -0.1, "p_value": 0.01}, 0.05) == "reversed"
    assert decide({**base, "estimate": 0.1, "p_value": 0.2}, 0.05) == "not significant"
    orow = {"direction": "lower", "estimate_type": "odds ratio", "estimate": 0.5, "p_value": 0.01}
    assert decide(orow, 0.05) == "replicated"
    eq = {"direction": "none", "p_value": 0.2, "omnibus_p": 0.01}
    assert decide(eq, 0.05) == "difference found"
    assert decide({**eq, "p_value": 0.01}, 0.05) == "equivalent"
    assert decide({**eq, "omnibus_p": 0.3}, 0.05) == "inconclusive"
    assert set(VERDICTS) == set(VERDICT_MEANINGS)


def test_summaries_count_what_the_report_shows(effect_run):
    counts = verdict_counts(effect_run)
    matrix = verdict_matrix(effect_run)
    assert list(matrix["finding"]) == ["F05", "F12", "F13", "F15"]
    assert {"stated", "page", "figures", *METHODS3} <= set(matrix.columns)
    assert int(counts.to_numpy().sum()) == len(effect_run[effect_run["kind"] != "aggregate"])
    assert matrix.set_index("finding").loc["F12", "crosstab"] == "replicated"


def test_patterns_not_testable_are_listed_with_reasons(survey, frame):
    out = run(survey, methods=["crosstab"], frame=frame, findings=None)
    nt = not_testable(out)
    ids = set(nt["finding_id"])
    assert {"M5", "M8", "F14"} <= ids
    assert (nt["reason"].str.len() > 0).all()


def test_pattern_rows_carry_their_counts(survey, frame):
    out = run(survey, methods=["crosstab"], frame=frame)
    m2 = out.query("finding_id == 'M2'").iloc[0]
    answered = int(survey["new_focus_last_year"].notna().sum())
    assert m2["n_used"] == answered
    assert m2["n_dropped"] == len(survey) - answered


def test_design_contrast_is_the_weighted_difference_with_cr2_and_bm_df(survey):
    from civmodels.design import SurveyDesign
    from civmodels.replication._methods import _design_contrast, _design_diff
    from civmodels.replication._smallsample import satterthwaite_df

    rng = np.random.default_rng(11)
    w = pd.Series(rng.uniform(0.5, 2.0, len(survey)), index=survey.index)
    y = (survey["mot_cost_effectiveness"].cat.codes == 3).astype(float)
    y[survey["mot_cost_effectiveness"].isna()] = np.nan
    ind = survey["pressure_high"].astype(float)
    cl = survey["municipality_code"]
    c, n_clusters = _design_contrast(y, ind, w, cl)
    d = SurveyDesign(
        pd.DataFrame({"w": w, "c": cl}), weights="w", cluster="c", lonely_psu="certainty"
    )
    diff, se_lin = _design_diff(d, y, ind)
    assert c.estimate == pytest.approx(diff, rel=1e-10)  # the R-checked estimate
    ok = y.notna()
    x = np.column_stack([np.ones(int(ok.sum())), ind[ok]])
    assert c.df == pytest.approx(satterthwaite_df(x, cl[ok].to_numpy(), 1, w[ok].to_numpy()))
    assert n_clusters == cl[ok].nunique()
    # CR2 removes linearisation's downward bias: never smaller here than the CR0 part of it
    g = cl.nunique()
    assert c.se > se_lin * np.sqrt((g - 1) / g) * 0.95


def test_cluster_robust_model_contrast_uses_bell_mccaffrey_df(effect_run):
    row = effect_run.query("finding_id == 'F12' and method == 'ordinal'").iloc[0]
    assert "Bell-McCaffrey" in row["test"]
    assert 1 < row["df"] < 98
    design = effect_run.query("finding_id == 'F12' and method == 'design'").iloc[0]
    assert "CR2" in design["test"] and 1 < design["df"] < 98


def test_extra_tests_adds_a_method_to_a_finding(survey, frame, monkeypatch):
    from civmodels.replication import _methods

    seen = []

    def record(task, data, ctx):
        seen.append((task.finding.id, task.item, task.by))
        raise RuntimeError("recorded")

    monkeypatch.setitem(_methods._DISPATCH, "bayes", record)
    plain = run(survey, methods=["crosstab", "bayes"], frame=frame, findings=["F15"])
    assert not seen and set(plain["method"]) == {"crosstab"}
    out = run(
        survey,
        methods=["crosstab", "bayes"],
        frame=frame,
        findings=["F15"],
        extra_tests={"F15": ["bayes"]},
    )
    bayes = out[out["method"] == "bayes"]
    assert len(bayes) == len(out[out["method"] == "crosstab"])
    assert {by for _, _, by in seen} == {"region", "bloc"}
    assert (bayes.loc[bayes["verdict"] != "not testable", "verdict"] == "failed").all()


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        ({"F99": ["bayes"]}, "finding 'F99'"),
        ({"F15": ["mixed"]}, "not among the methods run"),
        (["F15"], "must map finding ids"),
    ],
)
def test_bad_extra_tests_are_refused(survey, extra, match):
    with pytest.raises(SpecificationError, match=match):
        run(survey, methods=["crosstab"], findings=["F15"], extra_tests=extra)


def test_design_equivalence_pairs_use_cr2_contrasts(survey, frame):
    from civmodels.replication._methods import _design_contrast

    w = pd.Series(1.0, index=survey.index)
    out = run(survey, methods=["design"], frame=frame, findings=["F15"], weights=w)
    row = out.query("by == 'bloc' and outcome == 'new_focus_last_year'").iloc[0]
    assert "CR2" in row["test"]
    # two blocs, one pair: the same two-domain contrast as the directional findings
    yes = survey["new_focus_last_year"].astype("object").map({"Ja": 1.0, "Nej": 0.0})
    first, second = row["contrast"].split(": ")[1].split(" vs ")
    bloc = survey["bloc"].astype(str)
    ind = pd.Series(np.where(bloc == first, 1.0, np.where(bloc == second, 0.0, np.nan)))
    c, _ = _design_contrast(yes, ind.set_axis(survey.index), w, survey["municipality_code"])
    assert row["estimate"] == pytest.approx(c.estimate, rel=1e-10)
    assert row["df"] == pytest.approx(c.df, rel=1e-10)
    assert row["ci_level"] == pytest.approx(0.90)
    half = row["ci_upper"] - row["estimate"]
    assert half == pytest.approx(c.quantile(0.95) * c.se, rel=1e-8)
