"""CR2 variance and Bell-McCaffrey df against R clubSandwich (tests/reference/cr2)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from civmodels.replication._smallsample import cr2_coefficient, satterthwaite_df

REF = Path(__file__).parents[1] / "reference" / "cr2"


def _design() -> tuple[pd.DataFrame, np.ndarray]:
    d = pd.read_csv(REF / "cr2_data.csv")
    x = np.column_stack(
        [np.ones(len(d)), d["big"], d["x2"], d["grp"] == "b", d["grp"] == "c"]
    ).astype(float)
    return d, x


@pytest.mark.parametrize("weighted", [False, True])
def test_cr2_and_df_match_clubsandwich(weighted: bool) -> None:
    d, x = _design()
    ref = pd.read_csv(REF / "cr2_reference.csv")
    ref = ref[ref["weighted"] == weighted].reset_index(drop=True)
    w = d["w"].to_numpy() if weighted else None
    for j, row in ref.iterrows():
        est, se, df = cr2_coefficient(x, d["y"].to_numpy(), d["cl"].to_numpy(), int(j), w)
        # closed-form linear algebra on the same data: agreement to rounding
        assert est == pytest.approx(row["estimate"], rel=1e-9, abs=1e-12)
        assert se == pytest.approx(row["se"], rel=1e-8)
        assert df == pytest.approx(row["df"], rel=1e-8)
        assert satterthwaite_df(x, d["cl"].to_numpy(), int(j), w) == pytest.approx(df, rel=1e-12)


def test_cr2_is_unbiased_under_the_working_model() -> None:
    """E[CR2] equals the true variance when errors are iid: check by exact expectation."""
    d, x = _design()
    cl = d["cl"].to_numpy()
    n = len(d)
    j = 1
    bread = np.linalg.inv(x.T @ x)
    true_var = bread[j, j]
    # E[V] = sum over unit vectors: V is quadratic in y, so E[V] = trace(Q) with iid N(0,1)
    q = np.zeros((n, n))
    for i in range(n):
        e = np.zeros(n)
        e[i] = 1.0
        _, se_i, _ = cr2_coefficient(x, e, cl, j)
        q[i, i] = se_i**2
    assert np.trace(q) == pytest.approx(true_var, rel=1e-10)


def test_few_clusters_get_few_df() -> None:
    d, x = _design()
    cl = d["cl"].to_numpy()
    df_big = satterthwaite_df(x, cl, 1)  # a dummy held by 5 of 30 clusters
    df_x2 = satterthwaite_df(x, cl, 2)  # a row-level covariate
    assert df_big < 8 < df_x2 < 29


def test_bad_weights_are_refused() -> None:
    d, x = _design()
    with pytest.raises(ValueError, match="weights"):
        satterthwaite_df(x, d["cl"].to_numpy(), 1, np.zeros(len(d)))
