"""The compiled Laplace evaluation (``civmodels._laplace_kernel``) against the NumPy path.

Both paths implement the same formulas independently (sparse-pattern Cholesky, selected
inverse and fused loops in Numba; SciPy sparse matrices and dense factorisations in NumPy),
so agreement to rounding error on many model shapes checks each against the other. The
NumPy path itself is checked against R fixtures and central differences elsewhere
(``test_mixed_slopes.py``, ``test_mixed_nested.py``, ``test_glmm.py``).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import civmodels as cm
from civmodels import _glmm
from civmodels import _laplace_kernel as lk


def _data(
    kind: str,
    link: str,
    *,
    ordinal: bool,
    weights: bool = False,
    seed: int = 0,
) -> _glmm.GLMMData:
    """Simulated data of one random-effects structure (``kind``) and link."""
    rng = np.random.default_rng(seed)
    n = 240
    x = rng.normal(size=n)
    z = rng.normal(size=n)
    a = rng.integers(0, 8, n)  # 8 regions
    b_in = rng.integers(0, 4, n)  # 4 units within each region
    g = rng.integers(0, 15, n)
    h = rng.integers(0, 6, n)
    zvals: list = []
    corr = None
    if kind == "crossed":  # (1 | g) + (1 | h)
        groups, zvals = [g, h], [None, None]
    elif kind == "nested":  # (1 | a) + (1 | a:b)
        groups, zvals = [a, a * 4 + b_in], [None, None]
    elif kind == "slope":  # (1 | g) + (0 + x | g)
        groups, zvals = [g, g], [None, x]
    elif kind == "corr":  # (1 + x | g)
        groups, zvals, corr = [g, g], [None, x], [[0, 1]]
    elif kind == "corr3":  # (1 + x + z | g) + (1 | h)
        groups, zvals, corr = [g, g, g, h], [None, x, z, None], [[0, 1, 2]]
    elif kind == "three":  # (1 | a) + (1 | a:b) + (0 + z | h)
        groups, zvals = [a, a * 4 + b_in, h], [None, None, z]
    else:  # pragma: no cover
        raise ValueError(kind)
    eta = 0.6 * x + 0.5 * rng.normal(size=15)[g] + 0.4 * rng.normal(size=8)[a]
    lat = eta + rng.logistic(size=n)
    w = rng.uniform(0.3, 2.5, n) if weights else None
    if ordinal:
        y = np.digitize(lat, [-1.0, 0.3, 1.5])
        return _glmm.GLMMData(
            y=y,
            X=np.column_stack([x, z]),
            tjac=np.eye(3),
            toff=np.zeros(3),
            groups=groups,
            dist=_glmm.get_dist(link),
            w=w,
            zvals=zvals,
            corr=corr,
        )
    return _glmm.GLMMData(
        y=(lat > 0.2).astype(int),
        X=np.column_stack([np.ones(n), x, z]),
        tjac=np.zeros((1, 0)),
        toff=np.zeros(1),
        groups=groups,
        dist=_glmm.get_dist(link, reflect=True),
        w=w,
        zvals=zvals,
        corr=corr,
    )


def _phi(d: _glmm.GLMMData, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    alpha = np.sort(rng.normal(scale=0.8, size=d.k_alpha))
    beta = rng.normal(scale=0.4, size=d.p)
    tau = np.log(rng.uniform(0.3, 1.2, d.K))
    off = rng.normal(scale=0.3, size=d.n_off)
    return np.concatenate([alpha, beta, tau, off])


def _both(d: _glmm.GLMMData, phi: np.ndarray, monkeypatch) -> tuple[dict, dict]:
    monkeypatch.setattr(_glmm, "USE_KERNEL", True)
    fast = _glmm.laplace_loglik(d, phi, hessian=True)
    assert "dmode" in fast, "the compiled path was not used"
    monkeypatch.setattr(_glmm, "USE_KERNEL", False)
    slow = _glmm.laplace_loglik(d, phi, hessian=True)
    assert "dmode" not in slow
    return fast, slow


CASES = [
    ("crossed", "logit", False, False),
    ("nested", "probit", False, False),
    ("slope", "cloglog", False, True),
    ("corr", "loglog", False, False),
    ("corr3", "logit", False, True),
    ("three", "cauchit", False, False),
    ("crossed", "probit", True, False),
    ("nested", "logit", True, True),
    ("slope", "loglog", True, False),
    ("corr", "cloglog", True, True),
    ("corr3", "probit", True, False),
    ("three", "logit", True, False),
]


@pytest.mark.parametrize(("kind", "link", "ordinal", "weights"), CASES)
def test_kernel_equals_numpy_path(kind, link, ordinal, weights, monkeypatch):
    d = _data(kind, link, ordinal=ordinal, weights=weights)
    for seed in (1, 2):
        phi = _phi(d, seed)
        fast, slow = _both(d, phi, monkeypatch)
        scale = max(1.0, abs(slow["loglik"]))
        assert fast["loglik"] == pytest.approx(slow["loglik"], abs=1e-10 * scale)
        np.testing.assert_allclose(fast["mode"].b, slow["mode"].b, rtol=0, atol=1e-9)
        g_scale = max(1.0, np.abs(slow["grad"]).max())
        np.testing.assert_allclose(fast["grad"], slow["grad"], rtol=0, atol=1e-9 * g_scale)
        h_scale = max(1.0, np.abs(slow["hess"]).max())
        np.testing.assert_allclose(fast["hess"], slow["hess"], rtol=0, atol=1e-9 * h_scale)
        np.testing.assert_allclose(fast["mode"].hchol, slow["mode"].hchol, atol=1e-9)
        # the selected inverse's diagonal (the conditional variances of the modes)
        L = slow["mode"].hchol
        hinv = np.linalg.inv(L @ L.T)
        np.testing.assert_allclose(fast["mode"].hinv_diag, np.diag(hinv), rtol=1e-10, atol=0)


@pytest.mark.parametrize("kind", ["nested", "corr", "corr3"])
def test_mode_derivative_matches_differences(kind, monkeypatch):
    # dmode = d b_hat / d phi, checked against central differences of the modes
    d = _data(kind, "logit", ordinal=False)
    phi = _phi(d, 3)
    monkeypatch.setattr(_glmm, "USE_KERNEL", True)
    dm = _glmm.laplace_loglik(d, phi)["dmode"]
    num = np.empty_like(dm)
    for j in range(d.P):
        e = np.zeros(d.P)
        e[j] = 1e-5
        up = _glmm.laplace_loglik(d, phi + e, gradient=False)["mode"].b
        dn = _glmm.laplace_loglik(d, phi - e, gradient=False)["mode"].b
        num[:, j] = (up - dn) / 2e-5
    np.testing.assert_allclose(dm, num, rtol=0, atol=1e-7)


def test_fit_is_identical_on_both_paths(monkeypatch):
    d = _data("corr", "logit", ordinal=False, seed=4)
    start = np.concatenate([np.zeros(d.p), np.log([0.5, 0.5]), [0.0]])
    monkeypatch.setattr(_glmm, "USE_KERNEL", True)
    fast = _glmm.fit_glmm(d, start)
    monkeypatch.setattr(_glmm, "USE_KERNEL", False)
    slow = _glmm.fit_glmm(d, start)
    assert fast.converged and slow.converged
    np.testing.assert_allclose(fast.phi, slow.phi, rtol=0, atol=1e-8)
    np.testing.assert_allclose(fast.cov, slow.cov, rtol=1e-6)
    assert fast.loglik == pytest.approx(slow.loglik, abs=1e-9)


def test_falls_back_when_the_kernel_reports_failure(monkeypatch):
    d = _data("nested", "logit", ordinal=False)
    phi = _phi(d, 5)
    monkeypatch.setattr(_glmm, "USE_KERNEL", False)
    slow = _glmm.laplace_loglik(d, phi)
    real = lk.evaluate

    def failing(*args, **kwargs):
        out = real(*args, **kwargs)
        return (1, *out[1:])

    monkeypatch.setattr(_glmm, "USE_KERNEL", True)
    monkeypatch.setattr(lk, "evaluate", failing)
    out = _glmm.laplace_loglik(d, phi)
    assert "dmode" not in out  # the NumPy path answered
    assert out["loglik"] == slow["loglik"]


def _pattern_ok(pos: np.ndarray, q: int, seed: int) -> tuple[int, int]:
    """Factor a random SPD matrix with the pattern of ``I + M' D M`` in the chosen order and
    check that every non-zero of its Cholesky factor lies in the symbolic pattern; returns
    (non-zeros of the factor's pattern, non-zeros of H's lower triangle)."""
    ks = lk.structure(pos, q)
    rng = np.random.default_rng(seed)
    H = np.eye(q) * pos.shape[1]
    for row in pos:
        v = rng.uniform(0.1, 1.0, len(row))
        H[np.ix_(row, row)] += np.outer(v, v)
    Hp = H[np.ix_(ks.perm, ks.perm)]
    L = np.linalg.cholesky(Hp)
    pattern = np.zeros((q, q), dtype=bool)
    for j in range(q):
        pattern[ks.Li[ks.Lp[j] : ks.Lp[j + 1]], j] = True
    assert not (np.abs(L[~pattern]) > 1e-12).any(), "a non-zero of L is outside the pattern"
    assert np.array_equal(np.sort(ks.perm), np.arange(q))
    np.testing.assert_array_equal(ks.lev_p[ks.perm], np.arange(q))
    return int(pattern.sum()), int((np.tril(np.abs(Hp)) > 0).sum())


def test_structure_nested_and_blocks_have_no_fill():
    rng = np.random.default_rng(0)
    n = 300
    a = rng.integers(0, 10, n)
    unit = a * 5 + rng.integers(0, 5, n)  # 50 units nested in 10 regions
    pos = np.column_stack([a, 10 + unit])
    nnz_l, nnz_h = _pattern_ok(pos, 60, 1)
    assert nnz_l == nnz_h  # minimum degree eliminates the units first: no fill
    g = rng.integers(0, 20, n)
    pos = np.column_stack([g, 20 + g])  # (1 + x | g): 2 x 2 blocks
    nnz_l, nnz_h = _pattern_ok(pos, 40, 2)
    assert nnz_l == nnz_h == 40 + 20


def test_structure_crossed_pattern_is_complete():
    rng = np.random.default_rng(1)
    n = 200
    pos = np.column_stack([rng.integers(0, 12, n), 12 + rng.integers(0, 9, n)])
    nnz_l, nnz_h = _pattern_ok(pos, 21, 3)
    assert nnz_l >= nnz_h


@pytest.mark.parametrize(("kind", "link", "ordinal", "weights"), CASES[:8])
def test_compiled_fixed_start_equals_numpy(kind, link, ordinal, weights, monkeypatch):
    d = _data(kind, link, ordinal=ordinal, weights=weights, seed=6)
    x0 = np.concatenate([np.linspace(-1.0, 1.0, d.k_alpha), np.zeros(d.p)])
    monkeypatch.setattr(_glmm, "USE_KERNEL", True)
    fast = _glmm.fixed_start(d, x0)
    monkeypatch.setattr(_glmm, "USE_KERNEL", False)
    slow = _glmm.fixed_start(d, x0)
    assert not np.allclose(fast, x0)  # it moved
    np.testing.assert_allclose(fast, slow, rtol=0, atol=1e-10)


def test_conditional_variances_equal_on_both_paths(monkeypatch):
    """The compiled path's conditional variances come from its selected inverse, the NumPy
    path's from the inverse Cholesky factor: the same numbers for a nested model."""
    rng = np.random.default_rng(8)
    n = 300
    a = rng.integers(0, 6, n)
    b = rng.integers(0, 4, n)
    x = rng.normal(size=n)
    eta = 0.5 * x + rng.normal(scale=0.7, size=6)[a] + rng.normal(scale=0.5, size=24)[a * 4 + b]
    df = pd.DataFrame({"y": (eta + rng.logistic(size=n) > 0).astype(int), "x": x, "a": a, "b": b})
    monkeypatch.setattr(_glmm, "USE_KERNEL", True)
    fast = cm.Logistic("y ~ x + (1 | a/b)", data=df).fit().conditional_modes()
    monkeypatch.setattr(_glmm, "USE_KERNEL", False)
    slow = cm.Logistic("y ~ x + (1 | a/b)", data=df).fit().conditional_modes()
    pd.testing.assert_index_equal(fast.index, slow.index)
    np.testing.assert_allclose(fast["cond_var"], slow["cond_var"], rtol=1e-8)
    np.testing.assert_allclose(fast["mode"], slow["mode"], rtol=0, atol=1e-8)


