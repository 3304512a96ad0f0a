"""Bundled survey, reading real exports (CSV/SPSS/Stata), writing, and bad input."""

from __future__ import annotations

import re
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


# ------------------------------------------------ loader without silent changes (issue #10)
@pytest.fixture(scope="module")
def small(survey) -> pd.DataFrame:
    """The first 30 respondents (with their position ids), as load_survey gives them."""
    return survey.iloc[:30].reset_index(drop=True)


@pytest.fixture
def small_raw(small, tmp_path) -> pd.DataFrame:
    """``small`` as the cells of a CSV export (all text)."""
    out = write_survey(small, tmp_path / "small.csv")
    return pd.read_csv(out, dtype=str, keep_default_na=False)


@pytest.mark.parametrize("other", ["01", " 1 ", "1.0"])
def test_ids_normalised_before_duplicate_check(small_raw, tmp_path, other):
    raw = small_raw.copy()
    raw.loc[[0, 1], "respondent_id"] = ["1", other]
    with pytest.raises(
        DataError, match=rf"duplicated id.*1 \('1' in row 1, {re.escape(repr(other))} in row 2\)"
    ):
        read_survey(_write(raw, tmp_path))


def test_integer_ids_with_spaces_and_zeros(small, small_raw, tmp_path):
    raw = small_raw.copy()
    raw["respondent_id"] = [f" {int(v):05d}  " for v in raw["respondent_id"]]
    back = read_survey(_write(raw, tmp_path))
    assert back["respondent_id"].dtype == np.int64
    pd.testing.assert_series_equal(back["respondent_id"], small["respondent_id"])


def test_text_ids_stay_text(small_raw, tmp_path):
    raw = small_raw.copy()
    raw["respondent_id"] = [f"R{i}" for i in range(len(raw))]
    raw.loc[0, "respondent_id"] = " 007 "
    raw.loc[1, "respondent_id"] = "A-7"
    back = read_survey(_write(raw, tmp_path))
    assert back["respondent_id"].tolist()[:3] == ["007", "A-7", "R2"]
    # compared by the same rule: ' R2' is R2, and '7' is '007' (both the integer 7)
    raw.loc[3, "respondent_id"] = " R2"
    with pytest.raises(DataError, match=r"'R2' \('R2' in row 3, ' R2' in row 4\)"):
        read_survey(_write(raw, tmp_path))
    raw.loc[3, "respondent_id"] = "7"
    with pytest.raises(DataError, match=r"7 \(' 007 ' in row 1, '7' in row 4\)"):
        read_survey(_write(raw, tmp_path))


def test_blank_id_names_the_row(small_raw, tmp_path):
    small_raw.loc[4, "respondent_id"] = "  "
    with pytest.raises(DataError, match=r"'respondent_id' is blank in row 5 "):
        read_survey(_write(small_raw, tmp_path))


def test_extra_columns_are_typed_and_reported(small_raw, tmp_path):
    raw = small_raw.copy()
    n = len(raw)
    raw["tenure"] = [f"{i},5" if i % 3 else str(i) for i in range(n)]
    raw.loc[2, "tenure"] = ""
    raw["score"] = [f" {i / 4} " for i in range(n)]
    raw["note"] = ["ok"] * (n - 1) + ["12"]
    back = read_survey(_write(raw, tmp_path))
    assert back["tenure"].dtype == np.float64
    assert back["tenure"].iloc[1] == 1.5
    assert np.isnan(back["tenure"].iloc[2])
    assert back["score"].tolist() == [i / 4 for i in range(n)]
    assert back["note"].tolist() == raw["note"].tolist()
    rep = back.attrs["read_report"]
    assert rep.extra_columns == ("tenure", "score", "note")
    assert rep.extra_types == {"tenure": "numeric", "score": "numeric", "note": "text"}
    assert "tenure (numeric), score (numeric), note (text)" in rep.describe()


