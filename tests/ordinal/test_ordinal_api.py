"""The Ordinal API: bad input, covariance types, prediction, summaries, statsmodels check."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import civmodels as cm

F = "rating ~ temp + contact"


def test_unordered_string_outcome(wine):
    df = wine.assign(rating=wine["rating"].astype(str))
    with pytest.raises(cm.DataError, match="ordered categorical"):
        cm.Ordinal(F, data=df)


def test_unordered_categorical_outcome(wine):
    df = wine.assign(rating=pd.Categorical(wine["rating"].astype(int), ordered=False))
    with pytest.raises(cm.DataError, match="ordered=True"):
        cm.Ordinal(F, data=df)


def test_single_category(wine):
    df = wine.assign(rating=3)
    with pytest.raises(cm.DataError, match="only one observed category"):
        cm.Ordinal(F, data=df)


def test_unused_category_warns_and_names_it(wine):
    df = wine.assign(
        rating=pd.Categorical(
            wine["rating"].astype(int), categories=[0, 1, 2, 3, 4, 5], ordered=True
        )
    )
    with pytest.warns(UserWarning, match=r"no observations: \[0\]"):
        m = cm.Ordinal(F, data=df)
    assert list(m.fit().thresholds.index) == ["1|2", "2|3", "3|4", "4|5"]


def test_missing_predictors_counted_and_reported(wine):
    df = wine.copy()
    df.loc[[0, 5, 9], "temp"] = np.nan
    res = cm.Ordinal(F, data=df).fit()
    assert res.nobs == 69 and res.n_dropped == 3
    s = res.summary()
    assert s.info["Rows dropped (missing)"] == 3
    assert any("3 of 72 rows dropped" in n for n in s.notes)
    assert df["temp"].isna().sum() == 3  # input untouched


@pytest.mark.parametrize(
    ("values", "match"),
    [(-1.0, "negative"), (np.nan, "missing"), (0.0, "all zero")],
)
def test_bad_weights(wine, values, match):
    df = wine.assign(w=1.0)
    if values == 0.0:
        df["w"] = 0.0
    else:
        df.loc[3, "w"] = values
    with pytest.raises(cm.DataError, match=match):
        cm.Ordinal(F, data=df, weights="w")


def test_nan_cluster(wine):
    df = wine.assign(g=wine["judge"].astype(float))
    df.loc[4, "g"] = np.nan
    with pytest.raises(cm.DataError, match="cluster column 'g' has 1 missing"):
        cm.Ordinal(F, data=df).fit(cov_type="cluster", cluster="g")


def test_collinear_predictors_named(wine):
    df = wine.assign(temp2=wine["temp"])
    with pytest.raises(cm.SpecificationError, match=r"temp2\[T.warm\]"):
        cm.Ordinal("rating ~ temp + temp2", data=df)


def test_missing_column_suggests(wine):
    with pytest.raises(cm.FormulaError, match="did you mean 'contact'"):
        cm.Ordinal("rating ~ temp + contakt", data=wine)


def test_quasi_separation_named(wine):
    df = wine.copy()
    df["flag"] = (df["rating"].astype(int) == 5).astype(float)
    with pytest.warns(cm.SeparationWarning, match="flag = 1 are in the highest category 5"):
        with pytest.warns(cm.ConvergenceWarning):
            cm.Ordinal("rating ~ temp + flag", data=df).fit()


def test_complete_separation_is_an_error():
    rng = np.random.default_rng(2)
    x = rng.normal(size=60)
    y = np.digitize(x, [-0.5, 0.5])
    df = pd.DataFrame({"y": y, "x": x})
    with pytest.raises(cm.SeparationError, match="complete separation"):
        cm.Ordinal("y ~ x", data=df).fit()


def test_bad_options(wine):
    m = cm.Ordinal(F, data=wine)
    with pytest.raises(cm.SpecificationError, match="cluster="):
        m.fit(cov_type="cluster")
    with pytest.raises(cm.SpecificationError, match="cov_type='bogus'"):
        m.fit(cov_type="bogus")
    with pytest.raises(cm.SpecificationError, match="random terms"):
        m.fit(method="agq")
    with pytest.raises(ValueError, match="link='logitt'"):
        cm.Ordinal(F, data=wine, link="logitt")
    with pytest.raises(cm.SpecificationError, match="thresholds='free'"):
        cm.Ordinal(F, data=wine, thresholds="free")


def test_cluster_equals_hc1_with_singleton_clusters(wine):
    m = cm.Ordinal(F, data=wine)
    rob = m.fit(cov_type="robust")
    clu = m.fit(cov_type="cluster", cluster=np.arange(len(wine)))
    # CR1 with G = n clusters: G/(G-1) (n-1)/(n-k) = n/(n-k) = HC1
    np.testing.assert_allclose(rob.std_errors, clu.std_errors, rtol=1e-12)
    judge = m.fit(cov_type="cluster", cluster="judge")
    assert judge.cov_type == "cluster" and "9 clusters" in judge.cov_label
    np.testing.assert_allclose(judge.params, rob.params)


def test_results_are_frozen(wine):
    res = cm.Ordinal(F, data=wine).fit()
    with pytest.raises(AttributeError):
        res.loglik = 0.0  # type: ignore[misc]


def test_predict_kinds_and_newdata(wine):
    res = cm.Ordinal(F, data=wine).fit()
    new = pd.DataFrame({"temp": ["cold", "warm"], "contact": ["no", "yes"]})
    before = new.copy()
    p = res.predict(new)
    assert list(p.columns) == ["1", "2", "3", "4", "5"]
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    cp = res.predict(new, kind="cumprob")
    np.testing.assert_allclose(cp.to_numpy(), np.cumsum(p.to_numpy(), axis=1)[:, :-1])
    lin = res.predict(new, kind="linear")
    np.testing.assert_allclose(lin, [0.0, res.coef.sum()])
    pd.testing.assert_frame_equal(new, before)
    assert res.predict().shape == (72, 5)


def test_summary_blocks(wine):
    res = cm.Ordinal("rating ~ temp", data=wine, nominal="~ contact", scale="~ temp").fit()
    s = res.summary(odds_ratios=True)
    assert list(s.blocks) == ["Thresholds", "Location", "Nominal", "Scale"]
    assert "odds_ratio" in s.blocks["Location"].columns
    assert "Cumulative link model" in s.to_markdown()
    tf = res.to_frame()
    assert list(tf["block"].unique()) == ["Thresholds", "Location", "Nominal", "Scale"]


def test_agrees_with_statsmodels_orderedmodel(wine):
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    res = cm.Ordinal(F, data=wine).fit()
    X = pd.get_dummies(wine[["temp", "contact"]], drop_first=True).astype(float)
    sm = OrderedModel(wine["rating"], X, distr="logit").fit(
        method="bfgs", disp=False, maxiter=2000, gtol=1e-10
    )
    cuts = sm.model.transform_threshold_params(sm.params)[1:-1]
    np.testing.assert_allclose(res.thresholds, cuts, rtol=1e-4)
    np.testing.assert_allclose(res.coef, sm.params.iloc[:2], rtol=1e-4)
    assert res.loglik == pytest.approx(sm.llf, rel=1e-8)


def test_robust_and_cluster_match_statsmodels(wine):
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    X = pd.get_dummies(wine[["temp", "contact"]], drop_first=True).astype(float)
    mod = OrderedModel(wine["rating"], X, distr="logit")

    def sm_fit(**kw):
        from statsmodels.tools.sm_exceptions import ConvergenceWarning as SMConvergence

        with warnings.catch_warnings():
            # BFGS flags "precision loss" at gtol=1e-12 although it sits at the optimum
            # (estimates agree with civmodels to 1e-7); the strict tolerance is what makes
            # the SE comparison exact
            warnings.simplefilter("ignore", SMConvergence)
            return mod.fit(method="bfgs", disp=False, maxiter=5000, gtol=1e-12, **kw)

    m = cm.Ordinal(F, data=wine)
    # statsmodels' generic-MLE "HC1" applies no small-sample factor (it equals HC0); ours
    # is HC0 * n / (n - p)
    hc0 = sm_fit(cov_type="HC0").bse.to_numpy()[:2]
    rob = m.fit(cov_type="robust").std_errors.to_numpy()[4:]
    np.testing.assert_allclose(rob, hc0 * np.sqrt(72 / (72 - 6)), rtol=1e-4)
    # cluster: both CR1, G/(G-1) (n-1)/(n-p)
    g = wine["judge"].to_numpy()
    cr1 = sm_fit(cov_type="cluster", cov_kwds={"groups": g}).bse.to_numpy()[:2]
    clu = m.fit(cov_type="cluster", cluster="judge").std_errors.to_numpy()[4:]
    np.testing.assert_allclose(clu, cr1, rtol=1e-4)


def test_implicit_intercept_rejected(wine):
    with pytest.raises(cm.SpecificationError, match="thresholds already play"):
        cm.Ordinal("rating ~ 0 + temp + contact", data=wine)
    # an explicit intercept is simply absorbed
    a = cm.Ordinal("rating ~ 1 + temp + contact", data=wine).fit()
    b = cm.Ordinal(F, data=wine).fit()
    np.testing.assert_allclose(a.params, b.params)
