"""Publication plots; every function returns a :class:`matplotlib.figure.Figure`.

Figures are built with the object-oriented API (``Figure()``, not ``pyplot``), so no global
state is touched and nothing is shown by side effect; save with ``fig.savefig(...)`` or let a
notebook display the returned object.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

__all__ = [
    "coefficient_plot",
    "forest_plot",
    "posterior_difference_plot",
    "predicted_probabilities_plot",
    "weight_plot",
]

_COLORS = ["#1b6ca8", "#d1495b", "#2e8b57", "#edae49", "#6a4c93", "#66a182", "#8d96a3"]


def _log_ticks(ax: Any) -> None:
    """Readable ticks (0.25, 0.5, 1, 2, ...) on a log-scaled odds-ratio axis."""
    from matplotlib.ticker import FixedLocator, NullFormatter, NullLocator

    lo, hi = ax.get_xlim()
    ticks = [t for t in (0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64) if lo <= t <= hi]
    if len(ticks) >= 2:
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.set_xticklabels([f"{t:g}" for t in ticks])
        ax.xaxis.set_minor_locator(NullLocator())
        ax.xaxis.set_minor_formatter(NullFormatter())


def _model_name(res: Any, i: int) -> str:
    return str(getattr(res, "name", None) or f"({i + 1})")


def coefficient_plot(
    *results: Any,
    terms: Sequence[str] | None = None,
    names: Sequence[str] | None = None,
    exponentiate: bool = False,
    level: float = 0.95,
) -> Figure:
    """Coefficients with confidence (or credible) intervals, several models side by side.

    Parameters
    ----------
    *results
        Fitted results following the civmodels result contract (``params``,
        ``conf_int(level)``); frequentist and Bayesian alike. Thresholds are left out when the
        result has ``coef``.
    terms : sequence of str, optional
        Terms to show (default: every location coefficient of any model).
    names : sequence of str, optional
        Legend label per model.
    exponentiate : bool, default False
        Plot odds ratios on a log axis.
    level : float, default 0.95
        Interval level.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not results:
        raise ValueError("coefficient_plot needs at least one result")
    names = list(names) if names is not None else [_model_name(r, i) for i, r in enumerate(results)]
    if len(names) != len(results):
        raise ValueError(f"got {len(names)} names for {len(results)} results")
    frames = []
    for res, name in zip(results, names, strict=True):
        est = getattr(res, "coef", None)
        est = res.params if est is None else est
        ci = res.conf_int(level=level).reindex(est.index)
        frames.append(
            pd.DataFrame(
                {
                    "term": est.index,
                    "est": est.to_numpy(float),
                    "lo": ci.iloc[:, 0].to_numpy(float),
                    "hi": ci.iloc[:, 1].to_numpy(float),
                    "model": name,
                }
            )
        )
    df = pd.concat(frames, ignore_index=True)
    order = list(dict.fromkeys(df["term"])) if terms is None else list(terms)
    unknown = [t for t in order if t not in set(df["term"])]
    if unknown:
        raise ValueError(
            f"terms {unknown} are in none of the models; available: {sorted(set(df['term']))}"
        )
    df = df[df["term"].isin(order)]
    if exponentiate:
        df[["est", "lo", "hi"]] = np.exp(df[["est", "lo", "hi"]])
    k = len(results)
    fig = Figure(figsize=(6.5, 0.45 * len(order) * max(1, k / 2) + 1.2))
    ax = fig.add_subplot()
    offsets = np.linspace(-0.25, 0.25, k) if k > 1 else [0.0]
    for j, name in enumerate(names):
        sub = df[df["model"] == name].set_index("term").reindex(order)
        y = np.arange(len(order)) + offsets[j]
        ax.errorbar(
            sub["est"],
            y,
            xerr=[sub["est"] - sub["lo"], sub["hi"] - sub["est"]],
            fmt="o",
            color=_COLORS[j % len(_COLORS)],
            label=name,
            capsize=2,
            ms=4,
        )
    ax.axvline(1.0 if exponentiate else 0.0, color="grey", lw=0.8, ls="--")
    if exponentiate:
        ax.set_xscale("log")
        _log_ticks(ax)
    ax.set_yticks(np.arange(len(order)), order)
    ax.invert_yaxis()
    ax.set_xlabel(("odds ratio" if exponentiate else "coefficient") + f" ({level:.0%} interval)")
    if k > 1:
        ax.legend(loc="best", fontsize="small")
    fig.tight_layout()
    return fig


