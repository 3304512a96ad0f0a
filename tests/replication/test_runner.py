from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from civmodels.design import SurveyDesign
from civmodels.exceptions import SpecificationError
from civmodels.replication import COLUMNS, VERDICTS, adjust_pvalues, run
from civmodels.replication._methods import _design_diff

DIRECTIONAL = ["F01", "F02", "F05", "F06", "F12", "F13"]


@pytest.fixture(scope="module")
def crosstab_run(survey, frame):
    return run(survey, methods=["crosstab"], frame=frame, patterns=True)


def test_adjust_pvalues_match_statsmodels():
    rng = np.random.default_rng(3)
    p = rng.uniform(0, 0.2, 25)
    p[[3, 11]] = np.nan
    ok = ~np.isnan(p)
    for ours, theirs in (("holm", "holm"), ("bh", "fdr_bh")):
        expected = multipletests(p[ok], method=theirs)[1]
        got = adjust_pvalues(p, ours)
        np.testing.assert_allclose(got[ok], expected, rtol=1e-12)
        assert np.isnan(got[~ok]).all()


def test_one_row_per_finding_outcome_grouping_method(crosstab_run):
    assert list(crosstab_run.columns[: len(COLUMNS)]) == COLUMNS
    main = crosstab_run[crosstab_run["finding_id"].str.startswith("F")]
    key = main[main["outcome"] != "all"][["finding_id", "outcome", "by", "method"]]
    assert not key.duplicated().any()
    assert set(main["verdict"]) <= set(VERDICTS)
    # every finding of the registry appears, testable or not
    assert {f"F{i:02d}" for i in range(1, 19)} <= set(main["finding_id"])


def test_crosstab_matches_scipy_and_manual_difference(survey, crosstab_run):
    row = crosstab_run.query("finding_id == 'F12' and method == 'crosstab'").iloc[0]
    tab = pd.crosstab(survey["pressure_high"], survey["mot_cost_effectiveness"])
    chi = stats.chi2_contingency(tab.to_numpy(), correction=False)
    # the omnibus chi-square is context; the verdict's test is the z test of the contrast
    assert row["omnibus_statistic"] == pytest.approx(chi.statistic, rel=1e-12)
    assert row["omnibus_p"] == pytest.approx(chi.pvalue, rel=1e-10)
    top = survey["mot_cost_effectiveness"] == "Meget vigtigt"
    hi, lo = top[survey["pressure_high"]], top[~survey["pressure_high"]]
    diff = hi.mean() - lo.mean()
    se = np.sqrt(hi.mean() * (1 - hi.mean()) / len(hi) + lo.mean() * (1 - lo.mean()) / len(lo))
    assert row["estimate"] == pytest.approx(diff, rel=1e-12)
    assert row["ci_lower"] == pytest.approx(diff - stats.norm.ppf(0.975) * se, rel=1e-12)
    assert row["statistic"] == pytest.approx(diff / se, rel=1e-12)
    assert row["p_value"] == pytest.approx(2 * stats.norm.sf(abs(diff / se)), rel=1e-10)
    assert row["mde"] == pytest.approx((stats.norm.ppf(0.975) + stats.norm.ppf(0.8)) * se)


def test_planted_effects_get_the_right_verdicts(crosstab_run):
    v = crosstab_run.query("method == 'crosstab'").set_index("finding_id")["verdict"]
    assert v["F12"] == "replicated"  # planted: high pressure -> higher
    assert v["F13"] == "reversed"  # planted in the opposite direction of the report
    assert v["F05"] == "replicated"  # planted: Teknik og miljø lower
    assert v["F06"] == "replicated"  # planted: more collaborations in larger municipalities


