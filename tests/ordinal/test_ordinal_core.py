"""The array core: analytic derivatives against finite differences, on simulated arrays."""

from __future__ import annotations

import numpy as np
import pytest

from civmodels import _binary as bcore
from civmodels._links import get_link
from civmodels.ordinal import _core


def approx_fprime(x, f, h=1e-5):
    """Central finite differences (error O(h^2), unlike scipy's forward differences)."""
    x = np.asarray(x, dtype=float)
    out = []
    for i in range(len(x)):
        e = np.zeros_like(x)
        e[i] = h
        out.append((f(x + e) - f(x - e)) / (2 * h))
    return np.array(out)


def _data(structure: str, nominal: bool, scale: bool, seed: int = 1) -> _core.CLMData:
    rng = np.random.default_rng(seed)
    n = 120
    X = rng.normal(size=(n, 3))
    y = np.clip(np.round(X @ [0.5, -0.3, 0.2] + rng.logistic(size=n) + 2), 0, 4).astype(int)
    tjac, _ = _core.threshold_jacobian(4, structure)
    return _core.CLMData(
        y=y,
        X=X,
        tjac=tjac,
        N=rng.binomial(1, 0.4, size=(n, 1)).astype(float) if nominal else None,
        S=rng.normal(size=(n, 1)) * 0.3 if scale else None,
        w=rng.uniform(0.5, 2.0, size=n),
    )


@pytest.mark.parametrize("link", ["logit", "probit", "cloglog", "loglog", "cauchit"])
@pytest.mark.parametrize(
    ("structure", "nominal", "scale"),
    [
        ("flexible", False, False),
        ("flexible", True, False),
        ("flexible", False, True),
        ("flexible", True, True),
        ("equidistant", False, True),
        ("symmetric", True, False),
    ],
)
def test_gradient_hessian_scores(link, structure, nominal, scale):
    lk = get_link(link)
    d = _data(structure, nominal, scale)
    rng = np.random.default_rng(7)
    par = _core.start_values(d, lk) + rng.normal(scale=0.05, size=d.n_params)
    out = _core.clm_derivatives(par, d, lk, scores=True)
    num_g = approx_fprime(par, lambda p: _core.clm_loglik(p, d, lk))
    np.testing.assert_allclose(out["grad"], num_g, rtol=1e-4, atol=1e-4)
    num_h = np.array(
        [
            approx_fprime(par, lambda p, i=i: _core.clm_derivatives(p, d, lk)["grad"][i])
            for i in range(d.n_params)
        ]
    )
    np.testing.assert_allclose(out["hess"], num_h, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(out["scores"].sum(axis=0), out["grad"], atol=1e-9)


@pytest.mark.parametrize("link", ["logit", "probit", "cloglog", "loglog", "cauchit"])
def test_binary_derivatives(link):
    lk = get_link(link)
    rng = np.random.default_rng(3)
    X = np.column_stack([np.ones(200), rng.normal(size=(200, 2))])
    y = rng.binomial(1, 0.4, 200).astype(float)
    w = rng.uniform(0.5, 2, 200)
    b = np.array([-0.3, 0.2, 0.1])
    out = bcore.binary_derivatives(b, X, y, w, lk, scores=True, observed=True)

    def ll(p):
        return bcore.binary_derivatives(p, X, y, w, lk)["loglik"]

    np.testing.assert_allclose(out["grad"], approx_fprime(b, ll), rtol=1e-4, atol=1e-5)
    num_h = np.array(
        [
            approx_fprime(b, lambda p, i=i: bcore.binary_derivatives(p, X, y, w, lk)["grad"][i])
            for i in range(3)
        ]
    )
    np.testing.assert_allclose(out["obs_hess"], num_h, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(out["scores"].sum(axis=0), out["grad"])


def test_threshold_jacobians_match_r():
    # R ordinal:::makeThresholds(1:5, "symmetric")$tJac and (1:6, ...) for an odd count
    t4, names4 = _core.threshold_jacobian(4, "symmetric")
    np.testing.assert_array_equal(t4, [[1, 0, -1], [1, 0, 0], [0, 1, 0], [0, 1, 1]])
    assert names4 == ["central.1", "central.2", "spacing.1"]
    t5, names5 = _core.threshold_jacobian(5, "symmetric")
    np.testing.assert_array_equal(t5, [[1, 0, -1], [1, -1, 0], [1, 0, 0], [1, 1, 0], [1, 0, 1]])
    assert names5 == ["central", "spacing.1", "spacing.2"]
    te, _ = _core.threshold_jacobian(3, "equidistant")
    np.testing.assert_array_equal(te, [[1, 0], [1, 1], [1, 2]])


def test_tail_probabilities_are_positive():
    # far in the tails F(eta1) - F(eta2) underflows; the survival-function branch must not
    lk = get_link("logit")
    d = _core.CLMData(y=np.array([2, 2, 0]), X=np.array([[60.0], [-60.0], [0.0]]), tjac=np.eye(2))
    ll = _core.clm_loglik(np.array([-1.0, 1.0, 1.0]), d, lk)
    assert np.isfinite(ll)
