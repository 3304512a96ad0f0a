"""The Numba log density of Ordinal and Logistic equals the PyMC graph's, for every prior
family and link on the fast path (value differences and gradients to 1e-8)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from civmodels import bayes
from civmodels.bayes import _fastlogp
from civmodels.bayes._numeric import coef_groups
from civmodels.bayes._priors import Prior

pytestmark = pytest.mark.bayes  # numba is a core dependency, so the fast path must exist

F_ORD = "y ~ x1 + region + pressure + (1 | municipality) + (1 | area)"
F_BIN = "yes ~ x1 + region + pressure + (1 | municipality) + (1 | area)"


def _to_point(model, fast, x):
    """Fast flat layout -> {graph value-variable name: (value, fast indices)}."""
    k, C = fast.k, fast.C
    pt: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    pri = [model.priors[n] for n in model.slope_names]
    for name, idx in zip(("coef_raw", "coef_raw_t", "coef_raw_l"), coef_groups(pri), strict=True):
        if idx:
            pt[name] = (x[idx], np.asarray(idx))
    if fast.ordinal:
        pt["cutpoints_raw"] = (x[k : k + C], np.arange(k, k + C))
    elif fast.n_int:
        pt["Intercept_c"] = (np.asarray(x[k]), np.array([k]))
    off = k + C + fast.n_int
    pos = off + len(model.groups)
    for gi, g in enumerate(model.groups):
        pt[f"sd_{g.name}_log__"] = (np.asarray(x[off + gi]), np.array([off + gi]))
        pt[f"z_{g.name}"] = (x[pos : pos + g.n_levels], np.arange(pos, pos + g.n_levels))
        pos += g.n_levels
    return pt


def check_against_graph(model, n_points=4, scale=0.7, seed=0, fast=None, to_point=_to_point):
    """Value differences and gradients of the Numba density equal the PyMC graph's."""
    if fast is None:
        assert _fastlogp.FastModel.supports(model)
        fast = _fastlogp.FastModel(model)
    pm_model = model.build_model()
    logp = pm_model.compile_logp()
    dlogp = pm_model.compile_dlogp()
    order = [v.name for v in pm_model.value_vars]
    rng = np.random.default_rng(seed)
    ref0 = None
    for _ in range(n_points):
        x = rng.normal(0, scale, fast.n_dim)
        lp, grad = fast.logp_dlogp(x)
        pt = to_point(model, fast, x)
        assert sorted(pt) == sorted(order)
        vals = {n: v for n, (v, _) in pt.items()}
        lp_ref = float(logp(vals))
        if ref0 is None:
            ref0 = (lp, lp_ref)
        # the two differ only by normalising constants
        assert lp - ref0[0] == pytest.approx(lp_ref - ref0[1], rel=1e-9, abs=1e-8)
        g_ref = dlogp(vals)
        g_ref_fast = np.empty(fast.n_dim)
        start = 0
        for n in order:
            idx = pt[n][1]
            g_ref_fast[idx] = g_ref[start : start + idx.size]
            start += idx.size
        np.testing.assert_allclose(grad, g_ref_fast, rtol=1e-8, atol=1e-8)


