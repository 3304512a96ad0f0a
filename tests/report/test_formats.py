"""Regression tables and summaries in every format: escaping, the statistics rows, the notes,
Word output, and LaTeX compiled to a PDF whose pages are rendered and checked."""

from __future__ import annotations

import re
import subprocess

import numpy as np
import pandas as pd
import pytest

import civmodels as cm
from civmodels.report import (
    OUTPUTS,
    latex_document,
    latex_escape,
    regression_table,
    summary_to_docx,
    summary_to_latex,
)
from civmodels.results import Summary
from tests._tools import require_tool

_CELL_SPLIT = re.compile(r"(?<!\\)\|")


def _markdown_rows(md: str) -> list[list[str]]:
    """The cells of every table row of a Markdown text (split on unescaped pipes)."""
    rows = []
    for line in md.splitlines():
        if line.startswith("|"):
            cells = _CELL_SPLIT.split(line)
            assert cells[0] == "" and cells[-1] == "", line
            rows.append([re.sub(r"\\(.)", r"\1", c.strip()) for c in cells[1:-1]])
    return rows


# --- Markdown -----------------------------------------------------------------------------
def test_markdown_table_keeps_its_columns_with_pipes_in_threshold_names(survey_fits):
    fixed, mixed = survey_fits["fixed"], survey_fits["mixed"]
    md = regression_table(fixed, mixed, output="markdown", labels="da")
    rows = _markdown_rows(md)
    assert len(rows) > 10
    assert {len(r) for r in rows} == {3}, md
    thr = "Slet ikke|I mindre grad"
    (row,) = [r for r in rows if r[0] == thr]
    assert row[1] == f"{fixed.thresholds[thr]:.3f}"  # the estimate is in its own cell
    assert row[2] == f"{mixed.params[thr]:.3f}"


def test_summary_markdown_keeps_its_columns(survey_fits):
    s = survey_fits["mixed"].summary()
    md = s.to_markdown()
    rows = _markdown_rows(md)
    widths = {len(r) for r in rows}
    # one width per block: thresholds/location (6 numbers) and random effects (7 numbers)
    for name, block in s.blocks.items():
        assert [len(r) for r in rows if r and r[0] in block.index] == [block.shape[1] + 1] * len(
            block
        ), name
    assert widths <= {b.shape[1] + 1 for b in s.blocks.values()}
    assert "Slet ikke|I mindre grad" in [r[0] for r in rows]


# --- statistics rows, notes, stars ----------------------------------------------------------
def test_rows_for_groups_clusters_icc_and_random_effect_sd(survey, survey_fits):
    tab = regression_table(
        survey_fits["fixed"], survey_fits["cluster"], survey_fits["mixed"], survey_fits["design"]
    )
    stats = tab.xs("Model statistics", level="block")
    used = survey.loc[survey["val_trust"].notna()]
    n_munis = used["municipality_code"].nunique()
    clusters = stats.loc[("Clusters", "est")]
    assert list(clusters) == ["", str(n_munis), "", str(survey["municipality_code"].nunique())]
    groups = stats.loc[("Groups (municipality_code)", "est")]
    assert list(groups) == ["", "", str(n_munis), ""]
    mixed = survey_fits["mixed"]
    icc = stats.loc[("ICC (municipality_code)", "est")]
    assert icc.iloc[2] == f"{mixed.icc.iloc[0]:.3f}" and icc.iloc[0] == ""
    sd = tab.loc[("Random effects (SD)", "sd(municipality_code)", "est")]
    assert sd.iloc[2] == f"{mixed.re_sd.iloc[0]:.3f}"
    assert tab.loc[("Random effects (SD)", "sd(municipality_code)", "se")].iloc[2] == (
        f"({mixed.re_sd_se.iloc[0]:.3f})"
    )


def test_design_and_weighted_fits_show_a_pseudo_likelihood_and_no_aic(survey_fits):
    tab = regression_table(survey_fits["fixed"], survey_fits["weighted"], survey_fits["design"])
    stats = tab.xs("Model statistics", level="block")
    assert list(stats.loc[("AIC", "est")]) == [f"{survey_fits['fixed'].aic:.2f}", "", ""]
    assert list(stats.loc[("Log-likelihood", "est")])[1:] == ["", ""]
    pseudo = stats.loc[("Pseudo-log-likelihood", "est")]
    assert pseudo.iloc[0] == "" and pseudo.iloc[2] == f"{survey_fits['design'].loglik:.2f}"


