"""The tests the runner applies to one finding x outcome x grouping ("a task").

Each method returns a plain dict of the tidy row's columns. What a row tests follows from the
finding's stated direction (:func:`task_mode`):

* ``directional`` (higher/lower): ONE contrast of the focal and the reference group - a
  difference in proportions with its Wald z test (report-style), the weighted difference with a
  bias-reduced (CR2) linearisation variance and a t on its Satterthwaite df over the
  municipality clusters (design-based), the odds ratio with a Wald t on Bell-McCaffrey df
  (cluster-robust model) or a Wald z (random-intercept model); see :mod:`._smallsample`.
  Estimate, interval, p-value and verdict all come from that contrast; the omnibus test of the
  whole table is kept in the ``omnibus_*`` columns as context.
* ``differs``: the omnibus test of the whole grouping x outcome table is the stated hypothesis.
* ``equivalence`` (no / few differences): two one-sided tests of every pair of groups against
  the equivalence margin (see :mod:`._contrasts`); the omnibus test decides whether a
  difference was found.

The numerics are small and local; heavy lifting is delegated to the engines
(``civmodels.Ordinal``/``Logistic``), :mod:`civmodels.crosstab` (Rao-Scott) and the Bayesian
module, imported only when the method runs so that a method whose module is absent is reported,
not fatal.
"""

from __future__ import annotations

import importlib
import itertools
import math
import re
import warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..design import SurveyDesign
from ._contrasts import (
    DEFAULT_MARGINS,
    Contrast,
    equivalence,
    mde,
    omnibus_mde,
    pairwise,
    two_sided,
)
from ._outcomes import contingency, contrast_indicator, group_codes
from ._smallsample import cr2_coefficient, satterthwaite_df
from ._task import CLUSTER, MethodUnavailable, Task, _safe, model_frame, task_mode

__all__ = ["METHOD_LABELS", "run_method"]

METHOD_LABELS = {
    "crosstab": "Report-style tests (unweighted): z test of the stated contrast, chi-square",
    "design": "Design-based tests (nonresponse weights, municipality clusters): t, Rao-Scott",
    "ordinal": "Ordinal/logistic model, cluster-robust SE, adjusted: odds ratio",
    "mixed": "Random-intercept ordinal/logistic model (AGQ), adjusted: odds ratio",
    "bayes": "Bayesian hierarchical model + MRP over the 838 positions",
}


def _alpha(ctx: Any) -> float:
    return float(getattr(ctx, "alpha", 0.05))


def _margin(ctx: Any, key: str) -> float:
    margins = getattr(ctx, "margins", None) or DEFAULT_MARGINS
    return float(margins[key])


def _directional(c: Contrast, alpha: float) -> dict[str, Any]:
    out = two_sided(c, alpha)
    out.update(estimate=c.estimate, df=c.df, ci_level=1 - alpha, mde=mde(c, alpha))
    return out


def _equivalent_rows(pairs: list[Contrast], margin: float, alpha: float) -> dict[str, Any]:
    eq = equivalence(pairs, margin, alpha)
    binding = Contrast(eq["estimate"], eq["se"], eq["df"])
    return {
        "estimate": eq["estimate"],
        "ci_lower": eq["ci_lower"],
        "ci_upper": eq["ci_upper"],
        "ci_level": 1 - 2 * alpha,
        "p_value": eq["p_value"],
        "df": eq["df"],
        "contrast": f"largest of {eq['n_pairs']} pairs: {eq['label']}",
        "mde": mde(binding, alpha),
    }


def _omnibus(prefix: str, test: str, statistic: float, df: float, p: float) -> dict[str, Any]:
    return {
        f"{prefix}test": test,
        f"{prefix}statistic": statistic,
        f"{prefix}df": df,
        f"{prefix}p": p,
    }


def _diff_proportions(y: np.ndarray, g: np.ndarray) -> tuple[Contrast, int]:
    """Difference of proportions (g==1 minus g==0) with its unpooled Wald standard error."""
    ok = ~np.isnan(y) & ~np.isnan(g)
    y, g = y[ok], g[ok]
    y1, y0 = y[g == 1], y[g == 0]
    if len(y1) == 0 or len(y0) == 0:
        raise ValueError("one of the two contrasted groups has no answers")
    p1, p0 = y1.mean(), y0.mean()
    se = math.sqrt(p1 * (1 - p1) / len(y1) + p0 * (1 - p0) / len(y0))
    return Contrast(float(p1 - p0), se), int(ok.sum())