@pytest.mark.parametrize("kind", ["nested", "corr3"])
def test_batched_gradients_equal_single_evaluations(kind, monkeypatch):
    # lk.gradients (the finite-difference columns in one call) against lk.evaluate per point
    d = _data(kind, "probit", ordinal=True)
    phi = _phi(d, 6)
    monkeypatch.setattr(_glmm, "USE_KERNEL", True)
    base = _glmm.laplace_loglik(d, phi)
    rng = np.random.default_rng(0)
    points = phi + 1e-3 * rng.normal(size=(5, d.P))
    b0s = np.array([base["mode"].b + base["dmode"] @ (x - phi) for x in points])
    if d.kernel is None:
        d.kernel = lk.prepare(d)
    status, grads = lk.gradients(d, d.kernel, points, b0s)
    assert not status.any()
    for x, b0, g in zip(points, b0s, grads, strict=True):
        single = lk.evaluate(d, d.kernel, x, b0, 1)[5]
        np.testing.assert_allclose(g, single, rtol=0, atol=1e-12 * max(1.0, np.abs(single).max()))
    # and the NumPy path's gradients at the same points
    monkeypatch.setattr(_glmm, "USE_KERNEL", False)
    for x, g in zip(points, grads, strict=True):
        slow = _glmm.laplace_loglik(d, x)["grad"]
        np.testing.assert_allclose(g, slow, rtol=0, atol=1e-9 * max(1.0, np.abs(slow).max()))