def test_note_states_standard_errors_and_weights(survey_fits):
    note = regression_table(
        survey_fits["fixed"], survey_fits["cluster"], survey_fits["weighted"]
    ).attrs["note"]
    assert "(1) nonrobust" in note and "(2) cluster-robust (CR1, 97 clusters)" in note
    assert "(3) robust sandwich" in note and "weights: (1) none; (2) none; (3) w" in note
    da = regression_table(survey_fits["fixed"], labels="da").attrs["note"]
    assert "Standardfejl i parentes: modelbaserede (invers observeret" in da and "uvægtet" in da


def test_danish_note_names_standard_errors_and_weights_in_danish(survey_fits):
    fits = survey_fits
    tab = regression_table(
        fits["fixed"], fits["cluster"], fits["weighted"], fits["design"], fits["mixed"], labels="da"
    )
    note = tab.attrs["note"]
    assert "(1) modelbaserede (invers observeret information)" in note
    assert "(2) klyngerobuste (CR1, 97 klynger)" in note
    assert "(3) robuste (sandwich, samplingvægte, 382 rækker, n/(n-1))" in note
    assert "(4) designbaserede (Taylor-linearisering; samplingvægte; df 96)" in note
    assert "(5) invers observeret information (marginal likelihood)" in note
    assert "vægte: (1) ingen; (2) ingen; (3) w; (4) designvægte; (5) ingen" in note
    for english in ("nonrobust", "cluster", "robust sandwich", "design-based", "weights", "none"):
        assert english not in note, english
    # the same words in English
    en = regression_table(fits["cluster"], fits["design"], labels="en").attrs["note"]
    assert "(1) cluster-robust (CR1, 97 clusters); (2) design-based" in en
    assert "weights: (1) none; (2) design weights" in en
    # and in every rendered format, not only the frame's note
    for output in ("markdown", "html", "latex"):
        text = regression_table(fits["cluster"], fits["design"], output=output, labels="da")
        assert "klyngerobuste" in text and "designvægte" in text and "cluster" not in text


def test_every_standard_error_type_of_the_models_has_a_danish_wording(survey_fits):
    from civmodels.report.tables import _se_type_text, _weights_text

    fits = dict(survey_fits)
    fits["logistic_cluster"] = survey_fits["logistic"].model.fit(
        cov_type="cluster", cluster="municipality_code"
    )
    fits["robust"] = survey_fits["fixed"].model.fit(cov_type="robust")
    df = survey_fits["fixed"].model.data
    fits["cluster_weighted"] = survey_fits["weighted"].model.fit(
        cov_type="cluster", cluster="municipality_code"
    )
    mixed = survey_fits["mixed"].model
    fits["mixed_weighted"] = type(mixed)(mixed.formula, data=df, weights="w").fit()
    fits["mixed_cluster"] = mixed.fit(cov_type="cluster")
    design = cm.SurveyDesign(df, cluster="municipality_code", weights="w")
    fits["replicate"] = survey_fits["fixed"].model.fit(design=design.replicate("jk1"))
    se_types = {r.summary().stats["se_type"] for r in fits.values()}
    # observed and expected information, HC1, CR1, the two sampling-weight sandwiches,
    # linearisation and replicate designs, mixed: information, sandwich, weighted sandwich
    assert len(se_types) == 11, se_types
    for se_type in se_types:
        assert _se_type_text(se_type, "da") != se_type, se_type
        assert _se_type_text(se_type, "en") == se_type
    bayes = "posterior SD; 95% equal-tailed credible intervals"
    assert (
        _se_type_text(bayes, "da")
        == "posterior-SD; 95%-kredibilitetsintervaller med lige store haler"
    )
    # an unknown description is kept, not guessed at; a weights column keeps its name
    assert _se_type_text("jackknife", "da") == "jackknife"
    assert (
        _weights_text("w", "da") == "w" and _weights_text("design weights", "da") == "designvægte"
    )


