from __future__ import annotations

import copy
from importlib import resources

import pytest
import yaml

from civmodels.exceptions import SpecificationError
from civmodels.replication import METHODS, findings, load_registry
from civmodels.replication._registry import parse_registry


def _raw():
    text = resources.files("civmodels.replication").joinpath("findings.yaml").read_text("utf-8")
    return yaml.safe_load(text)


def test_registry_has_every_finding_and_pattern_of_the_report():
    df = findings()
    ids = set(df["id"])
    assert {f"F{i:02d}" for i in range(1, 19)} <= ids
    assert {f"M{i}" for i in range(1, 14)} <= ids
    assert df["id"].is_unique


def test_stated_directions_match_findings_md():
    df = findings().set_index("id")
    assert df.loc["F12", "direction"] == "higher"  # high pressure: more weight
    assert df.loc["F13", "direction"] == "lower"  # the reverse for better quality
    assert df.loc["F05", "direction"] == "lower"  # Teknik og miljø 70 % vs 82 %
    assert df.loc["F15", "direction"] == "none"  # region and bloc near-null
    assert df.loc["F12", "outcomes"] == ["mot_cost_effectiveness"]
    assert df.loc["F13", "outcomes"] == ["mot_quality"]
    assert df.loc["F01", "by"] == ["pressure_high"]
    assert df.loc["F02", "by"] == ["size_group"]


def test_every_finding_names_page_and_applicable_tests():
    reg = load_registry()
    for f in reg.findings:
        assert f.page, f.id
        assert f.tests and set(f.tests) <= set(METHODS), f.id
        assert f.stated, f.id


def test_unknown_method_in_registry_is_rejected():
    raw = copy.deepcopy(_raw())
    raw["findings"][0]["tests"] = ["crosstab", "anova"]
    with pytest.raises(SpecificationError, match=r"unknown tests.*anova"):
        parse_registry(raw)


def test_difference_without_contrast_is_rejected():
    raw = copy.deepcopy(_raw())
    raw["findings"][0]["contrast"] = None
    with pytest.raises(SpecificationError, match=r"F01.*contrast"):
        parse_registry(raw)


def test_duplicated_id_is_rejected():
    raw = copy.deepcopy(_raw())
    raw["findings"].append(raw["findings"][0])
    with pytest.raises(SpecificationError, match="duplicated id"):
        parse_registry(raw)