ORDINAL_CASES = {
    "default": ("logit", None),
    "dirichlet-alpha-exponential": (
        "logit",
        {
            "sd": Prior("exponential", lam=2.0),
            "cutpoints": Prior("dirichlet", alpha=[2, 1, 0.5, 3]),
        },
    ),
    "normal-cutpoints-halft": (
        "logit",
        {
            "cutpoints": Prior("normal", mu=0.0, sigma=5.0),
            "sd": Prior("halfstudentt", nu=3.0, sigma=2.5),
        },
    ),
    "normal-cutpoints-vector-lognormal": (
        "logit",
        {
            "cutpoints": Prior("normal", mu=[-1.0, 0.0, 1.5], sigma=[1.0, 2.0, 1.5]),
            "sd_municipality": Prior("lognormal", mu=-0.5, sigma=0.7),
            "sd_area": Prior("halfnormal", sigma=0.5),
        },
    ),
    "t-cutpoints-t-laplace-coefs": (
        "logit",
        {
            "cutpoints": Prior("studentt", nu=4.0, mu=0.5, sigma=2.0),
            "x1": Prior("studentt", nu=5.0, mu=0.2, sigma=1.5),
            "pressure[T.low]": Prior("laplace", mu=-0.1, sigma=0.8),
        },
    ),
    "probit-dirichlet": ("probit", {"cutpoints": Prior("dirichlet", alpha=[2, 1, 0.5, 3])}),
    "probit-normal": (
        "probit",
        {"cutpoints": Prior("normal", sigma=3.0), "coef": Prior("laplace")},
    ),
    "cloglog-dirichlet": ("cloglog", {"cutpoints": Prior("dirichlet", alpha=[2, 1, 0.5, 3])}),
    "cloglog-t": ("cloglog", {"cutpoints": Prior("studentt"), "sd": Prior("halfstudentt")}),
}


def _slow_except(cases, fast):
    """Each case compiles a PyTensor graph (seconds); keep ``fast`` in the fast suite."""
    return [c if c == fast else pytest.param(c, marks=pytest.mark.slow) for c in cases]


@pytest.mark.parametrize("case", _slow_except(ORDINAL_CASES, "normal-cutpoints-halft"))
def test_fast_ordinal_matches_pytensor(sim444, case):
    link, priors = ORDINAL_CASES[case]
    check_against_graph(bayes.Ordinal(F_ORD, sim444, priors=priors, link=link))


BINARY_CASES = {
    "logit-default": ("logit", None),
    "logit-t-intercept-laplace": (
        "logit",
        {
            "Intercept": Prior("studentt", nu=3.0, mu=0.5, sigma=2.5),
            "coef": Prior("laplace", sigma=0.5),
            "sd": Prior("lognormal"),
        },
    ),
    "probit": (
        "probit",
        {"Intercept": Prior("laplace", mu=0.3, sigma=2.0), "x1": Prior("studentt")},
    ),
    "cloglog": ("cloglog", {"sd": Prior("exponential", lam=0.5)}),
}


@pytest.mark.parametrize("case", _slow_except(BINARY_CASES, "logit-t-intercept-laplace"))
def test_fast_logistic_matches_pytensor(sim444, case):
    link, priors = BINARY_CASES[case]
    check_against_graph(bayes.Logistic(F_BIN, sim444, priors=priors, link=link))


def aggregate(sim444: pd.DataFrame) -> pd.DataFrame:
    """Bernoulli rows -> binomial counts per municipality x area cell."""
    return (
        sim444.groupby(["municipality", "area", "region", "pressure"], observed=True)
        .agg(k=("yes", "sum"), n=("yes", "size"), x1=("x1", "mean"))
        .reset_index()
    )


@pytest.mark.parametrize("link", _slow_except(["logit", "probit", "cloglog"], "probit"))
def test_fast_binomial_matches_pytensor(sim444, link):
    agg = aggregate(sim444)
    assert agg["n"].max() > 1
    m = bayes.Logistic(
        "cbind(k, n - k) ~ x1 + region + pressure + (1 | municipality) + (1 | area)",
        agg,
        link=link,
    )
    assert m.binomial and m.trials.sum() == len(sim444)
    check_against_graph(m)


def test_unsupported_links_use_the_graph(sim444):
    m = bayes.Ordinal("y ~ x1 + (1 | municipality)", sim444, link="cauchit")
    assert not _fastlogp.FastModel.supports(m)