def test_thresholds_and_random_effect_sds_get_no_stars(survey_fits):
    mixed = survey_fits["mixed"]
    # the first threshold is far from zero (p < 1e-20), so a starring bug would show
    assert mixed.pvalues.iloc[0] < 1e-10
    tab = regression_table(mixed, stars=True)
    for block in ("Thresholds", "Random effects (SD)"):
        assert not tab.xs(block, level="block").map(lambda c: "*" in c).any().any()
    # nor do intercepts (p < 1e-20 here)
    assert survey_fits["logistic"].pvalues["Intercept"] < 1e-10
    logit = regression_table(survey_fits["logistic"], stars=True)
    assert "*" not in logit.loc[("Coefficients", "Intercept", "est")].iloc[0]


@pytest.fixture(scope="module")
def binary_fit():
    """A logistic fit where intercept and slope are both far from zero (a known truth)."""
    rng = np.random.default_rng(14)
    x = rng.random(500) < 0.5
    y = rng.random(500) < 1 / (1 + np.exp(-(1.0 + 1.2 * x)))
    df = pd.DataFrame({"y": y.astype(int), "pressure_high": x.astype(float)})
    res = cm.Logistic("y ~ pressure_high", data=df).fit()
    assert res.pvalues.max() < 1e-4
    return res


def test_exponentiated_logistic_table_shows_baseline_odds_without_stars(binary_fit, tmp_path):
    import docx

    res = binary_fit
    b0, b1 = res.params["Intercept"], res.params["pressure_high"]
    odds0, or1 = f"{np.exp(b0):.3f}", f"{np.exp(b1):.3f}"
    se0 = f"({np.exp(b0) * res.std_errors['Intercept']:.3f})"
    expected = {
        "en": ("Intercept (baseline odds)", "High spending pressure"),
        "da": ("Konstantled (basisodds)", "Højt udgiftspres"),
    }
    for lang, (intercept, slope) in expected.items():
        tab = regression_table(res, exponentiate=True, labels=lang)
        coef = tab.iloc[tab.index.get_level_values("block") == tab.index[0][0]]
        assert coef.loc[(slice(None), intercept, "est"), "(1)"].item() == odds0
        assert coef.loc[(slice(None), intercept, "se"), "(1)"].item() == se0
        assert coef.loc[(slice(None), slope, "est"), "(1)"].item() == or1 + "***"
        assert ("basisodds" if lang == "da" else "baseline odds") in tab.attrs["note"]
        md = _markdown_rows(
            regression_table(res, exponentiate=True, labels=lang, output="markdown")
        )
        assert [intercept, odds0] in md and [slope, or1 + "***"] in md
        html = regression_table(res, exponentiate=True, labels=lang, output="html")
        assert (
            f"<td style='text-align:left'>{intercept}</td><td style='text-align:center'>"
            f"{odds0}</td>"
        ) in html
        assert f"<td style='text-align:center'>{or1}***</td>" in html
        tex = regression_table(res, exponentiate=True, labels=lang, output="latex")
        assert f"{intercept} & {odds0} \\\\" in tex
        assert f"{slope} & {or1}$^{{***}}$ \\\\" in tex
        path = tmp_path / f"logit_{lang}.docx"
        regression_table(res, exponentiate=True, labels=lang, output="docx", path=path)
        cells = _docx_cells(docx.Document(str(path)).tables[0])
        assert [intercept, odds0] in cells and [slope, or1 + "***"] in cells
    # without exponentiate: the intercept stays on the log-odds scale, plainly labelled,
    # and still gets no star
    plain = regression_table(res, labels="en")
    assert plain.loc[("Coefficients", "Intercept", "est")].item() == f"{b0:.3f}"
    assert "baseline odds" not in plain.attrs["note"]


