"""The 'Ved ikke' policy switch."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from civmodels.exceptions import DataError
from civmodels.missing import apply_dont_know


@pytest.fixture
def df() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "q1": [1.0, np.nan, 3.0, np.nan, 2.0],
            "q1_dk": [False, True, False, False, False],
            "q2": pd.Categorical(["a", "b", None, None, "a"], categories=["b", "a"], ordered=True),
            "q2_dk": [False, False, True, True, False],
            "x": [1, 2, 3, 4, 5],
        }
    )


def test_missing_counts_and_keeps_rows(df):
    out, rep = apply_dont_know(df, "missing")
    assert out.equals(df) and out is not df
    assert rep.items == ("q1", "q2")
    assert rep.n_values == {"q1": 1, "q2": 2}
    assert rep.n_rows_affected == 3 and rep.n_rows_dropped == 0
    assert "3 values in 3 of 5 rows" in rep.describe()


def test_category_adds_last_level(df):
    out, _rep = apply_dont_know(df, "category")
    assert list(out["q2"].cat.categories) == ["b", "a", "Ved ikke"]
    assert out["q2"].tolist()[2:4] == ["Ved ikke", "Ved ikke"]
    assert out["q1"].tolist()[1] == "Ved ikke" and pd.isna(out["q1"].tolist()[3])
    assert not out["q2"].cat.ordered
    assert df["q2"].cat.ordered  # input untouched


def test_drop_removes_rows(df):
    out, rep = apply_dont_know(df, "drop", items=["q2"])
    assert list(out.index) == [0, 1, 4]
    assert rep.n_rows_dropped == 2 and rep.items == ("q2",)


def test_errors(df):
    with pytest.raises(DataError, match="choose 'missing'"):
        apply_dont_know(df, "ignore")
    with pytest.raises(DataError, match="no companion column 'x_dk'"):
        apply_dont_know(df, items=["x"])
    bad = df.assign(q1_dk=[True, True, False, False, False])
    with pytest.raises(DataError, match="must have the item missing"):
        apply_dont_know(bad)
    with pytest.raises(DataError, match="must be boolean"):
        apply_dont_know(df.assign(q1_dk=["y", "n", "n", "n", "n"]))