def _level_shares(
    ev: pd.Series, g: pd.Series
) -> tuple[np.ndarray, np.ndarray, list[str], np.ndarray]:
    """Event share per level of ``g`` (levels with answers only) and its binomial variance."""
    est, var, labels, counts = [], [], [], []
    for lev in g.cat.categories:
        y = ev[(g == lev) & ev.notna()].to_numpy(float)
        if len(y) == 0:
            continue
        p = y.mean()
        est.append(p)
        var.append(p * (1 - p) / len(y))
        labels.append(str(lev))
        counts.append(len(y))
    return np.array(est), np.diag(var), labels, np.array(counts)


def _crosstab(task: Task, data: pd.DataFrame, ctx: Any) -> dict[str, Any]:
    alpha = _alpha(ctx)
    mode = task_mode(task)
    g = group_codes(data, task.by)
    y = task.outcome.table
    tab, _, _ = contingency(g, y)
    if tab.shape[0] < 2 or tab.shape[1] < 2:
        raise ValueError(f"the table {task.by} x {task.item} has fewer than two rows or columns")
    chi = stats.chi2_contingency(tab, correction=False)
    expected = np.asarray(chi.expected_freq)
    if (expected < 5).mean() > 0.2:
        task.notes.append(
            f"{(expected < 5).mean():.0%} of expected counts < 5; the chi-square approximation "
            "is rough"
        )
    n_tab = int(tab.sum())
    chi_test = "Pearson chi-square (no continuity correction)"
    omni = (float(chi.statistic), float(chi.dof), float(chi.pvalue))
    if mode == "directional":
        assert task.contrast is not None and task.outcome.event is not None
        ind, _, _ = contrast_indicator(data, task.by, task.contrast)
        ev = task.outcome.event.to_numpy(float)
        c, n_used = _diff_proportions(ev, ind.to_numpy(float))
        out = _directional(c, alpha)
        out.update(
            estimate_type="difference in proportions",
            test="z test of the difference in proportions (2 x 2 table focal/reference x "
            "event, unpooled Wald SE)",
            n_used=n_used,
            n_dropped=int((ind.notna() & np.isnan(ev)).sum()),
            **_omnibus("omnibus_", chi_test, *omni),
        )
        return out
    if mode == "equivalence":
        ev_s = task.outcome.event
        if ev_s is None:
            raise ValueError(f"an equivalence test of {task.item!r} needs an event")
        est, vcov, labels, _ = _level_shares(ev_s, g)
        if len(est) < 2:
            raise ValueError(f"fewer than two groups of {task.by!r} answered {task.item!r}")
        pairs = pairwise(est, vcov, labels, math.inf)
        margin = _margin(ctx, "difference")
        out = _equivalent_rows(pairs, margin, alpha)
        out.update(
            estimate_type="difference in proportions",
            test=f"TOST equivalence of every pair of groups within +/-{margin:g} (Wald SE)",
            margin=margin,
            n_used=int((g.notna() & ev_s.notna()).sum()),
            n_dropped=int((g.isna() | ev_s.isna()).sum()),
            **_omnibus("omnibus_", chi_test, *omni),
        )
        return out
    v = math.sqrt(chi.statistic / (n_tab * (min(tab.shape) - 1)))
    return {
        "estimate": float(v),
        "estimate_type": "Cramér's V",
        "test": chi_test,
        "statistic": omni[0],
        "df": omni[1],
        "p_value": omni[2],
        "mde": omnibus_mde(n_tab, omni[1], alpha),
        "mde_type": "Cohen's w",
        "n_used": n_tab,
        "n_dropped": int(len(data) - n_tab),
    }


