"""SurveyDesign linearisation and sandwich estimators, checked against closed forms."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from civmodels.design import SurveyDesign, sandwich
from civmodels.exceptions import DesignError


def test_srs_total_variance_is_n_times_sample_variance():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"z": rng.normal(size=40)})
    d = SurveyDesign(df)
    v = d.total_vcov(df["z"].to_numpy())
    # with-replacement SRS: Var(total) = n * s^2
    assert v[0, 0] == pytest.approx(40 * df["z"].var(ddof=1))


def test_fpc_as_population_count_and_as_fraction_agree():
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"z": rng.normal(size=30), "N": 120, "f": 30 / 120})
    v1 = SurveyDesign(df, fpc="N").total_vcov(df["z"].to_numpy())
    v2 = SurveyDesign(df, fpc="f").total_vcov(df["z"].to_numpy())
    v0 = SurveyDesign(df).total_vcov(df["z"].to_numpy())
    assert v1[0, 0] == pytest.approx(v2[0, 0])
    assert v1[0, 0] == pytest.approx(v0[0, 0] * (1 - 0.25))


def test_clusters_aggregate_before_variance():
    df = pd.DataFrame({"z": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], "psu": [1, 1, 2, 2, 3, 3]})
    d = SurveyDesign(df, cluster="psu")
    totals = np.array([3.0, 7.0, 11.0])
    expected = 3 / 2 * ((totals - totals.mean()) ** 2).sum()
    assert d.total_vcov(df["z"].to_numpy())[0, 0] == pytest.approx(expected)
    assert d.n_psu == 3 and d.degf == 2


def test_domain_rows_keep_their_psu():
    df = pd.DataFrame({"z": [1.0, 2.0, 3.0, 4.0], "psu": [1, 1, 2, 2]})
    d = SurveyDesign(df, cluster="psu")
    v = d.total_vcov(np.array([1.0, 3.0]), index=pd.Index([0, 2]))
    totals = np.array([1.0, 3.0])
    assert v[0, 0] == pytest.approx(2 * ((totals - 2.0) ** 2).sum())


def test_lonely_psu_options():
    df = pd.DataFrame({"z": [1.0, 2.0, 3.0], "st": ["a", "b", "b"], "psu": [1, 2, 3]})
    with pytest.raises(DesignError, match="single PSU"):
        SurveyDesign(df, strata="st", cluster="psu")
    d = SurveyDesign(df, strata="st", cluster="psu", lonely_psu="certainty")
    v = d.total_vcov(df["z"].to_numpy())[0, 0]
    assert v == pytest.approx(2 * ((np.array([2.0, 3.0]) - 2.5) ** 2).sum())
    d_adj = SurveyDesign(df, strata="st", cluster="psu", lonely_psu="adjust")
    assert d_adj.total_vcov(df["z"].to_numpy())[0, 0] > v


def test_bad_weights_and_missing_clusters_raise():
    df = pd.DataFrame({"w": [1.0, -0.5, 2.0], "c": [1, None, 2]})
    with pytest.raises(DesignError, match=r"weights column 'w' has 1 negative value.*row 1"):
        SurveyDesign(df, weights="w")
    with pytest.raises(DesignError, match="cluster has 1 missing"):
        SurveyDesign(df.assign(w=1.0), weights="w", cluster="c")
    with pytest.raises(DesignError, match="not a column"):
        SurveyDesign(df, weights="weight")


def test_sandwich_matches_ols_hc1_and_cr1():
    rng = np.random.default_rng(5)
    n = 200
    X = np.column_stack([np.ones(n), rng.normal(size=n)])
    g = rng.integers(0, 20, n)
    y = X @ [1.0, 2.0] + rng.normal(size=n) * (1 + np.abs(X[:, 1]))
    beta = np.linalg.lstsq(X, y, rcond=None)[0]
    resid = y - X @ beta
    bread_inv = np.linalg.inv(X.T @ X)
    scores = X * resid[:, None]
    ols = sm.OLS(y, X)
    hc1 = ols.fit(cov_type="HC1").cov_params()
    np.testing.assert_allclose(sandwich(bread_inv, scores), hc1, rtol=1e-10)
    cr1 = ols.fit(cov_type="cluster", cov_kwds={"groups": g}).cov_params()
    np.testing.assert_allclose(sandwich(bread_inv, scores, g), cr1, rtol=1e-10)


@pytest.mark.parametrize(
    ("bad", "what"),
    [
        (np.nan, "missing or non-numeric"),
        (np.inf, "infinite"),
        (-np.inf, "infinite"),
        ("x", "missing or non-numeric"),
        (-1.0, "negative"),
    ],
)
def test_weights_that_are_not_finite_and_non_negative_are_named(bad, what):
    w = pd.Series([1.0, 2.0, bad, 1.0], dtype=object)
    df = pd.DataFrame({"w": w.to_numpy(), "z": [1.0, 2.0, 3.0, 4.0]}, index=list("abcd"))
    with pytest.raises(DesignError, match=rf"'w' has 1 {what} value.*row 'c'"):
        SurveyDesign(df, weights="w")
    with pytest.raises(DesignError, match=rf"weights has 1 {what} value.*row 'c'"):
        SurveyDesign(df, weights=w.to_numpy())


def test_zero_weights_stay_in_the_design_but_leave_n_and_are_reported():
    df = pd.DataFrame({"z": [1.0, 2.0, 3.0, 10.0], "w": [1.0, 1.0, 1.0, 0.0]})
    d = SurveyDesign(df, weights="w")
    assert d.n_zero_weight == 1 and "1 rows with weight 0" in repr(d)
    m = d.mean("z")
    assert m.estimate.iloc[0] == pytest.approx(2.0)
    assert m.n.iloc[0] == 3 and m.n_zero_weight == 1
    assert m.summary().info["Rows with weight 0 (not in n)"] == 1
    with pytest.raises(DesignError, match="every weight is zero"):
        SurveyDesign(df.assign(w=0.0), weights="w")


def test_weights_series_is_matched_by_label_and_misalignment_says_how_to_attach():
    df = pd.DataFrame({"z": [1.0, 2.0, 3.0]}, index=[10, 11, 12])
    w = pd.Series([3.0, 2.0, 1.0], index=[12, 11, 10])
    d = SurveyDesign(df, weights=w)
    assert d.weights.tolist() == [1.0, 2.0, 3.0]
    other = pd.Series([1.0, 1.0], index=pd.Index([10, 99], name="position_id"))
    with pytest.raises(DesignError, match=r"2 of 3 data rows have no value.*pw\.attach\(survey\)"):
        SurveyDesign(df, weights=other)
