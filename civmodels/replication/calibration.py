"""Null calibration of the replication's verdicts, as a simulation study.

* :func:`null_replicate` - one survey from the calibrated simulator with every effect behind a
  finding set to zero (:data:`NULL_EFFECTS`), run through :func:`civmodels.replication.run`.
  A directional finding should then be "replicated" (or "reversed") at most alpha/2 of the
  time per method, no "replicated" may carry an interval covering the null, and a "no
  difference" finding should report "difference found" at most alpha of the time.
* :func:`margin_replicate` - a two-group difference planted exactly at the equivalence margin
  (+10 percentage points, or an odds ratio of 1.5, between the blocs); "equivalent" should then
  be reached at most alpha of the time.
* :func:`summarise` - the rates with their Monte Carlo standard errors.

``benchmarks/calibrate_verdicts.py`` runs both with 200 data sets each and prints the table
quoted in ``docs/replication.md``; ``tests/replication/test_calibration_slow.py`` runs a
smaller version.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "DIRECTIONAL",
    "NULL_EFFECTS",
    "NULL_RATES",
    "margin_replicate",
    "null_replicate",
    "summarise",
    "summarise_by_finding",
]

#: Directional findings of the registry.
DIRECTIONAL = ("F01", "F02", "F05", "F06", "F12", "F13")
#: "No difference" findings tested for equivalence on the null data sets (F03: one item by the
#: eight areas; F15's 14 outcome x grouping rows would triple the cost of a data set).
EQUIVALENCE = ("F03",)

#: Every effect the calibration plants behind a finding, set to zero (region and bloc effects
#: are zero in the calibration already; see data/calibration.yaml).
NULL_EFFECTS: dict[str, dict[str, float]] = {
    "policy_strategy": {"pressure_high": 0.0, "log_population": 0.0},
    "n_ongoing_collaborations": {"log_population": 0.0},
    "mot_cost_effectiveness": {"pressure_high": 0.0},
    "mot_quality": {"pressure_high": 0.0},
    "new_focus_last_year": {"area[T.teknik_miljo]": 0.0},
}

#: What ``benchmarks/calibrate_verdicts.py`` measured (seed 20161, 200 null surveys, 6
#: directional rows each; table in ``docs/replication.md``): per method, the share of
#: directional rows "replicated" and "reversed" on null data (target alpha/2 = 0.025 each).
#: The report's legend quotes them; a test keeps them equal to the docs table.
NULL_RATES: dict[str, tuple[float, float]] = {
    "crosstab": (0.033, 0.028),
    "design": (0.022, 0.030),
    "ordinal": (0.030, 0.023),
    "mixed": (0.033, 0.025),
}

_KEEP = [
    "finding_id",
    "outcome",
    "by",
    "method",
    "direction",
    "estimate_type",
    "estimate",
    "ci_lower",
    "ci_upper",
    "df",
    "p_value",
    "verdict",
    "verdict_holm",
    "mde",
]


def _rows(table: pd.DataFrame, scenario: str) -> list[dict[str, Any]]:
    out = table[table["kind"].isin(["difference", "omnibus"])][_KEEP].copy()
    out.insert(0, "scenario", scenario)
    return out.to_dict("records")


def null_replicate(
    rng: np.random.Generator,
    *,
    methods: Sequence[str] = ("crosstab", "design"),
    findings: Sequence[str] = (*DIRECTIONAL, *EQUIVALENCE),
) -> list[dict[str, Any]]:
    """One null data set through the runner: the directional and "no difference" findings
    (or the ``findings`` named)."""
    from ..data import simulate_survey
    from ._runner import run

    sim = simulate_survey(rng, effects=NULL_EFFECTS)
    table = run(
        sim.data,
        methods=methods,
        frame=sim.population,
        findings=list(findings),
        patterns=False,
        random_seed=int(rng.integers(2**31)),
    )
    return _rows(table, "null")


def margin_replicate(
    rng: np.random.Generator, *, scale: str = "difference", methods: Sequence[str] = ("crosstab",)
) -> list[dict[str, Any]]:
    """A bloc difference in 'new focus last year' exactly at the equivalence margin.

    ``scale="difference"``: yes-shares 0.75 (red) and 0.85 (blue), 10 points apart.
    ``scale="odds_ratio"``: log odds logit(0.75) + log(1.5) for blue. The answers are
    independent given the bloc, so every method's estimand equals the planted value.
    """
    from ..data import simulate_survey
    from ._runner import run

    sim = simulate_survey(rng, effects=NULL_EFFECTS)
    data = sim.data.copy()
    blue = (data["bloc"].astype(str) == "blue").to_numpy()
    if scale == "difference":
        p = np.where(blue, 0.85, 0.75)
    elif scale == "odds_ratio":
        base = np.log(0.75 / 0.25)
        p = 1 / (1 + np.exp(-(base + np.log(1.5) * blue)))
    else:
        raise ValueError(f"scale must be 'difference' or 'odds_ratio', got {scale!r}")
    answered = data["new_focus_last_year"].notna().to_numpy()
    yes = rng.random(len(data)) < p
    answers = pd.Series(np.where(yes, "Ja", "Nej"), index=data.index).where(answered)
    data["new_focus_last_year"] = pd.Categorical(answers, categories=["Nej", "Ja"])
    # only the planted item is tested (the other F15 outcomes become 'not testable')
    key = ["policy_strategy", "n_ongoing_collaborations", "mot_cost_effectiveness"]
    key += ["mot_quality", "mot_trust", "mot_reduce_expenditure"]
    data = data.drop(columns=[c for c in key if c in data.columns])
    table = run(
        data,
        methods=methods,
        frame=sim.population,
        findings=["F15"],
        patterns=False,
        random_seed=int(rng.integers(2**31)),
    )
    rows = table[(table["by"] == "bloc") & (table["outcome"] == "new_focus_last_year")]
    return _rows(rows, f"margin ({scale})")


def _rate(hits: pd.Series, replicate: pd.Series | None) -> tuple[float, float, int]:
    """Share of hits and its Monte Carlo SE; with ``replicate`` the SE is clustered by data
    set (rows of one data set share its noise), else binomial."""
    n = int(hits.notna().sum())
    if not n:
        return np.nan, np.nan, 0
    p = float(hits.mean())
    if replicate is None or replicate.nunique() < 2:
        return p, float(np.sqrt(p * (1 - p) / n)), n
    per = hits.groupby(replicate.to_numpy()).agg(["sum", "count"])
    k = len(per)
    # ratio estimator over data sets: SE of sum(hits)/sum(rows)
    resid = per["sum"] - p * per["count"]
    se = float(np.sqrt(k / (k - 1) * (resid**2).sum()) / per["count"].sum())
    return p, se, n


def summarise(table: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Rates of each verdict that should be rare, per scenario, kind of finding and method.

    Returns
    -------
    pandas.DataFrame
        ``scenario, findings, method, n_rows, statistic, rate, mc_se, target`` (``target`` is
        the bound the rate should respect: alpha/2 for directional verdicts, alpha otherwise),
        plus the number of "replicated" rows whose interval covers the null. ``mc_se`` is
        clustered by data set when the table has the simulation runner's ``replicate``
        column.
    """
    out = []
    tested = table[~table["verdict"].isin(["not testable", "not available", "failed"])]
    for (scenario, method), sub in tested.groupby(["scenario", "method"], sort=False):
        rep = sub["replicate"] if "replicate" in sub.columns else None
        direc = sub[sub["direction"].isin(["higher", "lower"])]
        if len(direc):
            centre = np.where(direc["estimate_type"] == "odds ratio", 1.0, 0.0)
            covers = (direc["ci_lower"] <= centre) & (centre <= direc["ci_upper"])
            for stat, hits in (
                ("replicated", direc["verdict"] == "replicated"),
                ("reversed", direc["verdict"] == "reversed"),
                ("replicated (Holm)", direc["verdict_holm"] == "replicated"),
            ):
                rate, se, n = _rate(hits.astype(float), None if rep is None else rep[hits.index])
                out.append((scenario, "directional", method, n, stat, rate, se, alpha / 2))
            bad = int(((direc["verdict"] == "replicated") & covers).sum())
            out.append(
                (
                    scenario,
                    "directional",
                    method,
                    len(direc),
                    "replicated with interval covering the null (count)",
                    float(bad),
                    0.0,
                    0.0,
                )
            )
        equi = sub[sub["direction"].isin(["none", "few"])]
        if len(equi):
            target = "difference found" if scenario == "null" else "equivalent"
            erep = None if rep is None else rep[equi.index]
            rate, se, n = _rate((equi["verdict"] == target).astype(float), erep)
            out.append((scenario, "no difference", method, n, target, rate, se, alpha))
            rate, se, n = _rate((equi["verdict"] == "equivalent").astype(float), erep)
            if target != "equivalent":
                out.append((scenario, "no difference", method, n, "equivalent", rate, se, np.nan))
    cols = ["scenario", "findings", "method", "n_rows", "statistic", "rate", "mc_se", "target"]
    return pd.DataFrame(out, columns=cols)