def test_numeric_extra_with_marker_names_the_fix(small_raw, tmp_path):
    raw = small_raw.copy()
    raw["tenure"] = [str(i) for i in range(len(raw))]
    raw.loc[[3, 7], "tenure"] = "n/a"
    with pytest.raises(DataError, match=r"'tenure' holds 'n/a' \(2 times\).*missing_values"):
        read_survey(_write(raw, tmp_path))
    back = read_survey(_write(raw, tmp_path), missing_values=["N/A"])
    assert back["tenure"].dtype == np.float64
    assert back["tenure"].isna().sum() == 2
    assert back.attrs["read_report"].n_set_missing == {"tenure": 2}


def test_extra_mixing_decimal_marks_is_refused(small_raw, tmp_path):
    raw = small_raw.copy()
    raw["budget"] = ["1.234"] + ["3,5"] * (len(raw) - 1)
    with pytest.raises(DataError, match=r"'budget' mixes decimal points and decimal commas"):
        read_survey(_write(raw, tmp_path))


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("True", True),
        ("false", False),
        ("1", True),
        ("0", False),
        (" JA ", True),
        ("Nej", False),
        ("yes", True),
        ("NO", False),
        ("ved ikke", True),
        ("", False),
    ],
)
def test_dk_flags_accepted_spellings(small_raw, tmp_path, cell, expected):
    raw = small_raw.copy()
    raw["mot_trust_dk"] = "false"
    raw.loc[0, "mot_trust"] = ""
    raw.loc[0, "mot_trust_dk"] = cell
    back = read_survey(_write(raw, tmp_path))
    assert bool(back.loc[0, "mot_trust_dk"]) is expected


def test_dk_flags_unknown_values_are_named(small_raw, tmp_path):
    raw = small_raw.copy()
    raw["mot_trust_dk"] = "0"
    raw.loc[[0, 1], "mot_trust"] = ""
    raw.loc[[0, 1], "mot_trust_dk"] = ["måske", "x"]
    with pytest.raises(DataError, match=r"'mot_trust_dk'.*'måske' \(1x\).*true/false, 1/0"):
        read_survey(_write(raw, tmp_path))


def test_dk_flag_on_item_without_dont_know(small_raw, tmp_path):
    raw = small_raw.copy()
    raw["policy_strategy_dk"] = ""
    raw.loc[0, ["policy_strategy", "policy_strategy_dk"]] = ["", "ja"]
    with pytest.raises(DataError, match=r"'policy_strategy_dk'.*does not offer 'Ved ikke'"):
        read_survey(_write(raw, tmp_path))


@pytest.mark.parametrize(("sep", "name"), [(";", "semicolon"), ("\t", "tab")])
def test_separator_detected(small, small_raw, tmp_path, sep, name):
    raw = small_raw.copy()
    raw["tenure"] = [f"{i},25" for i in range(len(raw))]  # decimal commas, Danish Excel
    p = tmp_path / f"{name}.csv"
    raw.to_csv(p, sep=sep, index=False)
    back = read_survey(p)
    pd.testing.assert_frame_equal(back.drop(columns="tenure"), small)
    assert back["tenure"].iloc[2] == 2.25
    assert back.attrs["read_report"].separator == sep
    # an explicit sep= overrides detection; aliases for tab work
    same = read_survey(p, sep="tab" if sep == "\t" else sep)
    pd.testing.assert_frame_equal(same, back)


def test_wrong_explicit_separator_names_the_right_one(small_raw, tmp_path):
    p = tmp_path / "semi.csv"
    small_raw.to_csv(p, sep=";", index=False)
    with pytest.raises(DataError, match=r"','.*contains ';': pass sep=';'"):
        read_survey(p, sep=",")
    small_raw.to_csv(p, sep="|", index=False)
    with pytest.raises(DataError, match=r"none of ',', ';' and tab: pass the file's separator"):
        read_survey(p)
    assert read_survey(p, sep="|").shape[0] == len(small_raw)
    with pytest.raises(DataError, match="sep must be one separator character"):
        read_survey(p, sep=";;")
    sav = write_survey(load_survey().iloc[:5], tmp_path / "x.sav")
    with pytest.raises(DataError, match="sep=';' applies to CSV files only"):
        read_survey(sav, sep=";")


