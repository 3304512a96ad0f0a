"""Raking (iterative proportional fitting) and calibration of survey weights.

* :func:`rake` adjusts weights so that the weighted counts of several categorical variables
  match known population totals (the 838-position frame gives them for area, size group and
  region). Without bounds it is iterative proportional fitting, as R ``survey::rake``; with
  ``bounds`` it is bounded raking calibration (R ``calibrate(calfun="raking", bounds=)``).
* :func:`calibrate` is the general calibration estimator of Deville & Särndal (1992): linear
  (GREG), raking or logit distance, optionally bounded, to totals of categorical *and*
  numeric variables, as R ``survey::calibrate``.

Both return a :class:`pandas.Series` of new weights aligned with ``data.index``. Margins are
population *totals* (counts); margins that add up to about 1 are refused unless declared with
``margins_are="proportions"``. Negative weights are refused and extreme adjustment factors
warned about (:class:`~civmodels.exceptions.WeightWarning`), naming the cells. Rows with a
starting weight of 0 stay at 0, so both work inside replicate weights
(:meth:`civmodels.design.ReplicateDesign.reweight`).

References
----------
Deville, J.-C. & Särndal, C.-E. (1992). Calibration estimators in survey sampling. *JASA*,
87(418), 376–382.
Lumley, T. (2010). *Complex Surveys*, ch. 7. Wiley.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd

from .._validation import check_columns, check_dataframe
from ..design import check_weight_values
from ..exceptions import DesignError, WeightWarning

__all__ = ["calibrate", "margins_from_frame", "rake"]

Margins = Mapping[str, Mapping[Any, float] | pd.Series | float]
CalMethod = Literal["linear", "raking", "logit"]


# ----------------------------------------------------------------------------- validation
def _base_weights(data: pd.DataFrame, weights: object) -> np.ndarray:
    """Starting weights: finite and non-negative (a zero-weight row stays at zero)."""
    if weights is None:
        return np.ones(len(data))
    if isinstance(weights, str):
        check_columns(data, [weights], what="weights=", error=DesignError)
        values: object = data[weights].to_numpy()
        name = f"weights column {weights!r}"
    else:
        if isinstance(weights, pd.Series) and not weights.index.equals(data.index):
            raise DesignError(
                "weights is a Series whose index differs from the data's; align it first "
                "(weights.reindex(data.index)) — weights are matched to rows by label"
            )
        values = np.asarray(weights)
        name = "weights"
        if np.shape(values) != (len(data),):
            raise DesignError(f"weights has shape {np.shape(values)}; expected ({len(data)},)")
    w = check_weight_values(values, data.index, name)
    if not (w > 0).any():
        raise DesignError(f"{name} are all zero; at least one row needs a positive weight")
    return w


def _categorical_margin(
    data: pd.DataFrame,
    var: str,
    margin: Mapping[Any, float] | pd.Series,
    positive: np.ndarray | None = None,
) -> tuple[list[Any], np.ndarray, np.ndarray]:
    """Levels, their totals, and the row -> level code (validated both ways)."""
    m = pd.Series(margin, dtype=float) if not isinstance(margin, pd.Series) else margin
    m = m.astype(float)
    if m.isna().any() or (m < 0).any():
        raise DesignError(f"margin {var!r} has missing or negative totals: {m.to_dict()}")
    col = data[var]
    if col.isna().any():
        raise DesignError(
            f"column {var!r} has {int(col.isna().sum())} missing values; every row needs a "
            "category to be raked (fill them, or drop the rows and report how many)"
        )
    values = col.astype(object).to_numpy()
    levels = list(m.index)
    # compare as strings too, so a margin written {"1": 10} matches integer codes
    lookup = {lev: i for i, lev in enumerate(levels)}
    lookup_str = {str(lev): i for i, lev in enumerate(levels)}
    codes = np.array([lookup.get(v, lookup_str.get(str(v), -1)) for v in values])
    if (codes < 0).any():
        absent = sorted({str(v) for v, c in zip(values, codes, strict=True) if c < 0})
        raise DesignError(
            f"column {var!r} has categor{'y' if len(absent) == 1 else 'ies'} "
            f"{', '.join(map(repr, absent[:10]))} not in margins[{var!r}] (which has "
            f"{[str(x) for x in levels]}); add their population totals or recode the data"
        )
    live = codes if positive is None else codes[positive]
    counts = np.bincount(live, minlength=len(levels))
    empty = [str(levels[i]) for i in np.flatnonzero((counts == 0) & (m.to_numpy() > 0))]
    if empty:
        raise DesignError(
            f"margins[{var!r}] has categor{'y' if len(empty) == 1 else 'ies'} "
            f"{', '.join(map(repr, empty))} with a positive population total but no row with "
            "a positive weight in the data (an empty cell), so no weight can reach it; collapse "
            "it with a neighbouring category in both data and margins"
        )
    return levels, m.to_numpy(float), codes


def _check_totals_agree(sums: dict[str, float], rtol: float = 1e-6) -> None:
    vals = np.array(list(sums.values()))
    if len(vals) > 1 and np.ptp(vals) > rtol * np.abs(vals).max():
        detail = ", ".join(f"{k}: {v:g}" for k, v in sums.items())
        raise DesignError(
            f"the margins' totals disagree ({detail}); every categorical margin must add up "
            "to the same population size"
        )


MarginsAre = Literal["totals", "proportions"]


def _as_totals(
    margins: Mapping[str, Any],
    margins_are: str,
    population: float | None,
    w0: np.ndarray,
    *,
    what: str,
) -> dict[str, Any]:
    """Margins as population totals: proportions are refused unless declared, then scaled."""
    if margins_are not in ("totals", "proportions"):
        raise DesignError(f"margins_are={margins_are!r}; choose 'totals' or 'proportions'")
    sums = {
        var: float(pd.Series(m, dtype=float).sum())
        for var, m in margins.items()
        if isinstance(m, (Mapping, pd.Series))
    }
    if margins_are == "totals":
        if sums and all(abs(v - 1) < 0.02 for v in sums.values()):
            detail = ", ".join(f"{k}: {v:.3g}" for k, v in sums.items())
            raise DesignError(
                f"the {what} add up to about 1 ({detail}), so they look like proportions, but "
                f"{what} are population totals (counts). Pass margins_are='proportions' (they "
                "are then multiplied by population=, by default the sum of the starting "
                "weights), or give counts, e.g. from margins_from_frame(frame, columns)"
            )
        if population is not None:
            raise DesignError("population= is used only with margins_are='proportions'")
        return dict(margins)
    off = {k: v for k, v in sums.items() if abs(v - 1) > 1e-6}
    if off:
        detail = ", ".join(f"{k}: {v:g}" for k, v in off.items())
        raise DesignError(
            f"margins_are='proportions' but these margins do not add up to 1 ({detail}); "
            "give shares that sum to 1, or totals with margins_are='totals'"
        )
    n_pop = float(w0.sum()) if population is None else float(population)
    if not np.isfinite(n_pop) or n_pop <= 0:
        raise DesignError(f"population={population!r} must be a positive number")
    out: dict[str, Any] = {}
    for var, m in margins.items():
        if isinstance(m, (Mapping, pd.Series)):
            out[var] = {k: float(v) * n_pop for k, v in pd.Series(m, dtype=float).items()}
        else:
            out[var] = float(m) * n_pop  # a numeric margin given as a mean
    return out


def _cell_labels(data: pd.DataFrame, variables: list[str], rows: np.ndarray) -> pd.Series:
    """``"area=social, size_group=small"`` for the given rows."""
    parts = [data[v].iloc[rows].astype(str).radd(f"{v}=") for v in variables]
    lab = parts[0]
    for p in parts[1:]:
        lab = lab + ", " + p
    return lab


def _finish(
    data: pd.DataFrame,
    w0: np.ndarray,
    w: np.ndarray,
    margin_vars: list[str],
    negative: str,
    max_factor: float | None,
) -> pd.Series:
    """The new weights as a Series, after refusing (or warning about) negative adjustment
    factors and warning about extreme ones, naming the cells (combinations of the
    categorical margin variables) where they occur."""
    variables = [v for v in margin_vars if not pd.api.types.is_float_dtype(data[v])]
    stacklevel = 3  # the caller of rake()/calibrate()
    pos = w0 > 0
    g = np.full(len(w0), 1.0)
    g[pos] = w[pos] / w0[pos]

    def describe(mask: np.ndarray) -> str:
        rows = np.flatnonzero(mask)
        lab = _cell_labels(data, variables, rows) if variables else pd.Series("all", index=rows)
        tab = pd.DataFrame({"cell": lab.to_numpy(), "g": g[rows]}).groupby("cell")["g"]
        stats_ = tab.agg(["size", "min", "max"]).sort_values("min")
        shown = [
            f"{cell} ({int(r['size'])} rows, factor {r['min']:.3g}"
            + (f" to {r['max']:.3g}" if r["max"] != r["min"] else "")
            + ")"
            for cell, r in stats_.head(5).iterrows()
        ]
        more = f" and {len(stats_) - 5} more cells" if len(stats_) > 5 else ""
        return "; ".join(shown) + more

    neg = pos & (g < 0)
    if neg.any():
        msg = (
            f"{int(neg.sum())} rows get negative weights (adjustment factor new/starting < 0) "
            f"in {describe(neg)}. The totals are probably inconsistent with the sample, or "
            "a linear (GREG) calibration is stretched too far: check the totals, use "
            "bounds=(lower, upper), method='raking' or 'logit', or collapse sparse cells"
        )
        if negative == "error":
            raise DesignError(msg)
        warnings.warn(msg, WeightWarning, stacklevel=stacklevel)
    if max_factor is not None:
        # relative to the overall rescaling sum(w)/sum(w0), which starting weights of 1 and
        # population totals make large without anything being extreme
        overall = w[pos].sum() / w0[pos].sum()
        rel = g / overall if overall > 0 else g
        ext = pos & ~neg & ((rel > max_factor) | (rel < 1 / max_factor))
        if ext.any():
            warnings.warn(
                f"{int(ext.sum())} rows have extreme adjustment factors (beyond "
                f"{1 / max_factor:.3g}–{max_factor:g} times the overall rescaling "
                f"{overall:.3g}) in "
                f"{describe(ext)}; the weighted estimates lean heavily on these rows. Consider "
                "bounds=, collapsing cells, or trimming (max_factor=None silences this)",
                WeightWarning,
                stacklevel=stacklevel,
            )
    out = pd.Series(w, index=data.index, name="weight")
    out.attrs["n_zero_weight"] = int((w0 == 0).sum())
    return out


def _check_negative_option(negative: str, max_factor: float | None) -> None:
    if negative not in ("error", "warn"):
        raise DesignError(f"negative={negative!r}; choose 'error' or 'warn'")
    if max_factor is not None and not max_factor > 1:
        raise DesignError(f"max_factor={max_factor!r} must be > 1 (or None)")


# ----------------------------------------------------------------------------- numerics
def _distance(method: str, lower: float, upper: float) -> tuple[Callable, Callable]:
    """g = 1 + Fm1(u) and its derivative, as R survey's cal.linear/cal.raking/cal.logit."""
    if method == "linear":

        def g(u: np.ndarray) -> np.ndarray:
            return np.clip(1 + u, lower, upper)

        def dg(u: np.ndarray) -> np.ndarray:
            return ((u < upper - 1) & (u > lower - 1)).astype(float)

    elif method == "raking":

        def g(u: np.ndarray) -> np.ndarray:
            with np.errstate(over="ignore"):
                return np.clip(np.exp(u), lower, upper)

        def dg(u: np.ndarray) -> np.ndarray:
            with np.errstate(over="ignore"):
                return np.where((u < upper - 1) & (u > lower - 1), np.exp(u), 0.0)

    elif method == "logit":
        if not (np.isfinite(lower) and np.isfinite(upper) and lower < 1 < upper):
            raise DesignError(
                f"logit calibration needs finite bounds with lower < 1 < upper, got "
                f"({lower}, {upper})"
            )
        a = (upper - lower) / ((upper - 1) * (1 - lower))

        def g(u: np.ndarray) -> np.ndarray:
            with np.errstate(over="ignore"):
                e = np.exp(a * u)
            out = (lower * (upper - 1) + upper * (1 - lower) * e) / (upper - 1 + (1 - lower) * e)
            return np.where(np.isinf(e), upper, out)

        def dg(u: np.ndarray) -> np.ndarray:
            with np.errstate(over="ignore", invalid="ignore"):
                e = np.exp(a * u)
                den = upper - 1 + (1 - lower) * e
                out = (upper - lower) * (upper - 1) * (1 - lower) * a * e / den**2
            return np.where(np.isfinite(out), out, 0.0)

    else:
        raise DesignError(f"method={method!r}; choose 'linear', 'raking' or 'logit'")
    return g, dg


