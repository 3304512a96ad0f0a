"""Bundled survey, reading real exports (CSV/SPSS/Stata), writing, and bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pyreadstat
import pytest

from civmodels.data import (
    BUNDLED_SEED,
    COVARIATES,
    codebook,
    load_survey,
    read_survey,
    simulate_survey,
    write_survey,
)
from civmodels.data._resources import resource_text
from civmodels.exceptions import DataError


@pytest.fixture(scope="module")
def survey() -> pd.DataFrame:
    return load_survey()


def test_bundled_survey_regenerates_from_seed(survey):
    regenerated = simulate_survey(random_seed=BUNDLED_SEED).data
    pd.testing.assert_frame_equal(survey, regenerated)


def test_bundled_file_is_what_make_script_writes(tmp_path):
    out = write_survey(simulate_survey(random_seed=BUNDLED_SEED).data, tmp_path / "s.csv")
    assert out.read_text(encoding="utf-8") == resource_text("survey.csv")


def test_structure(survey):
    assert survey.columns[:5].tolist() == [
        "respondent_id",
        "position_id",
        "municipality_code",
        "municipality",
        "area",
    ]
    assert survey.columns[5:12].tolist() == list(COVARIATES)
    assert survey["respondent_id"].is_unique
    assert 400 < len(survey) < 500
    assert survey["mot_quality"].cat.ordered
    assert survey["new_focus_last_year"].cat.categories.tolist() == ["Nej", "Ja"]
    assert survey["n_ongoing_collaborations"].dtype == np.float64
    assert survey["size_group"].cat.ordered
    assert survey.attrs["read_report"].n_dropped == 0


def test_load_survey_returns_a_copy(survey):
    a = load_survey()
    a.loc[0, "respondent_id"] = -1
    assert load_survey().loc[0, "respondent_id"] == survey.loc[0, "respondent_id"]


@pytest.mark.parametrize("suffix", [".csv", ".sav", ".dta"])
def test_round_trip(survey, tmp_path, suffix):
    path = write_survey(survey, tmp_path / f"export{suffix}")
    back = read_survey(path)
    pd.testing.assert_frame_equal(back, survey)
    assert back.attrs["read_report"].n_dropped == 0


@pytest.mark.parametrize("suffix", [".sav", ".dta"])
def test_exports_carry_danish_value_labels(survey, tmp_path, suffix):
    path = write_survey(survey, tmp_path / f"export{suffix}")
    reader = pyreadstat.read_sav if suffix == ".sav" else pyreadstat.read_dta
    df, meta = reader(str(path))
    labels = meta.variable_value_labels
    assert labels["mot_quality"] == {
        1: "Slet ikke vigtigt",
        2: "Mindre vigtigt",
        3: "Vigtigt",
        4: "Meget vigtigt",
        9: "Ved ikke",
    }
    assert labels["new_focus_last_year"] == {0: "Nej", 1: "Ja"}
    assert labels["n_ongoing_collaborations"] == {9999: "Ved ikke"}
    assert labels["area"][6] == "Teknik og miljø"
    # 'Ved ikke' is stored as code 9
    n_dk = int(survey["mot_quality_dk"].sum())
    assert (df["mot_quality"] == 9).sum() == n_dk


def test_real_export_conventions(survey, tmp_path):
    # a typical real export: formal names, no codes, no position ids, Danish area labels,
    # odd case and spaces in labels, renamed id column
    out = write_survey(survey, tmp_path / "x.csv")
    raw = pd.read_csv(out, dtype=str, keep_default_na=False)
    code_to_name = dict(zip(survey["municipality_code"], survey["municipality"], strict=True))
    raw["kommune"] = raw["municipality_code"].astype(int).map(code_to_name) + " Kommune"
    raw.loc[raw["municipality_code"] == "101", "kommune"] = "Københavns Kommune"
    raw = raw.drop(columns=["municipality_code", "municipality", "position_id"])
    raw = raw.rename(columns={"respondent_id": "id"})
    raw["mot_quality"] = raw["mot_quality"].str.upper().str.pad(20)
    raw.to_csv(tmp_path / "real.csv", index=False)
    back = read_survey(
        tmp_path / "real.csv", columns={"kommune": "municipality", "id": "respondent_id"}
    )
    pd.testing.assert_frame_equal(
        back.drop(columns="position_id"), survey.drop(columns="position_id")
    )
    # positions are assigned within municipality and area
    assert back["position_id"].is_unique


def test_numeric_codes_option(survey, tmp_path):
    path = write_survey(survey, tmp_path / "x.sav")
    df, _ = pyreadstat.read_sav(str(path))  # codes, no labels applied
    df.to_csv(tmp_path / "codes.csv", index=False)
    with pytest.raises(DataError, match=r"numbers without value labels.*numeric_codes=True"):
        read_survey(tmp_path / "codes.csv")
    back = read_survey(tmp_path / "codes.csv", numeric_codes=True)
    pd.testing.assert_frame_equal(back, survey)
    df.loc[0, "mot_trust"] = 5
    df.to_csv(tmp_path / "codes5.csv", index=False)
    with pytest.raises(DataError, match=r"mot_trust.*not codebook codes.*'5\.0'.*4 = Meget"):
        read_survey(tmp_path / "codes5.csv", numeric_codes=True)


def test_dk_companion_columns_are_honoured(survey, tmp_path):
    out = write_survey(survey, tmp_path / "x.csv")
    raw = pd.read_csv(out, dtype=str, keep_default_na=False)
    dk = raw["mot_trust"] == "Ved ikke"
    raw.loc[dk, "mot_trust"] = ""
    raw["mot_trust_dk"] = np.where(dk, "True", "False")
    raw.to_csv(tmp_path / "y.csv", index=False)
    back = read_survey(tmp_path / "y.csv")
    pd.testing.assert_series_equal(back["mot_trust_dk"], survey["mot_trust_dk"])
    raw.loc[raw.index[0], "mot_trust_dk"] = "True"
    raw.loc[raw.index[0], "mot_trust"] = "Vigtigt"
    raw.to_csv(tmp_path / "z.csv", index=False)
    with pytest.raises(DataError, match="must have the item missing"):
        read_survey(tmp_path / "z.csv")


# ---------------------------------------------------------------- bad input
@pytest.fixture
def raw_csv(survey, tmp_path):
    out = write_survey(survey, tmp_path / "base.csv")
    return pd.read_csv(out, dtype=str, keep_default_na=False)


def _write(raw: pd.DataFrame, tmp_path, name="bad.csv"):
    p = tmp_path / name
    raw.to_csv(p, index=False)
    return p


def test_unknown_municipality_code(raw_csv, tmp_path):
    raw_csv.loc[0:2, "municipality_code"] = ["999", "411", "999"]
    with pytest.raises(DataError, match=r"municipality_code.*'411', '999'"):
        read_survey(_write(raw_csv.drop(columns="municipality"), tmp_path))


def test_unknown_municipality_name_suggests(raw_csv, tmp_path):
    raw = raw_csv.drop(columns="municipality_code")
    raw.loc[0, "municipality"] = "Århus"
    raw.loc[1, "municipality"] = "Frederiksbrg"
    with pytest.raises(DataError, match=r"'Frederiksbrg' \(did you mean 'Frederiksberg'"):
        read_survey(_write(raw, tmp_path))


def test_code_and_name_disagree(raw_csv, tmp_path):
    raw_csv.loc[0, "municipality"] = (
        "Aarhus" if raw_csv.loc[0, "municipality"] != "Aarhus" else "Odense"
    )
    with pytest.raises(DataError, match="disagree"):
        read_survey(_write(raw_csv, tmp_path))


def test_value_label_not_in_codebook(raw_csv, tmp_path):
    raw_csv.loc[0, "mot_quality"] = "Meget vigtig"
    with pytest.raises(
        DataError,
        match=r"mot_quality.*'Meget vigtig' \(did you mean "
        r"'Meget vigtigt'\?\)",
    ):
        read_survey(_write(raw_csv, tmp_path))


def test_ordinal_item_as_free_text(raw_csv, tmp_path):
    raw_csv["cross_departmental_frequency"] = [f"svar nummer {i}" for i in range(len(raw_csv))]
    with pytest.raises(DataError, match=r"cross_departmental_frequency.*free text"):
        read_survey(_write(raw_csv, tmp_path))


def test_dont_know_where_not_offered(raw_csv, tmp_path):
    raw_csv.loc[0, "policy_strategy"] = "Ved ikke"
    with pytest.raises(DataError, match="does not offer 'Ved ikke'"):
        read_survey(_write(raw_csv, tmp_path))


def test_bad_count(raw_csv, tmp_path):
    raw_csv.loc[0, "n_ongoing_collaborations"] = "cirka 10"
    raw_csv.loc[1, "n_ongoing_collaborations"] = "-3"
    with pytest.raises(DataError, match=r"n_ongoing_collaborations.*'-3', 'cirka 10'"):
        read_survey(_write(raw_csv, tmp_path))


def test_duplicated_respondent_id(raw_csv, tmp_path):
    raw_csv.loc[1, "respondent_id"] = raw_csv.loc[0, "respondent_id"]
    with pytest.raises(DataError, match="duplicated id"):
        read_survey(_write(raw_csv, tmp_path))


def test_unknown_area(raw_csv, tmp_path):
    raw_csv.loc[0, "area"] = "Ældre"
    with pytest.raises(DataError, match=r"'area'.*'Ældre'"):
        read_survey(_write(raw_csv, tmp_path))


@pytest.mark.parametrize("col", ["respondent_id", "area"])
def test_missing_required_columns(raw_csv, tmp_path, col):
    with pytest.raises(DataError, match=f"lacks required column.*{col}"):
        read_survey(_write(raw_csv.drop(columns=col), tmp_path))
    with pytest.raises(DataError, match="municipality_code' or 'municipality'"):
        read_survey(_write(raw_csv.drop(columns=["municipality", "municipality_code"]), tmp_path))


def test_bad_file_type(tmp_path):
    p = tmp_path / "survey.xlsx"
    p.write_bytes(b"not really")
    with pytest.raises(DataError, match=r"'\.xlsx' is not supported.*CSV.*SPSS.*Stata"):
        read_survey(p)
    with pytest.raises(DataError, match="does not exist"):
        read_survey(tmp_path / "nothing.csv")
    with pytest.raises(DataError, match="suffix"):
        write_survey(load_survey(), tmp_path / "x.parquet")


def test_empty_rows_counted_and_reported(raw_csv, tmp_path):
    items = codebook.survey_columns()
    raw_csv.loc[[3, 5], items] = ""
    with pytest.warns(UserWarning, match="2 row"):
        back = read_survey(_write(raw_csv, tmp_path))
    rep = back.attrs["read_report"]
    assert rep.n_dropped == 2
    assert rep.n_rows_read == len(raw_csv)
    assert len(back) == len(raw_csv) - 2
    assert "2 dropped" in rep.describe()


def test_missing_items_reported(raw_csv, tmp_path):
    with pytest.warns(UserWarning, match="not in"):
        back = read_survey(_write(raw_csv.drop(columns=["cc_partners_n"]), tmp_path))
    assert back["cc_partners_n"].isna().all()
    assert back.attrs["read_report"].missing_items == ("cc_partners_n",)


def test_covariates_in_file_are_replaced(survey, tmp_path):
    path = write_survey(survey, tmp_path / "c.csv", covariates=True)
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    raw["bloc"] = "purple"
    raw.to_csv(path, index=False)
    back = read_survey(path)
    pd.testing.assert_frame_equal(back, survey)
    assert "bloc" in back.attrs["read_report"].replaced_columns


def test_no_warning_on_clean_file(survey, tmp_path):
    path = write_survey(survey, tmp_path / "ok.dta")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_survey(path)


def test_municipality_codes_labelled_with_names(survey, tmp_path):
    # SPSS exports often carry the municipality name as the value label of the code
    path = write_survey(survey, tmp_path / "m.sav")
    df, meta = pyreadstat.read_sav(str(path))
    names = dict(zip(survey["municipality_code"], survey["municipality"], strict=True))
    labels = meta.variable_value_labels
    labels["municipality_code"] = {float(k): v for k, v in names.items()}
    pyreadstat.write_sav(
        df.drop(columns="municipality"), str(tmp_path / "m2.sav"), variable_value_labels=labels
    )
    back = read_survey(tmp_path / "m2.sav")
    pd.testing.assert_frame_equal(back, survey)


def test_plain_to_csv_of_survey_frame_round_trips(tmp_path):
    # `civmodels simulate` writes sim.data with DataFrame.to_csv (covariates and <item>_dk
    # columns included); read_survey must read that back to the identical frame
    data = simulate_survey(random_seed=5).data
    data.to_csv(tmp_path / "sim.csv", index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        back = read_survey(tmp_path / "sim.csv")
    pd.testing.assert_frame_equal(back, data)


def _relative_imports(module: str) -> set[str]:
    import ast
    import importlib
    from pathlib import Path

    path = importlib.import_module(f"civmodels.data.{module}").__file__
    assert path is not None
    tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):  # includes imports inside functions
        if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
            found.add(node.module)
    return found


def test_frame_and_loaders_import_one_way():
    # _positions <- loaders <- frame: the loader never reaches up to frame, not even lazily
    assert "frame" not in _relative_imports("loaders")
    assert not {"frame", "loaders"} & _relative_imports("_positions")
    assert "loaders" in _relative_imports("frame")
