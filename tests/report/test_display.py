"""One Summary contract across fixed, mixed, weighted, design-based and Bayesian results, and
their notebook display (``_repr_html_``, ``_repr_markdown_``)."""

from __future__ import annotations

import re
import warnings
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

import civmodels as cm
from civmodels.crosstab import crosstab
from civmodels.exceptions import SamplingWarning
from civmodels.report import regression_table
from civmodels.results import MODEL_BLOCKS, MODEL_COLUMNS, STAT_KEYS, Summary

from .test_formats import _markdown_rows


class _TagBalance(HTMLParser):
    """Counts open minus closed tags of the elements a table display uses."""

    TAGS = ("div", "table", "tr", "td", "th", "details", "thead", "tbody")

    def __init__(self) -> None:
        super().__init__()
        self.depth = dict.fromkeys(self.TAGS, 0)
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.depth:
            self.depth[tag] += 1

    def handle_endtag(self, tag):
        if tag in self.depth:
            self.depth[tag] -= 1
            assert self.depth[tag] >= 0, f"</{tag}> without <{tag}>"

    def handle_data(self, data):
        self.text.append(data)


def _check_html(fragment: str) -> str:
    """Well-formed (every opened element closed) and scrolling sideways; returns the text."""
    p = _TagBalance()
    p.feed(fragment)
    p.close()
    assert all(v == 0 for v in p.depth.values()), p.depth
    assert "overflow-x:auto" in fragment
    return " ".join(p.text)


def _check_contract(s: Summary) -> None:
    assert set(s.blocks) <= set(MODEL_BLOCKS), list(s.blocks)
    for name, block in s.blocks.items():
        assert set(MODEL_COLUMNS) <= set(block.columns), (name, list(block.columns))
    assert set(s.stats) <= set(STAT_KEYS), set(s.stats) - set(STAT_KEYS)
    for key in ("outcome", "nobs", "n_dropped", "se_type"):
        assert key in s.stats, key


@pytest.mark.parametrize("kind", ["fixed", "cluster", "mixed", "weighted", "design", "logistic"])
def test_every_frequentist_fit_keeps_the_summary_contract(survey_fits, kind):
    res = survey_fits[kind]
    s = res.summary()
    _check_contract(s)
    assert s.stats["nobs"] == res.nobs and s.stats["n_dropped"] == res.n_dropped
    pseudo = kind in ("weighted", "design")
    assert s.stats["loglik_kind"] == ("pseudo" if pseudo else "likelihood")
    assert ("aic" in s.stats) is not pseudo
    if kind == "mixed":
        assert s.blocks["Random effects"].index.tolist() == ["sd(municipality_code)"]
        assert s.stats["n_groups"] == {"municipality_code": 97}
    if kind in ("cluster", "design"):
        assert s.stats["n_clusters"] == 97


@pytest.mark.parametrize("kind", ["fixed", "mixed", "design"])
def test_fitted_results_render_as_html_and_markdown(survey_fits, kind):
    res = survey_fits[kind]
    text = _check_html(res._repr_html_())
    assert res.summary().title in text and "Slet ikke|I mindre grad" in text
    md = res._repr_markdown_()
    # each block is its own table: every row of a table has as many cells as its header
    tables = [t for t in md.split("\n\n") if t.startswith("|")]
    assert len(tables) == len(res.summary().blocks)
    for t in tables:
        rows = _markdown_rows(t)
        assert len({len(r) for r in rows}) == 1, t
    assert "Slet ikke|I mindre grad" in [r[0] for r in _markdown_rows(md)]


def test_summary_html_is_compact(survey_fits):
    s = survey_fits["mixed"].summary()
    h = s.to_html()
    # header facts two to a row; notes folded away
    assert h.count("<th style='text-align:left'>") == len(s.info)
    assert len(re.findall(r"<tr>", h.split("</table>")[0])) == (len(s.info) + 1) // 2
    assert f"<details><summary>Notes ({len(s.notes)})</summary>" in h


def test_design_estimates_and_crosstabs_render_as_html(survey):
    design = cm.SurveyDesign(survey, cluster="municipality_code", weights="w")
    est = design.proportion("val_trust", by="pressure_high")
    text = _check_html(est._repr_html_())
    assert "Design-based proportions" in text and "I høj grad" in text
    ct = crosstab(design, "val_trust", "size_group")
    text = _check_html(ct._repr_html_())
    assert ct.summary().title in text
    assert "val\\_trust × size\\_group" in ct._repr_markdown_()


