"""Adjusted predictions, comparisons and slopes for every civmodels result.

The vocabulary follows the R and Python ``marginaleffects`` packages:

* :func:`predictions` — predicted probabilities (or linear predictors) for rows, or averaged
  over the data within cells of ``by=`` and ``at=``;
* :func:`comparisons` — differences or ratios of averaged predictions between values of a
  predictor (reference, pairwise or sequential contrasts), with multiplicity adjustment;
* :func:`slopes` — average derivatives for continuous predictors and discrete changes for
  binary, 0/1 and categorical ones.

Averages are *counterfactual* by default: ``by="area"`` sets ``area`` to each level for every
row of the data and averages the predictions (Stata ``margins area``, R
``emmeans(..., counterfactuals = "area")``); ``counterfactual=False`` averages within the
observed groups instead. Averages use the fit's weights (case, sampling or design weights).

Uncertainty
-----------
A result supplies a :class:`PredictionModel`: its parameters, a function from parameters to
probabilities, and either a :class:`DeltaMethod` (estimates and covariance) or
:class:`PosteriorDraws` (draws of the parameters). With the delta method the Jacobian is taken
by central differences and

* intervals of probabilities are computed on the link scale of the probability,
  ``F(F^-1(p) +- q se / f(F^-1(p)))`` with ``F`` the model's inverse link, so they stay in
  [0, 1] (for one row of a binary model this is exactly the interval of the linear predictor,
  transformed);
* differences and slopes use the delta method on their own scale (as marginaleffects);
* ratios are averaged-prediction ratios; their interval and test are on the log scale
  (``exp(log r +- q se / r)``; H0: ratio = 1);
* t references with the design's degrees of freedom for design-based fits.

With posterior draws every quantity is computed per draw; the estimate is the posterior
median, ``std_error`` the posterior SD and the interval equal-tailed (no p-values). A Bayesian
result plugs in by returning ``PredictionModel.from_posterior(draws, ...)`` from its
``_prediction_model()`` and inheriting :class:`~civmodels._postfit.PostFitMixin`.

Draws are evaluated in blocks when the model supplies ``prob_draws`` (and ``linear_draws``):
the quantity functions carry a leading draws axis, so one call computes a block of draws
(blocks of at most 4 million probabilities, 32 MB; see ``_draw_blocks``). Without them every
draw is evaluated on its own, as the delta method's single parameter vector always is; both
routes give the same numbers to rounding.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .exceptions import SpecificationError

__all__ = [
    "DeltaMethod",
    "PosteriorDraws",
    "PredictionModel",
    "comparisons",
    "p_adjust",
    "predictions",
    "slopes",
]


@dataclass(frozen=True)
class DeltaMethod:
    """Frequentist uncertainty: the estimates' covariance and an optional t reference df."""

    vcov: np.ndarray
    df: float | None = None


@dataclass(frozen=True)
class PosteriorDraws:
    """Bayesian uncertainty: an ``(n_draws, n_params)`` array of parameter draws."""

    draws: np.ndarray


