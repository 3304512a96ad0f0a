"""Multilevel regression and poststratification (MRP): model predictions for every position
of the frame, combined into population estimates overall and by group.

The frame lists all 838 positions (respondents or not) with their covariates. A model fitted
to the respondents — a frequentist :class:`~civmodels.Ordinal` / :class:`~civmodels.Logistic`
fit (fixed or mixed) or a Bayesian model — predicts each position's answer distribution;
averaging those predictions over the frame, overall or within groups, estimates what *all*
positions would have answered. Under MAR given the model's covariates this removes
nonresponse bias, and the model's partial pooling stabilises small groups.

Uncertainty is carried through by draws: posterior draws for Bayesian fits, or draws of the
parameters from their estimated sampling distribution ``N(params, vcov)`` for frequentist
fits (King, Tomz & Wittenberg 2000).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .._validation import check_columns, check_dataframe
from ..exceptions import DataError
from ..results import Summary, SummaryDisplay

__all__ = ["Poststratified", "poststratify", "prediction_draws"]


@dataclass(frozen=True, eq=False)
class Poststratified(SummaryDisplay):
    """Population estimates from poststratified predictions (frequentist or Bayesian MRP).

    Returned alike by :func:`poststratify` and by the ``poststratify`` method of the Bayesian
    results, so both are read the same way.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per (group, quantity), index ``(<by columns>..., quantity)`` (``"overall"``
        rows first): ``estimate`` (mean over draws), ``std_error`` (SD over the draws: a
        standard error for parameter draws, the posterior SD for posterior draws),
        ``lower``, ``upper`` (equal-tailed percentile interval), ``level`` (its level) and
        ``n_frame`` (frame rows in the group, or their summed ``weights``). Without draws
        the interval columns are NaN.
    draws : pandas.DataFrame or None
        Draws of each (group, quantity) estimate (rows = draws, columns as the table's
        index), for contrasts.
    by : tuple of str
    level : float
    posterior : bool
        Whether the draws are posterior draws (Bayesian MRP): :meth:`difference` then adds
        ``prob_greater``.
    unit_estimates : pandas.DataFrame or None
        Mean prediction of every frame row (Bayesian MRP).
    n_units : int
        Rows of the frame.
    """

    table: pd.DataFrame
    draws: pd.DataFrame | None
    by: tuple[str, ...]
    level: float
    posterior: bool = False
    unit_estimates: pd.DataFrame | None = None
    n_units: int = 0

    @property
    def estimate(self) -> pd.Series:
        """Point estimates (mean over draws)."""
        return self.table["estimate"]

    @property
    def overall(self) -> pd.DataFrame:
        """The population rows of :attr:`table`, indexed by quantity."""
        key = ("overall",) * max(1, len(self.by))
        return self.table.loc[key] if len(key) > 1 else self.table.xs("overall", level=0)

    @property
    def quantities(self) -> list[str]:
        """The quantities estimated (category labels, or their sum)."""
        return list(self.table.index.get_level_values("quantity").unique())

    def group_draws(self) -> tuple[list[Any], np.ndarray]:
        """Group labels (``"overall"`` first) and draws ``(n_draws, n_groups, n_quantities)``."""
        if self.draws is None:
            raise DataError("no draws: the estimates were point predictions")
        qs = self.quantities
        groups = list(dict.fromkeys(c[:-1] for c in self.draws.columns))
        arr = np.stack([np.column_stack([self.draws[(*g, q)] for q in qs]) for g in groups], axis=1)
        labels = [g[0] if len(g) == 1 else g for g in groups]
        return labels, arr

    def difference(self, a: Any, b: Any, quantity: str | None = None) -> pd.Series:
        """Estimate of ``group a - group b`` with its standard error and interval.

        Parameters
        ----------
        a, b : group labels (tuples when ``by`` has several columns)
        quantity : str, optional
            Which quantity (e.g. a category); needed when there are several. For the share
            at or above a category, poststratify with ``categories=[...]`` first.

        Returns
        -------
        pandas.Series
            ``estimate``, ``std_error``, ``lower``, ``upper``, ``level``; for posterior draws
            also ``prob_greater`` = P(a > b).
        """
        if self.draws is None:
            raise DataError("differences need draws; pass draws or a fitted model")
        qs = self.quantities
        if quantity is None:
            if len(qs) > 1:
                raise DataError(f"several quantities {qs}; pass quantity=")
            quantity = qs[0]
        quantity = str(quantity)
        if quantity not in qs:
            raise DataError(f"{quantity!r} is not a quantity; quantities are {qs}")
        ka = (*(a if isinstance(a, tuple) else (a,)), quantity)
        kb = (*(b if isinstance(b, tuple) else (b,)), quantity)
        levels = sorted({c[:-1] for c in self.draws.columns}, key=str)
        for k in (ka, kb):
            if k not in self.draws.columns:
                raise DataError(
                    f"no group {k[:-1]!r} for {quantity!r}; groups are {[g for g in levels]}"
                )
        d = self.draws[ka] - self.draws[kb]
        lo, hi = np.quantile(d, [(1 - self.level) / 2, (1 + self.level) / 2])
        out = {
            "estimate": d.mean(),
            "std_error": d.std(ddof=1),
            "lower": lo,
            "upper": hi,
            "level": self.level,
        }
        if self.posterior:
            out["prob_greater"] = float((d > 0).mean())
        return pd.Series(out, name=f"{a} - {b} ({quantity})")

    def to_frame(self) -> pd.DataFrame:
        """The estimates table."""
        return self.table.copy()

    def summary(self) -> Summary:
        """A :class:`~civmodels.results.Summary` of the estimates."""
        tab = self.table.copy()
        if isinstance(tab.index, pd.MultiIndex):
            tab.index = [" | ".join(map(str, ix)) for ix in tab.index]
        n_draws = 0 if self.draws is None else len(self.draws)
        kind = "posterior" if self.posterior else "parameter"
        return Summary(
            title="Poststratified population estimates",
            info={"Groups": ", ".join(self.by) or "overall", "Draws": f"{n_draws} ({kind})"},
            blocks={"Estimates": tab},
            notes=(
                f"{self.level:.0%} percentile intervals over {kind} draws; the estimate is the "
                "mean of the frame-weighted averages of the predictions.",
            ),
        )

    def __repr__(self) -> str:
        return (
            f"Poststratified(by={list(self.by)}, {self.level:.0%} intervals)\n"
            f"{self.table.to_string()}"
        )


def prediction_draws(
    result: Any,
    frame: pd.DataFrame,
    *,
    n_draws: int = 1000,
    random_seed: int | np.random.Generator | None = None,
) -> np.ndarray:
    """Predicted category probabilities for every frame row under parameter draws.

    Parameters
    ----------
    result : fitted civmodels result
        Anything with ``params``, ``vcov`` and ``predict(newdata, kind="prob")``.
    frame : pandas.DataFrame
        Rows to predict (the covariates of the model's formula).
    n_draws : int, default 1000
    random_seed : int or numpy.random.Generator, optional

    Returns
    -------
    ndarray of shape (n_rows, n_draws, K)
        ``K`` = number of categories (2 columns ``[P(0), P(1)]`` for a binary model).

    Notes
    -----
    For mixed models the predictions are conditional on the estimated random intercepts
    (conditional modes; 0 for groups not in the fit) and only the fixed parameters
    (including thresholds) are drawn, so the uncertainty of the modes themselves is not
    carried through — intervals are somewhat too narrow for small groups. A Bayesian fit
    (pass its posterior draws) carries all of it.
    """
    rng = np.random.default_rng(random_seed)
    params = result.params.to_numpy(float)
    V = result.vcov.to_numpy(float)
    draws = rng.multivariate_normal(params, V, size=n_draws, method="cholesky")
    name = type(result).__name__
    if name == "OrdinalResult":
        X, N, S = result._designs(frame)
        out = []
        tj = result.model._tjac
        sl = result._slices
        for par in draws:
            # a draw may cross thresholds; keep them ordered (the probabilities must be >= 0)
            par = par.copy()
            alpha = par[sl["alpha"]]
            if np.any(np.diff(tj @ alpha) < 0) and tj.shape[0] == tj.shape[1]:
                par[sl["alpha"]] = np.sort(alpha)
            cum = result._cum_from(par, X, N, S)
            n = len(cum)
            full = np.hstack([np.zeros((n, 1)), cum, np.ones((n, 1))])
            out.append(np.clip(np.diff(full, axis=1), 0, 1))
        return np.stack(out, axis=1)
    if name == "LogisticResult":
        X = result._design(frame)
        p = result.model.link.cdf(X @ draws.T)
        return np.stack([1 - p, p], axis=2)
    if name == "MixedLogisticResult":
        # conditional on the estimated random intercepts (their modes are not redrawn)
        X, u, _ = result._newdata_parts(frame, True)
        p = result.dist.sf(-(X @ draws.T + u[:, None]))
        return np.stack([1 - p, p], axis=2)
    if name == "MixedOrdinalResult":
        X, u, _ = result._newdata_parts(frame, True)
        k = result.k_alpha
        out = []
        for par in draws:
            theta = np.sort(par[:k])
            eta = (X @ par[k:] if X.shape[1] else 0.0) + u
            cum = result.dist.cdf(theta[None, :] - eta[:, None])
            full = np.hstack([np.zeros((len(cum), 1)), cum, np.ones((len(cum), 1))])
            out.append(np.clip(np.diff(full, axis=1), 0, 1))
        return np.stack(out, axis=1)
    # generic: rebuild a frozen result with each parameter draw and use its predict()
    out = []
    for par in draws:
        r = dataclasses.replace(result, params=pd.Series(par, index=result.params.index))
        pred = r.predict(newdata=frame, kind="prob")
        arr = np.asarray(pred, dtype=float)
        out.append(np.column_stack([1 - arr, arr]) if arr.ndim == 1 else arr)
    return np.stack(out, axis=1)


def _category_labels(result: Any, k: int) -> list[str]:
    frame = getattr(getattr(result, "model", None), "frame", None)
    cats = getattr(frame, "categories", None)
    if cats is not None and len(cats) == k:
        return [str(c) for c in cats]
    return ["0", "1"] if k == 2 else [str(j) for j in range(k)]


def poststratify(
    estimates: Any,
    frame: pd.DataFrame,
    *,
    by: str | Sequence[str] | None = None,
    weights: str | None = None,
    categories: Sequence[Any] | None = None,
    level: float = 0.95,
    n_draws: int = 1000,
    random_seed: int | np.random.Generator | None = None,
    quantities: Sequence[Any] | None = None,
    posterior: bool = False,
) -> Poststratified:
    """Combine cell-level predictions over the frame into population estimates.

    Parameters
    ----------
    estimates : fitted result, DataFrame or ndarray
        * a fitted civmodels model result (``params``, ``vcov``, ``predict``): predictions for
          every frame row under ``n_draws`` parameter draws (see :func:`prediction_draws`);
        * a DataFrame of point predictions, one row per frame row (same index), one column
          per quantity (e.g. category probabilities): point estimates only;
        * an array of draws, ``(n_rows, n_draws)`` for one quantity or
          ``(n_rows, n_draws, K)`` for ``K`` (e.g. posterior expected probabilities from a
          Bayesian model, rows in frame order).
    frame : pandas.DataFrame
        The population frame (e.g. the 838 positions), or a table of cells with a count
        column given as ``weights``.
    by : str or sequence of str, optional
        Frame columns defining the groups; an ``"overall"`` estimate is always included.
    weights : str, optional
        Column of cell sizes when ``frame`` is aggregated; each row counts once by default.
    categories : sequence, optional
        Sum these quantities (e.g. ``["Vigtigt", "Meget vigtigt"]`` for a top-two share)
        into one quantity instead of reporting each.
    level : float, default 0.95
        Interval level.
    n_draws : int, default 1000
        Parameter draws for a fitted result.
    random_seed : int or numpy.random.Generator, optional
        Seed of the parameter draws.
    quantities : sequence, optional
        Names of the last axis of an array of draws (e.g. the category labels); default
        ``"0", "1", ...`` (``"estimate"`` for a single quantity).
    posterior : bool, default False
        Whether an array of draws holds posterior draws (set by the Bayesian results).

    Returns
    -------
    Poststratified
        ``table`` indexed by (group..., quantity), ``draws``, ``difference(a, b)``. The
        Bayesian results' ``poststratify(frame, by=..., weights=..., categories=...,
        level=0.95)`` returns the same object from posterior draws.

    Notes
    -----
    For group ``g`` the estimate is ``θ_g = Σ_{i∈g} N_i p_i / Σ_{i∈g} N_i`` with ``p_i`` the
    predicted quantity and ``N_i`` the cell size (1 per frame row). Each draw gives a draw of
    ``θ_g``; the reported estimate is their mean, the standard error their SD and the
    interval their percentiles (Gelman & Little 1997; Park, Gelman & Bafumi 2004).
    """
    frame = check_dataframe(frame, "frame")
    if not 0 < float(level) < 1:
        raise DataError(f"level must be in (0, 1), e.g. 0.95; got {level!r}")
    bys = [] if by is None else ([by] if isinstance(by, str) else list(by))
    check_columns(frame, bys + ([weights] if weights else []), what="poststratify()")
    if bys and frame[bys].isna().any().any():
        raise DataError(f"the frame has missing values in the by= columns {bys}")
    n = len(frame)
    if weights:
        cell = pd.to_numeric(frame[weights], errors="coerce").to_numpy(float)
        if not np.isfinite(cell).all() or (cell < 0).any():
            raise DataError(f"weights column {weights!r} must be finite and non-negative")
    else:
        cell = np.ones(n)
    if isinstance(estimates, pd.DataFrame):
        if not estimates.index.equals(frame.index):
            missing = frame.index.difference(estimates.index)
            raise DataError(
                f"the predictions' index does not match the frame's ({len(missing)} frame rows "
                "have no prediction); predict on the frame itself, e.g. result.predict(frame)"
            )
        P = estimates.to_numpy(float)[:, None, :]
        labels = [str(c) for c in estimates.columns]
        has_draws = False
    elif isinstance(estimates, pd.Series):
        return poststratify(
            estimates.to_frame(estimates.name or "estimate"),
            frame,
            by=by,
            weights=weights,
            categories=categories,
            level=level,
        )
    elif isinstance(estimates, np.ndarray):
        P = estimates.astype(float)
        if P.ndim == 2:
            P = P[:, :, None]
        if P.ndim != 3 or P.shape[0] != n:
            raise DataError(
                f"draws must have shape (n_rows={n}, n_draws) or (n_rows, n_draws, K); got "
                f"{estimates.shape}"
            )
        labels = [str(j) for j in range(P.shape[2])] if P.shape[2] > 1 else ["estimate"]
        if quantities is not None:
            if len(quantities) != P.shape[2]:
                raise DataError(
                    f"{len(quantities)} quantity names for {P.shape[2]} quantities in the draws"
                )
            labels = [str(q) for q in quantities]
        has_draws = P.shape[1] > 1
    elif hasattr(estimates, "params") and hasattr(estimates, "predict"):
        P = prediction_draws(estimates, frame, n_draws=n_draws, random_seed=random_seed)
        labels = _category_labels(estimates, P.shape[2])
        has_draws = True
    else:
        raise DataError(
            "estimates must be a fitted result, a DataFrame of predictions per frame row, or "
            f"an array of draws; got {type(estimates).__name__}"
        )
    if not np.isfinite(P).all():
        raise DataError("the predictions contain missing or infinite values")
    if categories is not None:
        cats = [str(c) for c in categories]
        unknown = [c for c in cats if c not in labels]
        if unknown:
            raise DataError(f"categories {unknown} are not among the quantities {labels}")
        idx = [labels.index(c) for c in cats]
        P = P[:, :, idx].sum(axis=2, keepdims=True)
        labels = ["+".join(cats)]
    groups: list[tuple[Any, ...]] = [("overall",) * max(1, len(bys))]
    masks = [np.ones(n, bool)]
    if bys:
        keys = frame[bys].drop_duplicates().sort_values(bys)
        for row in keys.itertuples(index=False):
            groups.append(tuple(row))
            masks.append((frame[bys] == pd.Series(row, index=bys)).all(axis=1).to_numpy())
    rows, draw_cols = [], {}
    a = (1 - level) / 2
    for g, mask in zip(groups, masks, strict=True):
        wg = cell * mask
        tot = wg.sum()
        if tot == 0:
            continue
        th = np.einsum("i,idk->dk", wg, P) / tot  # (draws, K)
        for k, lab in enumerate(labels):
            col = th[:, k]
            if has_draws:
                lo, hi = np.quantile(col, [a, 1 - a])
                se = col.std(ddof=1)
            else:
                lo = hi = se = np.nan
            rows.append((*g, lab, col.mean(), se, lo, hi, level, tot))
            draw_cols[(*g, lab)] = col
    names = [*(bys or ["group"]), "quantity"]
    table = pd.DataFrame(
        rows, columns=[*names, "estimate", "std_error", "lower", "upper", "level", "n_frame"]
    ).set_index(names)
    draws = pd.DataFrame(draw_cols) if has_draws else None
    if draws is not None:
        draws.columns = pd.MultiIndex.from_tuples(list(draw_cols), names=names)
    return Poststratified(
        table=table, draws=draws, by=tuple(bys), level=level, posterior=posterior, n_units=n
    )