def _battery_point(model, fast, x):
    """Fast battery layout -> {graph value-variable name: (value, fast indices)}."""
    k, J, C, n = fast.k, fast.J, fast.C, fast.n
    pt: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    pri = [model.priors[nm] for nm in model.slope_names]
    for name, idx in zip(("coef_raw", "coef_raw_t", "coef_raw_l"), coef_groups(pri), strict=True):
        if idx:
            pt[name] = (x[idx], np.asarray(idx))
    pt["cutpoints_free"] = (x[k : k + J * C].reshape(J, C), np.arange(k, k + J * C))
    off_l = k + J * C
    pt["loading_log__"] = (x[off_l : off_l + J], np.arange(off_l, off_l + J))
    off = off_l + J
    pos = off + len(model.groups)
    for gi, g in enumerate(model.groups):
        pt[f"sd_{g.name}_log__"] = (np.asarray(x[off + gi]), np.array([off + gi]))
        eff = f"w_{g.name}" if model.centred_groups[gi] else f"z_{g.name}"
        pt[eff] = (x[pos : pos + g.n_levels], np.arange(pos, pos + g.n_levels))
        pos += g.n_levels
    pt["trait_raw"] = (x[pos : pos + n], np.arange(pos, pos + n))
    return pt


BATTERY_CASES = {
    "default": ("logit", None),
    "probit-normal-cut-t-coef": (
        "probit",
        {
            "cutpoints": Prior("normal", mu=[-1.0, 0.0, 1.0], sigma=2.0),
            "coef": Prior("studentt", nu=4.0, sigma=0.8),
            "loading": Prior("halfnormal", sigma=1.5),
            "sd_area": Prior("halfstudentt", nu=3.0, sigma=1.0),
        },
    ),
    "cloglog-dirichlet-laplace": (
        "cloglog",
        {
            "cutpoints": Prior("dirichlet", alpha=[2.0, 1.0, 1.0, 3.0]),
            "x1": Prior("laplace", sigma=0.5),
            "sd": Prior("exponential", lam=2.0),
        },
    ),
}


def _battery(case, centred=None, anchor=None):
    from tests.bayes._sim import simulate_battery

    df, _ = simulate_battery(n_resp=80, n_muni=12, n_items=3, random_seed=4)
    link, priors = BATTERY_CASES[case]
    m = bayes.Battery(
        ["mot_0", "mot_1", "mot_2"],
        "~ x1 + pressure + (1 | municipality) + (1 | area)",
        df,
        priors=priors,
        link=link,
    )
    if centred is not None:  # the sampling coordinates; the posterior is the same
        m.centred_groups = list(centred)
    if anchor is not None:
        m.cut_anchor = np.asarray(anchor, dtype=np.int64)
    return m


# (centred municipality, centred area), threshold anchor per item
BATTERY_COORDS = {
    "defaults": (None, None),
    "centred-area-mixed-anchors": ((False, True), (0, 1, 2)),
    "all-centred-top-anchor": ((True, True), (2, 2, 0)),
}


@pytest.mark.parametrize("case", _slow_except(BATTERY_CASES, "probit-normal-cut-t-coef"))
@pytest.mark.parametrize(
    "coords", _slow_except(BATTERY_COORDS, "centred-area-mixed-anchors"), ids=str
)
def test_fast_battery_matches_pytensor(case, coords):
    m = _battery(case, *BATTERY_COORDS[coords])
    assert _fastlogp.FastBattery.supports(m)
    fast = _fastlogp.FastBattery(m)
    check_against_graph(m, n_points=3, scale=0.5, seed=1, fast=fast, to_point=_battery_point)