def forest_plot(
    table: pd.DataFrame,
    *,
    label: str = "label",
    group: str = "method",
    title: str | None = None,
) -> Figure:
    """Forest plot of a tidy table of estimates (e.g. from :func:`civmodels.replication.run`).

    Rows with odds ratios (``estimate_type == "odds ratio"``) are drawn on a log axis in their
    own panel, differences in proportions in another; rows without an interval are skipped.

    Parameters
    ----------
    table : pandas.DataFrame
        Columns ``estimate, ci_lower, ci_upper, estimate_type``, the row label column and the
        grouping (colour) column.
    label : str, default "label"
        Column naming each row (built from ``finding_id`` and ``outcome`` when absent).
    group : str, default "method"
        Column whose values get one colour each.
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    df = table.copy()
    if label not in df.columns:
        df[label] = df["finding_id"].astype(str) + " " + df["outcome"].astype(str)
    df = df[np.isfinite(df["ci_lower"].astype(float)) & np.isfinite(df["ci_upper"].astype(float))]
    if df.empty:
        raise ValueError("no row of the table has an estimate with an interval to plot")
    is_or = df["estimate_type"].astype(str).eq("odds ratio")
    panels = [
        (n, d)
        for n, d in (("difference in proportions", df[~is_or]), ("odds ratio", df[is_or]))
        if len(d)
    ]
    labels = list(dict.fromkeys(df[label]))
    groups = list(dict.fromkeys(df[group]))
    colors = {g: _COLORS[i % len(_COLORS)] for i, g in enumerate(groups)}
    fig = Figure(figsize=(4.2 * len(panels) + 1.5, 0.55 * len(labels) + 1.6))
    axes = fig.subplots(1, len(panels), sharey=True, squeeze=False)[0]
    k = len(groups)
    offsets = dict(zip(groups, np.linspace(-0.3, 0.3, k) if k > 1 else [0.0], strict=True))
    for ax, (name, sub) in zip(axes, panels, strict=True):
        for g in groups:
            s = sub[sub[group] == g]
            if s.empty:
                continue
            y = np.array([labels.index(v) for v in s[label]]) + offsets[g]
            est = s["estimate"].to_numpy(float)
            ax.errorbar(
                est,
                y,
                xerr=[est - s["ci_lower"].to_numpy(float), s["ci_upper"].to_numpy(float) - est],
                fmt="o",
                ms=4,
                capsize=2,
                color=colors[g],
                label=str(g),
            )
        ax.axvline(1.0 if name == "odds ratio" else 0.0, color="grey", lw=0.8, ls="--")
        if name == "odds ratio":
            ax.set_xscale("log")
            _log_ticks(ax)
        ax.set_xlabel(name + " (95% interval)")
        ax.set_yticks(np.arange(len(labels)), labels)
        ax.invert_yaxis() if ax is axes[0] else None
    handles, names = [], []
    for ax in axes:
        for h, n in zip(*ax.get_legend_handles_labels(), strict=True):
            if n not in names:
                handles.append(h)
                names.append(n)
    fig.legend(
        handles, names, loc="lower center", ncol=min(len(names), 5), fontsize="small", frameon=False
    )
    if title:
        fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return fig


def predicted_probabilities_plot(
    probs: pd.DataFrame,
    *,
    title: str | None = None,
    xlabel: str = "predicted probability",
) -> Figure:
    """Stacked bars of category probabilities by group.

    Parameters
    ----------
    probs : pandas.DataFrame
        One row per group (the index labels the bars), one column per outcome category in
        order, rows summing to 1 (e.g. average predicted probabilities from a model's
        ``predict(kind="prob")`` by group).
    title : str, optional
    xlabel : str

    Returns
    -------
    matplotlib.figure.Figure
    """
    p = probs.astype(float)
    if p.empty:
        raise ValueError("probs is empty")
    sums = p.sum(axis=1).to_numpy()
    if not np.allclose(sums, 1.0, atol=1e-6):
        raise ValueError(f"each row of probs must sum to 1; row sums are {np.round(sums, 4)}")
    fig = Figure(figsize=(7, 0.6 * len(p) + 1.6))
    ax = fig.add_subplot()
    cmap = [_COLORS[i % len(_COLORS)] for i in range(p.shape[1])]
    left = np.zeros(len(p))
    y = np.arange(len(p))
    for j, cat in enumerate(p.columns):
        w = p[cat].to_numpy()
        ax.barh(y, w, left=left, color=cmap[j], label=str(cat), edgecolor="white")
        for yi, (l0, wi) in enumerate(zip(left, w, strict=True)):
            if wi > 0.06:
                ax.text(
                    l0 + wi / 2,
                    yi,
                    f"{wi:.0%}",
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white",
                )
        left += w
    ax.set_yticks(y, [str(i) for i in p.index])
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel(xlabel)
    ax.legend(
        loc="upper center",
        bbox_to_anchor=(0.5, -0.25),
        ncol=min(p.shape[1], 4),
        fontsize="small",
        frameon=False,
    )
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def posterior_difference_plot(
    draws: Mapping[str, Sequence[float]] | pd.DataFrame,
    *,
    reference: float = 0.0,
    xlabel: str = "difference",
) -> Figure:
    """Posterior densities of group differences, with P(difference > reference) annotated.

    Parameters
    ----------
    draws : mapping of str to array_like, or pandas.DataFrame
        Posterior draws of each difference (one column per difference).
    reference : float, default 0
        Value marking "no difference".
    xlabel : str

    Returns
    -------
    matplotlib.figure.Figure
    """
    from scipy.stats import gaussian_kde

    df = pd.DataFrame({k: np.asarray(v, float) for k, v in dict(draws).items()})
    if df.empty:
        raise ValueError("no draws given")
    fig = Figure(figsize=(6.5, 1.1 * df.shape[1] + 1.2))
    axes = fig.subplots(df.shape[1], 1, sharex=True, squeeze=False)[:, 0]
    lo, hi = np.nanquantile(df.to_numpy(), [0.001, 0.999])
    span = hi - lo or 1.0
    grid = np.linspace(min(lo, reference) - 0.05 * span, max(hi, reference) + 0.05 * span, 300)
    for ax, (name, x), color in zip(axes, df.items(), _COLORS * 10, strict=False):
        x = x.dropna().to_numpy()
        dens = gaussian_kde(x)(grid) if np.std(x) > 0 else np.zeros_like(grid)
        ax.fill_between(grid, dens, color=color, alpha=0.35)
        ax.plot(grid, dens, color=color)
        ax.axvline(reference, color="grey", lw=0.8, ls="--")
        ax.set_yticks([])
        ax.set_ylabel(name, rotation=0, ha="right", va="center")
        ax.text(
            0.99,
            0.8,
            f"P(> {reference:g}) = {np.mean(x > reference):.3f}",
            transform=ax.transAxes,
            ha="right",
            fontsize=8,
        )
    axes[-1].set_xlabel(xlabel)
    fig.tight_layout()
    return fig


def weight_plot(
    weights: Sequence[float] | pd.Series,
    *,
    balance: pd.DataFrame | None = None,
    bins: int = 30,
) -> Figure:
    """Weight diagnostics: the distribution with Kish's effective sample size, and a balance
    plot of standardised differences before and after weighting.

    Parameters
    ----------
    weights : array_like or PropensityWeights
        Positive weights, or the result of :func:`civmodels.nonresponse.propensity_weights`
        (whose balance table is then used).
    balance : pandas.DataFrame, optional
        Index = covariate (level); columns ``before`` and ``after`` (or ``std_diff_before``
        and ``std_diff_after``) with standardised differences, respondents vs frame. Adds a
        second panel.
    bins : int, default 30

    Returns
    -------
    matplotlib.figure.Figure
    """
    if hasattr(weights, "weights") and hasattr(weights, "balance"):
        # a civmodels.nonresponse.PropensityWeights: its weights and its balance table
        if balance is None:
            balance = weights.balance
        weights = weights.weights
    if balance is not None and {"std_diff_before", "std_diff_after"} <= set(balance.columns):
        balance = balance.rename(columns={"std_diff_before": "before", "std_diff_after": "after"})
    w = np.asarray(weights, dtype=float)
    if w.size == 0 or not np.all(np.isfinite(w)) or np.any(w <= 0):
        raise ValueError("weights must be finite and positive")
    n_eff = w.sum() ** 2 / (w**2).sum()
    deff = len(w) / n_eff
    ncol = 2 if balance is not None else 1
    fig = Figure(figsize=(5.5 * ncol, 3.6 + (0.2 * len(balance) if balance is not None else 0)))
    axes = fig.subplots(1, ncol, squeeze=False)[0]
    ax = axes[0]
    ax.hist(w, bins=bins, color=_COLORS[0], alpha=0.8)
    ax.set_xlabel("weight")
    ax.set_ylabel("respondents")
    ax.set_title(f"n = {len(w)}, Kish n_eff = {n_eff:.0f}, deff = {deff:.2f}", fontsize=9)
    if balance is not None:
        missing = {"before", "after"} - set(balance.columns)
        if missing:
            raise ValueError(f"balance needs columns 'before' and 'after'; missing {missing}")
        b = balance
        y = np.arange(len(b))
        ax2 = axes[1]
        ax2.scatter(b["before"].abs(), y, marker="o", color=_COLORS[1], label="before")
        ax2.scatter(b["after"].abs(), y, marker="s", color=_COLORS[2], label="after")
        ax2.axvline(0.1, color="grey", ls="--", lw=0.8)
        ax2.set_yticks(y, [str(i) for i in b.index])
        ax2.invert_yaxis()
        ax2.set_xlabel("|standardised difference|")
        ax2.legend(fontsize="small")
    fig.tight_layout()
    return fig
