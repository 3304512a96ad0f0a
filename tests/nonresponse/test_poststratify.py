"""Poststratification (MRP) of predictions over the frame."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from civmodels.exceptions import DataError
from civmodels.logistic import Logistic
from civmodels.nonresponse import poststratify
from civmodels.ordinal import Ordinal


@pytest.fixture(scope="module")
def fitted(frame):
    resp = frame[frame["responded"] == 1]
    return Logistic("y ~ area + pressure_high", resp).fit()


def test_point_predictions_are_frame_averages(frame, fitted):
    pred = pd.DataFrame({"p": fitted.predict(frame)}, index=frame.index)
    ps = poststratify(pred, frame, by="pressure_high")
    manual = pred["p"].groupby(frame["pressure_high"]).mean()
    np.testing.assert_allclose(ps.table.loc[(0, "p"), "estimate"], manual[0], rtol=1e-12)
    np.testing.assert_allclose(ps.table.loc[(1, "p"), "estimate"], manual[1], rtol=1e-12)
    np.testing.assert_allclose(ps.table.loc[("overall", "p"), "estimate"], pred["p"].mean())
    assert ps.draws is None and np.isnan(ps.table["std_error"]).all()


def test_cell_weights(frame, fitted):
    cells = frame.groupby(["area", "pressure_high"]).size().rename("n").reset_index()
    pc = pd.DataFrame({"p": fitted.predict(cells)}, index=cells.index)
    pr = pd.DataFrame({"p": fitted.predict(frame)}, index=frame.index)
    a = poststratify(pc, cells, by="pressure_high", weights="n").table["estimate"]
    b = poststratify(pr, frame, by="pressure_high").table["estimate"]
    np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), rtol=1e-12)


def test_draw_array(frame):
    rng = np.random.default_rng(3)
    draws = rng.random((len(frame), 400))
    ps = poststratify(draws, frame, by="region", level=0.9)
    m = frame["region"] == "H"
    th = draws[m.to_numpy()].mean(axis=0)
    row = ps.table.loc[("H", "estimate")]
    np.testing.assert_allclose(row["estimate"], th.mean())
    np.testing.assert_allclose(row["std_error"], th.std(ddof=1))
    np.testing.assert_allclose(row[["lower", "upper"]], np.quantile(th, [0.05, 0.95]))
    assert row["level"] == 0.9


def test_parameter_draws_match_delta_method(frame, fitted):
    ps = poststratify(fitted, frame, n_draws=4000, random_seed=5)
    X = fitted._design(frame)
    p = fitted.predict(frame).to_numpy()
    grad = (p * (1 - p)) @ X / len(frame)
    se_delta = float(np.sqrt(grad @ fitted.vcov.to_numpy() @ grad))
    row = ps.table.loc[("overall", "1")]
    # Monte Carlo error of an SD from 4000 draws is ~1.1%; the map is nearly linear here
    np.testing.assert_allclose(row["std_error"], se_delta, rtol=0.06)
    np.testing.assert_allclose(row["estimate"], p.mean(), atol=3 * se_delta / np.sqrt(4000) + 2e-3)
    d = ps.difference("overall", "overall", quantity="1")
    assert d["estimate"] == 0


def test_ordinal_categories_and_top_box(frame):
    f = frame.assign(
        q=pd.Categorical(
            np.where(frame["y"] == 1, np.where(frame["area"] == "social", "c", "b"), "a"),
            categories=["a", "b", "c"],
            ordered=True,
        )
    )
    res = Ordinal("q ~ pressure_high", f[f["responded"] == 1]).fit()
    ps = poststratify(res, f, by="pressure_high", n_draws=200, random_seed=1)
    tot = ps.table["estimate"].groupby(level=0).sum()
    np.testing.assert_allclose(tot.to_numpy(), 1.0, rtol=1e-9)
    top = poststratify(res, f, categories=["b", "c"], n_draws=200, random_seed=1)
    np.testing.assert_allclose(
        top.table["estimate"].iloc[0],
        ps.table.loc[("overall", "b"), "estimate"] + ps.table.loc[("overall", "c"), "estimate"],
    )
    assert "Poststratified" in str(ps.summary())


def test_errors(frame, fitted):
    pred = pd.DataFrame({"p": fitted.predict(frame)}, index=frame.index)
    with pytest.raises(DataError, match="index does not match"):
        poststratify(pred.iloc[:10], frame)
    with pytest.raises(DataError, match="shape"):
        poststratify(np.zeros((5, 3)), frame)
    with pytest.raises(DataError, match="not among the quantities"):
        poststratify(pred, frame, categories=["x"])
    with pytest.raises(Exception, match="did you mean 'region'"):
        poststratify(pred, frame, by="regio")
    with pytest.raises(DataError, match="differences need draws"):
        poststratify(pred, frame, by="region").difference("H", "S")


def test_mixed_model_draws(frame):
    f = frame.assign(
        q=pd.Categorical.from_codes(
            (frame["y"] + (frame["area"] == "social")).to_numpy(), ["a", "b", "c"], ordered=True
        )
    )
    resp = f[f["responded"] == 1]
    res = Ordinal("q ~ pressure_high + (1 | municipality_code)", resp).fit()
    ps = poststratify(res, f, by="pressure_high", n_draws=300, random_seed=2)
    point = res.predict(f)
    np.testing.assert_allclose(
        ps.table.loc[("overall", "c"), "estimate"], point["c"].mean(), atol=0.01
    )
    lg = Logistic("y ~ pressure_high + (1 | municipality_code)", resp).fit()
    pl = poststratify(lg, f, n_draws=300, random_seed=2)
    np.testing.assert_allclose(
        pl.table.loc[("overall", "1"), "estimate"], lg.predict(f).mean(), atol=0.01
    )
