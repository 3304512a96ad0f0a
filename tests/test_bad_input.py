"""Bad input is refused with a message naming the user's columns (issue 12, "Bad input")."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import civmodels as cm
from civmodels import bayes


@pytest.fixture
def df() -> pd.DataFrame:
    rng = np.random.default_rng(12)
    n = 240
    x = rng.normal(size=n)
    eta = 0.8 * x + rng.logistic(size=n)
    return pd.DataFrame(
        {
            "y": pd.Categorical(np.digitize(eta, [-1.0, 0.0, 1.0]), ordered=True),
            "z": (eta > 0).astype(int),
            "x": x,
            "g": rng.choice(["a", "b", "c"], n),
            "grp": rng.integers(0, 12, n),
            "cl": rng.integers(0, 20, n),
        }
    )


MODELS = {
    "Ordinal": lambda d, f: cm.Ordinal("y ~ " + f, data=d),
    "Logistic": lambda d, f: cm.Logistic("z ~ " + f, data=d),
    "MixedOrdinal": lambda d, f: cm.Ordinal("y ~ " + f + " + (1 | grp)", data=d),
    "MixedLogistic": lambda d, f: cm.Logistic("z ~ " + f + " + (1 | grp)", data=d),
    "BayesOrdinal": lambda d, f: bayes.Ordinal("y ~ " + f + " + (1 | grp)", data=d),
    "BayesLogistic": lambda d, f: bayes.Logistic("z ~ " + f + " + (1 | grp)", data=d),
}


@pytest.mark.parametrize("make", MODELS.values(), ids=MODELS.keys())
@pytest.mark.parametrize("value", [np.inf, -np.inf])
def test_infinite_predictor_named_and_refused(df, make, value):
    d = df.copy()
    d.loc[[5, 9, 30], "x"] = value
    with pytest.raises(cm.DataError, match=r"column 'x' has 3 infinite values.*first at index 5"):
        make(d, "x + g")


@pytest.mark.parametrize("dtype", ["float64", "Float64", "float32", "double[pyarrow]"])
def test_infinite_value_refused_in_every_float_dtype_and_missing_counted(df, dtype):
    # an infinite value is refused whatever the float dtype, also next to missing values;
    # without it the missing values are dropped and counted
    d = df.assign(x=df["x"].astype(dtype))
    d.loc[[3, 4], "x"] = np.nan
    d.loc[11, "x"] = -np.inf
    with pytest.raises(cm.DataError, match=r"column 'x' has 1 infinite values.*first at index 11"):
        cm.Logistic("z ~ x + g", data=d)
    d.loc[11, "x"] = 0.5
    res = cm.Logistic("z ~ x + g", data=d).fit()
    assert res.nobs == len(d) - 2


def test_infinite_value_in_random_slope_column_refused(df):
    d = df.assign(s=df["x"])
    d.loc[7, "s"] = np.inf
    with pytest.raises(cm.DataError, match="column 's' has 1 infinite"):
        cm.Logistic("z ~ x + (1 | grp) + (0 + s | grp)", data=d)


def test_infinite_design_column_from_a_transformation_named(df):
    d = df.assign(w=np.exp(df["x"]))
    d.loc[4, "w"] = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # numpy's "divide by zero in log"
        with pytest.raises(cm.DataError, match=r"design column 'np.log\(w\)' has 1 non-finite"):
            cm.Logistic("z ~ np.log(w) + g", data=d)


def test_infinite_battery_predictor_refused(df):
    d = df.assign(y2=df["y"])
    d.loc[3, "x"] = np.inf
    with pytest.raises(cm.DataError, match="column 'x' has 1 infinite"):
        bayes.Battery(["y", "y2"], "~ x + (1 | grp)", d)


@pytest.mark.parametrize(
    ("make", "formula"),
    [(cm.Ordinal, "y ~ x + g"), (cm.Logistic, "z ~ x + g")],
    ids=["Ordinal", "Logistic"],
)
@pytest.mark.parametrize("as_array", [False, True], ids=["column", "array"])
def test_duplicated_index_with_cluster_matches_positions(df, make, formula, as_array):
    d = df.copy()
    d.loc[[2, 50], "x"] = np.nan  # dropped rows must not shift the clusters
    clean = d.reset_index(drop=True)
    dup = d.set_axis(np.r_[np.arange(120), np.arange(120)])
    assert dup.index.has_duplicates

    def cl(data):
        return data["cl"].to_numpy() if as_array else "cl"

    ref = make(formula, data=clean).fit(cov_type="cluster", cluster=cl(clean))
    got = make(formula, data=dup).fit(cov_type="cluster", cluster=cl(dup))
    np.testing.assert_allclose(got.params, ref.params, rtol=1e-10)
    np.testing.assert_allclose(got.std_errors, ref.std_errors, rtol=1e-10)
    assert got.n_clusters == ref.n_clusters == 20
    assert got.nobs == ref.nobs == 238
    got.summary()


@pytest.mark.parametrize("make", MODELS.values(), ids=MODELS.keys())
@pytest.mark.parametrize("value", [1.0, "k"], ids=["number", "text"])
def test_constant_predictor_named(df, make, value):
    d = df.assign(c=value)
    d.loc[0, "c"] = np.nan  # constant among the rows used
    with pytest.raises(
        cm.SpecificationError,
        match=rf"predictor column 'c' is constant .*239 rows used has the value {value!r}",
    ):
        make(d, "x + g + c")


@pytest.mark.parametrize("make", MODELS.values(), ids=MODELS.keys())
def test_collinear_numeric_predictor_named(df, make):
    # w = 2x - 1: collinear with x and the intercept (the thresholds, for ordinal models)
    match = r"(collinear|add up to a constant): column 'w' can be written"
    with pytest.raises(cm.SpecificationError, match=match):
        make(df.assign(w=2 * df["x"] - 1), "x + g + w")


@pytest.mark.parametrize("make", [cm.Ordinal, bayes.Ordinal], ids=["Ordinal", "BayesOrdinal"])
def test_ordinal_predictors_adding_up_to_a_constant_named(df, make):
    d = df.assign(w=2 * df["x"] - 1)
    with pytest.raises(cm.SpecificationError, match=r"add up to a constant: column 'w' can"):
        make("y ~ x + w", data=d)
    with pytest.raises(cm.SpecificationError, match=r"column 'g', levels \['g\[c\]'\]"):
        make("y ~ 0 + g + x", data=d)


def test_collinear_factor_named_by_its_column(df):
    with pytest.raises(
        cm.SpecificationError,
        match=r"collinear: column 'h' can be written.*design columns \['h\[T.b\]', 'h\[T.c\]'\]",
    ):
        cm.Ordinal("y ~ x + g + h", data=df.assign(h=df["g"]))


def test_collinear_transformed_term_names_the_column(df):
    d = df.assign(w=np.exp(df["x"]))
    with pytest.raises(
        cm.SpecificationError, match=r"collinear: term 'np.log\(w\)' \(column 'w'\) can be"
    ):
        cm.Logistic("z ~ x + np.log(w) + C(g)", data=d)


def test_zero_sandwich_variance_is_not_estimable():
    from civmodels.design import not_estimable

    vc = np.array([[0.04, 0.0, 0.01], [0.0, 0.0, 0.0], [0.01, 0.0, 0.09]])
    vc[1, 1] = 1e-40  # zero up to rounding
    ref = np.diag([0.05, 0.02, 0.1])
    with pytest.warns(UserWarning, match=r"standard error of \['d'\] is 0, so it is not est"):
        out = not_estimable(vc, ref, ["a", "d", "b"])
    assert np.isnan(out[1]).all() and np.isnan(out[:, 1]).all()
    np.testing.assert_array_equal(out[np.ix_([0, 2], [0, 2])], vc[np.ix_([0, 2], [0, 2])])
    ok = np.diag([1e-6, 0.02, 0.1])  # small but not negligible against the reference
    assert not_estimable(ok, ref, ["a", "d", "b"]) is ok


@pytest.mark.parametrize(
    ("make", "formula", "terms"),
    [(cm.Logistic, "z ~ x", "'Intercept', 'x'"), (cm.Ordinal, "y ~ x", "'0|1', .*'x'")],
    ids=["Logistic", "Ordinal"],
)
def test_cluster_sandwich_of_identical_clusters_is_nan_not_zero(make, formula, terms):
    # every cluster is a copy of the same rows: the weighted score totals of the clusters
    # are identical, so the design-based (centred) meat is exactly 0
    rng = np.random.default_rng(3)
    x = rng.normal(size=30)
    eta = 0.7 * x + rng.logistic(size=30)
    base = pd.DataFrame(
        {
            "z": (eta > 0).astype(int),
            "x": x,
            "y": pd.Categorical(np.digitize(eta, [-1.0, 0.0, 1.0]), ordered=True),
        }
    )
    df = pd.concat([base.assign(cl=c) for c in range(5)], ignore_index=True).assign(w=2.0)
    with pytest.warns(UserWarning, match=rf"cluster-robust sandwich standard error of \[{terms}\]"):
        res = make(formula, data=df, weights="w").fit(cov_type="cluster", cluster="cl")
    assert res.std_errors.isna().all()
    assert np.isfinite(res.params).all()
    res.summary()
