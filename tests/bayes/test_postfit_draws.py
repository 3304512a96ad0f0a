"""Posterior quantities computed for blocks of draws equal the draw-by-draw loop.

``civmodels.predictions`` evaluates the draws of a model that supplies ``prob_draws`` in
blocks; switching ``_VECTORISE_DRAWS`` off sends the same call through the loop over single
draws. Both routes do the same arithmetic on the same numbers, except that a block's linear
predictor is a matrix product where a draw's is a matrix-vector product (a different
summation order, measured differences below 1e-15 in a probability), so the agreement is to
rounding: 1e-12 relative. The derivative of a slope divides a difference of probabilities
by the step ``2h = 2e-4 SD(x1)``, which magnifies their rounding (measured 1.2e-12 relative
on a 444-row ordinal fit); its tolerance adds ``1e-15 / 2h`` absolute.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

import civmodels.predictions as P

pytestmark = pytest.mark.bayes

RTOL = 1e-12


def _compare(monkeypatch, call, atol: float = 0.0) -> pd.DataFrame:
    """``call()`` by blocks, by single draws and by blocks of 7 draws; all must agree."""
    block = call()
    with monkeypatch.context() as mp:
        mp.setattr(P, "_VECTORISE_DRAWS", False)
        loop = call()
    with monkeypatch.context() as mp:
        # blocks of 7 draws: several blocks, the last one partial
        mp.setattr(P, "_draw_blocks", lambda pm, per_draw: 7)
        small = call()
    pd.testing.assert_frame_equal(block, loop, check_exact=False, rtol=RTOL, atol=atol)
    pd.testing.assert_frame_equal(small, block, check_exact=False, rtol=RTOL, atol=atol)
    assert np.isfinite(block["estimate"]).all()
    return block


@pytest.fixture(scope="module")
def fits(ordinal_fit, logistic_fit, battery_fit, joint_fit, sim444, battery_data, joint_frame):
    return {
        "ordinal": (ordinal_fit[0], sim444, "area"),
        "logistic": (logistic_fit[0], sim444, "area"),
        "battery": (battery_fit, battery_data[0], "pressure"),
        "joint": (joint_fit, joint_frame, "pressure"),
    }


def _thinned(monkeypatch, res) -> None:
    """Every 8th draw only (75 to 150 draws), to keep the draw-by-draw route quick: the
    comparison does not need many draws, only the same ones on both routes."""
    full = type(res)._prediction_model

    def thin(self, **options):
        pm = full(self, **options)
        return dataclasses.replace(pm, uncertainty=P.PosteriorDraws(pm.uncertainty.draws[::8]))

    monkeypatch.setattr(type(res), "_prediction_model", thin)


KINDS = ["ordinal", "logistic", "battery", "joint"]


def test_the_block_route_is_taken(fits):
    for kind in KINDS:
        res = fits[kind][0]
        for conditional in (False, True):
            pm = res._prediction_model(conditional=conditional)
            assert pm.prob_draws is not None and pm.linear_draws is not None
            # about 1e5 probabilities per block, at least 64 draws, at most 4e6 probabilities
            assert P._draw_blocks(pm, 1000) == 100
            assert P._draw_blocks(pm, 14_544) == 64
            assert P._draw_blocks(pm, 1_000_000) == 4
            assert P._draw_blocks(pm, 10**7) == 1
            T = pm.uncertainty.draws[:5]
            d = pm.prepare(fits[kind][1].head(9))
            want = np.stack([pm.prob(t, d) for t in T])
            assert want.shape == (5, 9, len(pm.outcomes))
            np.testing.assert_allclose(pm.prob_draws(T, d), want, rtol=RTOL, atol=0)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("conditional", [False, True])
def test_predictions(fits, kind, conditional, monkeypatch):
    res, data, cat = fits[kind]
    _thinned(monkeypatch, res)
    kw = {"conditional": conditional}
    _compare(monkeypatch, lambda: res.predictions(by=cat, **kw))
    _compare(monkeypatch, lambda: res.predictions(by=True, at={"x1": [-1.0, 0.5]}, **kw))
    _compare(monkeypatch, lambda: res.predictions(by=cat, counterfactual=False, **kw))
    _compare(monkeypatch, lambda: res.predictions(newdata=data.iloc[3:11], **kw))
    _compare(monkeypatch, lambda: res.predictions(by=cat, hypothesis="pairwise", **kw))
    lin = {"item": "y"} if kind == "joint" else {}
    _compare(monkeypatch, lambda: res.predictions(by=cat, type="linear", **kw, **lin))


@pytest.mark.parametrize("kind", KINDS)
def test_comparisons_and_slopes(fits, kind, monkeypatch):
    res, data, cat = fits[kind]
    _thinned(monkeypatch, res)
    _compare(monkeypatch, lambda: res.comparisons(cat, hypothesis="pairwise"))
    _compare(monkeypatch, lambda: res.comparisons(cat, comparison="ratio", by=None))
    _compare(monkeypatch, lambda: res.comparisons("x1", by=cat))
    _compare(monkeypatch, lambda: res.comparisons(cat, conditional=True))
    step_atol = 1e-15 / (2e-4 * float(data["x1"].std()))
    _compare(monkeypatch, lambda: res.slopes(None), atol=step_atol)
    _compare(monkeypatch, lambda: res.slopes("x1", by=cat), atol=step_atol)


@pytest.mark.parametrize("kind", KINDS)
def test_predict_se(fits, kind, monkeypatch):
    res, data, _ = fits[kind]
    _thinned(monkeypatch, res)
    new = data.iloc[20:26]

    def call(**kw):
        return lambda: res.predict(new, se=True, interval="confidence", **kw).reset_index()

    _compare(monkeypatch, call())
    item = {"item": "y"} if kind == "joint" else {}
    _compare(monkeypatch, call(kind="linear", **item))


def test_joint_response_columns(fits, monkeypatch):
    res, _, cat = fits["joint"]
    _thinned(monkeypatch, res)
    _compare(monkeypatch, lambda: res.predictions(by=cat, item="responded"))
    _compare(monkeypatch, lambda: res.predictions(by="size", type="linear", item="responded"))
    _compare(monkeypatch, lambda: res.comparisons("size", conditional=True))


def test_posterior_mean_probs_by_blocks(fits, monkeypatch):
    """The joint result's posterior-mean probabilities sum the draws in blocks."""
    res, data, _ = fits["joint"]
    new = data.iloc[:15]
    pm = res._multi_model(True, None)
    d = pm.prepare(new)
    want = np.mean([pm.prob(t, d) for t in pm.uncertainty.draws], axis=0)
    np.testing.assert_allclose(res._posterior_mean_probs(new, None), want, rtol=RTOL, atol=0)
    monkeypatch.setattr(P, "_DRAW_BLOCK_DOUBLES", 7 * new.shape[0] * len(pm.outcomes))
    np.testing.assert_allclose(res._posterior_mean_probs(new, None), want, rtol=RTOL, atol=0)