def test_batched_gradients_fall_back_point_by_point(monkeypatch):
    # a failed point in the batch sends all points through laplace_loglik
    d = _data("nested", "logit", ordinal=False)
    phi = _phi(d, 2)
    monkeypatch.setattr(_glmm, "USE_KERNEL", True)
    base = _glmm.laplace_loglik(d, phi)
    points = phi + np.diag(np.full(d.P, 1e-5))
    fast = _glmm._gradients_at(d, base, phi, points)
    real = lk.gradients
    calls = []

    def failing(*args, **kwargs):
        status, grads = real(*args, **kwargs)
        calls.append(1)
        status[1] = 1
        return status, grads * np.nan

    monkeypatch.setattr(lk, "gradients", failing)
    slow = _glmm._gradients_at(d, base, phi, points)
    assert calls, "the batch was not tried"
    np.testing.assert_allclose(slow, fast, rtol=0, atol=1e-9 * np.abs(fast).max())


@pytest.mark.parametrize("seed", range(6))
def test_newton_direction_compiled_equals_numpy(seed, monkeypatch):
    # positive definite, indefinite (damped) and with fixed parameters: the compiled
    # direction equals the NumPy/LAPACK one, and solves the (damped) system
    rng = np.random.default_rng(seed)
    P = 3 + seed % 4
    A = rng.normal(size=(P, P))
    H = A @ A.T + (0.5 * np.eye(P) if seed % 2 == 0 else -2.0 * np.eye(P))
    g = rng.normal(size=P)
    free = np.ones(P, dtype=bool)
    if seed >= 3:
        free[rng.integers(0, P)] = False
    ok, fast = _glmm._newton_direction(H, g, free)
    monkeypatch.setattr(lk, "available", lambda: False)
    ok2, slow = _glmm._newton_direction(H, g, free)
    assert ok and ok2
    np.testing.assert_allclose(fast, slow, rtol=1e-10, atol=1e-12)
    assert (fast[~free] == 0).all()
    if seed % 2 == 0:  # no damping needed: an exact solve
        Hf = H[np.ix_(free, free)]
        np.testing.assert_allclose(Hf @ fast[free], g[free], rtol=1e-10, atol=1e-12)