def calibrate_weights(
    X: np.ndarray,
    d: np.ndarray,
    totals: np.ndarray,
    *,
    method: str = "linear",
    bounds: tuple[float, float] = (-np.inf, np.inf),
    max_iter: int = 50,
    tol: float = 1e-7,
    names: list[str] | None = None,
) -> np.ndarray:
    """Calibration g-factors (array core of :func:`calibrate`), as R ``survey:::grake``.

    Solves ``sum_i d_i g(x_i' lambda) x_i = totals`` by Newton's method with a generalised
    inverse and step halving; converged when every ``|misfit| / (1 + |total|) < tol``.

    Returns
    -------
    ndarray
        ``g`` such that the calibrated weights are ``d * g``.
    """
    lower, upper = bounds
    g_fun, dg_fun = _distance(method, lower, upper)
    lam = np.zeros(X.shape[1])
    if method == "linear" and not (np.isfinite(lower) or np.isfinite(upper)):
        # unbounded GREG has a closed form
        A = X.T @ (d[:, None] * X)
        lam = np.linalg.pinv(A) @ (totals - X.T @ d)
        return 1 + X @ lam
    misfit = totals - X.T @ (d * g_fun(X @ lam))
    for _ in range(max_iter):
        u = X @ lam
        T = X.T @ ((d * dg_fun(u))[:, None] * X)
        step = np.linalg.pinv(T, rcond=256 * np.finfo(float).eps) @ misfit
        lam = lam + step
        g = g_fun(X @ lam)
        halvings = 0
        while not np.all(np.isfinite(g)) and halvings < 30:
            step = step / 2
            lam = lam - step
            g = g_fun(X @ lam)
            halvings += 1
        misfit = totals - X.T @ (d * g)
        if np.all(np.abs(misfit) / (1 + np.abs(totals)) < tol):
            return g
    rel = np.abs(misfit) / (1 + np.abs(totals))
    worst = int(np.argmax(rel))
    label = names[worst] if names else f"constraint {worst}"
    raise DesignError(
        f"calibration ({method}, bounds={bounds}) did not converge in {max_iter} iterations; "
        f"the worst margin is {label!r} (relative misfit {rel[worst]:.3g}). Widen the bounds, "
        "collapse sparse categories, or raise max_iter"
    )