@dataclass(frozen=True)
class PredictionModel:
    """What a fitted result provides to the prediction functions.

    Parameters
    ----------
    theta : ndarray
        Parameter vector at which estimates are computed.
    uncertainty : DeltaMethod or PosteriorDraws
    prepare : callable
        ``prepare(data) -> design``: everything about ``data`` that does not depend on the
        parameters (design matrices, random-effect shifts), computed once per counterfactual
        data set.
    prob : callable
        ``prob(theta, design) -> (n, K)`` outcome probabilities (K = 1 for binary models,
        ``P(Y = 1)``).
    linear : callable or None
        ``linear(theta, design) -> (n,)`` linear predictor.
    data : pandas.DataFrame
        The rows the model was fitted to.
    weights : ndarray or None
        Weights used when averaging over ``data``.
    outcomes : list of str
        Labels of the K probability columns.
    variables : list of str
        The model's predictors (the columns that may be set counterfactually).
    link : object with ``cdf``, ``ppf`` and ``pdf``, or None
        Inverse link used to keep probability intervals in [0, 1].
    prob_draws : callable or None
        ``prob_draws(thetas, design) -> (D, n, K)``: ``prob`` for a ``(D, P)`` block of
        parameter vectors at once (optional; used with :class:`PosteriorDraws` to evaluate
        the draws in blocks instead of one at a time). It must equal
        ``np.stack([prob(t, design) for t in thetas])`` up to rounding.
    linear_draws : callable or None
        ``linear_draws(thetas, design) -> (D, n)``, likewise for ``linear``; without it a
        block evaluates ``linear`` draw by draw.
    """

    theta: np.ndarray
    uncertainty: DeltaMethod | PosteriorDraws
    prepare: Callable[[pd.DataFrame], Any]
    prob: Callable[[np.ndarray, Any], np.ndarray]
    linear: Callable[[np.ndarray, Any], np.ndarray] | None
    data: pd.DataFrame
    weights: np.ndarray | None
    outcomes: list[str]
    variables: list[str]
    link: Any = None
    prob_draws: Callable[[np.ndarray, Any], np.ndarray] | None = None
    linear_draws: Callable[[np.ndarray, Any], np.ndarray] | None = None

    @classmethod
    def from_posterior(cls, draws: np.ndarray, **fields: Any) -> PredictionModel:
        """The prediction model of a Bayesian result: estimates at the posterior median of
        ``draws`` (``(n_draws, n_params)``), uncertainty from the draws themselves, no
        averaging weights.

        Parameters
        ----------
        draws : ndarray
            Posterior draws of the parameter vector.
        **fields
            The other fields (``prepare``, ``prob``, ``linear``, ``data``, ``outcomes``,
            ``variables``, ``link``, ``prob_draws``, ``linear_draws``).

        Returns
        -------
        PredictionModel
        """
        return cls(
            theta=np.median(draws, axis=0),
            uncertainty=PosteriorDraws(draws),
            weights=None,
            **fields,
        )


#: Block sizes of the block route, in probabilities (draws x rows x columns): about
#: ``_DRAW_BLOCK_DOUBLES`` (800 kB, so the elementwise work stays in cache), but at least
#: ``_DRAW_BLOCK_MIN`` draws (so that the Python calls are shared by enough draws) unless
#: that exceeds ``_DRAW_BLOCK_MAX_DOUBLES`` (32 MB). Measured on the 2-core machine (4000
#: draws, best of 3): conditional sim444 predictions 0.94 s in blocks of 1e5 vs 1.46 s in
#: blocks of 1e6 and 1.75 s draw by draw; marginal battery predictions, whose 404 rows
#: shrink to a few distinct ones, 0.77 s in blocks of 69 draws vs 2.58 s in blocks of 2.
_DRAW_BLOCK_DOUBLES = 100_000
_DRAW_BLOCK_MIN = 64
_DRAW_BLOCK_MAX_DOUBLES = 4_000_000
#: Evaluate posterior draws in blocks when the model supplies ``prob_draws`` (tests switch
#: this off to compare against the draw-by-draw route).
_VECTORISE_DRAWS = True


def _over_draws(
    one: Callable[[np.ndarray, Any], np.ndarray],
    many: Callable[[np.ndarray, Any], np.ndarray] | None,
) -> Callable[[np.ndarray, Any], np.ndarray]:
    """``one`` for a parameter vector ``(P,)``; for a block ``(D, P)`` ``many`` (or ``one``
    draw by draw), with the draws axis first."""

    def fn(t: np.ndarray, d: Any) -> np.ndarray:
        if t.ndim == 1:
            return one(t, d)
        if many is not None:
            return many(t, d)
        return np.stack([one(ti, d) for ti in t])

    return fn