def test_holm_and_bh_are_computed_within_each_declared_family(crosstab_run):
    mine = crosstab_run[crosstab_run["method"] == "crosstab"]
    diff = mine[mine["family"] == "difference (crosstab)"]
    eq = mine[mine["family"] == "equivalence (crosstab)"]
    assert len(diff) and len(eq)
    assert set(eq["direction"]) <= {"none", "few"}
    # the difference family: the contrasts' p-values and the equivalence rows' omnibus p-values
    p_all = np.concatenate([diff["p_value"].to_numpy(float), eq["omnibus_p"].to_numpy(float)])
    holm = adjust_pvalues(p_all, "holm")
    np.testing.assert_allclose(diff["p_holm"].to_numpy(float), holm[: len(diff)])
    np.testing.assert_allclose(eq["omnibus_p_holm"].to_numpy(float), holm[len(diff) :])
    np.testing.assert_allclose(
        diff["p_bh"].to_numpy(float), adjust_pvalues(p_all, "bh")[: len(diff)]
    )
    np.testing.assert_allclose(
        eq["p_holm"].to_numpy(float), adjust_pvalues(eq["p_value"].to_numpy(float), "holm")
    )
    assert (diff["p_holm"] >= diff["p_value"]).all()


def test_missing_outcome_is_not_testable_not_a_crash(survey, frame):
    out = run(
        survey.drop(columns="mot_quality"),
        methods=["crosstab"],
        frame=frame,
        findings=["F12", "F13"],
    )
    f13 = out[out["finding_id"] == "F13"].iloc[0]
    assert f13["verdict"] == "not testable"
    assert "mot_quality" in f13["note"]
    assert out[out["finding_id"] == "F12"].iloc[0]["verdict"] == "replicated"


def test_items_the_data_lack_are_reported_not_dropped(crosstab_run):
    f14 = crosstab_run[crosstab_run["finding_id"] == "F14"]
    assert len(f14) == 10  # one row per realised-value item, all absent from the synthetic data
    assert (f14["verdict"] == "not testable").all()


def test_unknown_method_lists_valid_ones(survey):
    with pytest.raises(SpecificationError, match=r"anova.*crosstab, design, ordinal, mixed, bayes"):
        run(survey, methods=["crosstab", "anova"])


def test_absent_method_module_is_reported_on_every_row(survey, frame, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "civmodels.bayes", None)  # import raises ImportError
    out = run(survey, methods=["crosstab", "bayes"], frame=frame, findings=["F12", "F13"])
    bayes = out[out["method"] == "bayes"]
    assert len(bayes) == 2
    assert (bayes["verdict"] == "not available").all()
    assert bayes["note"].str.contains("civmodels.bayes").all()


def test_marginal_pattern_compares_report_figure_with_interval(crosstab_run):
    m2 = crosstab_run.query("finding_id == 'M2' and method == 'crosstab'").iloc[0]
    assert m2["report_value"] == 0.82
    assert m2["ci_lower"] < m2["estimate"] < m2["ci_upper"]
    inside = m2["ci_lower"] <= 0.82 <= m2["ci_upper"]
    assert m2["verdict"] == ("consistent" if inside else "differs from report")


def test_design_difference_reduces_to_wald_with_unit_weights():
    # With unit weights and every row its own PSU the linearisation variance of a difference of
    # domain proportions is n/(n-1) times the textbook Wald variance (an exact identity).
    rng = np.random.default_rng(7)
    n = 300
    y = pd.Series((rng.random(n) < 0.4).astype(float))
    g = pd.Series((rng.random(n) < 0.5).astype(float))
    d = SurveyDesign(pd.DataFrame({"w": np.ones(n)}), weights="w")
    diff, se = _design_diff(d, y, g)
    p1, p0 = y[g == 1].mean(), y[g == 0].mean()
    n1, n0 = int((g == 1).sum()), int((g == 0).sum())
    wald = np.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
    assert diff == pytest.approx(p1 - p0, rel=1e-12)
    assert se == pytest.approx(wald * np.sqrt(n / (n - 1)), rel=1e-10)


def test_ordinal_method_odds_ratio_matches_statsmodels(survey, frame):
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    from civmodels.replication import load_registry
    from civmodels.replication._methods import Task, run_method
    from civmodels.replication._outcomes import prepare_outcome

    f = load_registry().finding("F12")
    task = Task(
        finding=f,
        item="mot_cost_effectiveness",
        by="pressure_high",
        outcome=prepare_outcome(survey, "mot_cost_effectiveness", "top"),
        contrast=f.contrast,
        adjust=("log_population",),
    )
    out = run_method("ordinal", task, survey, None)
    x = pd.DataFrame({"hp": survey["pressure_high"].astype(float), "lp": survey["log_population"]})
    ref = OrderedModel(survey["mot_cost_effectiveness"], x, distr="logit").fit(
        method="bfgs", disp=0, maxiter=5000
    )
    # Same model, two optimisers: agreement to optimiser tolerance.
    assert out["estimate"] == pytest.approx(np.exp(ref.params["hp"]), rel=1e-4)
    assert out["estimate_type"] == "odds ratio"
    assert out["ci_lower"] < out["estimate"] < out["ci_upper"]


