"""Brant's test against an independent R implementation (tests/reference/ordinal/make_brant.R).

The R script implements Brant (1990) from the paper in base R + MASS (the CRAN ``brant``
package is not installable here): J - 1 binary ``glm`` fits, their joint covariance from
the cross-products of the fits' weights, Wald contrasts of each slope against the first.

Tolerances: the statistic is a closed form of the binary-logit estimates, so the two sides
differ only through the optimisers' stopping rules (glm epsilon 1e-14, civmodels gradient
1e-9 * n); measured relative differences are below 3e-8, and 1e-6 leaves room for BLAS
differences. The polr estimates (checked so that both sides fit the same model and data)
come from optim's BFGS and agree to about 1e-6, hence 1e-5.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import civmodels as cm

REF = Path(__file__).resolve().parents[1] / "reference" / "ordinal"
RTOL = 1e-6


def _ref(case: str) -> dict:
    return json.loads((REF / f"brant_{case}.json").read_text())


def _r_name(name: str) -> str:
    # formulaic "Infl[T.Medium]" is R's "InflMedium"
    return re.sub(r"\[T\.(.*)\]$", r"\1", name)


def _check_polr(res, ref: dict) -> None:
    coef = ref["polr"]["coef"]
    np.testing.assert_allclose(
        res.coef.to_numpy(), [coef[_r_name(n)] for n in res.coef.index], rtol=1e-5
    )
    np.testing.assert_allclose(
        res.thresholds.to_numpy(), list(ref["polr"]["zeta"].values()), rtol=1e-5
    )
    np.testing.assert_allclose(res.loglik, ref["polr"]["loglik"], rtol=1e-8)


def _check_table(br: pd.DataFrame, ref: dict, rows=slice(None)) -> None:
    assert [_r_name(n) for n in br.index] == ref["term"]
    got, want = br.iloc[rows], {k: np.asarray(ref[k])[rows] for k in ("chi2", "df", "p_value")}
    np.testing.assert_array_equal(got["df"].to_numpy(), want["df"])
    np.testing.assert_allclose(got["chi2"].to_numpy(), want["chi2"], rtol=RTOL)
    np.testing.assert_allclose(got["p_value"].to_numpy(), want["p_value"], rtol=RTOL)


def test_brant_housing_frequency_weights(housing):
    # J = 3 (one contrast per slope), six slopes, frequency weights (R expands them to rows)
    ref = _ref("housing")
    res = cm.Ordinal("Sat ~ Infl + Type + Cont", data=housing, freq_weights="Freq").fit()
    _check_polr(res, ref)
    _check_table(res.brant_test(), ref)


def test_brant_survey_sim_four_categories(survey_sim):
    # J = 4 and six slopes: two contrasts per slope, 12 df overall
    ref = _ref("survey_sim")
    res = cm.Ordinal("y ~ x1 + x2 + area + bloc", data=survey_sim).fit()
    _check_polr(res, ref)
    br = res.brant_test()
    assert br.loc["Omnibus", "df"] == 12
    _check_table(br, ref)


def test_brant_wine_contact(wine):
    ref = _ref("wine_contact")
    res = cm.Ordinal("rating ~ contact", data=wine).fit()
    _check_polr(res, ref)
    _check_table(res.brant_test(), ref)


def test_brant_wine_separation_flagged(wine):
    # no warm wine is rated 1 and no cold wine 5: the temp slope of the binary logits
    # 1{Y > 1} and 1{Y > 4} is infinite, so the temp and omnibus statistics are not
    # chi-square; the contact row is unaffected and must match R's (settled) limit
    ref = _ref("wine")
    assert ref["separated"]
    limits = np.array(list(ref["chi2_limits"].values()))
    np.testing.assert_allclose(limits[:, 2], limits[-1, 2], rtol=1e-8)
    res = cm.Ordinal("rating ~ temp + contact", data=wine).fit()
    _check_polr(res, ref)
    with pytest.warns(cm.SeparationWarning, match=r"temp\[T\.warm\] \(Y > 1, Y > 4\)"):
        br = res.brant_test()
    assert br.loc[["Omnibus", "temp[T.warm]"], ["chi2", "p_value"]].isna().all().all()
    _check_table(br, ref, rows=slice(2, 3))
