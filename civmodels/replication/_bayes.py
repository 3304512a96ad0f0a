"""The Bayesian method: a hierarchical model per finding, poststratified over the frame.

For a directional finding the model is the same as the frequentist ones (the grouping contrast
plus the adjustment covariates) with a pooled municipality intercept, fitted by NUTS
(:mod:`civmodels.bayes`). Every one of the 838 invited positions - respondents and
nonrespondents - then gets a posterior predictive outcome distribution (MRP); averaging within
the focal and the reference group gives the posterior of the population difference in the
event share, and the posterior probability of the stated direction.
"""

from __future__ import annotations

import itertools
import warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ._contrasts import DEFAULT_MARGINS, POWER, posterior_interval, rope
from ._outcomes import contrast_indicator
from ._task import CLUSTER, Task, model_frame, predictor_columns, task_mode

__all__ = ["BAYES_SETTINGS", "bayes_difference"]

#: Sampler settings of the replication (small: the finding-level questions need the sign and
#: rough size of a difference, and the run must stay within minutes on 2 cores).
BAYES_SETTINGS = {"draws": 500, "tune": 500, "chains": 2}


def _event_categories(task: Task, y: pd.Series, family: str) -> list[int]:
    """Indices of the model's outcome categories that make up the finding's event."""
    if family == "binary":
        return [1]
    ev = task.outcome.event
    assert ev is not None  # checked by bayes_difference
    cats = list(y.cat.categories)
    idx = []
    for k, cat in enumerate(cats):
        vals = ev[(y == cat) & ev.notna()].unique()
        if len(vals) > 1:
            raise ValueError(
                f"the event of {task.item!r} does not follow its categories (category {cat!r} "
                "holds events and non-events); cannot poststratify it"
            )
        if len(vals) == 1 and vals[0] == 1.0:
            idx.append(k)
    return idx


def _fit_poststratify(
    task: Task, data: pd.DataFrame, ctx: Any, group_of: Any
) -> tuple[Any, pd.DataFrame, str | None, list[str], np.ndarray]:
    """Fit the hierarchical model and poststratify the event share by the population groups
    ``group_of(population)`` returns: the fit, its frame, the focal term, group labels and the
    (draws x groups) event shares."""
    from .. import bayes

    frame_df, terms, focal_term, family = model_frame(task, data)
    adj = [c for c in frame_df.columns if c not in ("y", CLUSTER, *terms)]
    formula = f"y ~ {' + '.join(terms + adj)} + (1 | {CLUSTER})"
    engine = bayes.Ordinal if family == "ordinal" else bayes.Logistic
    seed = int(ctx.seeds.spawn(1)[0].generate_state(1)[0]) if ctx is not None else 0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = engine(formula, data=frame_df).fit(
            draws=BAYES_SETTINGS["draws"],
            tune=BAYES_SETTINGS["tune"],
            chains=BAYES_SETTINGS["chains"],
            random_seed=seed,
        )
    for w in caught:
        text = " ".join(str(w.message).split())
        if "BLAS" in text:  # PyTensor's performance notice, not about this fit
            continue
        task.notes.append(f"{w.category.__name__}: {text}")
    population = ctx.frame()
    pop, _, _ = predictor_columns(task, population)
    pop["_group"] = group_of(population)
    post = res.poststratify(pop, by="_group", random_seed=seed)
    labels, draws = post.group_draws()
    k = _event_categories(task, frame_df["y"], family) if family == "ordinal" else [1]
    task.notes.append(
        f"MRP over {len(population)} positions; {BAYES_SETTINGS['chains']} chains x "
        f"{BAYES_SETTINGS['draws']} draws"
    )
    return res, frame_df, focal_term, [str(v) for v in labels], draws[:, :, k].sum(-1)