def test_fast_battery_reports_the_graphs_quantities():
    """The Numba path's ``expand`` gives the graph's deterministics (first-cutpoint form of
    the thresholds, ``z_g = u_g / sd_g``) at the same point, so both report the same draws."""
    from civmodels.bayes._backend import compile_model

    m = _battery("default", (False, True), (0, 1, 2))
    fast = _fastlogp.compile_fast_battery(m)
    graph = compile_model(m.build_model())
    x = np.random.default_rng(3).normal(0, 0.5, fast.n_dim)
    # the graph's flat layout follows its free variables; map through the names
    order = [v.name for v in m.build_model().value_vars]
    pt = _battery_point(m, _fastlogp.FastBattery(m), x)
    xg = np.concatenate([np.ravel(pt[nm][0]) for nm in order])
    got = dict(zip(fast.names, fast.expand(x), strict=True))
    ref = dict(zip(graph.names, graph.expand(xg), strict=True))
    for name in fast.names:
        np.testing.assert_allclose(got[name], ref[name], rtol=1e-12, atol=1e-12, err_msg=name)


def test_battery_sampling_coordinates():
    """Anchors sit at the threshold nearest each item's median answer; the Helmert basis is
    orthonormal with the mean in its first column; the big-level rule centres only groups
    with many respondents per level."""
    from civmodels.bayes._numeric import helmert

    Q = helmert(5)
    np.testing.assert_allclose(Q.T @ Q, np.eye(5), atol=1e-14)
    np.testing.assert_allclose(Q[:, 0], np.full(5, 1 / np.sqrt(5)))
    m = _battery("default")
    for j in range(3):
        y = m.y[m.item == j]
        cum = np.cumsum(np.bincount(y, minlength=4))[:3] / len(y)
        assert abs(cum[m.cut_anchor[j]] - 0.5) == pytest.approx(np.min(np.abs(cum - 0.5)))
    # 80 respondents: 12 municipalities (6.7 per level) and 4 areas (20 per level)
    assert m.centred_groups == [False, False]
    from civmodels.bayes import _battery as bat

    per_level = [m.nobs / g.n_levels for g in m.groups]
    assert all(v < bat.CENTRE_MIN_PER_LEVEL for v in per_level)


def _joint_point(model, fast, x):
    """Fast joint layout -> {graph value-variable name: (value, fast indices)}."""
    k, C, kr = fast.k, fast.C, fast.kr
    pt: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    pri = [model.priors[nm] for nm in model.slope_names]
    for name, idx in zip(("coef_raw", "coef_raw_t", "coef_raw_l"), coef_groups(pri), strict=True):
        if idx:
            pt[name] = (x[idx], np.asarray(idx))
    pt["cutpoints_raw"] = (x[k : k + C], np.arange(k, k + C))
    off = k + C
    pos = off + len(model.groups)
    for gi, g in enumerate(model.groups):
        pt[f"sd_{g.name}_log__"] = (np.asarray(x[off + gi]), np.array([off + gi]))
        pt[f"z_{g.name}"] = (x[pos : pos + g.n_levels], np.arange(pos, pos + g.n_levels))
        pos += g.n_levels
    pt["response_Intercept_c"] = (np.asarray(x[pos]), np.array([pos]))
    off_r = pos + 1
    rpri = [model.priors[f"response: {nm}"] for nm in model.r_names]
    for name, idx in zip(
        ("rcoef_raw", "rcoef_raw_t", "rcoef_raw_l"), coef_groups(rpri), strict=True
    ):
        if idx:
            ii = off_r + np.asarray(idx)
            pt[name] = (x[ii], ii)
    off_l = off_r + kr
    pt["lambda"] = (np.asarray(x[off_l]), np.array([off_l]))
    pt["sd_response_log__"] = (np.asarray(x[off_l + 1]), np.array([off_l + 1]))
    n_sh = fast.n_dim - (off_l + 2)
    pt["z_response"] = (x[off_l + 2 :], np.arange(off_l + 2, off_l + 2 + n_sh))
    return pt


JOINT_CASES = {
    "default": ("logit", None),
    "probit-priors": (
        "probit",
        {
            "cutpoints": Prior("normal", sigma=3.0),
            "lambda": Prior("studentt", nu=4.0, sigma=0.5),
            "response: pressure[T.low]": Prior("laplace", sigma=0.7),
            "sd_response": Prior("lognormal", mu=-0.5, sigma=0.5),
            "response_Intercept": Prior("studentt", nu=3.0, mu=0.2, sigma=2.0),
            "x1": Prior("laplace", sigma=0.5),
        },
    ),
    "cloglog": ("cloglog", {"sd": Prior("halfstudentt", nu=3.0, sigma=1.0)}),
}