def summarise_by_finding(table: pd.DataFrame, scenario: str = "null") -> pd.DataFrame:
    """Two-sided false-replication rate of each directional finding, per method.

    The share of data sets in which the finding's contrast came out significant in either
    direction ("replicated" or "reversed"); on null data it should be at most alpha (alpha/2
    per direction). One row per data set, so the Monte Carlo SE is binomial.

    Returns
    -------
    pandas.DataFrame
        ``finding_id, by, method, n_rows, rate, mc_se, median_df`` (``median_df``: the median
        degrees of freedom of the contrast's reference distribution; ``inf`` for a z test).
    """
    sub = table[(table["scenario"] == scenario) & table["direction"].isin(["higher", "lower"])]
    sub = sub[~sub["verdict"].isin(["not testable", "not available", "failed"])]
    out = []
    for (fid, by, method), g in sub.groupby(["finding_id", "by", "method"], sort=True):
        hits = g["verdict"].isin(["replicated", "reversed"]).astype(float)
        rate, se, n = _rate(hits, None)
        df = float(g["df"].median()) if "df" in g.columns else np.nan
        out.append((fid, by, method, n, rate, se, df))
    cols = ["finding_id", "by", "method", "n_rows", "rate", "mc_se", "median_df"]
    return pd.DataFrame(out, columns=cols)
