"""The Bayesian method: a hierarchical model per finding, poststratified over the frame.

For a directional finding the model is the same as the frequentist ones (the grouping contrast
plus the adjustment covariates) with a pooled municipality intercept, fitted by NUTS
(:mod:`civmodels.bayes`). Every one of the 838 invited positions - respondents and
nonrespondents - then gets a posterior predictive outcome distribution (MRP); averaging within
the focal and the reference group gives the posterior of the population difference in the
event share, and the posterior probability of the stated direction.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from ._methods import CLUSTER, Task, model_frame, predictor_columns
from ._outcomes import contrast_indicator

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


def bayes_difference(task: Task, data: pd.DataFrame, ctx: Any) -> dict[str, Any]:
    """Fit, poststratify and summarise one directional finding (see module docstring)."""
    from .. import bayes

    if task.contrast is None or task.outcome.event is None:
        raise ValueError("the Bayesian method applies to directional findings only")
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
    ind, focal_label, ref_label = contrast_indicator(population, task.by, task.contrast)
    pop["_group"] = np.where(ind == 1.0, "focal", np.where(ind == 0.0, "reference", "other"))
    post = res.poststratify(pop, by="_group", random_seed=seed)
    labels, draws = post.group_draws()
    y = frame_df["y"]
    if family == "ordinal":
        k = _event_categories(task, y, family)
    else:
        k = [1]
    share = draws[:, :, k].sum(-1)
    diff = share[:, labels.index("focal")] - share[:, labels.index("reference")]
    prob_up = float(np.mean(diff > 0))
    prob = prob_up if task.finding.direction == "higher" else 1.0 - prob_up
    lo, hi = np.quantile(diff, [0.025, 0.975])
    task.notes.append(
        f"MRP over {len(population)} positions; {BAYES_SETTINGS['chains']} chains x "
        f"{BAYES_SETTINGS['draws']} draws; focal {focal_label}, reference {ref_label}"
    )
    return {
        "estimate": float(diff.mean()),
        "ci_lower": float(lo),
        "ci_upper": float(hi),
        "prob_direction": prob,
        "estimate_type": "difference in proportions (MRP)",
        "n": int(res.nobs),
        "n_dropped": int(res.n_dropped),
        "_result": {
            "result": res,
            "frame": frame_df,
            "focal": focal_term,
            "draws": diff,
            "term_labels": frame_df.attrs.get("term_labels", {}),
        },
    }