def test_ragged_csv_is_a_data_error(small_raw, tmp_path):
    p = _write(small_raw, tmp_path)
    lines = p.read_text(encoding="utf-8").splitlines()
    lines[3] += ",surplus,cells"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"as a ','-separated file.*Expected .* fields.*sep="):
        read_survey(p)


def test_empty_and_header_only_files_refused(small_raw, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(DataError, match="is empty: it has no header line and no rows"):
        read_survey(empty)
    empty.write_text("\n  \n", encoding="utf-8")
    with pytest.raises(DataError, match="is empty"):
        read_survey(empty)
    (tmp_path / "empty.sav").write_bytes(b"")
    with pytest.raises(DataError, match="is empty"):
        read_survey(tmp_path / "empty.sav")
    header_only = _write(small_raw.iloc[:0], tmp_path, "header.csv")
    with pytest.raises(DataError, match="has column names but no rows"):
        read_survey(header_only)
    sav = tmp_path / "header.sav"
    pyreadstat.write_sav(pd.DataFrame({"respondent_id": np.array([], dtype=float)}), str(sav))
    with pytest.raises(DataError, match="has column names but no rows"):
        read_survey(sav)


@pytest.mark.parametrize("marker", ["n/a", "NaN", "nan", ".", "NA", "-"])
def test_stray_missing_marker_in_item_is_named(small_raw, tmp_path, marker):
    raw = small_raw.copy()
    raw.loc[[2, 5, 9], "mot_quality"] = marker
    with pytest.raises(
        DataError,
        match=rf"'mot_quality' holds '{re.escape(marker)}' \(3 times\).*missing_values=",
    ):
        read_survey(_write(raw, tmp_path))
    back = read_survey(_write(raw, tmp_path), missing_values=[marker])
    assert back["mot_quality"].isna()[[2, 5, 9]].all()
    assert not back["mot_quality_dk"][[2, 5, 9]].any()  # not answered, not 'Ved ikke'
    assert back["mot_quality"].cat.categories.tolist() == codebook["mot_quality"].labels_da
    assert back.attrs["read_report"].n_set_missing == {"mot_quality": 3}


def test_stray_marker_among_numeric_codes_and_counts(small, tmp_path):
    path = write_survey(small, tmp_path / "x.sav")
    df, _ = pyreadstat.read_sav(str(path))  # numeric codes, no labels
    df = df.astype({"mot_trust": object, "n_ongoing_collaborations": object})
    df.loc[0, "mot_trust"] = "n/a"
    df.to_csv(tmp_path / "codes.csv", index=False)
    with pytest.raises(DataError, match=r"'mot_trust' holds 'n/a' \(1 time\)"):
        read_survey(tmp_path / "codes.csv", numeric_codes=True)
    df.loc[0, "mot_trust"] = 1.0
    df.loc[[1, 2], "n_ongoing_collaborations"] = "."
    df.to_csv(tmp_path / "codes.csv", index=False)
    with pytest.raises(DataError, match=r"'n_ongoing_collaborations' holds '\.' \(2 times\)"):
        read_survey(tmp_path / "codes.csv", numeric_codes=True)
    back = read_survey(tmp_path / "codes.csv", numeric_codes=True, missing_values=["."])
    assert back["n_ongoing_collaborations"].isna()[[1, 2]].all()


def test_missing_values_argument_is_checked(small_raw, tmp_path):
    p = _write(small_raw, tmp_path)
    with pytest.raises(DataError, match="missing_values must be a list"):
        read_survey(p, missing_values="n/a")  # type: ignore[arg-type]
    with pytest.raises(DataError, match="'Ved ikke' answer"):
        read_survey(p, missing_values=["ved ikke"])


def test_blank_municipality_names_the_rows(small_raw, tmp_path):
    raw = small_raw.drop(columns="municipality_code")
    raw.loc[[3, 11], "municipality"] = ["", "   "]
    with pytest.raises(
        DataError, match=r"column 'municipality' is blank in rows 4, 12 .*respondent id"
    ):
        read_survey(_write(raw, tmp_path))
    # a blank name is harmless where the code is given
    both = small_raw.copy()
    both.loc[3, "municipality"] = ""
    back = read_survey(_write(both, tmp_path))
    assert back.loc[3, "municipality_code"] == int(small_raw.loc[3, "municipality_code"])
    both.loc[3, "municipality_code"] = ""
    with pytest.raises(DataError, match=r"columns 'municipality_code' and 'municipality' are "):
        read_survey(_write(both, tmp_path))


def test_directory_and_missing_path(small, tmp_path):
    write_survey(small, tmp_path / "export.sav")
    with pytest.raises(DataError, match=r"is a directory.*'export\.sav'"):
        read_survey(tmp_path)
    with pytest.raises(DataError, match="does not exist"):
        read_survey(tmp_path / "no_such_dir" / "export.csv")


def test_rename_onto_existing_column_is_refused(small_raw, tmp_path):
    raw = small_raw.copy()
    raw["kommune"] = raw["municipality"]
    with pytest.raises(DataError, match=r"more than one column the name\(s\) \['municipality'\]"):
        read_survey(_write(raw, tmp_path), columns={"kommune": "municipality"})


def test_cell_over_frame_capacity_is_named(small, tmp_path):
    from civmodels.data import load_frame

    sub = small.iloc[:5].drop(columns="position_id").copy()
    sub["municipality_code"] = 101
    sub["area"] = pd.Categorical(["kultur_fritid"] * 5, categories=small["area"].cat.categories)
    path = write_survey(sub, tmp_path / "over.csv")
    with pytest.warns(UserWarning, match=r"København \(101\) / kultur_fritid: 5 respondents"):
        back = read_survey(path)
    assert back["position_id"].isna().sum() == 3
    assert back.attrs["read_report"].over_capacity == (
        "København (101) / kultur_fritid: 5 respondents, 2 positions",
    )
    with pytest.raises(DataError) as err:
        load_frame(back)
    msg = str(err.value)
    assert "København (101) / kultur_fritid: 5 respondents, 2 positions" in msg
    assert "position_id" not in msg  # the user's file had no such column


def _shuffled_dta_order(columns: list[str], labelled: set[str], rng) -> list[str]:
    # Stata label-set names are <variable><running number of labelled variables> and at most
    # 32 characters, so the long-named labelled variables must come early; others go anywhere
    lab = [c for c in columns if c in labelled]
    rng.shuffle(lab)
    lab.sort(key=lambda c: -len(c) if len(c) > 29 else 0)
    order = list(lab)
    for c in rng.permutation([c for c in columns if c not in labelled]):
        order.insert(int(rng.integers(0, len(order) + 1)), str(c))
    return order


_FUZZ_CASES = [
    pytest.param(suffix, n_trials, marks=[pytest.mark.slow] if n_trials > 1 else [])
    for n_trials in (1, 12)
    for suffix in (".csv", ".sav", ".dta")
]


@pytest.mark.parametrize(("suffix", "n_trials"), _FUZZ_CASES)
def test_fuzz_exports_round_trip_exactly(survey, tmp_path, suffix, n_trials):
    """Random but valid exports: shuffled columns, padded ids, Danish labels, extra columns.

    One seeded export per format in the fast suite, twelve in the slow one.
    """
    rng = np.random.default_rng([20260, ord(suffix[1]), n_trials])
    for trial in range(n_trials):
        rows = np.sort(rng.choice(len(survey), size=int(rng.integers(5, 25)), replace=False))
        data = survey.iloc[rows].reset_index(drop=True)
        n = len(data)
        data["tenure"] = np.round(rng.uniform(0, 30, n), 2)
        data.loc[rng.random(n) < 0.2, "tenure"] = np.nan
        # text extras come back in pandas' default string dtype
        data["note"] = pd.Series(rng.choice(["kort", "lang tekst", "æøå"], n).tolist())
        path = write_survey(data, tmp_path / f"t{trial}{suffix}")
        pad = [
            " " * int(rng.integers(0, 3)) + f"{v:0{int(rng.integers(1, 6))}d}" + " " * int(k)
            for v, k in zip(data["respondent_id"], rng.integers(0, 3, n), strict=True)
        ]
        if suffix == ".csv":
            raw = pd.read_csv(path, dtype=str, keep_default_na=False)
            raw["respondent_id"] = pad
            raw["tenure"] = raw["tenure"].str.replace(".", ",", regex=False)
            raw["mot_quality"] = [
                v.upper() if rng.random() < 0.5 else f"  {v} " for v in raw["mot_quality"]
            ]
            raw = raw[list(rng.permutation(raw.columns))]
            sep = str(rng.choice([",", ";", "\t"]))
            raw.to_csv(path, sep=sep, index=False)
        else:
            reader = pyreadstat.read_sav if suffix == ".sav" else pyreadstat.read_dta
            writer = pyreadstat.write_sav if suffix == ".sav" else pyreadstat.write_dta
            raw, meta = reader(str(path), user_missing=True)
            raw["respondent_id"] = pd.Series(pad, dtype=object)
            labels = meta.variable_value_labels
            cols = list(raw.columns)
            order = (
                list(rng.permutation(cols))
                if suffix == ".sav"
                else _shuffled_dta_order(cols, set(labels), rng)
            )
            writer(raw[order], str(path), variable_value_labels=labels)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            back = read_survey(path)
        extras = [c for c in back.columns if c in ("tenure", "note")]
        expected = data[[c for c in data.columns if c not in ("tenure", "note")] + extras]
        pd.testing.assert_frame_equal(back, expected, check_exact=True)
        assert back.attrs["read_report"].extra_types == {"tenure": "numeric", "note": "text"}


def test_excel_sep_line_names_the_separator(small, small_raw, tmp_path):
    p = tmp_path / "excel.csv"
    body = small_raw.to_csv(sep=";", index=False)
    p.write_text("sep=;\n" + body, encoding="utf-8")
    back = read_survey(p)
    pd.testing.assert_frame_equal(back, small)
    assert back.attrs["read_report"].separator == ";"
    p.write_text("sep=;\n", encoding="utf-8")
    with pytest.raises(DataError, match="is empty"):
        read_survey(p)


def test_numeric_missing_value_codes(small, small_raw, tmp_path):
    raw = small_raw.copy()
    raw["tenure"] = [str(i) for i in range(len(raw))]
    raw.loc[0, "tenure"] = "99"
    raw.loc[1, "mot_quality"] = "99"
    back = read_survey(_write(raw, tmp_path), missing_values=[99])
    assert np.isnan(back.loc[0, "tenure"])
    assert pd.isna(back.loc[1, "mot_quality"])
    assert back.attrs["read_report"].n_set_missing == {"mot_quality": 1, "tenure": 1}
    # a text column that merely contains markers stays text
    raw["comment"] = ["n/a"] * (len(raw) - 1) + ["se bilag"]
    back = read_survey(_write(raw, tmp_path), missing_values=[99])
    assert back.attrs["read_report"].extra_types["comment"] == "text"


def test_errors_name_the_users_columns(small_raw, tmp_path):
    raw = small_raw.drop(columns="municipality_code").rename(
        columns={"municipality": "kommune", "mot_quality": "q17"}
    )
    raw.loc[2, "kommune"] = ""
    renames = {"kommune": "municipality", "q17": "mot_quality"}
    with pytest.raises(DataError, match=r"column 'kommune' \(read as 'municipality'\) is blank"):
        read_survey(_write(raw, tmp_path), columns=renames)
    raw.loc[2, "kommune"] = raw.loc[3, "kommune"]
    raw.loc[0, "q17"] = "n/a"
    with pytest.raises(DataError, match=r"column 'q17' \(read as 'mot_quality'\) holds 'n/a'"):
        read_survey(_write(raw, tmp_path), columns=renames)


def test_windows_1252_csv_is_named(small_raw, tmp_path):
    p = tmp_path / "excel_dk.csv"
    p.write_bytes(small_raw.to_csv(sep=";", index=False).encode("cp1252"))
    with pytest.raises(DataError, match=r"not UTF-8 \(it looks like Windows-1252.*'CSV UTF-8'"):
        read_survey(p)
