"""The shared result helpers: Wald tables and the Summary object."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from civmodels.report import summary_to_latex
from civmodels.results import Summary, markdown_escape, wald_table


def test_wald_table_normal_and_t():
    params = pd.Series([1.0, -2.0], index=["a", "b"])
    se = pd.Series([0.5, 1.0], index=["a", "b"])
    tab = wald_table(params, se, level=0.9)
    assert tab.loc["a", "statistic"] == pytest.approx(2.0)
    assert tab.loc["a", "p_value"] == pytest.approx(2 * stats.norm.sf(2.0))
    assert tab.loc["b", "ci_lower"] == pytest.approx(-2.0 - stats.norm.ppf(0.95))
    tab_t = wald_table(params, se, df=10)
    assert tab_t.loc["a", "p_value"] == pytest.approx(2 * stats.t(10).sf(2.0))
    with pytest.raises(ValueError, match="level"):
        wald_table(params, se, level=95)


def test_summary_renders_all_formats_without_changing_values():
    block = pd.DataFrame({"estimate": [0.123456789], "p_value": [1e-9]}, index=["temp[T.warm]"])
    s = Summary(
        title="Cumulative link model (logit)",
        info={"nobs": 72, "log-likelihood": -86.49_2_1},
        blocks={"Location": block},
        notes=("2 rows dropped for missing values (x: 2)",),
    )
    assert s.to_frame().loc[("Location", "temp[T.warm]"), "estimate"] == 0.123456789
    md = s.to_markdown()
    assert "| temp[T.warm] | 0.1235 |" in md and "rows dropped" in md
    assert "<table" in s._repr_html_() and "temp[T.warm]" in s.to_html()
    tex = summary_to_latex(s)
    assert r"\toprule" in tex and r"temp[T.warm]" in tex and r"\bottomrule" in tex
    text = str(s)
    assert "Cumulative link model" in text and "1e-09" in text
    assert np.isclose(block.iloc[0, 0], 0.123456789)


def test_markdown_escape_keeps_cells_whole():
    assert markdown_escape("Slet ikke|Mindre vigtigt") == r"Slet ikke\|Mindre vigtigt"
    assert markdown_escape("a*b_c `d` <e>\nf") == r"a\*b\_c \`d\` \<e> f"
