"""The Numba log density of the cumulative-logit model equals the PyMC graph's."""

from __future__ import annotations

import numpy as np
import pytest

from civmodels import bayes
from civmodels.bayes import _fastlogp

pytestmark = pytest.mark.bayes  # numba is a core dependency, so the fast path must exist


def _to_point(model, x):
    """Fast flat layout -> PyMC value-variable dict."""
    k, C = len(model.slope_names), model.n_categories - 1
    pt = {"coef_raw": x[:k], "cutpoints_raw": x[k : k + C]}
    pos = k + C + len(model.groups)
    for gi, g in enumerate(model.groups):
        pt[f"sd_{g.name}_log__"] = np.asarray(x[k + C + gi])
        pt[f"z_{g.name}"] = x[pos : pos + g.n_levels]
        pos += g.n_levels
    return pt


@pytest.mark.parametrize(
    "priors",
    [
        None,
        {
            "sd": bayes.Prior("exponential", lam=2.0),
            "cutpoints": bayes.Prior("dirichlet", alpha=[2.0, 1.0, 0.5, 3.0]),
        },
    ],
)
def test_fast_logp_matches_pytensor(sim444, priors):
    f = "y ~ x1 + region + pressure + (1 | municipality) + (1 | area)"
    model = bayes.Ordinal(f, sim444, priors=priors)
    assert _fastlogp.FastOrdinal.supports(model)
    fast = _fastlogp.FastOrdinal(model)
    pm_model = model.build_model()
    logp = pm_model.compile_logp()
    dlogp = pm_model.compile_dlogp()
    rng = np.random.default_rng(0)
    order = [v.name for v in pm_model.value_vars]
    ref0 = None
    for _ in range(4):
        x = rng.normal(0, 0.7, fast.n_dim)
        lp, grad = fast.logp_dlogp(x)
        pt = _to_point(model, x)
        lp_ref = float(logp(pt))
        if ref0 is None:
            ref0 = (lp, lp_ref)
        # the two differ only by normalising constants
        assert lp - ref0[0] == pytest.approx(lp_ref - ref0[1], rel=1e-9, abs=1e-8)
        g_ref = dlogp(pt)
        sizes = {n: np.size(pt[n]) for n in order}
        parts, start = {}, 0
        for n in order:
            parts[n] = g_ref[start : start + sizes[n]]
            start += sizes[n]
        g_ref_fast = np.concatenate([np.atleast_1d(parts[n]) for n in _fast_order(model)])
        np.testing.assert_allclose(grad, g_ref_fast, rtol=1e-8, atol=1e-8)


def _fast_order(model):
    out = ["coef_raw", "cutpoints_raw"]
    out += [f"sd_{g.name}_log__" for g in model.groups]
    out += [f"z_{g.name}" for g in model.groups]
    return out


def test_unsupported_models_use_the_graph(sim444):
    m = bayes.Ordinal("y ~ x1 + (1 | municipality)", sim444, link="probit")
    assert not _fastlogp.FastOrdinal.supports(m)
    m2 = bayes.Ordinal("y ~ x1", sim444, priors={"x1": bayes.Prior("studentt")})
    assert not _fastlogp.FastOrdinal.supports(m2)