def test_different_outcomes_are_named_in_the_header(survey_fits):
    fixed, logit = survey_fits["fixed"], survey_fits["logistic"]
    tab = regression_table(fixed, logit, names=["trust", "associations"])
    assert list(tab.columns.get_level_values("outcome")) == [
        "val_trust",
        "partner_local_associations",
    ]
    md = regression_table(fixed, logit, output="markdown")
    outcome_row = [r for r in _markdown_rows(md) if r[0] == "*Outcome*"]
    assert outcome_row == [["*Outcome*", "val_trust", "partner_local_associations"]]
    tex = regression_table(fixed, logit, output="latex")
    assert r"val\_trust & partner\_local\_associations \\" in tex
    # the same outcome: a single header row
    same = regression_table(fixed, survey_fits["mixed"])
    assert not isinstance(same.columns, pd.MultiIndex)


def test_bad_input_names_what_is_allowed(survey, survey_fits, tmp_path):
    r = survey_fits["fixed"]
    with pytest.raises(ValueError, match="'frame', 'latex', 'html', 'markdown', 'docx'"):
        regression_table(r, output="pdf")
    with pytest.raises(ValueError, match=r"'da' .*'en'"):
        regression_table(r, labels="de")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        regression_table(r, output="docx", path=tmp_path / "no" / "such" / "table.docx")
    with pytest.raises(ValueError, match=r"\.docx"):
        regression_table(r, output="docx", path=tmp_path / "table.doc")
    with pytest.raises(ValueError, match="path= is for output='docx'"):
        regression_table(r, output="latex", path=tmp_path / "t.docx")
    assert set(OUTPUTS) == {"frame", "latex", "html", "markdown", "docx"}
    est = cm.SurveyDesign(survey).proportion("val_trust")
    with pytest.raises(TypeError, match="DesignEstimate is not a fitted model"):
        regression_table(r, est)


# --- LaTeX ----------------------------------------------------------------------------------
def test_latex_escape_specials_and_symbols():
    assert latex_escape("Slet ikke|Mindre (vs <30k) ≥100k") == (
        r"Slet ikke\textbar{}Mindre (vs \textless{}30k) $\geq$100k"
    )
    assert latex_escape("50% & $5_a #{x}~^") == (
        r"50\% \& \$5\_a \#\{x\}\textasciitilde{}\textasciicircum{}"
    )
    # Latin-1 letters go through (T1 + utf8 inputenc set them)
    assert latex_escape("Tærskler, Ø, å") == "Tærskler, Ø, å"
    doc = latex_document("x")
    assert r"\usepackage[T1]{fontenc}" in doc and r"\usepackage[utf8]{inputenc}" in doc


def _run(cmd: list[str], cwd) -> None:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]


@pytest.mark.latex
def test_latex_compiles_and_the_rendered_pages_show_the_table(survey_fits, tmp_path):
    require_tool(
        "pdflatex", "texlive-latex-base texlive-latex-recommended texlive-fonts-recommended"
    )
    require_tool("pdftoppm", "poppler-utils")
    require_tool("pdftotext", "poppler-utils")
    from PIL import Image

    fits = survey_fits
    table = regression_table(
        fits["fixed"], fits["cluster"], fits["mixed"], fits["design"], labels="da", stars=True
    )
    body = regression_table(
        fits["fixed"], fits["cluster"], fits["mixed"], fits["design"], output="latex", labels="da"
    )
    summary = summary_to_latex(fits["mixed"].summary())
    (tmp_path / "t.tex").write_text(latex_document(body, summary), encoding="utf-8")
    _run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "t.tex"], tmp_path)
    log = (tmp_path / "t.log").read_text(encoding="latin-1")
    assert "Overfull \\hbox" not in log
    assert "Missing character" not in log
    _run(["pdftotext", "-layout", "-enc", "UTF-8", "t.pdf", "t.txt"], tmp_path)
    text = (tmp_path / "t.txt").read_text(encoding="utf-8")
    # T1 glyphs: the pipe, ≥ and the Danish letters print as themselves
    assert "Slet ikke|I mindre grad" in text
    assert "Kommunestørrelse: ≥100k" in text
    assert "Tærskler" in text and "Tilfældige effekter (SD)" in text and "Klynger" in text
    est = table.loc[("Koefficienter", "Højt udgiftspres", "est")].iloc[0]
    assert est in text
    _run(["pdftoppm", "-r", "60", "-png", "t.pdf", "page"], tmp_path)
    pages = sorted(tmp_path.glob("page*.png"))
    assert len(pages) >= 1
    for page in pages:
        ink = np.asarray(Image.open(page).convert("L")) < 128
        assert ink.mean() > 0.005, f"{page.name} is blank"
        cols = np.flatnonzero(ink.any(axis=0))
        rows = np.flatnonzero(ink.any(axis=1))
        w, h = ink.shape[1], ink.shape[0]
        # everything printed lies inside the 1.5 cm margins (A4: 21 cm wide, 29.7 cm high)
        assert cols.min() > w * 1.2 / 21 and cols.max() < w * (1 - 1.2 / 21), page.name
        assert rows.max() < h * (1 - 1.2 / 29.7), page.name


