"""Rao–Scott tests against R survey::svychisq (survey 4.1-1).

Tolerances: everything is closed-form linear algebra; rtol 1e-8 (F, df, p) allows for the
eigen/solve route differing from R's qr-based one. p-values far in the tail (< 1e-30) are
compared on the log scale.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from civmodels.crosstab import crosstab
from civmodels.design import SurveyDesign
from civmodels.exceptions import DesignError
from civmodels.nonresponse import crosstab as reexported
from tests.survey_reference import load, reference

RTOL = 1e-8

DESIGNS = {
    "clus1": lambda: SurveyDesign(load("api_clus1"), weights="pw", cluster="dnum", fpc="fpc"),
    "strat": lambda: SurveyDesign(load("api_strat"), weights="pw", strata="stype", fpc="fpc"),
    "stratclus": lambda: SurveyDesign(
        load("api_strat"), weights="pw", strata="stype", cluster="dnum"
    ),
    "sim": lambda: SurveyDesign(load("sim_survey"), weights="w", cluster="municipality"),
    "twostage": lambda: SurveyDesign(
        load("sim_survey"),
        weights="w",
        cluster=["municipality", "position"],
        fpc=["n_municipalities", "n_positions"],
    ),
}
CASES = [
    ("chisq_clus1_schwide_stype", "clus1", "sch.wide", "stype", False),
    ("chisq_clus1_awards_compimp", "clus1", "awards", "comp.imp", False),
    ("chisq_strat_awards_stype", "strat", "awards", "stype", False),
    ("chisq_stratclus_yrrnd_stype", "stratclus", "yr.rnd", "stype", False),
    ("chisq_sim_pressure_mot", "sim", "pressure_high", "mot", True),
    ("chisq_sim_area_mot", "sim", "area", "mot", True),
    ("chisq_twostage_area_mot", "twostage", "area", "mot", True),
]


def close_p(a: float, b: float) -> None:
    if b < 1e-30:
        np.testing.assert_allclose(np.log(a), np.log(b), rtol=1e-6)
    else:
        np.testing.assert_allclose(a, b, rtol=RTOL)


@pytest.mark.parametrize(("key", "design", "row", "col", "has_na"), CASES)
def test_against_svychisq(key, design, row, col, has_na):
    ref = reference()[key]
    ct = crosstab(DESIGNS[design](), row, col)
    f = ct.test("rao-scott")
    np.testing.assert_allclose(f.statistic, ref["F"], rtol=RTOL)
    np.testing.assert_allclose(f.df, (ref["ndf"], ref["ddf"]), rtol=RTOL)
    close_p(f.p_value, ref["p_F"])
    first = ct.test("rao-scott-1")
    assert first.df == ref["df_chisq"]
    close_p(first.p_value, ref["p_chisq"])
    assert ct.test("chisq").p_value == first.p_value
    if not has_na:
        # R rescales the table to all rows, including rows with a missing value; we use the
        # rows with both observed, so the raw X² agrees only without missing values.
        np.testing.assert_allclose(first.pearson, ref["X2"], rtol=RTOL)
        close_p(ct.test("pearson").p_value, ref["pearson_p"])
    else:
        assert ct.n_dropped == int(ct.design.data[[row, col]].isna().any(axis=1).sum()) > 0


def test_table_and_proportions():
    d = DESIGNS["clus1"]()
    ct = reexported(d, "sch.wide", "stype")
    assert ct.table.shape == (2, 3)
    np.testing.assert_allclose(ct.table.to_numpy().sum(), d.weights.sum())
    np.testing.assert_allclose(ct.proportions.to_numpy().sum(), 1.0)
    np.testing.assert_allclose(ct.row_proportions().sum(axis=1), 1.0)
    np.testing.assert_allclose(ct.col_proportions().sum(axis=0), 1.0)
    # cell SEs equal those of the design mean of the cell indicator
    cell = (d.data["sch.wide"] == "Yes") & (d.data["stype"] == "H")
    sub = SurveyDesign(
        d.data.assign(cell=cell.astype(float)), weights="pw", cluster="dnum", fpc="fpc"
    )
    np.testing.assert_allclose(ct.std_errors.loc["Yes", "H"], sub.mean("cell").std_error.iloc[0])
    assert ct.counts.to_numpy().sum() == d.n_obs
    assert "Rao–Scott F" in str(ct.summary())


def test_rao_scott_size_under_independence():
    """Under independence with clustering the Rao–Scott F rejects near 5%; Pearson over-rejects."""
    rng = np.random.default_rng(2024)
    n_cl, m = 40, 8
    rej_rs = rej_p = 0
    reps = 200
    for _ in range(reps):
        cl = np.repeat(np.arange(n_cl), m)
        a = np.repeat(rng.random(n_cl) < 0.5, m) ^ (rng.random(n_cl * m) < 0.15)
        b = np.repeat(rng.random(n_cl) < 0.4, m) ^ (rng.random(n_cl * m) < 0.15)
        df = pd.DataFrame({"cl": cl, "a": a.astype(int), "b": b.astype(int)})
        ct = crosstab(SurveyDesign(df, cluster="cl"), "a", "b")
        rej_rs += ct.test().p_value < 0.05
        rej_p += ct.test("pearson").p_value < 0.05
    assert rej_rs / reps < 0.10
    # binomial sd of a rejection rate near 5% at 200 reps is 0.015
    assert rej_p / reps > 0.12


def test_dont_know_policies():
    df = pd.DataFrame(
        {
            "g": np.tile([0, 1], 30),
            "cl": np.repeat(np.arange(15), 4),
            "q": np.tile([1.0, 2.0, 2.0, 1.0, np.nan, 2.0], 10),
            "q_dk": np.tile([False, False, False, False, True, False], 10),
        }
    )
    d = SurveyDesign(df, cluster="cl")
    assert crosstab(d, "g", "q", dont_know="missing").nobs == 50
    cat = crosstab(d, "g", "q", dont_know="category")
    assert "Ved ikke" in cat.table.columns and cat.nobs == 60
    drop = crosstab(d, "g", "q", dont_know="drop")
    assert drop.nobs == 50 and drop.dont_know_report.n_rows_dropped == 10


def test_errors():
    d = DESIGNS["clus1"]()
    with pytest.raises(DesignError, match="did you mean"):
        crosstab(d, "sch.wid", "stype")
    with pytest.raises(DesignError, match="choose 'rao-scott'"):
        crosstab(d, "sch.wide", "stype").test("wald")
    with pytest.raises(DesignError, match="at least 2 observed levels"):
        crosstab(d.subset("stype == 'E'"), "sch.wide", "stype")
    with pytest.raises(DesignError, match="must be a SurveyDesign"):
        crosstab(d.data, "sch.wide", "stype")
    census = SurveyDesign(
        load("sim_survey"), weights="w", cluster="municipality", fpc="n_municipalities"
    )
    with pytest.raises(DesignError, match="census of clusters"):
        crosstab(census, "pressure_high", "mot").test()


def test_zero_variance_without_fpc_does_not_blame_the_fpc():
    # every PSU has identical cell shares, so the design variance is exactly zero
    one = pd.DataFrame(
        {"r": list("aabb") * 3, "c": list("xyxy") * 3, "psu": np.repeat([1, 2, 3], 4)}
    )
    with pytest.raises(DesignError, match="same 'r' × 'c' cell shares") as err:
        crosstab(SurveyDesign(one, cluster="psu"), "r", "c").test()
    assert "census" not in str(err.value) and "fpc" not in str(err.value)


def test_degenerate_design_effects_fall_back_to_first_order_with_a_note(monkeypatch):
    tab = crosstab(DESIGNS["clus1"](), "sch.wide", "stype")
    ok = tab.test()
    assert ok.method == "rao-scott" and ok.note == "" and ok.ddf > 0
    # design effects with a negative eigenvalue (an indefinite estimated covariance) make the
    # Satterthwaite df meaningless: the test says so and reports the first-order version
    delta = np.diag([1.8, -0.3])
    monkeypatch.setattr(type(tab), "_delta", lambda self, n: delta)
    t = tab.test()
    assert t.method == "rao-scott-1" and "degenerate" in t.note
    assert t.statistic == pytest.approx(t.pearson / (np.trace(delta) / 2))
    assert np.isfinite(t.p_value) and t.df == 2.0
    s = tab.summary()
    assert "Rao–Scott F" not in s.info and any("degenerate" in n for n in s.notes)