# ----------------------------------------------------------------------------- public API
def margins_from_frame(
    frame: pd.DataFrame, columns: list[str] | tuple[str, ...], *, weights: str | None = None
) -> dict[str, dict[Any, float]]:
    """Population totals of categorical frame columns, in the form :func:`rake` takes.

    Parameters
    ----------
    frame : pandas.DataFrame
        The population frame (e.g. the 838 positions of ``civmodels.data.load_frame()``).
    columns : sequence of str
        Raking variables.
    weights : str, optional
        Column of counts when the frame is a table of cells.

    Returns
    -------
    dict
        ``{column: {category: total}}``; categories with a total of 0 are left out.

    Examples
    --------
    >>> frame = pd.DataFrame({"area": ["a", "a", "b"]})
    >>> margins_from_frame(frame, ["area"])
    {'area': {'a': 2.0, 'b': 1.0}}
    """
    frame = check_dataframe(frame, "frame")
    cols = [columns] if isinstance(columns, str) else list(columns)
    check_columns(
        frame, cols + ([weights] if weights else []), what="margins_from_frame()", error=DesignError
    )
    out = {}
    for c in cols:
        if frame[c].isna().any():
            raise DesignError(f"frame column {c!r} has missing values; its total is undefined")
        w = frame[weights] if weights else pd.Series(1.0, index=frame.index)
        tot = w.groupby(frame[c], observed=True).sum()
        out[c] = {k: float(v) for k, v in tot.items() if v > 0}
    return out