@pytest.mark.parametrize("case", _slow_except(JOINT_CASES, "probit-priors"))
def test_fast_joint_matches_pytensor(sim444, case):
    link, priors = JOINT_CASES[case]
    rng = np.random.default_rng(9)
    non = sim444.sample(n=150, replace=True, random_state=rng).reset_index(drop=True)
    non["y"] = pd.Series([None] * len(non), dtype=sim444["y"].dtype)
    frame = pd.concat(
        [sim444.assign(responded=True), non.assign(responded=False)], ignore_index=True
    )
    m = bayes.JointResponse(
        "y ~ x1 + pressure + (1 | municipality) + (1 | area)",
        "~ pressure + size",
        frame,
        priors=priors,
        link=link,
    )
    assert _fastlogp.FastJoint.supports(m)
    fast = _fastlogp.FastJoint(m)
    check_against_graph(m, n_points=3, scale=0.5, seed=2, fast=fast, to_point=_joint_point)


def _draws_both_ways(model):
    """Draws of the same seeded fit through nutpie's C entry point and its Python bridge."""
    from dataclasses import replace

    from civmodels.bayes import _backend

    compiled = model._compile("nutpie")
    assert compiled.c_logp is not None
    kw = dict(sampler="nutpie", draws=40, tune=60, chains=2, random_seed=11)
    direct, stats_d = _backend.sample(compiled, **kw)
    bridged, stats_b = _backend.sample(replace(compiled, c_logp=None), **kw)
    return direct, bridged, stats_d, stats_b


@pytest.mark.parametrize("kind", ["ordinal", "binomial", "battery", "joint"])
def test_c_entry_point_gives_the_python_paths_draws(sim444, kind):
    """nutpie calling the kernel's C entry point samples exactly what it samples through the
    Python bridge (same seed: same log density and gradient bit for bit, same expansion)."""
    if kind == "ordinal":
        m = bayes.Ordinal("y ~ x1 + pressure + (1 | municipality)", sim444)
    elif kind == "binomial":
        agg = sim444.assign(n=1).groupby(["municipality", "pressure"], as_index=False)
        agg = agg.agg(yes=("yes", "sum"), n=("n", "sum"))
        m = bayes.Logistic("cbind(yes, n - yes) ~ pressure + (1 | municipality)", agg)
    elif kind == "battery":
        m = _battery("default", (False, True), (0, 1, 2))
    else:
        non = sim444.sample(n=60, replace=True, random_state=1).reset_index(drop=True)
        non["y"] = pd.Series([None] * len(non), dtype=sim444["y"].dtype)
        frame = pd.concat(
            [sim444.assign(responded=True), non.assign(responded=False)], ignore_index=True
        )
        m = bayes.JointResponse(
            "y ~ x1 + (1 | municipality)", "~ pressure", frame, response="responded"
        )
    direct, bridged, stats_d, stats_b = _draws_both_ways(m)
    assert sorted(direct) == sorted(bridged)
    for name in direct:
        np.testing.assert_array_equal(direct[name], bridged[name], err_msg=name)
    np.testing.assert_array_equal(stats_d["lp"], stats_b["lp"])


