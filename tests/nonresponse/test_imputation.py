"""Multiple imputation by chained equations and Rubin's rules.

Pooling is checked against R mitools 2.4 MIcombine (tests/reference/mi/make_pool.R):
closed-form arithmetic, rtol 1e-10. Barnard–Rubin df is checked against its formula.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from civmodels.exceptions import DataError
from civmodels.logistic import Logistic
from civmodels.nonresponse import impute, pool

REF = json.loads((Path(__file__).parents[1] / "reference/mi/pool_reference.json").read_text())


def ref_results():
    return [
        SimpleNamespace(params=pd.Series(p, index=REF["names"]), vcov=np.array(v))
        for p, v in zip(REF["params"], REF["vcov"], strict=True)
    ]


def test_pool_matches_mitools():
    pr = pool(ref_results(), df_complete=np.inf)
    exp = REF["pooled"]
    np.testing.assert_allclose(pr.params, exp["estimate"], rtol=1e-10)
    np.testing.assert_allclose(pr.vcov.to_numpy(), np.array(exp["vcov"]), rtol=1e-10)
    np.testing.assert_allclose(pr.df, exp["df"], rtol=1e-10)
    np.testing.assert_allclose(pr.fmi, exp["fmi"], rtol=1e-10)


def test_barnard_rubin_df():
    res = ref_results()
    pr = pool(res, df_complete=REF["df_complete"])
    m = len(res)
    Q = np.array([r.params for r in res])
    U = np.mean([r.vcov for r in res], axis=0).diagonal()
    B = Q.var(axis=0, ddof=1)
    T = U + (1 + 1 / m) * B
    lam = (1 + 1 / m) * B / T
    nu_old = (m - 1) / lam**2
    nc = REF["df_complete"]
    nu_obs = (nc + 1) / (nc + 3) * nc * (1 - lam)
    np.testing.assert_allclose(pr.df, nu_old * nu_obs / (nu_old + nu_obs), rtol=1e-12)
    assert (pr.df <= nc).all()
    assert {"estimate", "std_error", "df", "p_value", "fmi"} <= set(pr.to_frame())
    assert "Rubin" in str(pr.summary())


def test_pool_errors():
    res = ref_results()
    with pytest.raises(DataError, match="at least 2"):
        pool(res[:1])
    other = SimpleNamespace(params=res[1].params.rename({"x2i": "z"}), vcov=res[1].vcov)
    with pytest.raises(DataError, match=r"different parameters.*extra: \['z'\]"):
        pool([res[0], other])
    with pytest.raises(DataError, match="no params/vcov"):
        pool([res[0], object()])


def make_data(seed: int, n: int = 400) -> tuple[pd.DataFrame, float]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    g = rng.choice(list("abc"), n)
    lat = 0.8 * x + (g == "a") * 0.5 + rng.logistic(size=n)
    codes = np.digitize(lat, [-1, 0.5, 1.5])
    q = pd.Categorical.from_codes(codes, categories=["low", "mid", "high", "top"], ordered=True)
    b = (0.7 * x + rng.logistic(size=n) > 0).astype(float)
    df = pd.DataFrame({"x": x, "g": g, "q": q, "b": b})
    truth = float(np.mean(codes >= 2))
    miss = rng.random(n) < 1 / (1 + np.exp(-1.5 * x))  # MAR given x
    df.loc[miss, "q"] = np.nan
    df.loc[rng.random(n) < 0.2, "b"] = np.nan
    return df, truth


def test_impute_completes_and_keeps_observed():
    df, _ = make_data(1)
    mi = impute(df, ["q", "b"], predictors=["x", "g"], m=3, n_iter=3, random_seed=7)
    assert mi.m == 3 and mi.methods == {"q": "ordinal", "b": "logistic"}
    assert mi.n_missing["q"] == int(df["q"].isna().sum())
    for d in mi.datasets:
        assert d["q"].notna().all() and d["b"].notna().all()
        assert d["q"].dtype == df["q"].dtype
        obs = df["q"].notna()
        assert (d.loc[obs, "q"] == df.loc[obs, "q"]).all()
        assert set(d["b"].unique()) <= {0.0, 1.0}
    # imputations differ between chains (proper imputation)
    assert not mi.datasets[0]["q"].equals(mi.datasets[1]["q"])
    # reproducible
    again = impute(df, ["q", "b"], predictors=["x", "g"], m=3, n_iter=3, random_seed=7)
    assert again.datasets[2]["q"].equals(mi.datasets[2]["q"])
    assert mi.chain_means.shape == (3, 3, 2)


def test_mi_removes_mar_bias_and_pools_models():
    df, truth = make_data(3, n=600)
    mi = impute(df, ["q", "b"], predictors=["x", "g"], m=10, n_iter=4, random_seed=11)
    top = [float((d["q"] >= "high").mean()) for d in mi.datasets]
    cc = float((df["q"].dropna() >= "high").mean())
    # x raises both missingness and q, so complete cases understate the top share
    assert cc < truth - 0.05
    assert abs(np.mean(top) - truth) < 0.04
    pr = mi.pool(lambda d: Logistic("b ~ x", d).fit())
    assert pr.m == 10 and 0 < pr.fmi["x"] < 1
    assert pr.params["x"] == pytest.approx(0.7, abs=0.35)


def test_delta_shifts_imputations_up():
    df, _ = make_data(5)
    lo = impute(df, ["q"], predictors=["x"], m=2, n_iter=2, delta=-2.0, random_seed=1)
    hi = impute(df, ["q"], predictors=["x"], m=2, n_iter=2, delta=2.0, random_seed=1)
    mis = df["q"].isna()
    mean_lo = np.mean([d.loc[mis, "q"].cat.codes.mean() for d in lo.datasets])
    mean_hi = np.mean([d.loc[mis, "q"].cat.codes.mean() for d in hi.datasets])
    assert mean_hi > mean_lo + 0.8


def test_dont_know_policy_applies():
    df, _ = make_data(2, n=200)
    df["q_dk"] = False
    idx = df.index[df["q"].isna()][:10]
    df.loc[idx, "q_dk"] = True
    mi = impute(df, ["q"], predictors=["x"], m=2, n_iter=1, dont_know="drop", random_seed=0)
    assert len(mi.datasets[0]) == len(df) - 10
    assert mi.dont_know.n_rows_dropped == 10
    with pytest.raises(DataError, match="'category'"):
        impute(df, ["q"], predictors=["x"], dont_know="category")


def test_impute_errors():
    df, _ = make_data(4, n=100)
    with pytest.raises(DataError, match="no missing values"):
        impute(df, ["x"], predictors=["g"])
    with pytest.raises(DataError, match="unordered categorical"):
        impute(df.assign(q=df["q"].cat.as_unordered()), ["q"])
    with pytest.raises(DataError, match="predictors must be complete"):
        impute(df, ["q"], predictors=["b"])
    with pytest.raises(DataError, match="m must be"):
        impute(df, ["q"], m=1)
    with pytest.raises(DataError, match="not in items"):
        impute(df, ["q"], delta={"zz": 1.0})


def test_delta_rows_shift_only_selected_rows():
    df, _ = make_data(6)
    df["grp"] = (df["x"] > 0).astype(int)
    base = impute(df, ["q"], predictors=["x"], m=2, n_iter=1, random_seed=4)
    shifted = impute(
        df,
        ["q"],
        predictors=["x"],
        m=2,
        n_iter=1,
        delta=3.0,
        delta_rows="grp == 1",
        random_seed=4,
    )
    mis0 = df["q"].isna() & (df["grp"] == 0)
    mis1 = df["q"].isna() & (df["grp"] == 1)
    # same seed and one sweep: unshifted rows get exactly the same draws
    for a, b in zip(base.datasets, shifted.datasets, strict=True):
        assert (a.loc[mis0, "q"] == b.loc[mis0, "q"]).all()
        assert b.loc[mis1, "q"].cat.codes.mean() > a.loc[mis1, "q"].cat.codes.mean()
    with pytest.raises(DataError, match="boolean mask"):
        impute(df, ["q"], predictors=["x"], delta_rows=np.ones(3))