def test_regression_table_displays_in_notebooks(survey_fits):
    h = regression_table(survey_fits["fixed"], survey_fits["mixed"], output="html")
    _check_html(h._repr_html_())
    md = regression_table(survey_fits["fixed"], output="markdown")
    assert md._repr_markdown_() == str(md)


# --- Bayesian results -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def bayes_fit(survey):
    from civmodels import bayes

    model = bayes.Ordinal("val_trust ~ pressure_high + (1 | municipality_code)", data=survey)
    # short chains: this test checks the display contract, not the posterior, so the
    # SamplingWarning about a small ESS is expected and recorded rather than raised
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always", SamplingWarning)
        return model.fit(draws=300, tune=300, chains=2, random_seed=3)


@pytest.mark.bayes
@pytest.mark.slow
def test_bayesian_fit_keeps_the_contract_and_mixes_with_ml_fits(survey, survey_fits, bayes_fit):
    s = bayes_fit.summary()
    _check_contract(s)
    assert s.stats["estimator"] == "bayes" and s.stats["n_groups"] == {"municipality_code": 97}
    ml = survey_fits["mixed"]
    tab = regression_table(ml, bayes_fit, names=["ML", "Bayes"], stars=True)
    b = tab.loc[("Coefficients", "pressure_high", "est")]
    assert b["ML"].startswith(f"{ml.params['pressure_high']:.3f}")
    assert b["Bayes"] == f"{bayes_fit.params['pressure_high']:.3f}"  # never stars
    sd = tab.loc[("Random effects (SD)", "sd(municipality_code)", "est")]
    assert sd["Bayes"] == f"{s.blocks['Random effects'].iloc[0]['estimate']:.3f}"
    assert "Bayes: posterior SD" in tab.attrs["note"]
    text = _check_html(bayes_fit._repr_html_())
    assert "Bayesian hierarchical" in text
    frame = survey.drop_duplicates("municipality_code")
    mrp = bayes_fit.poststratify(frame, by="pressure_high", random_seed=4)
    ms = mrp.summary()
    # one MRP API (issue 13): the Bayesian MRP is the frequentist Poststratified, whose summary
    # has one block with the MRP columns (the level is stated in its own column)
    assert list(ms.blocks) == ["Estimates"]
    assert {"estimate", "std_error", "lower", "upper", "level"} <= set(
        ms.blocks["Estimates"].columns
    )
    np.testing.assert_allclose(mrp.overall["estimate"].sum(), 1.0, atol=1e-9)
    text = _check_html(mrp._repr_html_())
    assert "Poststratified" in text and "I høj grad" in text
    assert isinstance(ms.to_frame(), pd.DataFrame)


def test_verdict_table_is_compact_and_escaped():
    from civmodels.replication import COLUMNS
    from civmodels.report import verdict_table

    rows = pd.DataFrame(
        {
            "finding_id": ["F01", "F01"],
            "outcome": ["mot_trust", "a|b"],
            "by": ["size_group", "bloc"],
            "method": ["crosstab", "ordinal"],
            "estimate": [0.1234, np.nan],
            "ci_lower": [0.01, np.nan],
            "ci_upper": [0.2, np.nan],
            "p_value": [0.0312, np.nan],
            "verdict": ["replicated", "not testable"],
        }
    )
    assert set(rows.columns) <= set(COLUMNS)  # the columns replication.run returns
    frame = verdict_table(rows, output="frame")
    assert frame.iloc[0].tolist() == [
        "F01",
        "mot_trust",
        "size_group",
        "crosstab",
        "0.123",
        "[0.010, 0.200]",
        "0.0312",
        "replicated",
    ]
    assert frame.iloc[1]["95% interval"] == "" and frame.iloc[1]["Estimate"] == ""
    md = verdict_table(rows, output="markdown")
    assert {len(r) for r in _markdown_rows(md)} == {8}
    _check_html(verdict_table(rows))
    with pytest.raises(ValueError, match="lacks columns"):
        verdict_table(rows.drop(columns="verdict"))
