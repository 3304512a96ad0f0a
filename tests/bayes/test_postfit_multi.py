"""The post-fit API of the Bayesian models with several outcomes (Battery, JointResponse).

Every quantity is recomputed here from the posterior draws by an independent route: the
designs are built by hand from the data columns, the integrals over the respondent residual
and the group effects use NumPy's Gauss-Hermite rule (80 nodes; the package uses its own
40-node rule), and one check integrates the residual and each group effect separately by
Monte Carlo. The fits are the session fixtures of ``conftest.py``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

import civmodels as cm

from .conftest import BATTERY_ITEMS as ITEMS

pytestmark = pytest.mark.bayes

SUMMARY = ["estimate", "std_error", "ci_lower", "ci_upper"]


def _design(data: pd.DataFrame, names: list[str]) -> np.ndarray:
    """The design columns named ``x`` or ``var[T.level]`` (treatment dummies), by hand."""
    cols = []
    for name in names:
        if "[T." in name:
            var, level = name[:-1].split("[T.")
            cols.append((data[var].astype(str) == level).to_numpy(float))
        else:
            cols.append(data[name].to_numpy(float))
    return np.column_stack(cols) if cols else np.zeros((len(data), 0))


def _gh(nodes: int = 80) -> tuple[np.ndarray, np.ndarray]:
    x, w = np.polynomial.hermite_e.hermegauss(nodes)
    return x, w / w.sum()


def _cat_from_cum(cum: np.ndarray) -> np.ndarray:
    shape = (*cum.shape[:-1], 1)
    return np.diff(np.concatenate([np.zeros(shape), cum, np.ones(shape)], axis=-1), axis=-1)


def _summary(draws: np.ndarray) -> dict[str, np.ndarray]:
    """Posterior median, SD and 95% equal-tailed interval over axis 0."""
    return {
        "estimate": np.median(draws, 0),
        "std_error": draws.std(0, ddof=1),
        "ci_lower": np.quantile(draws, 0.025, 0),
        "ci_upper": np.quantile(draws, 0.975, 0),
    }


def _assert_summary(tab: pd.DataFrame, draws: np.ndarray) -> None:
    """Agreement to 5e-6 absolute. The package integrates with a 40-node Gauss-Hermite rule,
    whose error in a logistic probability is below 2e-8 for integration SDs up to 2 but
    reaches about 3e-6 at 2.9, the largest battery SD (loading x sqrt(1 + SDs^2)) among
    these draws; the 80-node rule here is exact to 2e-8 there. Observed: below 1e-7."""
    ref = _summary(draws)
    for col in [c for c in SUMMARY if c in tab.columns]:
        np.testing.assert_allclose(tab[col].to_numpy(), ref[col], rtol=0, atol=5e-6, err_msg=col)


# -- battery --------------------------------------------------------------------------------
def _battery_probs(res, data: pd.DataFrame, conditional: bool = False) -> np.ndarray:
    """(S, n, J, K): P(Y_j = k) per draw and row, integrating the residual (and, when
    marginal, both group effects) by an 80-node rule on their summed variance."""
    m, post = res.model, res._post
    F = cm._links.get_link(m.link).cdf
    mu = post["coef"] @ _design(data, m.slope_names).T  # (S, n)
    var = np.ones(len(mu))
    for g in ("municipality", "area"):
        if conditional:
            levels = np.unique(m.data[g].astype(str))
            assert list(levels) == [str(v) for v in m.group_levels[g]]
            mu = mu + post[f"re_{g}"][:, np.searchsorted(levels, data[g].astype(str))]
        else:
            var = var + post[f"sd_{g}"] ** 2
    x, w = _gh()
    lam, cut = post["loading"], post["cutpoints"]  # (S, J), (S, J, C)
    cum = 0.0
    for xq, wq in zip(x, w, strict=True):
        zeta = mu + np.sqrt(var)[:, None] * xq  # (S, n)
        cum = cum + wq * F(cut[:, None, :, :] - (lam[:, None, :] * zeta[:, :, None])[..., None])
    return _cat_from_cum(cum)


def test_battery_outcomes_are_every_item_by_category(battery_fit):
    tab = battery_fit.predictions(by=True)
    cats = battery_fit.model.categories
    assert list(tab["outcome"]) == [f"{it}: {c}" for it in ITEMS for c in cats]
    assert tab["p_value"].isna().all()
    assert ((tab["ci_lower"] >= 0) & (tab["ci_upper"] <= 1)).all()


def test_battery_wald_from_posterior_moments(battery_fit):
    res = battery_fit
    tab = res.wald_test_terms()
    assert list(tab.index) == ["x1", "pressure"]  # thresholds and loadings are not terms
    coef = res._post["coef"]
    j = res.model.slope_names.index("pressure[T.low]")
    d = coef[:, j]
    assert tab.loc["pressure", "chi2"] == pytest.approx(d.mean() ** 2 / d.var(ddof=1), rel=1e-10)
    both = res.wald_test(["x1", "pressure"])
    m, S = coef.mean(0), np.cov(coef, rowvar=False)
    assert both["chi2"].iloc[0] == pytest.approx(float(m @ np.linalg.solve(S, m)), rel=1e-10)
    assert both["df"].iloc[0] == 2
    with pytest.raises(cm.SpecificationError, match=r"valid terms: \['x1', 'pressure'\]"):
        res.wald_test("area")


def test_battery_marginal_predictions_by_hand(battery_fit):
    res = battery_fit
    data = res.model.data
    tab = res.predictions(by="pressure")
    for level in ("high", "low"):
        p = _battery_probs(res, data.assign(pressure=level)).mean(axis=1)  # (S, J, K)
        _assert_summary(tab[tab["pressure"] == level], p.reshape(len(p), -1))


def test_battery_at_and_observed_groups_by_hand(battery_fit):
    res = battery_fit
    data = res.model.data
    p = _battery_probs(res, data.assign(x1=0.5))  # (S, n, J, K)
    tab = res.predictions(by=True, at={"x1": 0.5}, item="mot_2")
    assert (tab["x1"] == 0.5).all()
    _assert_summary(tab, p[:, :, 2, :].mean(axis=1))
    obs = res.predictions(by="area", counterfactual=False, item=["mot_0"])
    p = _battery_probs(res, data)[:, :, 0, :]
    for area, rows in obs.groupby("area"):
        _assert_summary(rows, p[:, (data["area"] == area).to_numpy(), :].mean(axis=1))


def test_battery_quadrature_against_monte_carlo(battery_fit):
    """The package's probabilities at single draws against Monte Carlo over the residual and
    each group effect drawn separately (200 000 draws: the SE of a probability is below
    1.2e-3; observed differences below 6e-4)."""
    res = battery_fit
    pm = res._prediction_model()
    data = res.model.data.head(4)
    design = pm.prepare(data)
    post = res._post
    F = cm._links.get_link(res.model.link).cdf
    rng = np.random.default_rng(20261130)
    e, um, ua = rng.standard_normal((3, 200_000))
    for s in (0, 311, 799):
        got = pm.prob(pm.uncertainty.draws[s], design).reshape(len(data), len(ITEMS), -1)
        # each item's probabilities sum to one
        np.testing.assert_allclose(got.sum(-1), 1.0, atol=1e-12)
        mu = post["coef"][s] @ _design(data, res.model.slope_names).T
        zeta = mu[:, None] + e + post["sd_municipality"][s] * um + post["sd_area"][s] * ua
        for j in range(len(ITEMS)):
            lat = post["loading"][s, j] * zeta  # (n, N)
            cum = F(post["cutpoints"][s, j][None, :, None] - lat[:, None, :]).mean(-1)
            np.testing.assert_allclose(got[:, j, :], _cat_from_cum(cum), atol=3e-3)


def test_battery_pairwise_contrast_is_difference_of_averages(battery_fit):
    res = battery_fit
    data = res.model.data
    cmp_ = res.comparisons("pressure")
    assert set(cmp_["contrast"]) == {"low - high"}
    hi, lo = (_battery_probs(res, data.assign(pressure=v)).mean(axis=1) for v in ("low", "high"))
    diff = (hi - lo).reshape(len(hi), -1)
    _assert_summary(cmp_, diff)
    hyp = res.predictions(by="pressure", hypothesis="pairwise")
    np.testing.assert_allclose(hyp["estimate"], cmp_["estimate"], rtol=1e-12)


def test_battery_conditional_uses_the_effect_draws(battery_fit):
    res = battery_fit
    data = res.model.data
    tab = res.predictions(by=True, conditional=True)
    p = _battery_probs(res, data, conditional=True).mean(axis=1)
    _assert_summary(tab, p.reshape(len(p), -1))
    # a level not seen in the fit is integrated over: conditional equals marginal
    new = data.head(3).assign(municipality="K999", area="A9")
    a = res.predictions(newdata=new, conditional=True)
    b = res.predictions(newdata=new)
    np.testing.assert_allclose(a["estimate"], b["estimate"], rtol=1e-12)


def test_battery_item_option_selects_rows_of_the_full_table(battery_fit):
    res = battery_fit
    full = res.predictions(by="pressure")
    one = res.predictions(by="pressure", item="mot_1")
    rows = full[full["outcome"].str.startswith("mot_1: ")].reset_index(drop=True)
    pd.testing.assert_frame_equal(one, rows)
    two = res.slopes("x1", item=["mot_2", "mot_0"])
    assert list(two["outcome"].str.split(":").str[0].unique()) == ["mot_2", "mot_0"]
    s_all = res.slopes("x1")
    for out in two["outcome"]:
        a = two.loc[two["outcome"] == out, SUMMARY].to_numpy()
        b = s_all.loc[s_all["outcome"] == out, SUMMARY].to_numpy()
        np.testing.assert_allclose(a, b, rtol=1e-12)
    with pytest.raises(cm.SpecificationError, match="choose from the battery's items"):
        res.predictions(by=True, item="mot_9")


def test_battery_predict_with_se_and_linear(battery_fit):
    res = battery_fit
    m, post = res.model, res._post
    new = m.data.head(3)
    tab = res.predict(new, se=True, interval="confidence")
    assert tab.index.names == ["rowid", "outcome"] and len(tab) == 3 * len(ITEMS) * 4
    p = _battery_probs(res, new, conditional=True)  # (S, n, J, K)
    _assert_summary(tab, p.reshape(len(p), -1))
    one = res.predict(new, se=True, item="mot_2")
    pd.testing.assert_frame_equal(
        one, tab.loc[tab.index.get_level_values("outcome").str.startswith("mot_2"), SUMMARY[:2]]
    )
    lin = res.predict(new, kind="linear", se=True)
    eta = post["coef"] @ _design(new, m.slope_names).T
    for g in ("municipality", "area"):
        eta = eta + post[f"re_{g}"][:, m.group_levels[g].get_indexer(new[g])]
    np.testing.assert_allclose(lin["estimate"], np.median(eta, 0), rtol=1e-10)
    # without se: the wide table of every item, each item's columns summing to one, and
    # item= picks that item's columns (same seed, same draws)
    wide = res.predict(new, random_seed=7)
    for it in ITEMS:
        cols = [f"{it}: {c}" for c in m.categories]
        np.testing.assert_allclose(wide[cols].sum(axis=1), 1.0, atol=1e-12)
    narrow = res.predict(new, item="mot_1", random_seed=7)
    np.testing.assert_allclose(
        narrow.to_numpy(), wide[[f"mot_1: {c}" for c in m.categories]].to_numpy(), rtol=1e-14
    )


def test_battery_refusals(battery_fit):
    with pytest.raises(cm.SpecificationError, match="LOO"):
        battery_fit.drop1()
    with pytest.raises(cm.SpecificationError, match=r"unexpected options \['conditonal'\]"):
        battery_fit.predictions(by=True, conditonal=True)
    with pytest.raises(ValueError, match="item must be one of"):
        battery_fit.predict(item="nope")


# -- joint response-outcome model -----------------------------------------------------------
def _joint_probs(res, data: pd.DataFrame, conditional: bool = False) -> np.ndarray:
    """(S, n, K + 1): the outcome's category probabilities and P(respond), by hand."""
    m, post = res.model, res._post
    F = cm._links.get_link(m.link).cdf
    x, w = _gh()
    eta = post["coef"] @ _design(data, m.slope_names).T
    reta = post["response_Intercept"][:, None] + post["response_coef"] @ _design(data, m.r_names).T
    lam = post["lambda"]
    if conditional:
        idx = m.group_levels["municipality"].get_indexer(data["municipality"])
        assert (idx >= 0).all()
        u = post["re_municipality"][:, idx]
        eta = eta + u
        reta = reta + lam[:, None] * u + post["re_response"][:, idx]
        sd_y = sd_r = np.zeros(len(eta))
    else:
        sd_y = post["sd_municipality"]
        sd_r = np.sqrt((lam * sd_y) ** 2 + post["sd_response"] ** 2)
    cut = post["cutpoints"]
    cum = sum(
        wq * F(cut[:, None, :] - (eta + sd_y[:, None] * xq)[..., None])
        for xq, wq in zip(x, w, strict=True)
    )
    pr = sum(wq * expit(reta + sd_r[:, None] * xq) for xq, wq in zip(x, w, strict=True))
    return np.concatenate([_cat_from_cum(cum), pr[..., None]], axis=-1)


