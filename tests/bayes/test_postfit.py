"""The post-fit API on posterior draws: wald_test_terms, predictions, comparisons, slopes.

Every quantity is recomputed here from the posterior draws by an independent route (the
model's own linear predictor and category probabilities, a 30-node Gauss-Hermite rule from
NumPy for the integral over the municipality effect) and compared with what the API
returns; the posterior Wald statistics are also set against the maximum-likelihood ones.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import civmodels as cm
from civmodels._links import get_link
from civmodels.bayes import _numeric as num

from .conftest import FORMULA


def _draws(res) -> pd.DataFrame:
    return res._param_draws()


def test_wald_from_posterior_moments(ordinal_fit, sim444):
    res, _ = ordinal_fit
    tab = res.wald_test_terms()
    d = _draws(res)
    cols = [c for c in d.columns if c.startswith("area")]
    m = d[cols].mean().to_numpy()
    S = np.cov(d[cols].to_numpy(), rowvar=False)
    assert tab.loc["area", "chi2"] == pytest.approx(float(m @ np.linalg.solve(S, m)), rel=1e-10)
    assert tab.loc["area", "df"] == len(cols)
    one = res.wald_test("x1")
    assert one["chi2"].iloc[0] == pytest.approx(
        (d["x1"].mean() / d["x1"].std(ddof=1)) ** 2, rel=1e-10
    )
    # weakly informative priors, 444 rows: strong terms agree with the ML Wald test
    ml = cm.Ordinal(FORMULA, data=sim444).fit().wald_test_terms()
    for term in ("x1", "pressure"):
        assert tab.loc[term, "chi2"] == pytest.approx(ml.loc[term, "chi2"], rel=0.2)


def _marginal_probs(res, data: pd.DataFrame, nodes: int = 30) -> np.ndarray:
    """(S, n, K) category probabilities integrated over the municipality effect, per draw."""
    m = res.model
    post = res._post
    X = m.frame.fixed.transform(data)[:, m._slope_idx]
    eta = post["coef"] @ X.T
    sd = post["sd_municipality"]
    x, w = np.polynomial.hermite_e.hermegauss(nodes)
    w = w / w.sum()
    F = get_link(m.link).cdf
    cut = post["cutpoints"]
    cum = np.zeros((*eta.shape, cut.shape[1]))
    for xq, wq in zip(x, w, strict=True):
        cum += wq * F(cut[:, None, :] - eta[:, :, None] - (sd * xq)[:, None, None])
    S, n, _ = cum.shape
    full = np.concatenate([np.zeros((S, n, 1)), cum, np.ones((S, n, 1))], axis=-1)
    return np.diff(full, axis=-1)


def test_predictions_by_area_are_posterior_medians(ordinal_fit, sim444):
    res, _ = ordinal_fit
    tab = res.predictions(by="area")
    assert tab["p_value"].isna().all()
    assert ((tab["ci_lower"] >= 0) & (tab["ci_upper"] <= 1)).all()
    for area in ("social", "culture"):
        p = _marginal_probs(res, sim444.assign(area=area)).mean(axis=1)  # (S, K)
        got = tab[tab["area"] == area]
        np.testing.assert_allclose(got["estimate"].to_numpy(), np.median(p, 0), rtol=1e-6)
        np.testing.assert_allclose(got["std_error"].to_numpy(), p.std(0, ddof=1), rtol=1e-6)
        np.testing.assert_allclose(got["ci_lower"].to_numpy(), np.quantile(p, 0.025, 0), rtol=1e-6)


def test_conditional_predictions_use_the_group_draws(ordinal_fit, sim444):
    res, _ = ordinal_fit
    tab = res.predictions(by=True, conditional=True)
    post = res._post
    p = num.catprobs(post["cutpoints"], res.model.linear_predictor(post), res.model.link)
    np.testing.assert_allclose(
        tab["estimate"].to_numpy(), np.median(p.mean(axis=1), axis=0), rtol=1e-10
    )


def test_comparisons_and_slopes(logistic_fit, sim444):
    res, _ = logistic_fit
    cmp_ = res.comparisons("pressure")
    m = res.model
    post = res._post
    x, w = np.polynomial.hermite_e.hermegauss(30)
    w = w / w.sum()
    F = get_link(m.link).cdf

    def prob(data):
        X = m.frame.fixed.transform(data)[:, m._slope_idx]
        eta = post["coef"] @ X.T + post["Intercept"][:, None]
        sd = post["sd_municipality"][:, None]
        return sum(wq * F(eta + sd * xq) for xq, wq in zip(x, w, strict=True)).mean(axis=1)

    levels = list(sim444["pressure"].astype("category").cat.categories)
    lo, hi = (prob(sim444.assign(pressure=v)) for v in levels)
    diff = hi - lo
    got = cmp_.iloc[0]
    assert got["contrast"] == f"{levels[1]} - {levels[0]}"
    assert got["estimate"] == pytest.approx(float(np.median(diff)), rel=1e-6)
    assert got["std_error"] == pytest.approx(float(diff.std(ddof=1)), rel=1e-6)
    sl = res.slopes("x1")
    assert len(sl) == 1 and np.isfinite(sl["estimate"]).all() and (sl["std_error"] > 0).all()
    assert sl["p_value"].isna().all()


def test_options_and_refusals(ordinal_fit, sim444):
    res, _ = ordinal_fit
    with pytest.raises(cm.SpecificationError, match=r"unexpected options \['conditonal'\]"):
        res.predictions(by="area", conditonal=True)
    with pytest.raises(cm.SpecificationError, match="LOO"):
        res.drop1()
    with pytest.raises(cm.SpecificationError, match="no log-likelihood"):
        cm.compare(res, res)