@pytest.mark.slow
@pytest.mark.bayes
def test_bayes_method_recovers_the_planted_direction(survey, frame):
    results: dict = {}
    out = run(
        survey,
        methods=["crosstab", "bayes"],
        frame=frame,
        findings=["F12", "F13"],
        results=results,
        random_seed=11,
    )
    b = out[out["method"] == "bayes"].set_index("finding_id")
    # planted: high pressure raises both items, so F12 is replicated and F13 reversed
    assert b.loc["F12", "prob_direction"] > 0.975
    assert b.loc["F12", "verdict"] == "replicated"
    assert b.loc["F13", "prob_direction"] < 0.025
    assert b.loc["F13", "verdict"] == "reversed"
    assert b.loc["F12", "estimate_type"] == "difference in proportions (MRP)"
    assert b.loc["F12", "ci_lower"] < b.loc["F12", "estimate"] < b.loc["F12", "ci_upper"]
    # the posterior tail probability plays the p-value's part, and agrees with the interval
    # (both differences are positive: F13 is reversed because its stated direction is 'lower')
    assert (b["p_value"] < 0.05).all() and (b["ci_lower"] > 0).all()
    draws = results[("F12", "mot_cost_effectiveness", "pressure_high", "bayes")]["draws"]
    assert draws.mean() == pytest.approx(b.loc["F12", "estimate"])


def test_design_difference_matches_r_survey():
    # Fixture: tests/reference/replication/make_design_diff.R (R survey 4.1-1, svyby +
    # svycontrast on a subset design). Same estimator, so agreement to rounding (1e-10).
    from pathlib import Path

    here = Path(__file__).resolve().parents[1] / "reference" / "replication"
    d = pd.read_csv(here / "design_diff_data.csv")
    ref = pd.read_csv(here / "design_diff_expected.csv").set_index("quantity")["value"]
    design = SurveyDesign(d, weights="w", cluster="municipality_code")
    diff, se = _design_diff(design, d["event"], d["group"].astype(float))
    assert diff == pytest.approx(ref["diff"], rel=1e-10)
    assert se == pytest.approx(ref["se_diff"], rel=1e-10)
    assert design.degf == ref["degf"]


@pytest.mark.slow
@pytest.mark.bayes
def test_bayes_no_difference_finding_uses_the_rope(survey, frame):
    out = run(survey, methods=["bayes"], frame=frame, findings=["F03"], random_seed=5)
    row = out.iloc[0]
    assert row["verdict"] in ("equivalent", "difference found", "inconclusive")
    assert row["margin"] == 0.10 and row["ci_level"] == pytest.approx(0.90)
    inside = -0.10 < row["ci_lower"] and row["ci_upper"] < 0.10
    assert (row["verdict"] == "equivalent") == inside
    assert (row["p_value"] < 0.05) == inside
    assert row["family"] == "equivalence (bayes)"


@pytest.mark.slow
@pytest.mark.bayes
def test_bayes_rope_on_f15_through_extra_tests(survey, frame):
    # one key outcome only (the others are 'not testable'), so two fits: region and bloc
    key = ["policy_strategy", "n_ongoing_collaborations", "mot_cost_effectiveness"]
    key += ["mot_quality", "mot_trust", "mot_reduce_expenditure"]
    data = survey.drop(columns=[c for c in key if c in survey.columns])
    out = run(
        data,
        methods=["bayes"],
        frame=frame,
        findings=["F15"],
        random_seed=5,
        extra_tests={"F15": ["bayes"]},
    )
    tested = out[out["verdict"] != "not testable"]
    assert sorted(tested["by"]) == ["bloc", "region"]
    for row in tested.itertuples():
        assert row.verdict in ("equivalent", "difference found", "inconclusive")
        assert row.margin == 0.10
        inside = -0.10 < row.ci_lower and row.ci_upper < 0.10
        assert (row.verdict == "equivalent") == inside
        assert row.family == "equivalence (bayes)"