def rake(
    data: pd.DataFrame,
    margins: Mapping[str, Mapping[Any, float] | pd.Series],
    *,
    weights: str | np.ndarray | pd.Series | None = None,
    max_iter: int = 100,
    tol: float = 1e-8,
    bounds: tuple[float, float] | None = None,
    margins_are: MarginsAre = "totals",
    population: float | None = None,
    max_factor: float | None = 10.0,
) -> pd.Series:
    """Rake weights to known population margins (iterative proportional fitting).

    Parameters
    ----------
    data : pandas.DataFrame
        The respondents, one row each.
    margins : mapping of str to mapping
        ``{column: {category: population total}}`` for each raking variable, e.g.
        ``{"area": {"social": 120, "health": 98, ...}, "size_group": {...}}``. Every category
        in the data must have a total and every category with a positive total must occur in
        the data; all margins must add up to the same population size.
    weights : str or array_like, optional
        Starting (design or propensity) weights, a column name or an array; default 1.
        Must be positive.
    max_iter : int, default 100
        Maximum number of sweeps over the margins (Newton iterations when ``bounds``).
    tol : float, default 1e-8
        Convergence when every weighted margin is within ``tol`` (relative to the population
        total) of its target.
    bounds : (float, float), optional
        Bounds ``(lower, upper)`` on the adjustment factor ``new weight / starting weight``.
        With bounds the weights solve the bounded raking calibration problem (R
        ``calibrate(calfun="raking", bounds=)``), so extreme adjustments are avoided.
    margins_are : {"totals", "proportions"}, default "totals"
        Margins are population counts. Margins that all add up to about 1 are refused as
        probable proportions unless ``margins_are="proportions"``, which multiplies them by
        ``population``.
    population : float, optional
        Population size for ``margins_are="proportions"``; default the sum of the starting
        weights.
    max_factor : float or None, default 10
        Warn (:class:`~civmodels.exceptions.WeightWarning`, naming the cells) when a row's
        adjustment factor ``new / starting weight``, relative to the overall rescaling
        ``sum(new) / sum(starting)``, exceeds ``max_factor`` or falls below
        ``1 / max_factor``. ``None`` turns the check off.

    Returns
    -------
    pandas.Series
        Raked weights aligned with ``data.index`` (name ``"weight"``). Rows whose starting
        weight is 0 (e.g. a municipality a jackknife replicate deletes) stay at 0; their
        count is in ``.attrs["n_zero_weight"]``.

    Raises
    ------
    DesignError
        Totals that disagree; a category in the data without a margin total or a margin
        category with no rows; missing raking variables; non-positive starting weights;
        non-convergence (naming the margin furthest from its target).

    Notes
    -----
    Each sweep multiplies the weights in each category of each margin by
    ``target / current``. IPF converges to the raking-ratio (multiplicative) calibration
    estimator whenever a solution exists (Deming & Stephan 1940; Deville & Särndal 1992).

    Examples
    --------
    >>> df = pd.DataFrame({"a": list("xxyy"), "b": list("uvuv")})
    >>> rake(df, {"a": {"x": 60, "y": 40}, "b": {"u": 50, "v": 50}}).round(1).tolist()
    [30.0, 30.0, 20.0, 20.0]
    """
    data = check_dataframe(data)
    if not isinstance(margins, Mapping) or not margins:
        raise DesignError("margins must be a non-empty dict {column: {category: population total}}")
    check_columns(data, list(margins), what="margins", error=DesignError)
    if not isinstance(max_iter, int) or max_iter < 1:
        raise DesignError(f"max_iter must be a positive integer, got {max_iter!r}")
    w0 = _base_weights(data, weights)
    _check_negative_option("error", max_factor)
    for var, margin in margins.items():
        if not isinstance(margin, (Mapping, pd.Series)):
            raise DesignError(
                f"margins[{var!r}] must map categories to population totals, got "
                f"{type(margin).__name__}"
            )
    margins = _as_totals(margins, margins_are, population, w0, what="margins")
    specs = []
    sums = {}
    for var, margin in margins.items():
        levels, targets, codes = _categorical_margin(data, var, margin, w0 > 0)
        specs.append((var, levels, targets, codes))
        sums[var] = float(targets.sum())
    _check_totals_agree(sums)
    if bounds is not None:
        lo, hi = _check_bounds(bounds)
        X, tot, names = _indicator_matrix(specs)
        g = calibrate_weights(
            X,
            w0,
            tot,
            method="raking",
            bounds=(lo, hi),
            max_iter=max_iter,
            tol=tol,
            names=names,
        )
        return _finish(data, w0, w0 * g, list(margins), "error", max_factor)
    w = w0.copy()
    pop = next(iter(sums.values()))
    for _ in range(max_iter):
        for _var, _levels, targets, codes in specs:
            current = np.bincount(codes, weights=w, minlength=len(targets))
            with np.errstate(divide="ignore", invalid="ignore"):
                factor = np.where(current > 0, targets / current, 0.0)
            w = w * factor[codes]
        gaps = {
            var: np.abs(np.bincount(codes, weights=w, minlength=len(t)) - t).max() / pop
            for var, _l, t, codes in specs
        }
        if max(gaps.values()) < tol:
            return _finish(data, w0, w, list(margins), "error", max_factor)
    worst = max(gaps, key=lambda k: gaps[k])
    raise DesignError(
        f"raking did not converge in {max_iter} sweeps: margin {worst!r} is still off by "
        f"{gaps[worst]:.3g} of the population total. Sparse combinations of categories can "
        "make the margins unreachable; collapse categories or raise max_iter"
    )


