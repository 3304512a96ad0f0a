"""The frame follows the data (issue 10, item 2): a real export's respondents set F18 and the
design rows, never the bundled synthetic survey's response flags."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import civmodels.data as cmdata
from civmodels.design import SurveyDesign
from civmodels.exceptions import DataError
from civmodels.nonresponse import crosstab as nr_crosstab
from civmodels.nonresponse import propensity_weights
from civmodels.replication import read_frame, run
from civmodels.replication._methods import CLUSTER

pyreadstat = pytest.importorskip("pyreadstat")

SEED = 11  # not the bundled survey's seed: other respondents


@pytest.fixture(scope="module")
def sim():
    return cmdata.simulate_survey(random_seed=SEED)


def _sav_export(sim, path) -> None:
    """A realistic SPSS export: Danish value labels, 'Ved ikke' (9) declared user-missing,
    municipality names as 'Københavns Kommune', no position ids."""
    cmdata.write_survey(sim.data.drop(columns=["position_id"]), path)
    df, meta = pyreadstat.read_sav(str(path))
    df = df.drop(columns=["municipality_code"])  # names only, as exports often have
    names = {n: n for n in df["municipality"].unique()}
    names["København"] = "Københavns Kommune"
    names["Aarhus"] = "Aarhus Kommune"
    df["municipality"] = df["municipality"].map(names)
    labels = dict(meta.variable_value_labels)
    missing = {c: [9.0] for c, lab in labels.items() if 9 in lab or 9.0 in lab}
    assert missing, "the export should declare 'Ved ikke' codes"
    pyreadstat.write_sav(
        df,
        str(path),
        column_labels={
            c: lab
            for c, lab in zip(meta.column_names, meta.column_labels, strict=True)
            if c in df.columns
        },
        variable_value_labels=labels,
        missing_ranges=missing,
    )


@pytest.fixture(scope="module")
def export(sim, tmp_path_factory):
    path = tmp_path_factory.mktemp("export") / "export.sav"
    _sav_export(sim, path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # items absent from the synthetic draw
        return cmdata.read_survey(path)


def _chi2_area(frame: pd.DataFrame) -> float:
    tab = pd.crosstab(frame["area"].astype(str), frame["responded"].astype(int))
    return float(stats.chi2_contingency(tab, correction=False).statistic)


@pytest.fixture(scope="module")
def export_table(export):
    return run(export, methods=["crosstab", "design"], findings=["F18", "F12"], patterns=False)


def test_sav_export_reads_the_respondents_of_another_draw(sim, export):
    assert len(export) == len(sim.data)
    assert len(export) != len(cmdata.load_survey())
    assert export["mot_cost_effectiveness_dk"].sum() > 0  # user-missing 'Ved ikke' kept


def test_f18_comes_from_the_export(export, export_table, sim):
    f18 = export_table.query("finding_id == 'F18'").iloc[0]
    # directly: the allocation's positions per area, and the export's respondents per area
    positions = cmdata.load_frame()["area"].astype(str).value_counts()
    responded = export["area"].astype(str).value_counts().reindex(positions.index, fill_value=0)
    table = np.column_stack([positions - responded, responded])
    expected = stats.chi2_contingency(table, correction=False)
    assert f18["statistic"] == pytest.approx(expected.statistic, rel=1e-12)
    assert f18["p_value"] == pytest.approx(expected.pvalue, rel=1e-10)
    # the simulated positions are the allocation's, so this is the draw's true response table
    assert f18["statistic"] == pytest.approx(_chi2_area(sim.population), rel=1e-12)
    bundled = run(methods=["crosstab"], findings=["F18"], patterns=False).iloc[0]
    assert bundled["statistic"] == pytest.approx(_chi2_area(cmdata.load_frame()), rel=1e-12)
    assert abs(bundled["statistic"] - f18["statistic"]) > 0.1
    assert "allocation" in export_table.attrs["frame_source"]
    assert f"({len(export)} of 838)" in export_table.attrs["frame_source"]


def test_design_row_comes_from_the_export(export, export_table):
    row = export_table.query("finding_id == 'F12' and method == 'design'").iloc[0]
    # directly: the data layer's own frame for this export, its propensity weights
    frame = cmdata.load_frame(survey=export)
    w = propensity_weights(frame).weights  # indexed by the frame's position_id
    at = frame.set_index("position_id").loc[w.index]
    cell = at[["municipality_code", "area"]].astype(str).agg("/".join, axis=1)
    by_cell = pd.Series(w.to_numpy(), index=cell).groupby(level=0).first()
    key = export[["municipality_code", "area"]].astype(str).agg("/".join, axis=1)
    y = export["mot_cost_effectiveness"]
    sub = pd.DataFrame(
        {
            "group": export["pressure_high"].astype(str),
            "outcome": y.astype(object).where(y.notna()).map(lambda v: v if pd.isna(v) else str(v)),
            "w": key.map(by_cell).to_numpy(),
            CLUSTER: export[CLUSTER],
        }
    )
    design = SurveyDesign(sub, weights="w", cluster=CLUSTER, lonely_psu="certainty")
    test = nr_crosstab(design, "group", "outcome").test("rao-scott")
    # F12 is directional: the omnibus Rao-Scott test is kept as context beside the contrast
    assert row["omnibus_statistic"] == pytest.approx(test.statistic, rel=1e-8)
    assert row["omnibus_p"] == pytest.approx(test.p_value, rel=1e-8)
    bundled = run(methods=["design"], findings=["F12"], patterns=False).iloc[0]
    assert abs(bundled["omnibus_statistic"] - row["omnibus_statistic"]) > 1e-3
    assert abs(bundled["statistic"] - row["statistic"]) > 1e-3
    assert "without a frame position" not in row["note"]


def _nonrespondent_rows(sim) -> pd.DataFrame:
    pop = sim.population
    non = pop.loc[pop["responded"] == 0, ["municipality_code", "area", *cmdata.COVARIATES]]
    return non.assign(responded=0)


def test_data_holding_nonrespondents_are_their_own_frame(sim, export):
    data = pd.concat([export.assign(responded=1), _nonrespondent_rows(sim)], ignore_index=True)
    table = run(data, methods=["crosstab"], findings=["F18", "F12"], patterns=False)
    f18 = table.query("finding_id == 'F18'").iloc[0]
    assert f18["statistic"] == pytest.approx(_chi2_area(sim.population), rel=1e-12)
    assert "own 'responded' column" in table.attrs["frame_source"]
    f12 = table.query("finding_id == 'F12'").iloc[0]
    assert f12["n_used"] == export["mot_cost_effectiveness"].notna().sum()  # respondents only


def test_explicit_frame_sets_f18(sim, export):
    pop = sim.population
    frame = pd.DataFrame(
        {
            "municipality": pop["municipality"] + " Kommune",
            "area": pop["area"].astype(str),
            "responded": np.where(pop["responded"] == 1, "ja", "nej"),
        }
    )
    table = run(
        export, frame=read_frame(frame), methods=["crosstab"], findings=["F18"], patterns=False
    )
    assert table.iloc[0]["statistic"] == pytest.approx(_chi2_area(pop), rel=1e-12)
    assert table.attrs["frame_source"].startswith("frame given explicitly")


def test_the_bundled_frame_is_refused_with_other_data(export):
    # the synthetic frame's flags say who responded in the bundled survey, not in this export
    with pytest.raises(DataError, match=r"no respondent in the data|have no responded position"):
        run(export, frame=cmdata.load_frame(), methods=["crosstab"], findings=["F18"])


def test_frame_disagreeing_with_the_export_names_the_respondents(export, sim):
    pop = sim.population.copy()
    victim = export.iloc[0]
    cell = (pop["municipality_code"] == victim["municipality_code"]) & (
        pop["area"].astype(str) == str(victim["area"])
    )
    pop.loc[cell, "responded"] = 0  # the frame says nobody responded there
    frame = pop[["municipality_code", "area", "responded", *cmdata.COVARIATES]]
    with pytest.raises(DataError) as err:
        run(export, frame=frame, methods=["crosstab"], findings=["F18"])
    text = str(err.value)
    assert "no responded position" in text
    assert str(victim["respondent_id"]) in text
    assert f"{victim['municipality_code']}/{victim['area']}" in text


def test_frame_position_without_respondent_is_named(export, sim):
    pop = sim.population.copy()
    spare = pop.index[pop["responded"] == 0][0]
    pop.loc[spare, "responded"] = 1
    frame = pop[["municipality_code", "area", "responded", *cmdata.COVARIATES]]
    with pytest.raises(DataError, match="marks 1 position") as err:
        run(export, frame=frame, methods=["crosstab"], findings=["F18"])
    assert f"{pop.loc[spare, 'municipality_code']}/{pop.loc[spare, 'area']}" in str(err.value)


def test_respondents_without_a_position_of_the_allocation_are_named(export):
    data = export.copy()
    # four heads of Læsø (one position per area there) in the same area
    laeso = cmdata.load_municipalities().set_index("name").loc["Læsø", "code"]
    data.loc[:3, "municipality_code"] = laeso
    data.loc[:3, "area"] = "social"
    with pytest.raises(DataError, match="have no invited position") as err:
        run(data, methods=["crosstab"], findings=["F18"])
    assert f"{laeso}/social" in str(err.value)
    ids = [str(i) for i in data["respondent_id"].iloc[1:4]]  # the first takes the position
    assert all(i in str(err.value) for i in ids)


def test_response_column_of_dropped_rows_needs_an_explicit_frame(export):
    data = export.assign(responded=1)
    data.attrs["read_report"] = cmdata.ReadReport(source="x.csv", n_rows_read=900, n_dropped=3)
    with pytest.raises(DataError, match="frame=read_frame"):
        run(data, methods=["crosstab"], findings=["F18"])


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"municipality": ["Aarhus", None], "area": ["social"] * 2, "responded": [1, 0]}, "blank"),
        ({"municipality": ["Aarhus"], "area": ["social"], "responded": ["måske"]}, "'måske'"),
        ({"municipality": ["Aarhus"], "area": ["social"]}, "no response column"),
        ({"municipality": ["Århus X"], "area": ["social"], "responded": [1]}, "Århus X"),
        ({"municipality": ["Aarhus"], "area": ["sport"], "responded": [1]}, "'sport'"),
        ({"municipality": [], "area": [], "responded": []}, "no rows"),
    ],
)
def test_read_frame_refuses_bad_tables(table, message):
    with pytest.raises(DataError, match=message):
        read_frame(pd.DataFrame(table))


def test_read_frame_files(tmp_path):
    with pytest.raises(DataError, match="is a folder"):
        read_frame(tmp_path)
    with pytest.raises(DataError, match="does not exist"):
        read_frame(tmp_path / "nope.csv")
    semi = tmp_path / "frame.csv"
    semi.write_text("municipality;area;responded\nAarhus Kommune;Social;1\n", encoding="utf-8")
    with pytest.raises(DataError, match="sep=';'"):
        read_frame(semi)
    fr = read_frame(semi, sep=";")
    assert fr[["municipality_code", "area", "responded"]].values.tolist() == [[751, "social", 1]]
    status = tmp_path / "status.csv"
    status.write_text(
        "kommune,område,status\nAarhus,Teknik og miljø,Ikke besvaret\n", encoding="utf-8"
    )
    fr = read_frame(status, columns={"kommune": "municipality", "område": "area"})
    assert fr["responded"].tolist() == [0] and fr["area"].astype(str).tolist() == ["teknik_miljo"]


def test_items_absent_from_the_export_are_not_testable(export):
    data = export.assign(mot_quality=np.nan)
    data.attrs["read_report"] = cmdata.ReadReport(
        source="x.sav", n_rows_read=len(data), missing_items=("mot_quality",)
    )
    table = run(data, methods=["crosstab", "design"], findings=["F13"], patterns=False)
    assert set(table["verdict"]) == {"not testable"}
    assert (table["note"] == "no answers to 'mot_quality' (not in the export)").all()


def test_weights_series_stays_aligned_when_nonrespondents_are_dropped(sim, export):
    non = _nonrespondent_rows(sim)
    data = pd.concat([non, export.assign(responded=1)], ignore_index=True)
    w = pd.Series(np.nan, index=data.index)
    w[data["responded"] == 1] = np.linspace(1.0, 3.0, len(export))
    kwargs = {"methods": ["design"], "findings": ["F12"], "patterns": False}
    table = run(data, weights=w, **kwargs).iloc[0]
    direct = run(export, weights=pd.Series(np.linspace(1.0, 3.0, len(export))), **kwargs).iloc[0]
    assert table["statistic"] == pytest.approx(direct["statistic"], rel=1e-12)
