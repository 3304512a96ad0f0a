"""Logistic API: bad input, separation, covariance options, mixed-model dispatch."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import civmodels as cm


@pytest.fixture
def df() -> pd.DataFrame:
    rng = np.random.default_rng(4)
    n = 200
    x = rng.normal(size=n)
    g = rng.choice(["a", "b", "c"], n)
    z = (0.5 * x + rng.logistic(size=n) > 0).astype(int)
    return pd.DataFrame({"z": z, "x": x, "g": g, "cl": rng.integers(0, 20, n)})


def test_non_binary_outcome(df):
    with pytest.raises(cm.DataError, match=r"two-level|0/1"):
        cm.Logistic("y ~ x", data=df.assign(y=df["cl"] + 2))


def test_text_outcome(df):
    with pytest.raises(cm.DataError, match="categorical with the event as second level"):
        cm.Logistic("y ~ x", data=df.assign(y=np.where(df["z"] == 1, "yes", "no")))


def test_two_level_categorical_outcome(df):
    y = pd.Categorical(np.where(df["z"] == 1, "yes", "no"), categories=["no", "yes"])
    a = cm.Logistic("y ~ x", data=df.assign(y=y)).fit()
    b = cm.Logistic("z ~ x", data=df).fit()
    np.testing.assert_allclose(a.params, b.params)


def test_missing_rows_reported(df):
    d = df.copy()
    d.loc[:4, "x"] = np.nan
    res = cm.Logistic("z ~ x + g", data=d).fit()
    assert res.n_dropped == 5 and res.nobs == 195
    assert "5 of 200 rows dropped" in res.summary().notes[0]


def test_quasi_separation_named(df):
    d = df.assign(flag=((df["z"] == 1) & (df["x"] > 0.5)).astype(int))
    with pytest.warns(cm.SeparationWarning, match="flag = 1 are in the highest category 1"):
        res = cm.Logistic("z ~ x + flag", data=d).fit()
    assert res.params["flag"] > 10  # running off to infinity
    assert any("flag" in n for n in res.summary().notes)


def test_complete_separation(df):
    d = df.assign(z=(df["x"] > 0).astype(int))
    with pytest.raises(cm.SeparationError):
        cm.Logistic("z ~ x", data=d).fit()


def test_bad_weights(df):
    with pytest.raises(cm.DataError, match="negative"):
        cm.Logistic("z ~ x", data=df.assign(w=-1.0), weights="w")


def test_robust_and_cluster(df):
    m = cm.Logistic("z ~ x + g", data=df)
    r = m.fit(cov_type="robust")
    c = m.fit(cov_type="cluster", cluster="cl")
    np.testing.assert_allclose(r.params, c.params)
    assert "20 clusters" in c.cov_label
    with pytest.raises(cm.DataError, match="missing"):
        m.fit(cov_type="cluster", cluster=np.where(df.index == 3, np.nan, 1.0))


def test_random_terms_dispatch_to_mixed_engine(df):
    # fixed-effect options are rejected for random-effect formulas before any fitting
    with pytest.raises(cm.SpecificationError, match="laplace"):
        cm.Logistic("z ~ x + (1 | cl)", data=df).fit(method="newton")


def test_separation_by_continuous_predictor_named():
    # z = 1 exactly when x > 0; ties at x = 0 have both outcomes: quasi-complete separation
    rng = np.random.default_rng(8)
    x = rng.normal(size=200)
    x[:10] = 0.0
    z = (x > 0).astype(int)
    z[:5] = 1
    df = pd.DataFrame({"z": z, "x": x, "noise": rng.normal(size=200)})
    with pytest.warns(cm.SeparationWarning, match="effect of x"):
        # Under separation the Newton path ends either at an ill-conditioned Hessian or at one
        # that is not negative definite, depending on the BLAS and library versions; both are
        # the same diagnosis (standard errors unreliable), so accept either wording.
        with pytest.warns(
            cm.ConvergenceWarning, match="ill-conditioned|not negative definite|did not converge"
        ):
            res = cm.Logistic("z ~ x + noise", data=df).fit()
    assert any("effect of x" in n for n in res.summary().notes)