def _check_bounds(bounds: object) -> tuple[float, float]:
    try:
        lo, hi = (float(b) for b in bounds)  # type: ignore[attr-defined]
    except Exception as exc:
        raise DesignError(f"bounds must be a pair (lower, upper), got {bounds!r}") from exc
    if not (lo < 1 < hi) or lo < 0:
        raise DesignError(
            f"bounds={bounds!r}: need 0 <= lower < 1 < upper (they bound new/old weight)"
        )
    return lo, hi


def _indicator_matrix(
    specs: list[tuple[str, list[Any], np.ndarray, np.ndarray]],
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Indicators of the first margin in full, of later ones without their first level
    (whose total is implied), so the constraints are not collinear."""
    cols, tots, names = [], [], []
    for k, (var, levels, targets, codes) in enumerate(specs):
        start = 0 if k == 0 else 1
        for j in range(start, len(levels)):
            cols.append((codes == j).astype(float))
            tots.append(targets[j])
            names.append(f"{var}[{levels[j]}]")
    return np.column_stack(cols), np.array(tots), names


def calibrate(
    data: pd.DataFrame,
    totals: Margins,
    *,
    weights: str | np.ndarray | pd.Series | None = None,
    method: CalMethod = "linear",
    bounds: tuple[float, float] | None = None,
    max_iter: int = 50,
    tol: float = 1e-7,
    margins_are: MarginsAre = "totals",
    population: float | None = None,
    negative: Literal["error", "warn"] = "error",
    max_factor: float | None = 10.0,
) -> pd.Series:
    """Calibrate weights to population totals (GREG / raking / logit distance).

    Parameters
    ----------
    data : pandas.DataFrame
        The respondents.
    totals : mapping
        ``{column: {category: total}}`` for categorical variables and ``{column: total}``
        for numeric ones, e.g. ``{"area": {...}, "population": 5.8e6}``. Categorical margins
        must add up to the same population size.
    weights : str or array_like, optional
        Starting weights (default 1), positive.
    method : {"linear", "raking", "logit"}, default "linear"
        Distance function. ``"linear"`` without bounds is the GREG estimator (closed form;
        weights may become negative); ``"raking"`` the multiplicative one; ``"logit"`` keeps
        the factors strictly inside finite ``bounds``.
    bounds : (float, float), optional
        Bounds on ``g = new / starting weight`` (R ``calibrate(bounds=)``).
    max_iter : int, default 50
    tol : float, default 1e-7
        Convergence when every ``|misfit| / (1 + |total|) < tol`` (R's criterion).
    margins_are : {"totals", "proportions"}, default "totals"
        As :func:`rake`; with ``"proportions"`` a numeric total is read as a population
        mean and also multiplied by ``population``.
    population : float, optional
        Population size for ``margins_are="proportions"`` (default the sum of the starting
        weights).
    negative : {"error", "warn"}, default "error"
        Unbounded linear calibration can give negative weights (when the totals are far
        from the sample's, or inconsistent with each other). By default that is an error
        naming the cells; ``"warn"`` returns them with a
        :class:`~civmodels.exceptions.WeightWarning`.
    max_factor : float or None, default 10
        Warn, naming the cells, when an adjustment factor (relative to the overall
        rescaling) exceeds ``max_factor`` or falls below ``1 / max_factor``.

    Returns
    -------
    pandas.Series
        Calibrated weights aligned with ``data.index`` (name ``"weight"``). Rows with a
        starting weight of 0 stay at 0 (counted in ``.attrs["n_zero_weight"]``).

    Notes
    -----
    The calibrated weights ``w_i = d_i g(x_i' λ)`` minimise a distance from the starting
    weights ``d_i`` subject to ``Σ w_i x_i = totals`` (Deville & Särndal 1992). The numerics
    follow R ``survey``'s ``grake``; a categorical margin enters as indicators (the first in
    full, later ones without their first level, like an intercept plus treatment contrasts).
    """
    data = check_dataframe(data)
    if not isinstance(totals, Mapping) or not totals:
        raise DesignError("totals must be a non-empty dict {column: total or {category: total}}")
    check_columns(data, list(totals), what="totals", error=DesignError)
    d = _base_weights(data, weights)
    _check_negative_option(negative, max_factor)
    totals = _as_totals(totals, margins_are, population, d, what="totals")
    specs, sums = [], {}
    numeric_cols, numeric_tot, numeric_names = [], [], []
    for var, spec in totals.items():
        if isinstance(spec, (Mapping, pd.Series)):
            levels, targets, codes = _categorical_margin(data, var, spec, d > 0)
            specs.append((var, levels, targets, codes))
            sums[var] = float(targets.sum())
        else:
            x = pd.to_numeric(data[var], errors="coerce").to_numpy(float)
            if not np.isfinite(x).all():
                raise DesignError(
                    f"column {var!r} has missing or non-numeric values; calibration needs it "
                    "for every row"
                )
            numeric_cols.append(x)
            numeric_tot.append(float(spec))
            numeric_names.append(var)
    _check_totals_agree(sums)
    X_parts, tot_parts, names = [], [], []
    if specs:
        Xc, tc, nc = _indicator_matrix(specs)
        X_parts.append(Xc)
        tot_parts.append(tc)
        names += nc
    if numeric_cols:
        X_parts.append(np.column_stack(numeric_cols))
        tot_parts.append(np.array(numeric_tot))
        names += numeric_names
    X = np.hstack(X_parts)
    tot = np.concatenate(tot_parts)
    lo, hi = (-np.inf, np.inf) if bounds is None else _check_bounds(bounds)
    g = calibrate_weights(
        X, d, tot, method=method, bounds=(lo, hi), max_iter=max_iter, tol=tol, names=names
    )
    w = np.where(d > 0, d * g, 0.0)
    return _finish(data, d, w, [s_[0] for s_ in specs], negative, max_factor)
