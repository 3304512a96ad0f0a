from __future__ import annotations

import subprocess

import numpy as np
import pandas as pd
import pytest

import civmodels as cm
from civmodels.report import latex_document, regression_table
from civmodels.results import Summary
from tests._tools import require_tool


@pytest.fixture(scope="module")
def fits():
    rng = np.random.default_rng(11)
    n = 400
    df = pd.DataFrame(
        {
            "pressure_high": rng.random(n) < 0.5,
            "area": rng.choice(["social", "teknik_miljo", "kultur_fritid"], n),
            "log_population": rng.normal(10.5, 0.6, n),
        }
    )
    eta = (
        0.8 * df["pressure_high"]
        + 0.5 * (df["area"] == "social")
        + 0.3 * (df["log_population"] - 10.5)
    )
    latent = eta + rng.logistic(size=n)
    cats = ["Slet ikke vigtigt", "Mindre vigtigt", "Vigtigt", "Meget vigtigt"]
    df["y"] = pd.Categorical.from_codes(
        np.searchsorted([-1.5, 0.0, 1.2], latent), cats, ordered=True
    )
    df["ph"] = df["pressure_high"].astype(float)
    r1 = cm.Ordinal("y ~ ph", data=df).fit()
    r2 = cm.Ordinal("y ~ ph + area + log_population", data=df).fit()
    return r1, r2


def test_frame_has_blocks_and_statistics(fits):
    r1, r2 = fits
    tab = regression_table(r1, r2, output="frame")
    blocks = list(dict.fromkeys(tab.index.get_level_values("block")))
    assert blocks == ["Coefficients", "Thresholds", "Model statistics"]
    est = tab.loc[("Coefficients", "ph", "est")]
    assert est.iloc[0].startswith(f"{r1.params['ph']:.3f}")
    assert est.iloc[0].endswith("***")  # strong planted effect
    se = tab.loc[("Coefficients", "ph", "se")]
    assert se.iloc[1] == f"({r2.std_errors['ph']:.3f})"
    # a term missing from model 1 gives an empty cell, not a dropped row
    assert tab.loc[("Coefficients", "log_population", "est")].iloc[0] == ""
    assert tab.loc[("Model statistics", "N", "est")].iloc[0] == str(r1.nobs)
    assert tab.loc[("Model statistics", "AIC", "est")].iloc[1] == f"{r2.aic:.2f}"


def test_exponentiate_and_intervals(fits):
    r1, _ = fits
    tab = regression_table(r1, output="frame", exponentiate=True, ci=True, stars=False)
    lo, hi = np.exp(r1.conf_int().loc["ph"])
    assert tab.loc[("Coefficients", "ph", "est")].iloc[0] == f"{np.exp(r1.params['ph']):.3f}"
    assert tab.loc[("Coefficients", "ph", "se")].iloc[0] == f"[{lo:.3f}, {hi:.3f}]"
    # thresholds are never exponentiated
    thr = r1.thresholds.index[0]
    assert tab.loc[("Thresholds", thr, "est")].iloc[0] == f"{r1.thresholds.iloc[0]:.3f}"


def test_danish_and_english_labels(fits):
    _, r2 = fits
    da = regression_table(r2, output="frame", labels="da")
    en = regression_table(r2, output="frame", labels="en")
    assert "Fagområde: Teknik og miljø" in da.index.get_level_values("term")
    assert "Policy area: Technical services and environment" in en.index.get_level_values("term")
    assert "Tærskler" in da.index.get_level_values("block")


def test_html_renders_in_notebook_and_markdown(fits):
    r1, r2 = fits
    h = regression_table(r1, r2, output="html", names=["bivariate", "adjusted"])
    assert "<table" in h._repr_html_() and "overflow-x:auto" in h
    assert "adjusted" in h and "Thresholds" in h
    md = regression_table(r1, r2, output="markdown")
    assert md.splitlines()[0].startswith("| | (1) | (2) |")


def test_bad_input(fits):
    r1, _ = fits
    with pytest.raises(ValueError, match="output='pdf' is not a format"):
        regression_table(r1, output="pdf")
    with pytest.raises(ValueError, match="labels='fr'"):
        regression_table(r1, labels="fr")
    with pytest.raises(TypeError, match="lacks"):
        regression_table(object())
    with pytest.raises(ValueError, match="at least one"):
        regression_table()


@pytest.mark.latex
def test_latex_compiles_with_pdflatex(fits, tmp_path):
    require_tool("pdflatex", "texlive-latex-base texlive-latex-recommended")
    r1, r2 = fits
    body = regression_table(r1, r2, output="latex", labels="da", exponentiate=True)
    assert r"\toprule" in body and r"\bottomrule" in body
    tex = tmp_path / "table.tex"
    tex.write_text(latex_document(body), encoding="utf-8")
    proc = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", tex.name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert (tmp_path / "table.pdf").stat().st_size > 1000


class _PosteriorLike:
    """A result that keeps the Summary contract the way a Bayesian fit does: posterior means
    and SDs, credible limits, no p-values, ``estimator="bayes"`` (the real Bayesian fit is
    tested in tests/report/test_contract.py, marked bayes)."""

    def summary(self, level=0.95):
        def block(est, sd, index):
            est, sd = np.asarray(est), np.asarray(sd)
            return pd.DataFrame(
                {"estimate": est, "std_error": sd, "ci_lower": est - 0.5, "ci_upper": est + 0.5},
                index=index,
            )

        return Summary(
            title="Bayesian hierarchical cumulative-link model (logit)",
            info={},
            blocks={
                "Thresholds": block([-1.0, 1.0], [0.3, 0.3], ["A|B", "B|C"]),
                "Location": block([0.8], [0.2], ["ph"]),
                "Random effects": block([0.42], [0.1], ["sd(municipality_code)"]),
            },
            stats={
                "estimator": "bayes",
                "nobs": 120,
                "n_dropped": 3,
                "n_groups": {"municipality_code": 40},
                "se_type": "posterior SD",
                "outcome": "y",
            },
        )


def test_bayesian_column_gets_no_stars_and_shows_random_effect_sd(fits):
    r1, _ = fits
    tab = regression_table(r1, _PosteriorLike(), output="frame", names=["ML", "Bayes"])
    est = tab.loc[("Coefficients", "ph", "est")]
    assert est["ML"].endswith("***") and est["Bayes"] == "0.800"
    sd = ("Random effects (SD)", "sd(municipality_code)", "est")
    assert tab.loc[sd]["Bayes"] == "0.420" and tab.loc[sd]["ML"] == ""
    assert "posterior SDs" in tab.attrs["note"] and "Bayes: posterior SD" in tab.attrs["note"]
    assert tab.loc[("Model statistics", "Groups (municipality_code)", "est")]["Bayes"] == "40"
    # thresholds of both models share rows by name
    assert tab.loc[("Thresholds", "A|B", "est")]["Bayes"] == "-1.000"