def test_joint_outcomes_and_wald(joint_fit, joint_frame):
    res = joint_fit
    tab = res.predictions(by=True)
    cats = res.model.categories
    assert list(tab["outcome"]) == [*(f"y: {c}" for c in cats), "responded: True"]
    w = res.wald_test_terms()
    assert list(w.index) == [
        "x1",
        "pressure",
        "response: Intercept",
        "response: pressure",
        "response: size",
    ]
    r_names = res.model.r_names
    cols = [r_names.index(n) for n in ("size[T.medium]", "size[T.small]")]
    d = res._post["response_coef"][:, cols]
    m, S = d.mean(0), np.cov(d, rowvar=False)
    assert w.loc["response: size", "chi2"] == pytest.approx(
        float(m @ np.linalg.solve(S, m)), rel=1e-10
    )
    lam = res._post["lambda"]
    got = res.wald_test("lambda")["chi2"].iloc[0]
    assert got == pytest.approx(lam.mean() ** 2 / lam.var(ddof=1), rel=1e-10)
    with pytest.raises(cm.SpecificationError, match=r"valid terms: .*'response: size'"):
        res.wald_test("size")


def test_joint_predictions_and_contrasts_by_hand(joint_fit, joint_frame):
    res = joint_fit
    # the rows averaged over are every position of the frame
    assert len(res.model.data_all) == len(joint_frame)
    tab = res.predictions(by="pressure")
    probs = {v: _joint_probs(res, joint_frame.assign(pressure=v)).mean(1) for v in ("high", "low")}
    for level, p in probs.items():
        _assert_summary(tab[tab["pressure"] == level], p)
    cmp_ = res.comparisons("pressure")
    _assert_summary(cmp_, probs["low"] - probs["high"])
    # size enters the response model only
    sz = res.comparisons("size", item="y")
    assert (sz["estimate"] == 0).all()


