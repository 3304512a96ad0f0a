"""Raking and calibration against R survey 4.1-1 (rake, postStratify, calibrate).

Tolerances: R's rake stops when weighted counts move by < 1e-12 · Σw and ours when margins
are within 1e-10 of the total, so raked weights agree to rtol 1e-6 (iterative, different
stopping rules). Post-stratification and unbounded GREG are closed form: rtol 1e-9. Bounded
calibrations are Newton iterations run to 1e-10 in both: rtol 1e-7.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from civmodels.design import SurveyDesign
from civmodels.exceptions import DesignError, WeightWarning
from civmodels.nonresponse import calibrate, rake
from tests.survey_reference import load, reference

POP_TYPES = {"E": 4421, "H": 755, "M": 1018}
POP_SCHWIDE = {"No": 1072, "Yes": 5122}
LIN_TOTALS = {"stype": {"E": 6194 - 755 - 1018, "H": 755, "M": 1018}, "api99": 3914069}


@pytest.fixture(scope="module")
def clus1() -> pd.DataFrame:
    return load("api_clus1")


def test_rake_matches_r(clus1):
    w = rake(clus1, {"stype": POP_TYPES, "sch.wide": POP_SCHWIDE}, weights="pw", tol=1e-10)
    assert w.index.equals(clus1.index)
    np.testing.assert_allclose(w.to_numpy(), reference()["rake_weights"], rtol=1e-6)
    for var, pop in (("stype", POP_TYPES), ("sch.wide", POP_SCHWIDE)):
        got = w.groupby(clus1[var]).sum()
        np.testing.assert_allclose(got.to_numpy(), [pop[k] for k in got.index], rtol=1e-9)


def test_single_margin_is_poststratification(clus1):
    w = rake(clus1, {"stype": POP_TYPES}, weights="pw")
    np.testing.assert_allclose(w.to_numpy(), reference()["poststrat_weights"], rtol=1e-9)


def test_rake_default_weights_and_array_weights(clus1):
    w1 = rake(clus1, {"stype": POP_TYPES}, weights=clus1["pw"].to_numpy())
    w2 = rake(clus1, {"stype": POP_TYPES})  # base weights 1: post-strata get N_h / n_h
    np.testing.assert_allclose(w1, w2, rtol=1e-12)  # pw is constant in apiclus1


@pytest.mark.parametrize(
    ("method", "bounds", "key", "rtol"),
    [
        ("linear", None, "calib_linear_weights", 1e-9),
        ("linear", (0.7, 1.7), "calib_linear_bounded_weights", 1e-7),
        ("raking", (0.7, 1.7), "calib_raking_bounded_weights", 1e-7),
        ("logit", (0.7, 1.7), "calib_logit_bounded_weights", 1e-7),
    ],
)
def test_calibrate_matches_r(clus1, method, bounds, key, rtol):
    w = calibrate(
        clus1, LIN_TOTALS, weights="pw", method=method, bounds=bounds, max_iter=200, tol=1e-10
    )
    np.testing.assert_allclose(w.to_numpy(), reference()[key], rtol=rtol)
    np.testing.assert_allclose((w * clus1["api99"]).sum(), LIN_TOTALS["api99"], rtol=1e-8)
    if bounds:
        g = w / clus1["pw"]
        assert g.min() >= bounds[0] - 1e-12 and g.max() <= bounds[1] + 1e-12


def test_bounded_rake_respects_bounds(clus1):
    w = rake(
        clus1,
        {"stype": POP_TYPES, "sch.wide": POP_SCHWIDE},
        weights="pw",
        bounds=(0.5, 2.0),
    )
    g = w / clus1["pw"]
    assert g.min() >= 0.5 - 1e-12 and g.max() <= 2.0 + 1e-12
    np.testing.assert_allclose(w.groupby(clus1["stype"]).sum()["H"], 755, rtol=1e-6)


def test_errors(clus1):
    with pytest.raises(DesignError, match="totals disagree"):
        rake(clus1, {"stype": POP_TYPES, "sch.wide": {"No": 1, "Yes": 2}})
    with pytest.raises(DesignError, match=r"'M' not in margins\['stype'\]"):
        rake(clus1, {"stype": {"E": 4421, "H": 755}})
    with pytest.raises(DesignError, match="empty cell"):
        rake(clus1, {"stype": {**POP_TYPES, "X": 10}})
    bad = clus1.assign(pw=clus1["pw"].where(clus1.index != 3, -1.0))
    with pytest.raises(DesignError, match=r"weights column 'pw' has 1 negative value.*row 3"):
        rake(bad, {"stype": POP_TYPES}, weights="pw")
    with pytest.raises(DesignError, match="infinite"):
        calibrate(clus1.assign(pw=np.inf), LIN_TOTALS, weights="pw")
    with pytest.raises(DesignError, match="did you mean 'stype'"):
        rake(clus1, {"stypes": POP_TYPES})
    with pytest.raises(DesignError, match="missing values"):
        rake(clus1.assign(stype=clus1["stype"].where(clus1.index != 0)), {"stype": POP_TYPES})
    with pytest.raises(DesignError, match="did not converge"):
        rake(clus1, {"stype": POP_TYPES, "sch.wide": POP_SCHWIDE}, max_iter=1, tol=1e-14)
    with pytest.raises(DesignError, match="worst margin"):
        calibrate(clus1, LIN_TOTALS, weights="pw", method="raking", bounds=(0.99, 1.01))
    with pytest.raises(DesignError, match="finite bounds"):
        calibrate(clus1, LIN_TOTALS, weights="pw", method="logit")


def test_rake_infeasible_sparse_cells_names_margin():
    """A structural zero makes margins unreachable: IPF stalls and the error names a margin."""
    df = pd.DataFrame({"a": ["x", "x", "y"], "b": ["u", "v", "v"]})
    with pytest.raises(DesignError, match=r"margin '(a|b)'"):
        rake(df, {"a": {"x": 10, "y": 90}, "b": {"u": 80, "v": 20}}, max_iter=50)


# --- variance of calibrated estimators (R svymean on rake / postStratify / calibrate designs);
# closed-form given the weights, which agree to ~1e-8, so rtol 1e-6.
@pytest.fixture(scope="module")
def raked(clus1):
    w = rake(clus1, {"stype": POP_TYPES, "sch.wide": POP_SCHWIDE}, weights="pw", tol=1e-12)
    return SurveyDesign(
        clus1.assign(w=w),
        weights="w",
        cluster="dnum",
        fpc="fpc",
        calibrated_on=["stype", "sch.wide"],
    )


def _check(est, ref, rtol=1e-6):
    np.testing.assert_allclose(est.estimate.to_numpy(), ref["estimate"], rtol=rtol)
    np.testing.assert_allclose(est.std_error.to_numpy(), ref["se"], rtol=rtol)


def test_raked_design_variance(raked):
    ref = reference()
    _check(raked.mean("api00"), ref["rake_mean_api00"])
    _check(raked.mean("awards"), ref["rake_prop_awards"])
    _check(raked.subset("stype == 'E'").mean("api00"), ref["rake_subset_E"])
    # calibration removes the variance due to the margins: smaller than treating w as fixed
    fixed = SurveyDesign(raked.data, weights="w", cluster="dnum", fpc="fpc")
    assert raked.mean("api00").std_error.iloc[0] < fixed.mean("api00").std_error.iloc[0]
    # a raking variable itself is known exactly after raking
    np.testing.assert_allclose(raked.mean("stype").std_error, 0.0, atol=1e-10)


def test_poststratified_design_variance(clus1):
    w = rake(clus1, {"stype": POP_TYPES}, weights="pw")
    d = SurveyDesign(
        clus1.assign(w=w), weights="w", cluster="dnum", fpc="fpc", calibrated_on=["stype"]
    )
    _check(d.mean("api00"), reference()["poststrat_mean_api00"])


@pytest.mark.parametrize(
    ("method", "bounds", "key"),
    [
        ("linear", None, "calib_linear_mean_api00"),
        ("raking", (0.7, 1.7), "calib_raking_bounded_mean_api00"),
    ],
)
def test_greg_design_variance(clus1, method, bounds, key):
    w = calibrate(
        clus1, LIN_TOTALS, weights="pw", method=method, bounds=bounds, max_iter=200, tol=1e-10
    )
    d = SurveyDesign(
        clus1.assign(w=w),
        weights="w",
        cluster="dnum",
        fpc="fpc",
        calibrated_on=["stype", "api99"],
        calibration="linear",
        base_weights="pw",
    )
    _check(d.mean("api00"), reference()[key])


def test_calibrated_design_errors(clus1):
    with pytest.raises(DesignError, match="needs base_weights"):
        SurveyDesign(clus1, weights="pw", calibrated_on=["stype"], calibration="linear")
    with pytest.raises(DesignError, match="looks continuous"):
        SurveyDesign(clus1, weights="pw", calibrated_on=["api99"])
    with pytest.raises(DesignError, match="choose 'raking' or 'linear'"):
        SurveyDesign(clus1, weights="pw", calibrated_on=["stype"], calibration="greg")


def test_margins_from_frame():
    from civmodels.nonresponse import margins_from_frame

    frame = pd.DataFrame(
        {"a": pd.Categorical(["x", "x", "y"], categories=["x", "y", "z"]), "n": [2.0, 3.0, 5.0]}
    )
    assert margins_from_frame(frame, ["a"]) == {"a": {"x": 2.0, "y": 1.0}}
    assert margins_from_frame(frame, ["a"], weights="n") == {"a": {"x": 5.0, "y": 5.0}}
    with pytest.raises(DesignError, match="missing values"):
        margins_from_frame(
            frame.assign(a=frame["a"].astype(object).where([True, False, True])), ["a"]
        )


# ----------------------------------------------------------------------------- speaking up
def test_inconsistent_total_giving_negative_weights_is_refused_naming_the_cells(clus1):
    # api99 total far below what the sample implies: GREG pushes some weights below 0
    bad = {**LIN_TOTALS, "api99": 1.0e6}
    with pytest.raises(DesignError, match=r"negative weights .* in stype=\w .*bounds="):
        calibrate(clus1, bad, weights="pw")
    with pytest.warns(WeightWarning, match="negative weights"):
        w = calibrate(clus1, bad, weights="pw", negative="warn", max_factor=None)
    assert (w < 0).any()
    # bounded raking distance keeps every factor positive (or fails to converge loudly)
    with pytest.raises(DesignError, match=r"did not converge|worst margin"):
        calibrate(clus1, bad, weights="pw", method="raking", bounds=(0.2, 5))


def test_extreme_adjustment_factors_warn_naming_the_cells(clus1):
    # ask for about 12 times the sample share of high schools
    skewed = {"stype": {"E": 400, "H": 5600, "M": 194}}
    with pytest.warns(WeightWarning, match=r"extreme adjustment factors.*stype=H \(14 rows"):
        rake(clus1, skewed, weights="pw")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rake(clus1, skewed, weights="pw", max_factor=None)  # silenced on request
        rake(clus1, {"stype": POP_TYPES}, weights="pw")  # ordinary raking: no warning


def test_margins_that_look_like_proportions_are_refused_or_declared(clus1):
    shares = {k: v / 6194 for k, v in POP_TYPES.items()}
    with pytest.raises(DesignError, match=r"look like proportions.*margins_are='proportions'"):
        rake(clus1, {"stype": shares}, weights="pw")
    w = rake(clus1, {"stype": shares}, weights="pw", margins_are="proportions", population=6194)
    np.testing.assert_allclose(w, rake(clus1, {"stype": POP_TYPES}, weights="pw"), rtol=1e-9)
    w_default = rake(clus1, {"stype": shares}, weights="pw", margins_are="proportions")
    assert w_default.sum() == pytest.approx(clus1["pw"].sum())
    with pytest.raises(DesignError, match="do not add up to 1"):
        rake(clus1, {"stype": POP_TYPES}, margins_are="proportions")
    c = calibrate(
        clus1,
        {"stype": shares, "api99": 3914069 / 6194},
        weights="pw",
        margins_are="proportions",
        population=6194,
    )
    np.testing.assert_allclose(c, calibrate(clus1, LIN_TOTALS, weights="pw"), rtol=1e-9)


def test_zero_starting_weights_stay_zero_and_are_counted(clus1):
    w0 = clus1["pw"].where(clus1["dnum"] != clus1["dnum"].iloc[0], 0.0)
    w = rake(clus1, {"stype": POP_TYPES}, weights=w0.to_numpy())
    zero = (w0 == 0).to_numpy()
    assert (w[zero] == 0).all() and w.attrs["n_zero_weight"] == zero.sum()
    np.testing.assert_allclose(
        w.groupby(clus1["stype"]).sum()[list(POP_TYPES)], list(POP_TYPES.values())
    )
    c = calibrate(clus1, LIN_TOTALS, weights=w0.to_numpy())
    assert (c[zero] == 0).all() and c.attrs["n_zero_weight"] == zero.sum()
    only_e = np.where(clus1["stype"] == "H", 0.0, 1.0)
    with pytest.raises(
        DesignError, match="'H' with a positive population total but no row with a positive weight"
    ):
        rake(clus1, {"stype": POP_TYPES}, weights=only_e)
