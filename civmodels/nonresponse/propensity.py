"""Response-propensity (inverse-probability) weights from the sampling frame.

The frame lists every invited position (838 department heads) with covariates known for all
of them and a ``responded`` indicator. A model of ``P(responded | x)`` — a logit, a logit with
a municipality random intercept, or any scikit-learn classifier — gives each respondent the
weight ``1 / p̂``, so that respondents stand in for the nonrespondents who resemble them.
This removes nonresponse bias if responses are missing at random given ``x`` (MAR).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .._validation import check_columns, check_dataframe
from ..exceptions import DataError, DesignError, SpecificationError
from ..formula import FixedDesign, _rhs_variables, parse_formula
from ..results import Summary
from ._weights import balance_table, kish, trim_weights, weight_distribution

__all__ = ["PropensityWeights", "propensity_weights"]

DEFAULT_FORMULA = "responded ~ area + size_group + region"


@dataclass(frozen=True, eq=False)
class PropensityWeights:
    """Inverse response-propensity weights with diagnostics (made by
    :func:`propensity_weights`).

    Attributes
    ----------
    weights : pandas.Series
        One weight per respondent, indexed like the respondents' rows of the frame.
    propensity : pandas.Series
        Estimated response probability of every frame row.
    method : str
    formula : str
    balance : pandas.DataFrame
        Covariate means in the frame, among respondents unweighted and weighted, and the
        standardised differences before and after weighting.
    distribution : pandas.Series
        Weight distribution: quantiles, CV, Kish effective sample size and design effect.
    n_trimmed : int
        Weights capped by ``trim``.
    n_frame, n_respondents : int
    model : object
        The fitted propensity model (a civmodels result or the scikit-learn estimator).
    """

    weights: pd.Series
    propensity: pd.Series
    method: str
    formula: str
    balance: pd.DataFrame
    distribution: pd.Series
    n_trimmed: int
    n_frame: int
    n_respondents: int
    trim: float | None
    normalize: bool
    model: Any = field(repr=False)

    @property
    def kish_ess(self) -> float:
        """Kish effective sample size of the weights."""
        return kish(self.weights.to_numpy())[0]

    @property
    def kish_deff(self) -> float:
        """Kish design effect from unequal weighting, ``1 + CV²``."""
        return kish(self.weights.to_numpy())[1]

    def summary(self) -> Summary:
        """Weight distribution and balance table."""
        info = {
            "Method": self.method,
            "Formula": self.formula,
            "Frame rows": self.n_frame,
            "Respondents": self.n_respondents,
            "Response rate": self.n_respondents / self.n_frame,
            "Weights trimmed": self.n_trimmed,
            "Kish ESS": self.kish_ess,
            "Kish deff": self.kish_deff,
            "Max |std diff| before": float(self.balance["std_diff_before"].abs().max()),
            "Max |std diff| after": float(self.balance["std_diff_after"].abs().max()),
        }
        dist = self.distribution.to_frame()
        notes = [
            "Weights = 1 / estimated response propensity"
            + (", normalised to sum to the frame size" if self.normalize else "")
            + (f", capped at {self.trim:g} x mean weight" if self.trim else "")
            + ".",
            "Standardised difference = (respondent mean - frame mean) / frame SD; |d| < 0.1 is "
            "the usual balance target.",
        ]
        return Summary(
            title="Response-propensity weights",
            info=info,
            blocks={"Weight distribution": dist, "Balance": self.balance},
            notes=tuple(notes),
        )

    def plot(self):
        """Histogram of the weights and a Love plot of standardised differences.

        Returns
        -------
        matplotlib.figure.Figure
        """
        from matplotlib.figure import Figure

        fig = Figure(figsize=(10, max(3.5, 0.25 * len(self.balance) + 1)))
        ax1, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.3]})
        ax1.hist(self.weights.to_numpy(), bins=30, color="0.5")
        ax1.set_xlabel("weight")
        ax1.set_ylabel("respondents")
        ax1.set_title(f"Weights (Kish deff {self.kish_deff:.2f})")
        y = np.arange(len(self.balance))
        ax2.scatter(self.balance["std_diff_before"], y, marker="o", label="unweighted")
        ax2.scatter(self.balance["std_diff_after"], y, marker="x", label="weighted")
        ax2.axvline(0, color="k", lw=0.8)
        for v in (-0.1, 0.1):
            ax2.axvline(v, color="0.6", ls="--", lw=0.8)
        ax2.set_yticks(y, [str(i) for i in self.balance.index], fontsize=7)
        ax2.set_xlabel("standardised difference (respondents - frame)")
        ax2.legend(fontsize=8)
        ax2.set_title("Balance")
        fig.tight_layout()
        return fig

    def __repr__(self) -> str:
        return (
            f"PropensityWeights(method={self.method!r}, n_respondents={self.n_respondents}, "
            f"kish_deff={self.kish_deff:.3f}, n_trimmed={self.n_trimmed})"
        )


def _responded(frame: pd.DataFrame, name: str) -> np.ndarray:
    col = frame[name]
    if col.isna().any():
        raise DataError(f"column {name!r} has {int(col.isna().sum())} missing values")
    vals = set(pd.unique(col).tolist())
    if not vals <= {0, 1}:  # True == 1 and False == 0
        raise DataError(
            f"column {name!r} must be 0/1 or boolean (1 = responded), got values "
            f"{sorted(map(str, vals))[:6]}"
        )
    r = col.astype(bool).to_numpy()
    if r.all() or not r.any():
        raise DataError(f"column {name!r} is constant; a response model needs both outcomes")
    return r


def propensity_weights(
    frame: pd.DataFrame,
    formula: str = DEFAULT_FORMULA,
    *,
    method: str | Any = "logit",
    trim: float | None = None,
    normalize: bool = True,
    group: str = "municipality_code",
    min_propensity: float = 1e-6,
) -> PropensityWeights:
    """Inverse response-propensity weights for the respondents of a frame.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per invited position (respondents and nonrespondents) with the response
        indicator and the covariates of ``formula``, complete for every row.
    formula : str, default ``"responded ~ area + size_group + region"``
        Response model: outcome is the 0/1 response indicator.
    method : {"logit", "mixed"} or scikit-learn classifier, default "logit"
        ``"logit"``: :class:`civmodels.Logistic` by maximum likelihood. ``"mixed"``: the same
        with a random intercept for ``group`` (``+ (1 | municipality_code)``), which lets
        municipalities differ in response beyond the covariates. A scikit-learn estimator
        (anything with ``fit`` and ``predict_proba``; cloned, never modified) is fitted to
        the treatment-coded design of the formula's right-hand side.
    trim : float, optional
        Cap each weight at ``trim`` times the mean weight and spread the excess over the
        other weights, keeping their sum (e.g. ``trim=5``).
    normalize : bool, default True
        Rescale the weights to sum to the number of frame rows, so weighted counts estimate
        frame counts. Otherwise they are the raw ``1 / p̂`` (whose sum estimates it).
    group : str, default "municipality_code"
        Grouping column of the random intercept for ``method="mixed"``.
    min_propensity : float, default 1e-6
        A respondent with an estimated propensity below this is an error (separation):
        its weight would be unbounded.

    Returns
    -------
    PropensityWeights
        ``.weights`` (respondents), ``.propensity`` (frame), ``.balance``,
        ``.distribution``, ``summary()``, ``plot()``.

    Raises
    ------
    FormulaError
        The frame lacks a covariate named in the formula.
    DataError
        Missing covariates in the frame, or a response indicator that is not 0/1.
    DesignError
        Propensities at 0 or 1 for respondents (separation) — collapse sparse categories or
        simplify the model; trimming is applied only after this check.

    Notes
    -----
    Under MAR given the covariates, ``E[Σ_resp y_i / p_i] = Σ_frame y_i``, so the weighted
    respondent mean is consistent for the frame mean (Little & Rubin 2020, ch. 3). The price
    is variance: the Kish design effect ``1 + CV²`` of the weights is reported.
    """
    frame = check_dataframe(frame, "frame")
    parsed = parse_formula(formula)
    outcome = parsed.outcome
    if outcome is None:
        raise SpecificationError(f"formula {formula!r} needs an outcome (the response indicator)")
    rhs = parsed.fixed
    variables = list(dict.fromkeys(_rhs_variables(rhs)))
    check_columns(frame, [outcome, *variables], what=f"the propensity formula {formula!r}")
    na = frame[variables].isna()
    if na.any().any():
        counts = na.sum()
        raise DataError(
            f"the frame has missing covariates {counts[counts > 0].to_dict()}; propensities "
            "need every covariate for every frame row (impute or recode them, e.g. as a "
            "'missing' category)"
        )
    r = _responded(frame, outcome)
    data = frame.assign(**{outcome: r.astype(float)})
    if isinstance(method, str) and method in ("logit", "mixed"):
        from ..logistic import Logistic

        f = formula
        if method == "mixed":
            check_columns(frame, [group], what="group=")
            if not parsed.random:
                f = f"{formula} + (1 | {group})"
        try:
            res = Logistic(f, data).fit()
        except ImportError as exc:
            raise SpecificationError(
                "method='mixed' needs the mixed logistic engine (civmodels.logistic.mixed), "
                f"which is not available here: {exc}"
            ) from exc
        p = np.asarray(res.predict(kind="prob"), dtype=float)
        model: Any = res
        label = method
    elif isinstance(method, str):
        raise SpecificationError(
            f"method={method!r}; choose 'logit', 'mixed' or pass a scikit-learn classifier"
        )
    else:
        if not (hasattr(method, "fit") and hasattr(method, "predict_proba")):
            raise SpecificationError(
                f"method must be 'logit', 'mixed' or an estimator with fit and predict_proba; "
                f"got {type(method).__name__}"
            )
        from sklearn.base import clone

        design = FixedDesign(rhs, data, intercept=False)
        model = clone(method).fit(design.X, r.astype(int))
        classes = list(model.classes_)
        p = model.predict_proba(design.X)[:, classes.index(1)]
        label = type(method).__name__
    prop = pd.Series(p, index=frame.index, name="propensity")
    pr = p[r]
    if (pr < min_propensity).any() or (p >= 1 - 1e-12).all():
        n_bad = int((pr < min_propensity).sum())
        raise DesignError(
            f"{n_bad} respondents have an estimated response propensity below "
            f"{min_propensity:g} (separation: some covariate pattern almost never responds), "
            "so their weights would be unbounded; collapse sparse categories or simplify the "
            "formula (trimming is applied only to finite weights)"
        )
    w = 1.0 / pr
    n_trim = 0
    if trim is not None:
        w, n_trim = trim_weights(w, float(trim))
    if normalize:
        w = w * len(frame) / w.sum()
    resp_index = frame.index[r]
    weights = pd.Series(w, index=resp_index, name="weight")
    balance = balance_table(frame, frame.loc[r], w, variables)
    return PropensityWeights(
        weights=weights,
        propensity=prop,
        method=label,
        formula=formula,
        balance=balance,
        distribution=weight_distribution(w),
        n_trimmed=n_trim,
        n_frame=len(frame),
        n_respondents=int(r.sum()),
        trim=trim,
        normalize=normalize,
        model=model,
    )
