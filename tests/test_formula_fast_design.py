"""The fast path of FixedDesign (plain sums of columns) must equal formulaic's encoding."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from formulaic import model_matrix

from civmodels.exceptions import FormulaError
from civmodels.formula import FixedDesign


@pytest.fixture
def df() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 50
    return pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "k": rng.integers(0, 5, size=n),
            "s": rng.choice(["b", "a", "c"], size=n),
            "o": pd.Series(rng.choice(["lo", "hi"], size=n), dtype=object),
            "c": pd.Categorical(rng.choice(["z", "y", "x"], size=n), categories=["z", "y", "x"]),
        }
    )


@pytest.mark.parametrize("rhs", ["x + s", "s + x + k + o + c", "c", "1 + x", "k + c + s"])
@pytest.mark.parametrize("intercept", [True, False])
def test_fast_path_equals_formulaic(df, rhs, intercept):
    fd = FixedDesign(rhs, df, intercept=intercept)
    assert fd._fast is not None
    mm = model_matrix(rhs, df)
    names = [str(c) for c in mm.columns if intercept or c != "Intercept"]
    assert fd.names == names
    np.testing.assert_array_equal(fd.X, np.asarray(mm[names], dtype=float))
    new = df.iloc[[3, 1, 4]]
    np.testing.assert_array_equal(fd.transform(new), np.asarray(mm[names], float)[[3, 1, 4]])
    assert fd._spec is not None  # formulaic spec still available on demand


def test_general_formulas_use_formulaic(df):
    fd = FixedDesign("x + C(k) + x:s", df)
    assert fd._fast is None
    assert "x:s[T.b]" in fd.names


def test_unseen_level_in_newdata(df):
    fd = FixedDesign("x + s", df)
    with pytest.raises(FormulaError, match="not seen"):
        fd.transform(pd.DataFrame({"x": [1.0], "s": ["q"]}))


def test_collinear_named(df):
    d = df.assign(x2=2 * df["x"], zero=0.0)
    fd = FixedDesign("x + x2 + zero + s", d)
    assert fd.collinear() == ["x2", "zero"]
