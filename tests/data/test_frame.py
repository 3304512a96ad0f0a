"""The real municipality frame and the 838-position survey frame."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from civmodels.data import (
    AREAS,
    COVARIATES,
    DEFAULT_SIZE_CUTS,
    allocate_positions,
    load_frame,
    load_municipalities,
    load_survey,
)
from civmodels.data._resources import resource_text
from civmodels.exceptions import DataError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def muni() -> pd.DataFrame:
    return load_municipalities()


def test_packaged_files_are_the_provenance_copies():
    # data/ holds the source copies; the package reads its own copies: they must not drift
    for name in ("municipalities.csv", "codebook.yaml", "calibration.yaml"):
        assert (ROOT / "data" / name).read_text(encoding="utf-8") == resource_text(name), name


def test_municipalities_shape_and_source_columns(muni):
    src = pd.read_csv(StringIO(resource_text("municipalities.csv")))
    assert len(muni) == 98
    assert muni["code"].is_unique
    assert muni["code"].is_monotonic_increasing
    # every source column is kept (the 2014 bloc column under a new name), values unchanged
    for col in src.columns:
        name = "bloc_2014" if col == "bloc" else col
        got = muni[name]
        if isinstance(got.dtype, pd.CategoricalDtype):
            got = got.astype(str)
        pd.testing.assert_series_equal(
            got.reset_index(drop=True),
            src.sort_values("code")[col].reset_index(drop=True),
            check_names=False,
            check_dtype=False,
        )
    for col in (
        "log_population",
        "size_group",
        "spending_pressure",
        "pressure_high",
        "bloc",
        "region",
    ):
        assert col in muni.columns


def test_log_population(muni):
    np.testing.assert_allclose(muni["log_population"], np.log(muni["population"]), rtol=1e-15)


def test_size_group_default_bands(muni):
    sg = muni["size_group"]
    assert sg.cat.ordered
    assert sg.cat.categories.tolist() == ["<30k", "30k–50k", "50k–100k", "≥100k"]
    assert sg.value_counts().sort_index().tolist() == [25, 36, 30, 7]
    # the band boundaries follow the cut-points (lower bound inclusive)
    codes = sg.cat.codes.to_numpy()
    expected = (muni["population"].to_numpy()[:, None] >= np.array(DEFAULT_SIZE_CUTS)).sum(1)
    np.testing.assert_array_equal(codes, expected)


def test_size_cuts_parameter():
    m = load_municipalities(size_cuts=(50_000,))
    assert m["size_group"].cat.categories.tolist() == ["<50k", "≥50k"]
    assert m["size_group"].value_counts().sum() == 98
    assert (m.loc[m["population"] >= 50_000, "size_group"] == "≥50k").all()


@pytest.mark.parametrize(
    ("cuts", "match"),
    [
        ((50_000, 30_000), "strictly increasing"),
        ((-1,), "positive"),
        ((1_000_000,), "without municipalities"),
        ("big", "positive|sequence"),
    ],
)
def test_size_cuts_errors(cuts, match):
    with pytest.raises(DataError, match=match):
        load_municipalities(size_cuts=cuts)


def test_spending_pressure_index(muni):
    # independent re-computation of the documented construction
    def z(x):
        return (x - x.mean()) / x.std()

    raw = (
        z(muni["socioek_indeks_2015"])
        + z(muni["udskrivningsprocent_2015"])
        - z(muni["disp_indkomst_gns_2015"])
    )
    np.testing.assert_allclose(muni["spending_pressure"], z(raw), atol=1e-12)
    assert abs(muni["spending_pressure"].mean()) < 1e-12
    assert muni["spending_pressure"].std() == pytest.approx(1.0)


def test_pressure_high_is_median_split(muni):
    ph = muni["pressure_high"]
    assert ph.dtype == np.int64
    assert ph.sum() == 49
    high = muni.loc[ph == 1, "spending_pressure"]
    low = muni.loc[ph == 0, "spending_pressure"]
    assert high.min() > low.max()


def test_bloc_two_classes(muni):
    assert set(muni["bloc"].astype(str)) == {"red", "blue"}
    assert muni["bloc"].cat.categories.tolist() == ["red", "blue"]
    # red = mayor from A, B, F in 2015 (no Ø/Å mayors); the local list (Guldborgsund) is blue
    red = muni["mayor_party_2015"].isin(["A", "B", "F"])
    assert (muni.loc[red, "bloc"] == "red").all()
    assert muni.loc[muni["name"] == "Guldborgsund", "bloc"].item() == "blue"
    assert (muni["bloc"] == "red").sum() == 35
    alt = load_municipalities(local_bloc="red")
    assert alt.loc[alt["name"] == "Guldborgsund", "bloc"].item() == "red"
    with pytest.raises(DataError, match="local_bloc"):
        load_municipalities(local_bloc="local")


def test_region(muni):
    assert muni["region"].cat.categories.tolist() == [
        "Hovedstaden",
        "Sjælland",
        "Syddanmark",
        "Midtjylland",
        "Nordjylland",
    ]
    assert muni["region"].value_counts().sort_index().tolist() == [29, 17, 22, 19, 11]


def test_allocation_rule():
    pop = np.array([100.0, 300.0, 600.0])
    n = allocate_positions(pop, n_total=34, n_base=8)
    # 10 extra in proportion 1:3:6
    np.testing.assert_array_equal(n, [9, 11, 14])
    n = allocate_positions(np.array([1.0, 1.0, 1.0]), n_total=25, n_base=8)
    np.testing.assert_array_equal(n, [9, 8, 8])  # ties go to the earlier row
    with pytest.raises(DataError, match="smaller"):
        allocate_positions(pop, n_total=10)


def test_frame_structure():
    f = load_frame()
    assert len(f) == 838
    assert f["position_id"].tolist() == list(range(1, 839))
    assert f.columns.tolist()[:6] == [
        "position_id",
        "municipality_code",
        "municipality",
        "area",
        "seat",
        "responded",
    ]
    for c in COVARIATES:
        assert c in f.columns
    assert f["area"].cat.categories.tolist() == list(AREAS)
    assert not f["area"].cat.ordered
    # every municipality has at least one head per area; 784 first seats + 54 extra
    cells = f.groupby(["municipality_code", "area"], observed=False).size()
    assert (cells >= 1).all()
    assert (f["seat"] == 1).sum() == 784
    # larger municipalities never have fewer positions than smaller ones
    per_m = f.groupby("municipality_code").agg(
        n=("position_id", "size"), pop=("population", "first")
    )
    per_m = per_m.sort_values("pop")
    assert per_m["n"].is_monotonic_increasing
    assert per_m["n"].sum() == 838
    assert f["responded"].isin([0, 1]).all()
    assert f["responded"].dtype == np.int64


def test_frame_covariates_match_municipalities(muni):
    f = load_frame()
    joined = f.merge(
        muni[["code", "name", "spending_pressure", "bloc"]],
        left_on="municipality_code",
        right_on="code",
    )
    assert (joined["municipality"] == joined["name"]).all()
    np.testing.assert_array_equal(joined["spending_pressure_x"], joined["spending_pressure_y"])
    assert (joined["bloc_x"] == joined["bloc_y"]).all()


def test_frame_responded_from_survey():
    survey = load_survey()
    f = load_frame()
    assert f["responded"].sum() == len(survey)
    assert set(f.loc[f["responded"] == 1, "position_id"]) == set(survey["position_id"])
    # without position ids: respondents fill positions of their municipality and area
    g = load_frame(survey.drop(columns="position_id"))
    a = f.groupby(["municipality_code", "area"], observed=True)["responded"].sum()
    b = g.groupby(["municipality_code", "area"], observed=True)["responded"].sum()
    pd.testing.assert_series_equal(a, b)


def test_frame_survey_errors():
    survey = load_survey()
    bad = survey.copy()
    bad.loc[0, "position_id"] = 5000
    with pytest.raises(DataError, match="position_id"):
        load_frame(bad)
    too_many = pd.concat([survey.iloc[[0]]] * 20).drop(columns="position_id")
    with pytest.raises(DataError, match="more respondents than the frame"):
        load_frame(too_many)
    with pytest.raises(DataError, match="DataFrame"):
        load_frame([1, 2])  # type: ignore[arg-type]
