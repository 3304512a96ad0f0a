"""regression_table and the Summary contract: results whose summaries break it are refused
(never shown as a partial or mislabelled column), and real Bayesian fits mix with
frequentist ones, batteries and joint response-outcome models included. The Bayesian fits are
small seeded MCMC runs (marked bayes and slow)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import civmodels as cm
from civmodels.report import regression_table
from civmodels.results import Summary


def _block(est, index):
    est = np.asarray(est, float)
    return pd.DataFrame(
        {"estimate": est, "std_error": 0.1, "ci_lower": est - 0.2, "ci_upper": est + 0.2},
        index=index,
    )


class _Fake:
    def __init__(self, blocks, stats):
        self._blocks, self._stats = blocks, stats

    def summary(self, level=0.95):
        return Summary(title="fake", info={}, blocks=self._blocks, stats=self._stats)


STATS = {"estimator": "bayes", "nobs": 100, "se_type": "posterior SD", "outcome": "y"}


def test_summary_without_fit_facts_is_refused():
    fake = _Fake({"Thresholds": _block([-1, 1], ["A|B", "B|C"])}, {})
    with pytest.raises(TypeError, match=r"_Fake.summary\(\) has no fit facts"):
        regression_table(fake)


def test_estimate_blocks_outside_the_contract_are_refused_not_dropped():
    blocks = {
        "Thresholds": _block([-1, 1], ["A|B", "B|C"]),
        "Latent trait regression": _block([0.3], ["x1"]),
    }
    with pytest.raises(TypeError, match=r"estimate blocks \['Latent trait regression'\]"):
        regression_table(_Fake(blocks, STATS))
    # a block outside the contract in the old posterior column names (mean/sd) counts as an
    # estimate block too
    old = _block([0.3], ["x1"]).rename(columns={"estimate": "mean"})
    with pytest.raises(TypeError, match=r"estimate blocks \['Trait'\]"):
        regression_table(_Fake({"Thresholds": _block([0], ["A|B"]), "Trait": old}, STATS))
    # a contract block in the old names is refused for its missing columns
    loadings = _block([0.8], ["loading[a]"]).rename(columns={"estimate": "mean", "std_error": "sd"})
    with pytest.raises(TypeError, match=r"block 'Loadings' .* lacks columns \['estimate', 'std_"):
        regression_table(_Fake({"Thresholds": _block([0], ["A|B"]), "Loadings": loadings}, STATS))
    # a block without estimates (counts per item) is not a parameter block: allowed
    items = pd.DataFrame({"answered": [90], "ved_ikke": [5]}, index=["a"])
    tab = regression_table(_Fake({"Thresholds": _block([0], ["A|B"]), "Items": items}, STATS))
    assert list(tab.index.get_level_values("term").unique()) == ["A|B", "N"]


def test_loadings_and_response_model_blocks_are_neither_starred_nor_exponentiated():
    def with_p(block):
        return block.assign(p_value=1e-6)

    blocks = {
        "Coefficients": with_p(_block([0.5], ["x1"])),
        "Loadings": with_p(_block([0.8], ["loading[a]"])),
        "Response model": with_p(_block([-0.4, 0.3], ["response: Intercept", "lambda"])),
    }
    stats = dict(STATS, estimator="ml", se_type="model-based")
    tab = regression_table(_Fake(blocks, stats), exponentiate=True, names=["m"])
    est = tab.xs("est", level="row")["m"]
    assert est[("Coefficients", "x1")] == f"{np.exp(0.5):.3f}***"
    assert est[("Loadings", "loading[a]")] == "0.800"
    assert est[("Response model", "response: Intercept")] == "-0.400"
    assert est[("Response model", "lambda")] == "0.300"
    da = regression_table(_Fake(blocks, stats), labels="da", names=["m"])
    assert {"Ladninger", "Svarmodel"} <= set(da.index.get_level_values("block"))
    assert ("Ladninger", "loading[a]", "est") in da.index  # item names are not relabelled


def test_a_parameter_without_estimate_is_refused_not_left_empty():
    re = pd.concat([_block([0.6], ["sd(municipality)"]), _block([np.nan], ["sd(response)"])])
    blocks = {"Thresholds": _block([0], ["A|B"]), "Random effects": re}
    with pytest.raises(TypeError, match=r"row 'sd\(response\)' of block 'Random effects'"):
        regression_table(_Fake(blocks, STATS))


# --- real Bayesian fits ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def sim444():
    from tests.bayes.conftest import load_sim444

    return load_sim444()


def _quietly(fit):
    from civmodels.exceptions import SamplingWarning

    with warnings.catch_warnings():
        # 2 x 150 draws: too few for trustworthy R-hat/ESS, plenty for a table's layout
        warnings.simplefilter("ignore", SamplingWarning)
        return fit()


@pytest.fixture(scope="module")
def bayes_ordinal(sim444):
    from civmodels import bayes

    f = "y ~ x1 + pressure + (1 | municipality)"
    return _quietly(
        lambda: bayes.Ordinal(f, sim444).fit(draws=150, tune=150, chains=2, random_seed=5)
    )


@pytest.fixture(scope="module")
def battery_fit():
    from civmodels import bayes
    from tests.bayes._sim import simulate_battery

    items = ["mot_0", "mot_1", "mot_2"]
    df, _ = simulate_battery(n_resp=150, n_muni=20, n_items=3, random_seed=2)
    return _quietly(
        lambda: bayes.Battery(items, "~ x1 + (1 | municipality)", df).fit(
            draws=100, tune=100, chains=2, random_seed=3
        )
    )


@pytest.fixture(scope="module")
def joint_fit(sim444):
    from civmodels import bayes
    from tests.bayes.conftest import CATS

    non = sim444.sample(n=200, replace=True, random_state=9).reset_index(drop=True)
    non["y"] = pd.Categorical([None] * len(non), categories=CATS, ordered=True)
    frame = pd.concat(
        [sim444.assign(responded=True), non.assign(responded=False)], ignore_index=True
    )
    return _quietly(
        lambda: bayes.JointResponse("y ~ x1 + (1 | municipality)", "~ pressure", frame).fit(
            draws=100, tune=100, chains=2, random_seed=4
        )
    )


@pytest.mark.bayes
@pytest.mark.slow
def test_bayesian_and_maximum_likelihood_fits_share_a_table(sim444, bayes_ordinal):
    f = "y ~ x1 + pressure + (1 | municipality)"
    ml = cm.Ordinal(f, data=sim444).fit()
    post = bayes_ordinal
    tab = regression_table(ml, post, names=["ML", "Bayes"])
    est = tab.xs("est", level="row")
    s = post.summary()
    for name in ("Thresholds", "Location", "Random effects"):
        for term, row in s.blocks[name].iterrows():
            cells = est[est.index.get_level_values("term") == term]["Bayes"]
            assert cells.tolist() == [f"{row['estimate']:.3f}"], (name, term)
    coef = est.loc[est.index.get_level_values("block") == "Coefficients"]
    assert coef["ML"].str.contains(r"\*").any()  # the ML column has stars ...
    assert not coef["Bayes"].str.contains(r"\*").any()  # ... the posterior column none
    note = regression_table(ml, post, names=["ML", "Bayes"], labels="da").attrs["note"]
    assert "Bayes: posterior-SD; 95%-kredibilitetsintervaller med lige store haler" in note
    assert "bayesianske modeller" in note


#: Summary block -> the table's block name (English).
_TABLE_BLOCK = {
    "Thresholds": "Thresholds",
    "Location": "Coefficients",
    "Coefficients": "Coefficients",
    "Loadings": "Loadings",
    "Response model": "Response model",
    "Random effects": "Random effects (SD)",
}


@pytest.mark.bayes
@pytest.mark.slow
def test_ordinal_battery_and_joint_fits_share_a_table_in_every_output(
    bayes_ordinal, battery_fit, joint_fit, tmp_path
):
    """Every estimate of every summary is in its own column, in the right block, and nothing
    else is; the N row says what each model counts; every output format renders it."""
    import docx

    from tests.report.test_formats import _docx_cells, _markdown_rows

    fits = {"Ordinal": bayes_ordinal, "Battery": battery_fit, "Joint": joint_fit}
    tab = regression_table(*fits.values(), names=list(fits))
    # the outcomes differ (y and the items): the header names them
    assert list(tab.columns.get_level_values("outcome")) == ["y", "mot_0, mot_1, mot_2", "y"]
    tab.columns = tab.columns.get_level_values("model")
    est = tab.xs("est", level="row")
    for name, res in fits.items():
        s = res.summary()
        expected = {}
        for bname, block in s.blocks.items():
            if bname in _TABLE_BLOCK:
                for term, row in block.iterrows():
                    expected[(_TABLE_BLOCK[bname], term)] = f"{row['estimate']:.3f}"
        shown = {k: v for k, v in est[name].items() if v and k[0] != "Model statistics"}
        assert shown == expected, name
        assert est[name][("Model statistics", "N")] == str(res.nobs)
    # what N counts: respondents with an answer (battery), frame positions (joint)
    assert battery_fit.nobs == 150 - battery_fit.n_dropped
    assert joint_fit.nobs == len(joint_fit.model.r)
    assert est.loc[("Response model", "lambda"), "Joint"] == f"{joint_fit.params['lambda']:.3f}"
    assert est.loc[("Random effects (SD)", "sd(response)"), "Joint"] != ""
    assert "Bayesian models" in tab.attrs["note"]

    md = _markdown_rows(regression_table(*fits.values(), names=list(fits), output="markdown"))
    assert {len(r) for r in md} == {4}
    assert ["lambda", "", "", f"{joint_fit.params['lambda']:.3f}"] in md
    load = f"{battery_fit.params['loading[mot_1]']:.3f}"
    assert ["loading[mot_1]", "", load, ""] in md
    html = regression_table(*fits.values(), names=list(fits), output="html")
    assert "Response model" in html and "Loadings" in html and ">lambda<" in html
    tex = regression_table(*fits.values(), names=list(fits), output="latex")
    assert f"loading[mot\\_1] &  & {load} &  \\\\" in tex
    path = tmp_path / "bayes.docx"
    regression_table(*fits.values(), names=list(fits), output="docx", path=path)
    cells = _docx_cells(docx.Document(str(path)).tables[0])
    assert ["loading[mot_1]", "", load, ""] in cells
    assert ["lambda", "", "", f"{joint_fit.params['lambda']:.3f}"] in cells


@pytest.mark.bayes
@pytest.mark.slow
@pytest.mark.latex
def test_the_bayesian_table_compiles_with_its_loadings_and_response_model(
    bayes_ordinal, battery_fit, joint_fit, tmp_path
):
    from civmodels.report import latex_document
    from tests._tools import require_tool
    from tests.report.test_formats import _run

    require_tool(
        "pdflatex", "texlive-latex-base texlive-latex-recommended texlive-fonts-recommended"
    )
    require_tool("pdftotext", "poppler-utils")
    fits = (bayes_ordinal, battery_fit, joint_fit)
    body = regression_table(*fits, output="latex", labels="da")
    (tmp_path / "t.tex").write_text(latex_document(body), encoding="utf-8")
    _run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "t.tex"], tmp_path)
    _run(["pdftotext", "-layout", "-enc", "UTF-8", "t.pdf", "t.txt"], tmp_path)
    text = (tmp_path / "t.txt").read_text(encoding="utf-8")
    assert "Ladninger" in text and "Svarmodel" in text and "sd(response)" in text
    assert "loading[mot_1]" in text
    assert f"{battery_fit.params['loading[mot_1]']:.3f}" in text
    assert f"{joint_fit.params['lambda']:.3f}" in text