def _bayes_equivalence(task: Task, data: pd.DataFrame, ctx: Any) -> dict[str, Any]:
    """Every pair of groups against the ROPE: the Bayesian counterpart of the TOST rows.

    ``p_value`` is the largest over pairs of ``max(P(d <= -m), P(d >= m))`` (below alpha exactly
    when every pair's 1 - 2 alpha interval lies inside the ROPE); ``omnibus_p`` is the
    Bonferroni-adjusted smallest pairwise tail probability ``2 min(P(d <= 0), P(d >= 0))``,
    which decides "difference found".
    """

    def groups(population: pd.DataFrame) -> np.ndarray:
        return population[task.by].astype("object").astype(str).to_numpy()

    res, frame_df, _, labels, share = _fit_poststratify(task, data, ctx, groups)
    alpha = float(getattr(ctx, "alpha", 0.05))
    margins = getattr(ctx, "margins", None) or DEFAULT_MARGINS
    m = margins["difference"]
    worst: tuple[float, str, np.ndarray] | None = None
    p_min = 1.0
    n_pairs = 0
    for a, b in itertools.combinations(range(len(labels)), 2):
        d = share[:, a] - share[:, b]
        n_pairs += 1
        p_eq = float(max(np.mean(d <= -m), np.mean(d >= m)))
        p_min = min(p_min, posterior_interval(d, alpha)[2])
        if worst is None or p_eq > worst[0]:
            worst = (p_eq, f"{labels[a]} vs {labels[b]}", d)
    if worst is None:
        raise ValueError(f"fewer than two groups of {task.by!r} in the population")
    p_eq, label, d = worst
    summary = rope(d, m, alpha)
    sd = float(np.std(d, ddof=1))
    return {
        "estimate": float(d.mean()),
        "ci_lower": summary["ci_lower"],
        "ci_upper": summary["ci_upper"],
        "ci_level": 1 - 2 * alpha,
        "p_value": p_eq,
        "contrast": f"largest of {n_pairs} pairs: {label}",
        "estimate_type": "difference in proportions (MRP)",
        "test": f"ROPE +/-{m:g}: every pair's {1 - 2 * alpha:.0%} posterior interval inside",
        "margin": m,
        "mde": float((stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(POWER)) * sd),
        "omnibus_test": "smallest pairwise posterior tail probability, Bonferroni",
        "omnibus_p": float(min(1.0, p_min * n_pairs)),
        "n_used": int(res.nobs),
        "n_dropped": int(res.n_dropped),
        "_result": {"result": res, "frame": frame_df, "focal": None},
    }


def bayes_difference(task: Task, data: pd.DataFrame, ctx: Any) -> dict[str, Any]:
    """Fit, poststratify and summarise one finding (see module docstring)."""
    if task.outcome.event is None:
        raise ValueError("the Bayesian method needs the finding's event")
    if task_mode(task) == "equivalence":
        return _bayes_equivalence(task, data, ctx)
    if task.contrast is None:
        raise ValueError("the Bayesian method applies to directional and 'no difference' findings")
    contrast = task.contrast

    def groups(population: pd.DataFrame) -> np.ndarray:
        ind, _, _ = contrast_indicator(population, task.by, contrast)
        return np.where(ind == 1.0, "focal", np.where(ind == 0.0, "reference", "other"))

    res, frame_df, focal_term, labels, share = _fit_poststratify(task, data, ctx, groups)
    _, focal_label, ref_label = contrast_indicator(ctx.frame(), task.by, contrast)
    diff = share[:, labels.index("focal")] - share[:, labels.index("reference")]
    prob_up = float(np.mean(diff > 0))
    prob = prob_up if task.finding.direction == "higher" else 1.0 - prob_up
    alpha = float(getattr(ctx, "alpha", 0.05))
    lo, hi, p_tail = posterior_interval(diff, alpha)
    margins = getattr(ctx, "margins", None) or DEFAULT_MARGINS
    eq = rope(diff, margins["difference"], alpha)
    sd = float(np.std(diff, ddof=1))
    task.notes.append(
        f"focal {focal_label}, reference {ref_label}; "
        f"P(|difference| < {margins['difference']:g}) = {eq['p_rope']:.2f}"
    )
    return {
        "estimate": float(diff.mean()),
        "ci_lower": lo,
        "ci_upper": hi,
        "ci_level": 1 - alpha,
        "p_value": p_tail,
        "prob_direction": prob,
        "estimate_type": "difference in proportions (MRP)",
        "test": "posterior tail probability 2 min(P(d<=0), P(d>=0)) of the MRP difference",
        "mde": float((stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(POWER)) * sd),
        "n_used": int(res.nobs),
        "n_dropped": int(res.n_dropped),
        "_result": {
            "result": res,
            "frame": frame_df,
            "focal": focal_term,
            "draws": diff,
            "term_labels": frame_df.attrs.get("term_labels", {}),
        },
    }