# --- Word -----------------------------------------------------------------------------------
def _docx_cells(table) -> list[list[str]]:
    return [[c.text for c in row.cells] for row in table.rows]


def test_docx_table_has_the_right_cells(survey_fits, tmp_path):
    import docx

    fixed, mixed = survey_fits["fixed"], survey_fits["mixed"]
    path = tmp_path / "models.docx"
    regression_table(
        fixed,
        mixed,
        output="docx",
        path=path,
        labels="da",
        names=["Fast", "Blandet"],
        title="Tillid",
    )
    doc = docx.Document(str(path))
    (table,) = doc.tables
    cells = _docx_cells(table)
    assert cells[0] == ["", "Fast", "Blandet"]
    assert {len(r) for r in cells} == {3}
    labels = [r[0] for r in cells]
    i = labels.index("Slet ikke|I mindre grad")
    assert cells[i][1] == f"{fixed.thresholds.iloc[0]:.3f}"
    assert cells[i + 1][1] == f"({fixed.std_errors.iloc[0]:.3f})"
    assert cells[labels.index("Klynger") if "Klynger" in labels else labels.index("N")][1] == (
        str(fixed.nobs)
    )
    assert cells[labels.index("Grupper (municipality_code)")][2] == "97"
    assert "Tærskler" in labels and "Modelstatistik" in labels
    paragraphs = [p.text for p in doc.paragraphs]
    assert paragraphs[0] == "Tillid"
    assert any("Standardfejl i parentes" in p for p in paragraphs)


def test_summary_docx(survey_fits, tmp_path):
    import docx

    s = survey_fits["mixed"].summary()
    summary_to_docx(s, tmp_path / "s.docx")
    doc = docx.Document(str(tmp_path / "s.docx"))
    facts, *blocks = doc.tables
    assert [r[0] for r in _docx_cells(facts)] == list(s.info)
    assert len(blocks) == len(s.blocks)
    re_cells = _docx_cells(blocks[-1])
    assert re_cells[0] == ["", *s.blocks["Random effects"].columns]
    assert re_cells[1][0] == "sd(municipality_code)"
    with pytest.raises(FileNotFoundError, match="does not exist"):
        summary_to_docx(s, tmp_path / "missing" / "s.docx")


# --- HTML -----------------------------------------------------------------------------------
def test_html_escapes_and_scrolls(survey_fits):
    h = regression_table(survey_fits["fixed"], title="a <b> & c")
    assert isinstance(h, pd.DataFrame)
    html = regression_table(survey_fits["fixed"], output="html", title="a <b> & c")
    assert "a &lt;b&gt; &amp; c" in html and "overflow-x:auto" in html
    assert "Slet ikke|I mindre grad" in html
    s = Summary("t <x>", {"k": 1}, {"B": pd.DataFrame({"estimate": [1.0]}, index=["a|b"])})
    assert "t &lt;x&gt;" in s._repr_html_()


def test_intercept_is_the_last_coefficient_whichever_model_comes_first(survey_fits):
    ordinal, logit = survey_fits["fixed"], survey_fits["logistic"]
    for fits in ((ordinal, logit), (logit, ordinal)):
        tab = regression_table(*fits, exponentiate=True)
        coef = [t for b, t, r in tab.index if b == "Coefficients" and r == "est"]
        assert coef[-1] == "Intercept (baseline odds)" and len(coef) == 5, coef
        assert coef[:-1].count("pressure_high") == 1
