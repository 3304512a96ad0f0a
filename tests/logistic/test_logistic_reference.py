"""Binary regression against R glm(binomial) and survey::svyglm(family=quasibinomial).

R fits use glm.control(epsilon = 1e-14) so the references are converged to ~1e-10.
Tolerances: estimates and log-likelihood 1e-4 relative (issue 3), SEs 1e-3 (R and civmodels
both use the expected information, so they agree to ~1e-7 in practice).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import civmodels as cm

REF = Path(__file__).resolve().parents[1] / "reference"


def load(name: str) -> dict:
    return json.loads((REF / "logistic" / f"{name}.json").read_text())


@pytest.fixture(scope="module")
def sim() -> pd.DataFrame:
    return pd.read_csv(REF / "ordinal" / "survey_sim.csv")


def r_names(names: list[str]) -> list[str]:
    out = []
    for n in names:
        n = "(Intercept)" if n == "Intercept" else re.sub(r"\[T\.([^\]]+)\]", r"\1", n)
        out.append(n)
    return out


def check(res, ref, *, ll=True):
    assert r_names(list(res.params.index)) == ref["names"]
    np.testing.assert_allclose(res.params, ref["estimate"], rtol=1e-4, atol=1e-8)
    np.testing.assert_allclose(res.std_errors, ref["std_error"], rtol=1e-3)
    if ll:
        assert res.loglik == pytest.approx(ref["loglik"], rel=1e-4)
    assert res.converged


@pytest.mark.parametrize("link", ["logit", "probit", "cloglog", "loglog", "cauchit"])
def test_glm_links(sim, link):
    res = cm.Logistic("z ~ x1 + x2 + bloc + area", data=sim, link=link).fit()
    check(res, load(f"glm_{link}"))


def test_glm_integer_weights(sim):
    df = sim.assign(w4=np.round(sim["weight"] * 4))
    res = cm.Logistic("z ~ x1 + x2 + bloc + area", data=df, freq_weights="w4").fit()
    check(res, load("glm_weighted"))


def test_glm_proportion_with_trials():
    cb = pd.read_csv(REF / "logistic" / "cbpp.csv")
    cb["period"] = cb["period"].astype(str)
    res = cm.Logistic("prop ~ period", data=cb, freq_weights="size").fit()
    # logLik includes the binomial coefficients, as R's logLik.glm
    check(res, load("glm_cbpp_proportion"))
    assert res.model.proportion


def test_proportion_without_trials_is_an_error():
    cb = pd.read_csv(REF / "logistic" / "cbpp.csv")
    with pytest.raises(cm.SpecificationError, match="number of trials"):
        cm.Logistic("prop ~ period", data=cb)


def test_svyglm_quasibinomial(sim):
    d = cm.SurveyDesign(sim, weights="weight", cluster="municipality")
    res = cm.Logistic("z ~ x1 + x2 + region + bloc + area", data=sim).fit(design=d)
    ref = load("svyglm_sim")
    check(res, ref, ll=False)
    # summary.svyglm: t with degf - k + 1 degrees of freedom
    assert res.df_resid == ref["degf"] - len(res.params) + 1


def test_logistic_contract(sim):
    res = cm.Logistic("z ~ x1 + bloc", data=sim).fit()
    assert res.coef.index.equals(res.params.index)
    p = res.predict(sim.head(5))
    assert ((p > 0) & (p < 1)).all()
    lin = res.predict(kind="linear")
    np.testing.assert_allclose(res.model.link.cdf(lin), res.predict())
    s = res.summary(odds_ratios=True)
    assert "odds_ratio" in s.blocks["Coefficients"].columns
    with pytest.raises(ValueError, match="kind"):
        res.predict(kind="cumprob")