def test_joint_item_option_and_predict(joint_fit, joint_frame):
    res = joint_fit
    m, post = res.model, res._post
    full = res.predictions(by="pressure", conditional=True)
    only = res.predictions(by="pressure", conditional=True, item="responded")
    pd.testing.assert_frame_equal(
        only, full[full["outcome"] == "responded: True"].reset_index(drop=True)
    )
    new = joint_frame.iloc[[0, 5, 500]]
    p = _joint_probs(res, new, conditional=True)  # (S, 3, K + 1)
    np.testing.assert_allclose(
        res.predict(new, item="responded").to_numpy(), p[..., -1].mean(0), rtol=1e-10
    )
    se = res.predict(new, se=True, interval="confidence", item="responded")
    _assert_summary(se, p[..., -1])
    se_y = res.predict(new, se=True)  # default: the outcome
    _assert_summary(se_y, p[..., :-1].reshape(len(p), -1))
    lin = res.predict(new, kind="linear", se=True, item="responded")
    idx = m.group_levels["municipality"].get_indexer(new["municipality"])
    reta = (
        post["response_Intercept"][:, None]
        + post["response_coef"] @ _design(new, m.r_names).T
        + post["lambda"][:, None] * post["re_municipality"][:, idx]
        + post["re_response"][:, idx]
    )
    np.testing.assert_allclose(lin["estimate"], np.median(reta, 0), rtol=1e-10)
    with pytest.raises(cm.SpecificationError, match="two linear predictors"):
        res.predictions(newdata=new, type="linear")
    with pytest.raises(cm.SpecificationError, match="choose the outcome 'y'"):
        res.predict(new, item="mot_0")
    # the outcome's predictions need no response-only column
    res.predictions(newdata=new.drop(columns=["size"]), item="y")
