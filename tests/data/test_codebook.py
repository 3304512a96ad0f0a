"""The codebook objects against the report extraction's codebook.yaml."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from civmodels.data import AREAS, BATTERIES, codebook, load_codebook, load_survey
from civmodels.data._resources import resource_text
from civmodels.data.codebook import _repair

RAW = _repair(yaml.safe_load(resource_text("codebook.yaml")))


def _yaml_item_ids() -> set[str]:
    ids = set()
    for q in RAW["questions"]:
        if "items" in q:
            ids |= {it["id"] for it in q["items"]}
        elif "item_groups" in q:
            ids |= {it["id"] for grp in q["item_groups"].values() for it in grp}
        elif "sub_items" in q:
            ids |= {it["id"] for it in q["sub_items"]}
        else:
            ids.add(q["id"])
    return ids


def test_every_yaml_question_is_an_object():
    assert set(codebook) == _yaml_item_ids()
    for v in RAW["independent_variables"]:
        assert v["id"] in codebook
        assert codebook[v["id"]].role == "independent"


def test_labels_come_from_yaml():
    for q in RAW["questions"]:
        if "items" in q:
            for it in q["items"]:
                assert codebook[it["id"]].label_da == it["da"]
                assert codebook[it["id"]].label_en == it["en"]
        elif q["id"] in codebook:
            assert codebook[q["id"]].label_da == q["label_da"]


def test_commas_split_by_yaml_are_rejoined():
    assert codebook["insp_kl_ministries_councils"].label_da == (
        "Publikationer fra KL, ministerier, råd og lignende"
    )
    assert codebook["insp_kl_ministries_councils"].label_en == (
        "Publications from KL, ministries, councils"
    )
    assert codebook["responsibility_placement"].labels_da[1] == (
        "I et center/en enhed, der koordinerer alle samarbejder"
    )
    assert codebook["bar_missing_documentation_tools"].label_da.endswith(
        "der kan indfange samarbejdernes effekt og værdi"
    )
    raw = yaml.safe_load(resource_text("codebook.yaml"))
    assert "der koordinerer alle samarbejder" in raw["questions"][7]["categories"][1]


def test_types_and_batteries():
    assert {q.type for q in codebook.items()} <= {
        "ordinal",
        "binary",
        "count",
        "nominal",
        "multiple",
    }
    mot = codebook.items(battery="motivations")
    assert len(mot) == 9
    assert all(q.type == "ordinal" for q in mot)
    assert {q.id for q in mot if q.group == "economic_effect"} == {
        "mot_cost_effectiveness",
        "mot_reduce_expenditure",
    }
    assert len(codebook.items(battery="realised_value")) == 10
    assert len(codebook.items(battery="barriers")) == 5
    assert set(BATTERIES) <= {q.battery for q in codebook.items()}
    assert codebook["new_focus_last_year"].type == "binary"
    assert codebook["n_ongoing_collaborations"].type == "count"
    assert codebook["policy_strategy"].type == "nominal"
    assert codebook["partner_churches"].type == "multiple"


def test_motivation_scale_lowest_first_with_confirmed_flags():
    q = codebook["mot_quality"]
    assert q.labels_da == ["Slet ikke vigtigt", "Mindre vigtigt", "Vigtigt", "Meget vigtigt"]
    assert [c.confirmed for c in q.categories] == [True, False, False, True]
    assert [c.value for c in q.categories] == [1, 2, 3, 4]
    assert q.dont_know and q.dont_know_code == 9
    assert q.dtype() == pd.CategoricalDtype(q.labels_da, ordered=True)


def test_binary_items_event_second():
    q = codebook["new_focus_last_year"]
    assert q.labels_da == ["Nej", "Ja"]
    assert [c.value for c in q.categories] == [0, 1]
    assert q.categories[1].confirmed  # 'Ja' is quoted in the report
    assert not q.dtype().ordered


def test_cross_departmental_reversed_to_lowest_first():
    q = codebook["cross_departmental_frequency"]
    assert q.labels_da == ["Aldrig", "Sjældent", "Nogle gange", "Ofte", "Altid"]
    assert [c.confirmed for c in q.categories] == [False, False, False, True, True]


def test_assumed_scales_are_unconfirmed():
    for q in codebook.items(battery="realised_value") + codebook.items(battery="barriers"):
        assert not any(c.confirmed for c in q.categories)
        assert not q.confirmed
    assert not codebook["evaluation"].categories[-1].confirmed  # the closing 'other'


def test_policy_area_codes():
    assert list(AREAS) == [c["code"] for c in RAW["independent_variables"][0]["categories"]]
    assert codebook.areas == list(AREAS)


def test_lookup_errors_and_filters():
    with pytest.raises(KeyError, match="did you mean 'mot_quality'"):
        codebook["mot_qualty"]
    with pytest.raises(KeyError, match="battery"):
        codebook.items(battery="motivation")
    with pytest.raises(ValueError, match="type"):
        codebook.items(type="likert")
    assert all(q.section == 4 for q in codebook.items(section=4))
    assert {q.id for q in codebook.items(simulated=False)} == {
        "cc_issue",
        "cc_target_group",
        "cc_task_type",
    }
    with pytest.raises(TypeError, match="count"):
        codebook["n_ongoing_collaborations"].dtype()
    assert codebook["mot_trust"].category("meget vigtigt").code == "very_important"
    with pytest.raises(KeyError, match="allowed"):
        codebook["mot_trust"].category("sometimes")


def test_to_frame():
    f = codebook.to_frame()
    assert len(f) == len(codebook)
    assert f["id"].tolist() == list(codebook)
    c = codebook.to_frame(categories=True)
    assert set(c.columns) >= {"id", "category_code", "label_da", "label_en", "value", "confirmed"}
    assert (c["id"] == "mot_trust").sum() == 4


def test_survey_columns_match_data():
    df = load_survey()
    for qid in codebook.survey_columns():
        assert qid in df.columns
        assert f"{qid}_dk" in df.columns
        q = codebook[qid]
        if q.type != "count":
            assert df[qid].dtype == q.dtype(), qid
    assert load_codebook() is codebook