def _draw_blocks(pm: PredictionModel, per_draw: int) -> int | None:
    """Draws per block for the block route, or None for draw by draw."""
    if not _VECTORISE_DRAWS or pm.prob_draws is None:
        return None
    per_draw = max(1, per_draw)
    step = max(_DRAW_BLOCK_MIN, _DRAW_BLOCK_DOUBLES // per_draw)
    return max(1, min(step, _DRAW_BLOCK_MAX_DOUBLES // per_draw))


# -- inference ------------------------------------------------------------------------------
def _jacobian(f: Callable[[np.ndarray], np.ndarray], par: np.ndarray, f0: np.ndarray) -> np.ndarray:
    """Central-difference Jacobian of ``f`` at ``par``."""
    jac = np.empty((len(f0), len(par)))
    for i in range(len(par)):
        h = 1e-6 * max(1.0, abs(par[i]))
        e = np.zeros_like(par)
        e[i] = h
        jac[:, i] = (f(par + e) - f(par - e)) / (2 * h)
    return jac


def _infer(
    pm: PredictionModel,
    f: Callable[[np.ndarray], np.ndarray],
    scale: str,
    level: float,
    per_draw: int = 1,
) -> pd.DataFrame:
    """Estimates, SEs, tests and intervals of ``f(theta)``.

    ``scale``: ``"prob"`` (interval on the link scale), ``"log"`` (ratio: interval and test
    on the log scale) or ``"plain"``. ``f`` maps ``(P,)`` to ``(m,)`` and, for the block
    route over posterior draws, ``(D, P)`` to ``(D, m)``; ``per_draw`` is the size of the
    largest probability array one draw needs (rows times columns), which sets the block size.
    """
    from scipy import stats

    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    unc = pm.uncertainty
    if isinstance(unc, PosteriorDraws):
        draws = np.asarray(unc.draws, float)
        step = _draw_blocks(pm, per_draw)
        if step is None:
            vals = np.array([f(d) for d in draws])
        else:
            vals = np.concatenate([f(draws[i : i + step]) for i in range(0, len(draws), step)])
        a = (1 - level) / 2
        return pd.DataFrame(
            {
                "estimate": np.median(vals, axis=0),
                "std_error": vals.std(axis=0, ddof=1),
                "statistic": np.nan,
                "p_value": np.nan,
                "ci_lower": np.quantile(vals, a, axis=0),
                "ci_upper": np.quantile(vals, 1 - a, axis=0),
            }
        )
    est = f(pm.theta)
    jac = _jacobian(f, pm.theta, est)
    V = np.asarray(unc.vcov, float)
    se = np.sqrt(np.clip(np.einsum("ij,jk,ik->i", jac, V, jac), 0, None))
    ref = stats.norm if unc.df is None else stats.t(unc.df)
    q = float(ref.ppf(0.5 + level / 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        if scale == "log":
            lse = se / est
            z = np.log(est) / lse
            lo, hi = est * np.exp(-q * lse), est * np.exp(q * lse)
        elif scale == "prob" and pm.link is not None:
            z = est / se
            p = np.clip(est, 1e-300, 1 - 1e-16)
            g = pm.link.ppf(p)
            gse = se / pm.link.pdf(g)
            lo, hi = pm.link.cdf(g - q * gse), pm.link.cdf(g + q * gse)
        else:
            z = est / se
            lo, hi = est - q * se, est + q * se
    return pd.DataFrame(
        {
            "estimate": est,
            "std_error": se,
            "statistic": z,
            "p_value": 2 * ref.sf(np.abs(z)),
            "ci_lower": lo,
            "ci_upper": hi,
        }
    )


def p_adjust(p: np.ndarray | pd.Series, method: str | None) -> np.ndarray:
    """Adjust p-values for multiple testing (as R ``p.adjust``).

    Parameters
    ----------
    p : array_like
        P-values (NaN entries are left as they are and not counted).
    method : {"holm", "bonferroni", "hochberg", "BH", "BY", None, "none"}

    Returns
    -------
    ndarray
    """
    p = np.asarray(p, dtype=float)
    if method in (None, "none"):
        return p.copy()
    out = p.copy()
    ok = np.isfinite(p)
    x = p[ok]
    m = len(x)
    if m == 0:
        return out
    order = np.argsort(x)
    xs = x[order]
    i = np.arange(1, m + 1)
    if method == "bonferroni":
        adj_sorted = np.minimum(1.0, m * xs)
    elif method == "holm":
        adj_sorted = np.minimum(1.0, np.maximum.accumulate((m - i + 1) * xs))
    elif method == "hochberg":
        adj_sorted = np.minimum(1.0, np.minimum.accumulate(((m - i + 1) * xs)[::-1])[::-1])
    elif method in ("BH", "fdr"):
        adj_sorted = np.minimum(1.0, np.minimum.accumulate((m / i * xs)[::-1])[::-1])
    elif method == "BY":
        c = np.sum(1.0 / i)
        adj_sorted = np.minimum(1.0, np.minimum.accumulate((c * m / i * xs)[::-1])[::-1])
    else:
        raise SpecificationError(
            f"p_adjust={method!r} is not known; choose 'holm', 'bonferroni', 'hochberg', "
            "'BH', 'BY' or None"
        )
    adj = np.empty(m)
    adj[order] = adj_sorted
    out[ok] = adj
    return out


# -- grids ----------------------------------------------------------------------------------
def _levels(col: pd.Series) -> list:
    if isinstance(col.dtype, pd.CategoricalDtype):
        return list(col.cat.categories)
    return sorted(pd.unique(col.dropna()), key=lambda v: (str(type(v)), v))


def _is_continuous(col: pd.Series) -> bool:
    return (
        pd.api.types.is_numeric_dtype(col)
        and not pd.api.types.is_bool_dtype(col)
        and not isinstance(col.dtype, pd.CategoricalDtype)
    )


def _set(col: pd.Series, value: object) -> pd.Series:
    """``col`` with every row set to ``value`` (categories and dtype kept)."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        return pd.Series(
            pd.Categorical(
                [value] * len(col), categories=col.cat.categories, ordered=col.cat.ordered
            ),
            index=col.index,
        )
    if _is_continuous(col):
        return pd.Series(np.full(len(col), float(value)), index=col.index)  # type: ignore[arg-type]
    return pd.Series([value] * len(col), index=col.index, dtype=col.dtype)


def _check_value(pm: PredictionModel, var: str, value: object, what: str) -> None:
    col = pm.data[var]
    if _is_continuous(col):
        if not isinstance(value, (int, float, np.integer, np.floating)) or isinstance(value, bool):
            raise SpecificationError(f"{what}: {var!r} is numeric; got {value!r}")
        lo, hi = float(col.min()), float(col.max())
        if not lo <= float(value) <= hi:
            warnings.warn(
                f"{what}: {var}={value!r} is outside the range of the data [{lo:g}, {hi:g}]; "
                "the prediction extrapolates",
                UserWarning,
                stacklevel=4,
            )
        return
    levels = _levels(col)
    if value not in levels:
        raise SpecificationError(
            f"{what}: {value!r} is not a level of {var!r}; levels in the data: {levels}"
        )


def _check_variable(pm: PredictionModel, var: str, what: str) -> None:
    if var not in pm.variables:
        raise SpecificationError(
            f"{what}: {var!r} is not a predictor of the model; choose from {pm.variables}"
        )


def _at_grid(pm: PredictionModel, at: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    if not at:
        return [{}]
    if not isinstance(at, Mapping):
        raise SpecificationError(f"at= must be a dict such as {{'area': 'social'}}, got {at!r}")
    opts = {}
    for var, vals in at.items():
        _check_variable(pm, var, "at=")
        vals = list(vals) if isinstance(vals, (list, tuple, np.ndarray, pd.Index)) else [vals]
        if not vals:
            raise SpecificationError(f"at={{{var!r}: []}} gives no values")
        for v in vals:
            _check_value(pm, var, v, "at=")
        opts[var] = vals
    return [dict(zip(opts, combo, strict=True)) for combo in itertools.product(*opts.values())]


def _apply(data: pd.DataFrame, values: Mapping[str, Any]) -> pd.DataFrame:
    if not values:
        return data
    return data.assign(**{k: _set(data[k], v) for k, v in values.items()})


def _by_list(by: str | Sequence[str] | bool | None) -> list[str]:
    if by is None or by is False or by is True:
        return []
    return [by] if isinstance(by, str) else list(by)


@dataclass
class _Cell:
    labels: dict[str, Any]
    data: pd.DataFrame
    weights: np.ndarray | None


def _cells(
    pm: PredictionModel,
    base: pd.DataFrame,
    weights: np.ndarray | None,
    by: list[str],
    at: list[dict[str, Any]],
    counterfactual: bool,
    exclude: str | None = None,
) -> list[_Cell]:
    """Averaging cells: every ``at`` combination crossed with the ``by`` groups."""
    for v in by:
        if v == exclude:
            raise SpecificationError(f"by={v!r} is also the variable being compared")
        if counterfactual:
            if v not in pm.variables:
                raise SpecificationError(
                    f"by={v!r} is not a predictor of the model, so it cannot be set "
                    "counterfactually; pass counterfactual=False to average within the "
                    f"observed groups of {v!r}, or choose from {pm.variables}"
                )
            if _is_continuous(pm.data[v]) and pm.data[v].nunique() > 12:
                raise SpecificationError(
                    f"by={v!r} is continuous with {pm.data[v].nunique()} values; give the "
                    f"values to predict at with at={{{v!r}: [...]}}"
                )
        elif v not in base.columns:
            raise SpecificationError(f"by={v!r} is not a column of the data")
    out: list[_Cell] = []
    for a in at:
        if any(v in a for v in by):
            raise SpecificationError("a variable cannot be in both by= and at=")
        if not by:
            out.append(_Cell(dict(a), _apply(base, a), weights))
        elif counterfactual:
            for combo in itertools.product(*[_levels(pm.data[v]) for v in by]):
                vals = dict(zip(by, combo, strict=True))
                out.append(_Cell({**a, **vals}, _apply(base, {**a, **vals}), weights))
        else:
            grouped = base.groupby(by, observed=True, sort=True).indices
            for key, idx in grouped.items():
                key = key if isinstance(key, tuple) else (key,)
                sub = base.iloc[idx]
                w = None if weights is None else weights[idx]
                out.append(_Cell({**a, **dict(zip(by, key, strict=True))}, _apply(sub, a), w))
    return out


def _wmean(p: np.ndarray, w: np.ndarray | None) -> np.ndarray:
    """(Weighted) mean over the rows of ``(n, K)`` or ``(D, n, K)`` probabilities."""
    if w is None:
        return p.mean(axis=-2)
    return (w @ p) / w.sum()


def _label_frame(
    labels: list[dict[str, Any]], per: int, outcomes: list[str] | None
) -> pd.DataFrame:
    rows = []
    for lab in labels:
        for k in range(per):
            row = dict(lab)
            if outcomes is not None:
                row["outcome"] = outcomes[k]
            rows.append(row)
    return pd.DataFrame(rows)


def _finish(labels: pd.DataFrame, inf: pd.DataFrame, p_adj: str | None = None) -> pd.DataFrame:
    out = pd.concat([labels.reset_index(drop=True), inf.reset_index(drop=True)], axis=1)
    if p_adj not in (None, "none"):
        out["p_value"] = p_adjust(out["p_value"].to_numpy(), p_adj)
    return out


def _base(
    pm: PredictionModel, newdata: pd.DataFrame | None
) -> tuple[pd.DataFrame, np.ndarray | None]:
    if newdata is None:
        return pm.data, pm.weights
    if not isinstance(newdata, pd.DataFrame):
        raise SpecificationError(
            f"newdata must be a pandas DataFrame, got {type(newdata).__name__}"
        )
    if len(newdata) == 0:
        raise SpecificationError("newdata has no rows")
    return newdata, None


# -- public functions -----------------------------------------------------------------------
def predictions(
    pm: PredictionModel,
    *,
    newdata: pd.DataFrame | None = None,
    by: str | Sequence[str] | bool | None = None,
    at: Mapping[str, Any] | None = None,
    counterfactual: bool = True,
    type: str = "prob",
    hypothesis: str | None = None,
    p_adjust: str | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """Predictions with standard errors and intervals (see the module notes).

    Parameters
    ----------
    pm : PredictionModel
        From ``result._prediction_model()``; users call ``result.predictions(...)``.
    newdata : pandas.DataFrame, optional
        Rows to predict for (never modified); the fit's rows if omitted.
    by : str, list of str or True, optional
        ``None``: one prediction per row (per ``at`` combination). ``True``: the average over
        the rows. A column name or list: the average for each level (combination), set
        counterfactually for every row (``counterfactual=True``) or within the observed
        groups (``counterfactual=False``).
    at : dict, optional
        Predictors set to a value (or each of a list of values) for every row, e.g.
        ``{"area": "social"}`` or ``{"x1": [-1, 0, 1]}``. Values of categorical predictors
        must be levels of the data.
    counterfactual : bool, default True
        How ``by=`` groups are formed (above).
    type : {"prob", "linear"}
        Outcome probabilities (one row per outcome category for ordinal models) or the linear
        predictor ``x'beta``.
    hypothesis : {"reference", "pairwise", "sequential"}, optional
        Return differences between the predictions instead (outcome by outcome): each row
        against the first, every pair (later minus earlier), or each row against the
        previous one; a ``term`` column names them (``"social - children"``). With a
        counterfactual ``by`` these equal :func:`comparisons` of that variable.
    p_adjust : {"holm", "bonferroni", "hochberg", "BH", "BY"}, optional
        Multiplicity adjustment over all rows (see :func:`p_adjust`).
    level : float, default 0.95

    Returns
    -------
    pandas.DataFrame
        Label columns (``rowid`` for row-level predictions, the ``at`` and ``by`` variables,
        ``outcome``), then ``estimate``, ``std_error``, ``statistic``, ``p_value`` (of the
        hypothesis estimate = 0, as marginaleffects), ``ci_lower``, ``ci_upper``.
    """
    if type not in ("prob", "linear"):
        raise SpecificationError(f"type={type!r}; choose 'prob' or 'linear'")
    if type == "linear" and pm.linear is None:
        raise SpecificationError("this model has no linear predictor for type='linear'")
    base, weights = _base(pm, newdata)
    grid = _at_grid(pm, at)
    byl = _by_list(by)
    if type == "prob":
        fn = _over_draws(pm.prob, pm.prob_draws)
    else:
        lin = _over_draws(pm.linear, pm.linear_draws)  # type: ignore[arg-type]

        def fn(t: np.ndarray, d: Any) -> np.ndarray:
            return lin(t, d)[..., None]

    outcomes = pm.outcomes if type == "prob" else None
    K = len(pm.outcomes) if type == "prob" else 1
    if by is None or by is False:
        preps = [(a, pm.prepare(_apply(base, a))) for a in grid]

        def f(t: np.ndarray) -> np.ndarray:
            return np.concatenate([fn(t, d).reshape(*t.shape[:-1], -1) for _, d in preps], -1)

        labels = []
        for a, _ in preps:
            for rid in base.index:
                labels.append({"rowid": rid, **a})
    else:
        cells = _cells(pm, base, weights, byl, grid, counterfactual)
        cprep = [(c, pm.prepare(c.data)) for c in cells]

        def f(t: np.ndarray) -> np.ndarray:
            return np.concatenate([_wmean(fn(t, d), c.weights) for c, d in cprep], -1)

        labels = [c.labels for c in cells]
    per_draw = len(base) * K
    if hypothesis is not None:
        return _row_contrasts(pm, f, labels, K, outcomes, hypothesis, p_adjust, level, per_draw)
    lab = _label_frame(labels, K, outcomes)
    inf = _infer(pm, f, "prob" if type == "prob" else "plain", level, per_draw)
    return _finish(lab, inf, p_adjust)


def _row_contrasts(
    pm: PredictionModel,
    f: Callable[[np.ndarray], np.ndarray],
    labels: list[dict[str, Any]],
    K: int,
    outcomes: list[str] | None,
    hypothesis: str,
    p_adj: str | None,
    level: float,
    per_draw: int,
) -> pd.DataFrame:
    """Differences between the rows of a prediction table, outcome by outcome."""
    names = [", ".join(_fmt(v) for v in lab.values()) or "all" for lab in labels]
    pairs = _contrast_pairs(list(range(len(labels))), hypothesis)
    if not pairs:
        raise SpecificationError(f"hypothesis={hypothesis!r} needs at least two predictions")
    hi = np.array([i for i, _ in pairs])
    lo = np.array([j for _, j in pairs])

    def g(t: np.ndarray) -> np.ndarray:
        lead = t.shape[:-1]
        F = f(t).reshape(*lead, len(labels), K)
        return (F[..., hi, :] - F[..., lo, :]).reshape(*lead, -1)

    lab = _label_frame([{"term": f"{names[i]} - {names[j]}"} for i, j in pairs], K, outcomes)
    return _finish(lab, _infer(pm, g, "plain", level, per_draw), p_adj)


_HYPOTHESES = ("reference", "pairwise", "sequential")


def _contrast_pairs(levels: list, hypothesis: str) -> list[tuple[Any, Any]]:
    if hypothesis == "reference":
        return [(lv, levels[0]) for lv in levels[1:]]
    if hypothesis == "pairwise":
        return [(b, a) for a, b in itertools.combinations(levels, 2)]
    if hypothesis == "sequential":
        return [(levels[i], levels[i - 1]) for i in range(1, len(levels))]
    raise SpecificationError(f"hypothesis={hypothesis!r}; choose from {list(_HYPOTHESES)}")


@dataclass
class _Contrast:
    variable: str
    label: str
    hi: Callable[[pd.DataFrame], pd.DataFrame]
    lo: Callable[[pd.DataFrame], pd.DataFrame]
    scale: float = 1.0


def _setter(var: str, value: Any) -> Callable[[pd.DataFrame], pd.DataFrame]:
    return lambda d: d.assign(**{var: _set(d[var], value)})


def _shifter(var: str, step: float) -> Callable[[pd.DataFrame], pd.DataFrame]:
    return lambda d: d.assign(**{var: d[var].astype(float) + step})


def _is_binary01(col: pd.Series) -> bool:
    return _is_continuous(col) and set(np.unique(col.to_numpy(float))) <= {0.0, 1.0}


def _contrasts_for(
    pm: PredictionModel, var: str, spec: Any, hypothesis: str, comparison: str
) -> list[_Contrast]:
    _check_variable(pm, var, "variables=")
    col = pm.data[var]
    op = " - " if comparison == "difference" else " / "
    if _is_continuous(col) and not (_is_binary01(col) and spec is None):
        if spec is None:
            spec = 1.0
        if isinstance(spec, (tuple, list)) and len(spec) == 2:
            lo, hi = spec
            for v in (lo, hi):
                _check_value(pm, var, v, "variables=")
            return [_Contrast(var, f"{hi}{op}{lo}", _setter(var, hi), _setter(var, lo))]
        if isinstance(spec, (int, float)) and not isinstance(spec, bool):
            return [_Contrast(var, f"+{spec:g}", _shifter(var, float(spec)), lambda d: d)]
        raise SpecificationError(
            f"variables={{{var!r}: {spec!r}}}: for a numeric predictor give a step (e.g. 1) or "
            "a (low, high) pair"
        )
    levels = [0.0, 1.0] if _is_continuous(col) else _levels(col)
    if spec is not None:
        if isinstance(spec, str) and spec in _HYPOTHESES:
            hypothesis = spec
        elif isinstance(spec, (tuple, list)) and len(spec) == 2:
            for v in spec:
                _check_value(pm, var, v, "variables=")
            lo, hi = spec
            return [_Contrast(var, f"{hi}{op}{lo}", _setter(var, hi), _setter(var, lo))]
        else:
            raise SpecificationError(
                f"variables={{{var!r}: {spec!r}}}: give one of {list(_HYPOTHESES)} or a "
                "(low, high) pair of levels"
            )
    if len(levels) < 2:
        raise SpecificationError(f"{var!r} has a single level in the data; nothing to compare")
    return [
        _Contrast(var, f"{_fmt(hi)}{op}{_fmt(lo)}", _setter(var, hi), _setter(var, lo))
        for hi, lo in _contrast_pairs(levels, hypothesis)
    ]


def _fmt(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _variables_spec(
    pm: PredictionModel, variables: str | Sequence[str] | Mapping[str, Any] | None
) -> dict[str, Any]:
    if variables is None:
        return dict.fromkeys(pm.variables)
    if isinstance(variables, str):
        return {variables: None}
    if isinstance(variables, Mapping):
        return dict(variables)
    return dict.fromkeys(variables)


def _compare(
    pm: PredictionModel,
    contrasts: list[_Contrast],
    *,
    comparison: str,
    newdata: pd.DataFrame | None,
    by: str | Sequence[str] | None,
    at: Mapping[str, Any] | None,
    counterfactual: bool,
    p_adj: str | None,
    level: float,
) -> pd.DataFrame:
    if comparison not in ("difference", "ratio"):
        raise SpecificationError(f"comparison={comparison!r}; choose 'difference' or 'ratio'")
    base, weights = _base(pm, newdata)
    grid = _at_grid(pm, at)
    byl = _by_list(by)
    K = len(pm.outcomes)
    jobs = []
    labels = []
    for con in contrasts:
        if con.variable in (at or {}):
            raise SpecificationError(f"{con.variable!r} is both compared and fixed by at=")
        for c in _cells(pm, base, weights, byl, grid, counterfactual, exclude=con.variable):
            jobs.append(
                (pm.prepare(con.hi(c.data)), pm.prepare(con.lo(c.data)), c.weights, con.scale)
            )
            labels.append({"variable": con.variable, "contrast": con.label, **c.labels})

    prob = _over_draws(pm.prob, pm.prob_draws)

    def f(t: np.ndarray) -> np.ndarray:
        out = []
        for dh, dl, w, s in jobs:
            ph, pl = _wmean(prob(t, dh), w), _wmean(prob(t, dl), w)
            out.append((ph - pl) / s if comparison == "difference" else ph / pl)
        return np.concatenate(out, -1)

    scale = "plain" if comparison == "difference" else "log"
    inf = _infer(pm, f, scale, level, len(base) * K)
    return _finish(_label_frame(labels, K, pm.outcomes), inf, p_adj)


def comparisons(
    pm: PredictionModel,
    variables: str | Sequence[str] | Mapping[str, Any] | None = None,
    *,
    comparison: str = "difference",
    hypothesis: str = "reference",
    newdata: pd.DataFrame | None = None,
    by: str | Sequence[str] | None = None,
    at: Mapping[str, Any] | None = None,
    counterfactual: bool = True,
    p_adjust: str | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """Average comparisons: how averaged predictions change with a predictor.

    Parameters
    ----------
    pm : PredictionModel
        From ``result._prediction_model()``; users call ``result.comparisons(...)``.
    variables : str, list or dict, optional
        Predictors to compare (default: all). A dict gives per-variable choices: for a
        categorical one ``"reference"``, ``"pairwise"``, ``"sequential"`` or a ``(low, high)``
        pair of levels; for a numeric one a step (``1`` is the default: ``x + 1`` vs ``x``)
        or a ``(low, high)`` pair of values set for every row. 0/1 numeric predictors are
        compared at 1 vs 0.
    comparison : {"difference", "ratio"}
        ``mean P(high) - mean P(low)`` or ``mean P(high) / mean P(low)``.
    hypothesis : {"reference", "pairwise", "sequential"}, default "reference"
        Which level pairs of categorical predictors: each level against the first; every
        pair (later level minus earlier); each level against the previous one.
    newdata : pandas.DataFrame, optional
        Rows to average over (default: the fit's rows, with the fit's weights).
    by, at, counterfactual
        As :func:`predictions`; ``by`` groups are counterfactual by default.
    p_adjust : {"holm", "bonferroni", "hochberg", "BH", "BY"}, optional
        Multiplicity adjustment over all rows of the result (see :func:`p_adjust`).
    level : float, default 0.95

    Returns
    -------
    pandas.DataFrame
        ``variable``, ``contrast`` (e.g. ``"social - children"``), the ``at``/``by`` columns,
        ``outcome``, then ``estimate``, ``std_error``, ``statistic``, ``p_value``,
        ``ci_lower``, ``ci_upper``. For ratios the test is of ratio = 1 and the interval is
        computed on the log scale.
    """
    if hypothesis not in _HYPOTHESES:
        raise SpecificationError(f"hypothesis={hypothesis!r}; choose from {list(_HYPOTHESES)}")
    contrasts = [
        c
        for var, spec in _variables_spec(pm, variables).items()
        for c in _contrasts_for(pm, var, spec, hypothesis, comparison)
    ]
    return _compare(
        pm,
        contrasts,
        comparison=comparison,
        newdata=newdata,
        by=by,
        at=at,
        counterfactual=counterfactual,
        p_adj=p_adjust,
        level=level,
    )


def slopes(
    pm: PredictionModel,
    variables: str | Sequence[str] | None = None,
    *,
    newdata: pd.DataFrame | None = None,
    by: str | Sequence[str] | None = None,
    at: Mapping[str, Any] | None = None,
    counterfactual: bool = True,
    p_adjust: str | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """Average marginal effects: derivatives or discrete changes of the probabilities.

    Continuous predictors get the average derivative ``d mean P / dx`` (central difference,
    step ``1e-4`` times the predictor's SD; contrast ``"dY/dX"``). Binary, 0/1, boolean and
    categorical predictors get the discrete change from the reference (first) level to each
    other level, as R ``marginaleffects::avg_slopes`` and Stata ``margins, dydx()`` with
    factor notation.

    Parameters
    ----------
    pm : PredictionModel
        From ``result._prediction_model()``; users call ``result.slopes(...)``.
    variables : str or list of str, optional
        Default: every predictor.
    newdata, by, at, counterfactual, p_adjust, level
        As :func:`comparisons`.

    Returns
    -------
    pandas.DataFrame
        As :func:`comparisons`.
    """
    contrasts: list[_Contrast] = []
    for var in _variables_spec(pm, variables):
        _check_variable(pm, var, "variables=")
        col = pm.data[var]
        if _is_continuous(col) and not _is_binary01(col):
            h = 1e-4 * (float(col.std()) or 1.0)
            contrasts.append(
                _Contrast(var, "dY/dX", _shifter(var, h), _shifter(var, -h), scale=2 * h)
            )
        else:
            contrasts += _contrasts_for(pm, var, None, "reference", "difference")
    return _compare(
        pm,
        contrasts,
        comparison="difference",
        newdata=newdata,
        by=by,
        at=at,
        counterfactual=counterfactual,
        p_adj=p_adjust,
        level=level,
    )
