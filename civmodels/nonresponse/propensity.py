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
from ..design import ReplicateDesign, SurveyDesign
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
        One weight per respondent, indexed by the frame's ``key`` column (``position_id``
        by default; the frame's row labels with ``key=None``). Attach them to the survey with
        :meth:`attach`, which matches on that key, never by position.
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
    key : str or None
        The frame column that indexes :attr:`weights` (None: the frame's row labels).
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
    key: str | None = "position_id"
    _frame: pd.DataFrame | None = field(default=None, repr=False)
    _spec: dict[str, Any] = field(default_factory=dict, repr=False)

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

    def attach(self, survey: pd.DataFrame, *, on: str | None = None) -> pd.Series:
        """The weights aligned with the rows of ``survey``, matched by key.

        Parameters
        ----------
        survey : pandas.DataFrame
            The respondents (e.g. ``load_survey()``), with the key column.
        on : str, optional
            The survey's key column; default :attr:`key` (``"position_id"``). With
            ``key=None`` the survey's row labels are matched to the frame's.

        Returns
        -------
        pandas.Series
            Indexed like ``survey`` (name ``"weight"``), ready for
            ``SurveyDesign(survey, weights=pw.attach(survey), ...)``.

        Raises
        ------
        DesignError
            The survey lacks the key column, has duplicated keys, or has respondents whose
            key is not a responding position of the frame (named, with their count).
        """
        pos = _match_keys(survey, self.key if on is None else on, self.weights.index, self.key)
        return pd.Series(self.weights.to_numpy(float)[pos], index=survey.index, name="weight")

    def replicate_design(
        self,
        survey: pd.DataFrame,
        method: str = "jk1",
        *,
        cluster: str = "municipality_code",
        strata: str | None = None,
        replicates: int = 200,
        random_seed: int | np.random.SeedSequence | np.random.Generator | None = None,
        mse: bool = False,
        on: str | None = None,
    ) -> ReplicateDesign:
        """A replicate-weight design for the survey that re-estimates the propensities in
        every replicate, so standard errors include the weighting step.

        The frame's clusters (municipalities) are resampled by the jackknife or the Rao–Wu
        bootstrap (:meth:`~civmodels.design.SurveyDesign.replicate`); in each replicate the
        response model is re-fitted to the frame with the replicate's factors as weights, and
        each respondent's replicate weight is ``factor / p̂_r`` (trimmed and normalised as
        the full-sample weights were).

        Parameters
        ----------
        survey : pandas.DataFrame
            The respondents, with the key column (see :meth:`attach`).
        method : {"jk1", "jkn", "bootstrap"}, default "jk1"
        cluster : str, default "municipality_code"
            Frame column of the primary sampling units.
        strata : str, optional
            Frame column of the strata (needed for ``"jkn"``).
        replicates, random_seed, mse
            As :meth:`civmodels.design.SurveyDesign.replicate` (the bootstrap needs
            ``random_seed``).
        on : str, optional
            The survey's key column (default :attr:`key`).

        Returns
        -------
        civmodels.design.ReplicateDesign
            On ``survey``, with the full-sample propensity weights.

        Raises
        ------
        DesignError
            For ``method="mixed"`` propensities (a random-intercept refit per replicate is
            not offered), or when a replicate's response model cannot be fitted.
        """
        if self._frame is None or not self._spec:
            raise DesignError("these weights do not carry their frame; recompute them")
        frame = self._frame
        if self._spec["method"] == "mixed":
            raise DesignError(
                "re-estimating a mixed (random-intercept) response model in every replicate "
                "is not offered; use method='logit' (or a scikit-learn classifier) for "
                "replicate designs"
            )
        check_columns(frame, [cluster] + ([strata] if strata else []), what="replicate_design")
        frame_rep = SurveyDesign(frame, cluster=cluster, strata=strata).replicate(
            method,  # type: ignore[arg-type]
            replicates=replicates,
            random_seed=random_seed,
            mse=mse,
        )
        factors = frame_rep.replicate_weights.to_numpy()
        main = self.attach(survey, on=on)
        resp_rows = _match_keys(
            survey, self.key if on is None else on, self.weights.index, self.key
        )
        spec = self._spec
        X, r = spec["X"], spec["r"]
        reps = np.zeros((len(survey), factors.shape[1]))
        for k in range(factors.shape[1]):
            f_k = factors[:, k]
            try:
                p = _refit_propensity(spec, X, r, f_k)
            except Exception as exc:  # name the replicate
                raise DesignError(
                    f"the response model could not be re-fitted in replicate {k + 1}: {exc}"
                ) from exc
            reps[:, k] = _respondent_weights(p, r, f_k, spec)[resp_rows]
        return ReplicateDesign(
            survey,
            weights=main,
            replicate_weights=reps,
            scale=frame_rep.scale,
            rscales=frame_rep.rscales,
            mse=mse,
            kind=f"{frame_rep.weights_kind}; response propensities re-estimated in each replicate",
            degf=frame_rep.degf,
        )

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


def _match_keys(
    survey: pd.DataFrame, col: str | None, index: pd.Index, key: str | None
) -> np.ndarray:
    """Position in ``index`` (the respondents' keys) of every survey row, by key."""
    if not isinstance(survey, pd.DataFrame):
        raise DesignError(f"survey must be a DataFrame, got {type(survey).__name__}")
    if col is None:
        keys = pd.Series(survey.index, index=survey.index)
        what = "row label"
    else:
        if col not in survey.columns:
            raise DesignError(
                f"the survey has no column {col!r} to match the propensity weights on; the "
                f"weights are indexed by the frame's {key!r} — add that id to the survey, or "
                "pass on=<the survey's column holding it>"
            )
        keys = survey[col]
        what = col
    if keys.isna().any():
        raise DesignError(f"{int(keys.isna().sum())} survey rows have no {what}")
    dup = keys[keys.duplicated()]
    if len(dup):
        raise DesignError(
            f"{len(dup)} survey rows share a {what} with another row (first: {dup.iloc[0]!r}); "
            "each respondent holds one position"
        )
    lookup = pd.Series(np.arange(len(index)), index=index)
    pos = keys.map(lookup)
    if pos.isna().any():  # compare as text too, so an id stored as '7' matches 7
        text = pd.Series(np.arange(len(index)), index=index.astype(str))
        pos = pos.fillna(keys.astype(str).map(text))
    missing = keys[pos.isna()]
    if len(missing):
        raise DesignError(
            f"{len(missing)} survey rows have a {what} that is not a responding position of "
            f"the frame: {', '.join(map(repr, missing.iloc[:5].tolist()))}"
            + (" ..." if len(missing) > 5 else "")
            + ". Check that survey and frame come from the same export and that 'responded' "
            "is 1 for these positions"
        )
    return pos.to_numpy().astype(np.int64)


def _respondent_weights(
    p: np.ndarray, r: np.ndarray, f: np.ndarray, spec: dict[str, Any]
) -> np.ndarray:
    """``f / p`` for the respondents (0 where the replicate factor ``f`` is 0), after the
    separation check, trimming and normalisation to ``sum(f)`` frame rows."""
    fr, pr = f[r], p[r]
    live = fr > 0
    low = live & (pr < spec["min_propensity"])
    if low.any() or (p[f > 0] >= 1 - 1e-12).all():
        raise DesignError(
            f"{int(low.sum())} respondents have an estimated response propensity below "
            f"{spec['min_propensity']:g} (separation: some covariate pattern almost never "
            "responds), so their weights would be unbounded; collapse sparse categories or "
            "simplify the formula (trimming is applied only to finite weights)"
        )
    w = np.zeros(len(pr))
    w[live] = fr[live] / pr[live]
    n_trim = 0
    if spec["trim"] is not None:
        w[live], n_trim = trim_weights(w[live], float(spec["trim"]))
    if spec["normalize"]:
        w = w * f.sum() / w.sum()
    spec["_last_n_trim"] = n_trim
    return w


def _weighted_logit(
    X: np.ndarray, y: np.ndarray, w: np.ndarray, start: np.ndarray, *, max_iter: int = 50
) -> np.ndarray:
    """Weighted logistic regression by Newton–Raphson (the replicate refits); returns the
    fitted probabilities of every row."""
    beta = start.copy()
    for _ in range(max_iter):
        eta = X @ beta
        mu = 1 / (1 + np.exp(-eta))
        grad = X.T @ (w * (y - mu))
        info = X.T @ (X * (w * mu * (1 - mu))[:, None])
        try:
            step = np.linalg.solve(info, grad)
        except np.linalg.LinAlgError:  # a replicate without some category: min-norm step
            step = np.linalg.lstsq(info, grad, rcond=None)[0]
        beta = beta + step
        if np.max(np.abs(step)) < 1e-10 * (1 + np.max(np.abs(beta))):
            return 1 / (1 + np.exp(-(X @ beta)))
    raise DesignError(f"the weighted logit did not converge in {max_iter} iterations")


def _refit_propensity(
    spec: dict[str, Any], X: np.ndarray, r: np.ndarray, f: np.ndarray
) -> np.ndarray:
    """Response propensities of every frame row re-estimated with frame weights ``f``."""
    y = r.astype(float)
    if spec["method"] == "logit":
        return _weighted_logit(X, y, f, spec["beta"])
    from sklearn.base import clone

    live = f > 0
    est = clone(spec["estimator"]).fit(X[live], r[live].astype(int), sample_weight=f[live])
    return est.predict_proba(X)[:, list(est.classes_).index(1)]


def propensity_weights(
    frame: pd.DataFrame,
    formula: str = DEFAULT_FORMULA,
    *,
    method: str | Any = "logit",
    trim: float | None = None,
    normalize: bool = True,
    group: str = "municipality_code",
    min_propensity: float = 1e-6,
    key: str | None = "position_id",
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
    key : str or None, default "position_id"
        Frame column that identifies a position; the weights are indexed by it, so that
        :meth:`PropensityWeights.attach` can match them to the survey's rows. ``None``
        indexes them by the frame's row labels.

    Returns
    -------
    PropensityWeights
        ``.weights`` (respondents, indexed by ``key``), ``.attach(survey)``,
        ``.replicate_design(survey, ...)``, ``.propensity`` (frame), ``.balance``,
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
    if key is not None:
        if key not in frame.columns:
            raise DataError(
                f"the frame has no column {key!r}; the weights are indexed by it so they can "
                "be attached to the survey by key. Pass key=<the frame's position id column>, "
                "or key=None to index them by the frame's row labels"
            )
        if frame[key].isna().any() or frame[key].duplicated().any():
            raise DataError(f"frame column {key!r} must identify each position once")
    r = _responded(frame, outcome)
    data = frame.assign(**{outcome: r.astype(float)})
    spec: dict[str, Any] = {
        "trim": trim,
        "normalize": normalize,
        "min_propensity": min_propensity,
        "r": r,
        "X": None,
    }
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
        spec["method"] = method
        if method == "logit" and not parsed.random:
            spec["X"] = FixedDesign(rhs, data).X
            spec["beta"] = np.asarray(res.params, dtype=float)
        else:
            spec["method"] = "mixed"
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
        spec.update(method="sklearn", estimator=method, X=design.X)
    prop = pd.Series(p, index=frame.index, name="propensity")
    w = _respondent_weights(p, r, np.ones(len(frame)), spec)
    n_trim = spec.pop("_last_n_trim")
    resp_index = frame[key].to_numpy()[r] if key is not None else frame.index[r]
    weights = pd.Series(
        w,
        index=pd.Index(resp_index, name=key if key is not None else frame.index.name),
        name="weight",
    )
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
        key=key,
        _frame=frame,
        _spec=spec,
    )