def test_newton_direction_reports_failure():
    H = np.full((2, 2), np.nan)
    ok, step = _glmm._newton_direction(H, np.ones(2), np.ones(2, dtype=bool), max_tries=5)
    assert not ok and (step == 0).all()


@pytest.mark.parametrize("seed", range(6))
def test_random_models_fit_alike_on_both_paths(seed, monkeypatch):
    """Fuzzed data (group counts, SDs and sizes drawn at random; nested, correlated slope and
    crossed terms; binary and ordinal): the whole fit, Newton loop included, gives the same
    estimates, standard errors and log-likelihood with the kernel as with the NumPy path."""
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(150, 500))
    na, nb = int(rng.integers(4, 12)), int(rng.integers(2, 6))
    a, b, h = rng.integers(0, na, n), rng.integers(0, nb, n), rng.integers(0, 7, n)
    x = rng.normal(size=n)
    sa, sb = rng.uniform(0, 1.2, 2)
    eta = (
        0.5 * x
        + rng.normal(scale=sa, size=na)[a]
        + rng.normal(scale=sb, size=na * nb)[a * nb + b]
        + rng.normal(scale=0.5, size=7)[h]
    )
    lat = eta + rng.logistic(size=n)
    df = pd.DataFrame(
        {
            "x": x,
            "a": a.astype(str),
            "b": b,
            "h": h,
            "yb": (lat > 0).astype(int),
            "yo": pd.Categorical(np.digitize(lat, [-1, 0.5, 1.5]), ordered=True),
        }
    )
    form = ["(1 | a/b)", "(1 + x | a)", "(1 | a) + (1 | h)"][seed % 3]
    cls, y = (cm.Logistic, "yb") if seed % 2 == 0 else (cm.Ordinal, "yo")
    fits = []
    for kernel in (True, False):
        monkeypatch.setattr(_glmm, "USE_KERNEL", kernel)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a boundary SD warns alike on both paths
            fits.append(cls(f"{y} ~ x + {form}", data=df).fit())
    fast, slow = fits
    assert fast.converged == slow.converged
    se = slow.std_errors.to_numpy()
    np.testing.assert_allclose(fast.params, slow.params, rtol=0, atol=1e-8 * se.min())
    np.testing.assert_allclose(fast.std_errors, slow.std_errors, rtol=1e-8)
    assert fast.loglik == pytest.approx(slow.loglik, abs=1e-9)
