"""The simulator generates what its truth says: parameter recovery with statsmodels.

With the random parts switched off (respondent and municipality SDs 0) the item model is a
plain cumulative logit / logit / negative binomial in the covariates and area, so an
independent maximum-likelihood fit (statsmodels) on pooled population draws must recover
``truth`` within sampling error. Tolerance: 3.5 standard errors per parameter (about a 1 in
2,000 chance per parameter under correct generation; ~20 parameters are checked per model).
This checks the sign convention P(Y <= j) = F(kappa_j - eta), the threshold names, the
re-referencing of area effects to the first area and the count intercept.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from civmodels.data import AREAS, COVARIATE_TERMS, load_calibration, simulate_survey

TOL = 3.5


@pytest.fixture(scope="module")
def no_random_parts() -> dict:
    cal = load_calibration().to_dict()
    for dim in cal["dimensions"].values():
        dim["municipality_sd"]["value"] = 0.0
        dim["respondent_sd"]["value"] = 0.0
    return cal


def _pooled(cal: dict, n: int, effects=None) -> tuple[pd.DataFrame, object]:
    sims = [
        simulate_survey(random_seed=100 + s, calibration=cal, effects=effects) for s in range(n)
    ]
    return pd.concat([s.population for s in sims], ignore_index=True), sims[0].truth


def _design(pop: pd.DataFrame) -> pd.DataFrame:
    x = pd.DataFrame(
        {
            "log_population": pop["log_population"],
            "pressure_high": pop["pressure_high"].astype(float),
            "spending_pressure": pop["spending_pressure"],
            "bloc[T.blue]": (pop["bloc"] == "blue").astype(float),
        }
    )
    for r in ("Sjælland", "Syddanmark", "Midtjylland", "Nordjylland"):
        x[f"region[T.{r}]"] = (pop["region"] == r).astype(float)
    for a in AREAS[1:]:
        x[f"area[T.{a}]"] = (pop["area"] == a).astype(float)
    return x


def _check(est: pd.Series, se: pd.Series, truth: pd.Series) -> None:
    z = (est - truth) / se
    bad = z[np.abs(z) > TOL]
    assert bad.empty, pd.DataFrame({"est": est, "se": se, "truth": truth})[np.abs(z) > TOL]


@pytest.mark.slow
def test_ordinal_item_recovery(no_random_parts):
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    item = "mot_cost_effectiveness"
    pop, truth = _pooled(
        no_random_parts, 6, effects={item: {"log_population": 0.4, "bloc[T.blue]": -0.3}}
    )
    x = _design(pop)
    fit = OrderedModel(pop[item], x, distr="logit").fit(method="bfgs", disp=False, maxiter=2000)
    k = x.shape[1]
    beta_truth = pd.concat(
        [
            truth.coefficients.loc[item, list(COVARIATE_TERMS)],
            truth.area_effects.loc[item, list(AREAS[1:])].rename(lambda a: f"area[T.{a}]"),
        ]
    )
    _check(fit.params.iloc[:k], fit.bse.iloc[:k], beta_truth[x.columns])
    # thresholds: statsmodels stores the first cut-point and log increments; transform and
    # use the delta method for their standard errors
    model = fit.model
    cuts = model.transform_threshold_params(fit.params.to_numpy())[1:-1]
    th = fit.params.iloc[k:].to_numpy()
    jac = np.zeros((len(th), len(th)))
    for j in range(len(th)):
        jac[j, 0] = 1.0
        for m in range(1, j + 1):
            jac[j, m] = np.exp(th[m])
    cov = fit.cov_params().to_numpy()[k:, k:]
    se = np.sqrt(np.diag(jac @ cov @ jac.T))
    tr = truth.thresholds[item]
    assert tr.index.tolist() == [
        "Slet ikke vigtigt|Mindre vigtigt",
        "Mindre vigtigt|Vigtigt",
        "Vigtigt|Meget vigtigt",
    ]
    _check(pd.Series(cuts, index=tr.index), pd.Series(se, index=tr.index), tr)


def test_binary_item_recovery(no_random_parts):
    import statsmodels.api as sm

    item = "new_focus_last_year"
    pop, truth = _pooled(no_random_parts, 6)
    x = sm.add_constant(_design(pop))
    y = (pop[item] == "Ja").astype(float)
    fit = sm.Logit(y, x).fit(disp=0)
    t = pd.concat(
        [
            pd.Series({"const": -truth.thresholds[item]["Nej|Ja"]}),
            truth.coefficients.loc[item, list(COVARIATE_TERMS)],
            truth.area_effects.loc[item, list(AREAS[1:])].rename(lambda a: f"area[T.{a}]"),
        ]
    )
    _check(fit.params, fit.bse, t[x.columns])
    assert truth.area_effects.loc[item, "teknik_miljo"] < -0.5  # 70 % vs ~84 %


def test_count_item_recovery(no_random_parts):
    import statsmodels.api as sm

    item = "n_ongoing_collaborations"
    pop, truth = _pooled(no_random_parts, 4)
    x = sm.add_constant(_design(pop))
    with warnings.catch_warnings():
        # statsmodels' NB start values trigger a harmless overflow warning in some draws
        warnings.simplefilter("ignore", RuntimeWarning)
        fit = sm.NegativeBinomial(pop[item].astype(float), x).fit(disp=0, maxiter=500)
    t = pd.concat(
        [
            pd.Series({"const": truth.count[item]["intercept"]}),
            truth.coefficients.loc[item, list(COVARIATE_TERMS)],
            truth.area_effects.loc[item, list(AREAS[1:])].rename(lambda a: f"area[T.{a}]"),
            pd.Series({"alpha": 1 / truth.count[item]["dispersion"]}),
        ]
    )
    _check(fit.params, fit.bse, t[fit.params.index])


def test_response_model_recovery():
    """Response: logistic in area with municipality random intercepts; with the municipality
    SD set to 0 the pooled logistic fit recovers the intercept and the social-area effect."""
    import statsmodels.api as sm

    cal = load_calibration().to_dict()
    cal["response"]["municipality_sd"]["value"] = 0.0
    pop, truth = _pooled(cal, 6)
    x = sm.add_constant(pd.DataFrame({"social": (pop["area"] == "social").astype(float)}))
    fit = sm.Logit(pop["responded"].astype(float), x).fit(disp=0)
    t = pd.Series(
        {"const": truth.response["intercept"], "social": truth.response["area_log_odds"]["social"]}
    )
    _check(fit.params, fit.bse, t)
