"""MNAR sensitivity analysis: δ-adjustment (pattern-mixture) tipping points.

Multiple imputation assumes that, given the covariates, nonrespondents answer like
respondents (MAR). The δ-adjustment relaxes that: the imputed latent responses of the
nonrespondents are shifted by δ on the logit scale (δ > 0: they would have answered higher /
said yes more often than similar respondents). Re-imputing and re-analysing over a grid of δ
shows how far from MAR the nonrespondents would have to be before a finding loses
significance or changes sign — the *tipping point* (Rubin 1977; Carpenter & Kenward 2013,
ch. 10; van Buuren 2018, §3.9.1). Whether such a δ is plausible is a substantive judgement
the analysis makes explicit; it cannot be estimated from the data.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import DataError
from ..results import Summary
from .imputation import PooledResult, impute

__all__ = ["DeltaAnalysis", "TippingPoint", "tipping_point"]


@dataclass(frozen=True, eq=False)
class DeltaAnalysis:
    """An imputation-and-analysis recipe to rerun under δ-shifted imputations.

    Calling it with ``delta`` imputes ``data`` (:func:`~civmodels.nonresponse.impute` with
    ``delta`` applied to ``shift_items``), applies ``fit`` to each completed data set and
    pools the results. The same seed is used for every δ (common random numbers), so the
    curve over δ is smooth.

    Parameters
    ----------
    data : pandas.DataFrame
    items : sequence of str
        Items to impute.
    fit : callable
        ``fit(completed_data) -> result`` with ``params`` and ``vcov`` (a civmodels model
        result, a :class:`~civmodels.design.DesignEstimate`, ...).
    term : str
        The parameter carrying the finding (e.g. ``"pressure_high"``).
    predictors : sequence of str
    shift_items : sequence of str, optional
        Items whose imputations are shifted (default: all ``items``).
    shift_rows : str or boolean array, optional
        Rows whose imputations are shifted (``delta_rows`` of
        :func:`~civmodels.nonresponse.impute`), e.g. ``"pressure_high == 1"`` to ask how
        differently one group's nonrespondents would have to answer. Default: all.
    m, n_iter : int
        Imputations and sweeps (see :func:`~civmodels.nonresponse.impute`).
    random_seed : int, optional
    impute_kwargs : dict
        Further arguments for :func:`~civmodels.nonresponse.impute`.
    """

    data: pd.DataFrame
    items: Sequence[str]
    fit: Callable[[pd.DataFrame], Any]
    term: str
    predictors: Sequence[str] = ()
    shift_items: Sequence[str] | None = None
    shift_rows: Any = None
    m: int = 10
    n_iter: int = 5
    random_seed: int | None = None
    impute_kwargs: dict[str, Any] = field(default_factory=dict)

    def __call__(self, delta: float) -> PooledResult:
        shift = list(self.items if self.shift_items is None else self.shift_items)
        mi = impute(
            self.data,
            self.items,
            predictors=self.predictors,
            m=self.m,
            n_iter=self.n_iter,
            delta={it: float(delta) for it in shift},
            delta_rows=self.shift_rows,
            random_seed=self.random_seed,
            **self.impute_kwargs,
        )
        return mi.pool(self.fit)


@dataclass(frozen=True, eq=False)
class TippingPoint:
    """Result of :func:`tipping_point`.

    Attributes
    ----------
    table : pandas.DataFrame
        Per δ: estimate, std_error, ci_lower, ci_upper, p_value, significant.
    term : str
    alpha : float
    baseline_significant : bool
        Whether the finding is significant at δ = 0 (MAR).
    lose_significance : dict
        ``{"below": δ, "above": δ}``: the δ nearest 0 on each side at which the significance
        status changes (linear interpolation of the t statistic against its critical value);
        None if it does not change within the grid.
    sign_flip : dict
        ``{"below": δ, "above": δ}``: where the estimate crosses 0 (interpolated), or None.
    """

    table: pd.DataFrame
    term: str
    alpha: float
    baseline_significant: bool
    lose_significance: dict[str, float | None]
    sign_flip: dict[str, float | None]

    def summary(self) -> Summary:
        """The δ grid with the tipping points in the header."""
        what = "loses" if self.baseline_significant else "gains"

        def fmt(d: float | None) -> str:
            return "not within the grid" if d is None else f"{d:+.3g}"

        info = {
            "Term": self.term,
            "Significant at δ = 0 (MAR)": self.baseline_significant,
            f"Finding {what} significance at δ (below 0)": fmt(self.lose_significance["below"]),
            f"Finding {what} significance at δ (above 0)": fmt(self.lose_significance["above"]),
            "Estimate changes sign at δ (below 0)": fmt(self.sign_flip["below"]),
            "Estimate changes sign at δ (above 0)": fmt(self.sign_flip["above"]),
        }
        return Summary(
            title="δ-adjustment tipping-point analysis (MNAR sensitivity)",
            info=info,
            blocks={"By delta": self.table},
            notes=(
                "δ shifts the imputed latent responses of nonrespondents (logit scale); δ = 0 "
                f"is MAR. Significance at level {self.alpha:g}.",
            ),
        )

    def plot(self):
        """Estimate and confidence band against δ, with the tipping points marked.

        Returns
        -------
        matplotlib.figure.Figure
        """
        from matplotlib.figure import Figure

        t = self.table
        fig = Figure(figsize=(6.5, 4))
        ax = fig.subplots()
        d = t.index.to_numpy(float)
        ax.fill_between(d, t["ci_lower"], t["ci_upper"], alpha=0.25, label="95% CI")
        ax.plot(d, t["estimate"], marker="o", label=self.term)
        ax.axhline(0, color="k", lw=0.8)
        ax.axvline(0, color="0.5", ls=":", lw=0.8)
        for side, v in self.lose_significance.items():
            if v is not None:
                ax.axvline(v, color="C3", ls="--", lw=1)
                ax.annotate(
                    f"tipping point {v:+.2f}",
                    (v, ax.get_ylim()[1]),
                    fontsize=8,
                    ha="left" if side == "above" else "right",
                    va="top",
                    color="C3",
                )
        ax.set_xlabel("δ (shift of nonrespondents' latent response, logit scale)")
        ax.set_ylabel("estimate")
        ax.set_title("Tipping-point analysis")
        ax.legend(fontsize=8, loc="best")
        fig.tight_layout()
        return fig

    def __repr__(self) -> str:
        return (
            f"TippingPoint(term={self.term!r}, baseline_significant={self.baseline_significant}, "
            f"lose_significance={self.lose_significance}, sign_flip={self.sign_flip})"
        )


def _crossing(x: np.ndarray, f: np.ndarray, side: str) -> float | None:
    """δ nearest 0 on ``side`` where ``f`` changes sign relative to f(0) (linear interp.)."""
    i0 = int(np.flatnonzero(x == 0)[0])
    order = range(i0, len(x) - 1) if side == "above" else range(i0, 0, -1)
    for i in order:
        j = i + 1 if side == "above" else i - 1
        if np.sign(f[j]) != np.sign(f[i0]) and f[i0] != 0:
            if f[j] == f[i]:
                return float(x[j])
            return float(x[i] + (x[j] - x[i]) * f[i] / (f[i] - f[j]))
    return None


def tipping_point(
    analysis: DeltaAnalysis | Callable[[float], Any],
    deltas: Sequence[float] = (-2.0, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0),
    *,
    term: str | None = None,
    alpha: float = 0.05,
) -> TippingPoint:
    """Find the δ at which a finding loses significance or flips sign.

    Parameters
    ----------
    analysis : DeltaAnalysis or callable
        ``analysis(delta)`` returns a pooled result (``params``, ``std_errors``, ``pvalues``,
        ``conf_int()``), e.g. a :class:`DeltaAnalysis`.
    deltas : sequence of float
        Grid of shifts (0 is added if absent). Use a grid wide enough to reach the tipping
        point; it is reported as "not within the grid" otherwise.
    term : str, optional
        Parameter of interest (default ``analysis.term``).
    alpha : float, default 0.05
        Significance level.

    Returns
    -------
    TippingPoint
        ``table``, ``lose_significance``, ``sign_flip``, ``summary()``, ``plot()``.
    """
    if term is None:
        term = getattr(analysis, "term", None)
    if term is None:
        raise DataError("term= is required (the parameter that carries the finding)")
    grid = np.unique(np.r_[np.asarray(deltas, float), 0.0])
    rows = []
    for d in grid:
        res = analysis(float(d))
        if term not in res.params.index:
            raise DataError(
                f"term {term!r} is not a parameter of the analysis; available: "
                f"{list(res.params.index)}"
            )
        ci = res.conf_int(1 - alpha).loc[term]
        p = float(res.pvalues[term])
        rows.append(
            {
                "delta": d,
                "estimate": float(res.params[term]),
                "std_error": float(res.std_errors[term]),
                "ci_lower": float(ci["ci_lower"]),
                "ci_upper": float(ci["ci_upper"]),
                "p_value": p,
                "significant": p < alpha,
            }
        )
    table = pd.DataFrame(rows).set_index("delta")
    # significance changes where the interval's nearer limit crosses 0: track that limit,
    # signed so that it is positive at δ = 0 when significant and negative when not
    est = table["estimate"].to_numpy()
    lo, hi = table["ci_lower"].to_numpy(), table["ci_upper"].to_numpy()
    base = table.loc[0.0]
    if base["significant"]:
        margin = lo if base["estimate"] > 0 else -hi
    else:
        margin = np.maximum(lo, -hi)
    lose = {s: _crossing(grid, margin, s) for s in ("below", "above")}
    flip = {s: _crossing(grid, est, s) for s in ("below", "above")}
    return TippingPoint(
        table=table,
        term=term,
        alpha=alpha,
        baseline_significant=bool(base["significant"]),
        lose_significance=lose,
        sign_flip=flip,
    )