def _domain_means(
    design: SurveyDesign, y: np.ndarray, codes: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted event share in each of ``k`` domains and their linearisation covariance.

    ``codes`` holds the domain (0..k-1) of each row, -1 outside every domain. The influence
    function of a domain (ratio) mean is ``w_i 1_dom (y_i - p) / N_dom``; rows outside the domain
    or without an answer contribute zero but keep their PSU, which is how domain variances must
    be computed (as R ``survey::svyby``).
    """
    w = design.weights.to_numpy(float)
    ok = ~np.isnan(y)
    z = np.zeros((len(w), k))
    est = np.full(k, np.nan)
    for j in range(k):
        dom = ok & (codes == j)
        n_w = w[dom].sum()
        if not n_w > 0:
            raise ValueError(f"domain {j} has no weighted answers")
        est[j] = (w[dom] * y[dom]).sum() / n_w
        z[dom, j] = w[dom] * (y[dom] - est[j]) / n_w
    return est, design.total_vcov(z)


def _design_diff(design: SurveyDesign, y: pd.Series, ind: pd.Series) -> tuple[float, float]:
    """Weighted difference of domain proportions (ind==1 minus ind==0) and its SE."""
    gv = ind.to_numpy(float)
    codes = np.where(gv == 1.0, 0, np.where(gv == 0.0, 1, -1))
    est, v = _domain_means(design, y.to_numpy(float), codes, 2)
    return float(est[0] - est[1]), float(math.sqrt(v[0, 0] + v[1, 1] - 2 * v[0, 1]))


def _design_contrast(
    y: pd.Series, ind: pd.Series, w: pd.Series, cluster: pd.Series
) -> tuple[Contrast, int]:
    """Weighted difference of two domain proportions, CR2 standard error, Bell-McCaffrey df.

    The difference of weighted domain means is the slope of a weighted least-squares fit of the
    event on the focal indicator over the two domains; its linearisation variance (as
    :func:`_design_diff`, R ``svyby``) is the CR1 sandwich of that fit. A contrast between
    groups of municipalities rests on the clusters holding them (seven for the largest size
    band), where linearisation is biased down and t(PSUs - 1) is too light-tailed: the bias-
    reduced CR2 variance and its Satterthwaite df (:mod:`._smallsample`) correct both.
    Returns the contrast and the number of clusters with answers in either group.
    """
    yv, gv = y.to_numpy(float), ind.to_numpy(float)
    ok = ~np.isnan(yv) & ~np.isnan(gv)
    if not (gv[ok] == 1).any() or not (gv[ok] == 0).any():
        raise ValueError("one of the two contrasted groups has no weighted answers")
    x = np.column_stack([np.ones(int(ok.sum())), gv[ok]])
    cl = cluster.to_numpy()[ok]
    est, se, df = cr2_coefficient(x, yv[ok], cl, 1, w.to_numpy(float)[ok])
    return Contrast(est, se, df), len(np.unique(cl))


def _design(task: Task, data: pd.DataFrame, ctx: Any) -> dict[str, Any]:
    try:
        from ..crosstab import crosstab as design_crosstab
    except ImportError as err:
        raise MethodUnavailable(
            f"civmodels.crosstab (Rao-Scott test) is not available in this installation: {err}"
        ) from err
    alpha = _alpha(ctx)
    mode = task_mode(task)
    weights = ctx.design_weights()
    g = group_codes(data, task.by)
    y = task.outcome.table
    keep = weights.notna()
    n_unweighted = int((~keep).sum())
    if n_unweighted:
        task.notes.append(f"{n_unweighted} respondents without a frame position (no weight)")
    # Every weighted row stays in the design, also without an answer or a group: such rows are
    # outside the domain but keep their PSU, which is how domain variances must be computed.
    sub = pd.DataFrame(
        {
            "group": g[keep].astype("object").map(lambda v: None if pd.isna(v) else str(v)),
            "outcome": y[keep].astype("object").map(lambda v: None if pd.isna(v) else str(v)),
            "w": weights[keep].astype(float),
            CLUSTER: data.loc[keep, CLUSTER],
        }
    )
    ok = sub["group"].notna() & sub["outcome"].notna()
    design = SurveyDesign(sub, weights="w", cluster=CLUSTER, lonely_psu="certainty")
    # second-order Rao-Scott: F on (delta-scaled) non-integer df, as R's svychisq default
    rs = design_crosstab(design, "group", "outcome").test("rao-scott")
    rs_test = f"Rao-Scott F on ({rs.ndf:.2f}, {rs.ddf:.1f}) df"
    omni = (float(rs.statistic), float(rs.ndf), float(rs.p_value))
    n_dropped = int(len(data) - ok.sum())
    if mode == "directional":
        assert task.contrast is not None and task.outcome.event is not None
        ind, _, _ = contrast_indicator(data, task.by, task.contrast)
        ev = task.outcome.event[keep]
        c, n_clusters = _design_contrast(ev, ind[keep], sub["w"], sub[CLUSTER])
        out = _directional(c, alpha)
        out.update(
            estimate_type="difference in proportions (weighted)",
            test=f"design-based t of the weighted difference ({n_clusters} of {design.n_psu} "
            f"municipality clusters in the two groups; bias-reduced linearisation (CR2), "
            f"Satterthwaite {c.df:.1f} df)",
            n_used=int((ind[keep].notna() & ev.notna()).sum()),
            n_dropped=int((ind.notna() & task.outcome.event.isna()).sum() + n_unweighted),
            **_omnibus("omnibus_", rs_test, *omni),
        )
        return out
    if mode == "equivalence":
        ev_all = task.outcome.event
        if ev_all is None:
            raise ValueError(f"an equivalence test of {task.item!r} needs an event")
        gk = g[keep]
        labels = [str(lev) for lev in gk.cat.categories if (ev_all[keep][gk == lev]).notna().any()]
        lev_code = {lab: j for j, lab in enumerate(labels)}
        codes = gk.astype("object").map(lambda v: lev_code.get(str(v), -1)).to_numpy(int)
        if len(labels) < 2:
            raise ValueError(f"fewer than two groups of {task.by!r} answered {task.item!r}")
        # each pair as its own two-domain contrast: CR2 variance and Satterthwaite df, as the
        # directional contrasts (a too-small SE would make equivalence too easy to show)
        pairs = []
        for a, b in itertools.combinations(range(len(labels)), 2):
            pair_ind = pd.Series(
                np.where(codes == a, 1.0, np.where(codes == b, 0.0, np.nan)), index=gk.index
            )
            c, _ = _design_contrast(ev_all[keep], pair_ind, sub["w"], sub[CLUSTER])
            pairs.append(Contrast(c.estimate, c.se, c.df, f"{labels[a]} vs {labels[b]}"))
        margin = _margin(ctx, "difference")
        out = _equivalent_rows(pairs, margin, alpha)
        out.update(
            estimate_type="difference in proportions (weighted)",
            test=f"TOST equivalence of every pair of groups within +/-{margin:g} "
            f"(design t; CR2, Satterthwaite df {min(p.df for p in pairs):.1f}-"
            f"{max(p.df for p in pairs):.1f})",
            margin=margin,
            n_used=int((gk.notna() & ev_all[keep].notna()).sum()),
            n_dropped=n_dropped,
            **_omnibus("omnibus_", rs_test, *omni),
        )
        return out
    deff = float(np.mean(rs.design_effects)) if len(rs.design_effects) else 1.0
    return {
        "estimate": omni[0],
        "estimate_type": "Rao-Scott F",
        "test": rs_test,
        "statistic": omni[0],
        "df": omni[1],
        "p_value": omni[2],
        "mde": omnibus_mde(int(ok.sum()) / max(deff, 1e-12), _k(rs), alpha),
        "mde_type": f"Cohen's w (effective n = n / mean design effect {deff:.2f})",
        "n_used": int(ok.sum()),
        "n_dropped": n_dropped,
    }


def _k(rs: Any) -> float:
    """Degrees of freedom of the Pearson test behind a Rao-Scott test: (r-1)(c-1)."""
    return float(len(rs.design_effects)) if len(rs.design_effects) else float(rs.ndf)


def _coef_vcov(res: Any, names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    params = res.params
    vcov = res.vcov
    b = params.loc[names].to_numpy(float)
    if isinstance(vcov, pd.DataFrame):
        v = vcov.loc[names, names].to_numpy(float)
    else:
        idx = [list(params.index).index(n) for n in names]
        v = np.asarray(vcov, float)[np.ix_(idx, idx)]
    return b, v


def _wald(res: Any, names: list[str]) -> tuple[float, int, float]:
    b, v = _coef_vcov(res, names)
    stat = float(b @ np.linalg.solve(v, b))
    return stat, len(names), float(stats.chi2.sf(stat, len(names)))


def _exp_scale(out: dict[str, Any]) -> dict[str, Any]:
    for key in ("estimate", "ci_lower", "ci_upper", "mde"):
        if key in out:
            out[key] = float(np.exp(out[key]))
    return out


def _working_df(frame: pd.DataFrame, focal_term: str, nobs: int) -> float:
    """Bell-McCaffrey df of the focal coefficient, from the model's own design matrix.

    A cluster-robust Wald test of a coefficient that only a few municipalities identify (the
    seven largest) is far too liberal against a normal reference. Following Imbens & Kolesar
    (2016), the reference is a t whose degrees of freedom are the Satterthwaite df of the CR2
    variance of the same coefficient in the linear working model (least squares on the same
    design matrix and clusters, independent homoscedastic errors): they measure how many
    clusters effectively carry the coefficient and do not depend on the outcome.
    """
    cols = [c for c in frame.columns if c not in ("y", CLUSTER)]
    ok = frame[["y", *cols, CLUSTER]].notna().all(axis=1)
    x = pd.get_dummies(frame.loc[ok, cols], drop_first=True, dtype=float)
    if int(ok.sum()) != nobs:
        raise ValueError(
            f"the working design has {int(ok.sum())} rows but the model used {nobs}; cannot "
            "compute the small-sample degrees of freedom"
        )
    j = list(x.columns).index(focal_term) + 1
    xm = np.column_stack([np.ones(len(x)), x.to_numpy(float)])
    return satterthwaite_df(xm, frame.loc[ok, CLUSTER].to_numpy(), j)


def _fit_model(task: Task, data: pd.DataFrame, ctx: Any, *, mixed: bool) -> dict[str, Any]:
    try:
        import civmodels as cm

        engine = {"ordinal": cm.Ordinal, "binary": cm.Logistic}
    except (ImportError, AttributeError) as err:
        raise MethodUnavailable(
            f"the ordinal/logistic engines (civmodels.Ordinal/Logistic) are not available: {err}"
        ) from err
    alpha = _alpha(ctx)
    mode = task_mode(task)
    frame, terms, focal_term, family = model_frame(task, data)
    adj = [c for c in frame.columns if c not in ("y", CLUSTER, *terms)]
    rhs = " + ".join(terms + adj)
    formula = f"y ~ {rhs} + (1 | {CLUSTER})" if mixed else f"y ~ {rhs}"
    readable = _readable_names(task, formula, frame.attrs.get("term_labels", {}))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model = engine[family](formula, data=frame)
            if mixed:
                res = model.fit(method="agq", n_quad=10)
            else:
                res = model.fit(cov_type="cluster", cluster=CLUSTER)
        except (ImportError, NotImplementedError) as err:
            kind = "random-intercept" if mixed else "cluster-robust"
            raise MethodUnavailable(
                f"the {kind} {family} engine is not available in this installation: {err}"
            ) from err
        except (ValueError, ArithmeticError, np.linalg.LinAlgError) as err:
            err.args = (readable(str(err)),)  # same error, in the user's column names
            raise
    for w in caught:
        task.notes.append(f"{w.category.__name__}: {readable(str(w.message))}")
    se_kind = "random-intercept model, AGQ" if mixed else "cluster-robust CR1 SE"
    out: dict[str, Any] = {"n_used": int(res.nobs), "n_dropped": int(res.n_dropped)}
    stat, df, p = _wald(res, terms)
    wald_test = f"Wald chi-square of the {task.by} terms ({se_kind})"
    if mode == "directional" and focal_term is not None:
        b, v = _coef_vcov(res, [focal_term])
        if mixed:
            c = Contrast(float(b[0]), float(math.sqrt(v[0, 0])))
            test = f"Wald z of the log odds ratio ({se_kind})"
        else:
            df_bm = _working_df(frame, focal_term, int(res.nobs))
            c = Contrast(float(b[0]), float(math.sqrt(v[0, 0])), df_bm)
            test = (
                f"Wald t of the log odds ratio ({se_kind}; Bell-McCaffrey {df_bm:.1f} df of "
                "the linear working model)"
            )
        out.update(_exp_scale(_directional(c, alpha)))
        out.update(
            estimate_type="odds ratio",
            test=test,
            **_omnibus("omnibus_", wald_test, stat, float(df), p),
        )
    elif mode == "equivalence":
        b, v = _coef_vcov(res, terms)
        k = len(terms) + 1
        est = np.concatenate([[0.0], b])
        vcov = np.zeros((k, k))
        vcov[1:, 1:] = v
        labels = frame.attrs.get("group_levels") or [str(j) for j in range(k)]
        pairs = pairwise(est, vcov, labels, math.inf)
        margin = _margin(ctx, "odds_ratio")
        eq = _equivalent_rows(pairs, math.log(margin), alpha)
        out.update(_exp_scale(eq))
        out.update(
            estimate_type="odds ratio",
            test=f"TOST equivalence of every pair of groups, odds ratio within "
            f"[1/{margin:g}, {margin:g}] ({se_kind})",
            margin=margin,
            **_omnibus("omnibus_", wald_test, stat, float(df), p),
        )
    else:
        out.update(
            statistic=stat,
            df=float(df),
            p_value=p,
            estimate=stat,
            estimate_type="Wald chi-square",
            test=wald_test,
        )
    if mixed and getattr(res, "re_sd", None) is not None:
        task.notes.append(f"random-intercept SD {float(res.re_sd[CLUSTER]):.3f}")
    entry = {
        "result": res,
        "frame": frame,
        "focal": focal_term,
        "term_labels": frame.attrs.get("term_labels", {}),
    }
    if task.contrast is not None:
        _, entry["focal_label"], entry["reference_label"] = contrast_indicator(
            data, task.by, task.contrast
        )
    out["_result"] = entry
    return out


def _readable_names(task: Task, formula: str, labels: dict[str, str]) -> Any:
    """Rewrite engine messages from the internal model frame (``y``, ``g_1``, ``a_*``) into
    the user's names: the item, the grouping variable's levels, the adjustment columns."""
    terms = [t.strip() for t in formula.split("~", 1)[1].split("+")]
    shown: list[str] = []
    for t in terms:
        name = task.by if t.startswith("g_") else t
        if name not in shown:
            shown.append(name)
    user_formula = f"{task.item} ~ {' + '.join(shown)}"
    safe = {f"a_{_safe(a)}": a for a in task.adjust}

    def rewrite(text: str) -> str:
        text = text.replace(formula, user_formula)
        text = re.sub(r"\bg_(?:\d+|focal)\b", lambda m: labels.get(m.group(0), task.by), text)
        return re.sub(r"\ba_\w+", lambda m: safe.get(m.group(0), m.group(0)), text)

    return rewrite


def _ordinal(task: Task, data: pd.DataFrame, ctx: Any) -> dict[str, Any]:
    return _fit_model(task, data, ctx, mixed=False)


def _mixed(task: Task, data: pd.DataFrame, ctx: Any) -> dict[str, Any]:
    return _fit_model(task, data, ctx, mixed=True)


def _bayes(task: Task, data: pd.DataFrame, ctx: Any) -> dict[str, Any]:
    try:
        # import_module consults sys.modules, so a missing or broken civmodels.bayes is
        # noticed even after the package attribute was cached by an earlier import.
        importlib.import_module("civmodels.bayes")
    except ImportError as err:
        raise MethodUnavailable(f"civmodels.bayes is not available: {err}") from err
    from ._bayes import bayes_difference

    return bayes_difference(task, data, ctx)


_DISPATCH = {
    "crosstab": _crosstab,
    "design": _design,
    "ordinal": _ordinal,
    "mixed": _mixed,
    "bayes": _bayes,
}


def run_method(method: str, task: Task, data: pd.DataFrame, ctx: Any) -> dict[str, Any]:
    """Run ``method`` on ``task``; raises :class:`MethodUnavailable` or the method's error."""
    return _DISPATCH[method](task, data, ctx)