def test_battery_pointwise_loglik_is_the_category_probability():
    """log P(Y_rj = y) = log(F(c_j,y - lambda_j zeta_r) - F(c_j,y-1 - lambda_j zeta_r)) for
    every answered pair and draw (item by item in the implementation)."""
    from scipy.special import expit

    m = _battery("default")
    rng = np.random.default_rng(2)
    S, J, C = 5, len(m.items), m.n_categories - 1
    post = {
        "loading": rng.lognormal(0, 0.3, (S, J)),
        "trait": rng.normal(0, 1, (S, m.nobs)),
        "cutpoints": np.sort(rng.normal(0, 1.5, (S, J, C)), axis=-1),
    }
    got = m.pointwise_loglik(post)
    ext = np.concatenate(
        [np.full((S, J, 1), -np.inf), post["cutpoints"], np.full((S, J, 1), np.inf)], axis=-1
    )
    eta = post["loading"][:, m.item] * post["trait"][:, m.resp]
    s_idx = np.arange(S)[:, None]
    hi = ext[s_idx, m.item[None, :], m.y[None, :] + 1] - eta
    lo = ext[s_idx, m.item[None, :], m.y[None, :]] - eta
    np.testing.assert_allclose(got, np.log(expit(hi) - expit(lo)), rtol=1e-10)


def _original_battery_graph(m):
    """The battery model in its original coordinates (first-cutpoint thresholds, every group
    non-centred), as PyMC: the reference for "same model, other coordinates"."""
    from civmodels.bayes import _backend
    from civmodels.bayes import _graph as gr

    pm = _backend.import_pymc()
    pt = _backend.import_pytensor_tensor()
    J, C = len(m.items), m.n_categories - 1
    with pm.Model(coords=m.coords()) as model:
        coef = gr.coef_vector("coef", [m.priors[n] for n in m.slope_names], "term")
        mu = (pm.Data("X", m.Xc) * coef[None, :]).sum(axis=1)
        mu = mu + gr.group_effects(m.groups, m.priors)
        zeta = mu + pm.Normal("trait_raw", 0.0, 1.0, shape=m.nobs)
        loading = gr.positive("loading", m.priors["loading"], dims="item")
        cut = gr.cutpoints("cutpoints", C, m.priors["cutpoints"], m.link, shape=(J,))
        big = pt.full((J, 1), gr.BIG)
        ext = pt.concatenate([-big, cut, big], axis=1)
        eta = loading[m.item] * zeta[m.resp]
        ll = gr.log_cdf_diff(ext[m.item, m.y + 1] - eta, ext[m.item, m.y] - eta, m.link)
        pm.Potential("loglik", ll.sum())
    return model


@pytest.mark.parametrize("coords", list(BATTERY_COORDS))
def test_battery_coordinates_keep_the_posterior(coords):
    """The sampled density equals the original model's density at the mapped point times
    the Jacobian of the change of coordinates (sd_g^-L_g per centred group, 1 otherwise),
    so the posterior of every reported quantity is unchanged."""
    m = _battery("default", *BATTERY_COORDS[coords])
    fast = _fastlogp.compile_fast_battery(m)
    ref = _original_battery_graph(m)
    logp_ref = ref.compile_logp()
    rng = np.random.default_rng(8)
    diffs = []
    for _ in range(4):
        x = rng.normal(0, 0.5, fast.n_dim)
        lp, _ = fast.logp_dlogp(x)
        vals = dict(zip(fast.names, fast.expand(x), strict=True))
        point = {
            "coef_raw": vals["coef_raw"],
            "cutpoints_raw": vals["cutpoints_raw"],
            "loading_log__": np.log(vals["loading"]),
            "trait_raw": vals["trait_raw"],
        }
        log_jac = 0.0
        for g, centred in zip(m.groups, m.centred_groups, strict=True):
            point[f"sd_{g.name}_log__"] = np.log(vals[f"sd_{g.name}"])
            point[f"z_{g.name}"] = vals[f"z_{g.name}"]
            if centred:
                log_jac -= g.n_levels * np.log(vals[f"sd_{g.name}"])
        diffs.append(lp - (float(logp_ref(point)) + log_jac))
    # equal up to the normalising constants the two leave out
    np.testing.assert_allclose(np.array(diffs) - diffs[0], 0.0, atol=1e-8)