def test_frequentist_models_have_no_block_route(monkeypatch):
    """A PredictionModel without prob_draws is evaluated draw by draw (and the delta method
    never sees a block)."""
    rng = np.random.default_rng(0)
    n = 30
    data = pd.DataFrame({"x": rng.normal(size=n)})
    draws = rng.normal(size=(11, 2))
    seen: list[int] = []

    def prob(t: np.ndarray, d: np.ndarray) -> np.ndarray:
        seen.append(t.ndim)
        return (1 / (1 + np.exp(-(t[0] + t[1] * d))))[:, None]

    pm = P.PredictionModel(
        theta=draws.mean(0),
        uncertainty=P.PosteriorDraws(draws),
        prepare=lambda df: df["x"].to_numpy(float),
        prob=prob,
        linear=None,
        data=data,
        weights=None,
        outcomes=["1"],
        variables=["x"],
    )
    assert P._draw_blocks(pm, 10) is None
    loop = P.predictions(pm, by=True)
    assert seen == [1] * 11
    blocks: list[int] = []

    def prob_draws(T: np.ndarray, d: np.ndarray) -> np.ndarray:
        blocks.append(len(T))
        return (1 / (1 + np.exp(-(T[:, :1] + T[:, 1:] * d))))[:, :, None]

    vec = dataclasses.replace(pm, prob_draws=prob_draws)
    seen.clear()
    pd.testing.assert_frame_equal(
        P.predictions(vec, by=True), loop, check_exact=False, rtol=RTOL, atol=0
    )
    assert seen == [] and blocks == [11]
    monkeypatch.setattr(P, "_DRAW_BLOCK_DOUBLES", 4 * n)
    monkeypatch.setattr(P, "_DRAW_BLOCK_MIN", 1)
    blocks.clear()
    pd.testing.assert_frame_equal(
        P.predictions(vec, by=True), loop, check_exact=False, rtol=RTOL, atol=0
    )
    assert blocks == [4, 4, 3]
    # the delta method evaluates single parameter vectors only
    blocks.clear()
    P.predictions(dataclasses.replace(vec, uncertainty=P.DeltaMethod(np.eye(2))), by=True)
    assert blocks == [] and set(seen) == {1}


def test_unique_rows():
    from civmodels.bayes._numeric import expand_rows, unique_rows

    X = np.array([[1.0, 0.5], [0.0, 0.5], [1.0, 0.5], [1.0, -0.5]])
    codes = np.array([3, 3, 3, 3])
    first, inv = unique_rows(X, None, codes)
    assert len(first) == 3
    np.testing.assert_array_equal(X[first][inv], X)
    first, inv = unique_rows(X, np.array([0, 1, 2, 3]))  # a code makes every row distinct
    assert inv is None
    np.testing.assert_array_equal(first, np.arange(4))
    assert expand_rows(X, inv, 0) is X
    first, inv = unique_rows(X, None, codes)
    np.testing.assert_array_equal(expand_rows(X[first].T, inv, 1), X.T)
    first, inv = unique_rows(np.zeros((5, 0)))  # no columns: one distinct row
    np.testing.assert_array_equal(first, [0])
    np.testing.assert_array_equal(inv, np.zeros(5))


def test_designs_keep_the_distinct_rows(fits):
    """Marginal battery predictions with x1 held at 0: the design keeps one row per level of
    pressure and expands the probabilities to every row."""
    res, data, _ = fits["battery"]
    pm = res._prediction_model()
    base = data.assign(x1=0.0)
    d = pm.prepare(base)
    n_patterns = len(base[["pressure"]].drop_duplicates())
    assert len(d[0]) == n_patterns and len(d[-1]) == len(base)
    p = pm.prob(pm.uncertainty.draws[0], d)
    assert p.shape == (len(base), len(pm.outcomes))
    t = pm.uncertainty.draws[0]
    for i in (0, 1, 57, len(base) - 1):
        one = pm.prob(t, pm.prepare(base.iloc[[i]]))
        np.testing.assert_allclose(p[i], one[0], rtol=RTOL, atol=0)
