"""The tests the runner applies to one finding x outcome x grouping ("a task").

Each method returns a plain dict of the tidy row's numeric columns. The numerics are small and
local (a contingency table, a weighted domain mean, one model fit); heavy lifting is delegated
to the engines (``civmodels.Ordinal``/``Logistic``), the nonresponse module (Rao-Scott test) and
the Bayesian module, imported only when the method runs so that a method whose module is absent
is reported, not fatal.
"""

from __future__ import annotations

import importlib
import re
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..design import SurveyDesign
from ._outcomes import PreparedOutcome, contingency, contrast_indicator, group_codes

__all__ = ["METHOD_LABELS", "MethodUnavailable", "Task", "run_method"]

METHOD_LABELS = {
    "crosstab": "Report-style chi-square (unweighted)",
    "design": "Rao-Scott chi-square (nonresponse weights, municipality clusters)",
    "ordinal": "Ordinal/logistic model, cluster-robust SE, adjusted",
    "mixed": "Random-intercept ordinal/logistic model (AGQ), adjusted",
    "bayes": "Bayesian hierarchical model + MRP over the 838 positions",
}

CLUSTER = "municipality_code"


class MethodUnavailable(RuntimeError):
    """A method's module is not installed/merged; the message says which and why."""


@dataclass
class Task:
    """One test: a finding's outcome item against one grouping variable."""

    finding: Any
    item: str
    by: str
    outcome: PreparedOutcome
    contrast: dict[str, Any] | None
    adjust: tuple[str, ...]
    notes: list[str] = field(default_factory=list)


def _diff_proportions(y: np.ndarray, g: np.ndarray) -> tuple[float, float, float, int]:
    """Difference of proportions (g==1 minus g==0) with its Wald standard error."""
    ok = ~np.isnan(y) & ~np.isnan(g)
    y, g = y[ok], g[ok]
    y1, y0 = y[g == 1], y[g == 0]
    if len(y1) == 0 or len(y0) == 0:
        raise ValueError("one of the two contrasted groups has no answers")
    p1, p0 = y1.mean(), y0.mean()
    se = np.sqrt(p1 * (1 - p1) / len(y1) + p0 * (1 - p0) / len(y0))
    return float(p1 - p0), float(se), float(p1), int(ok.sum())


def _crosstab(task: Task, data: pd.DataFrame, ctx: Any) -> dict[str, Any]:
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
    out: dict[str, Any] = {
        "statistic": float(chi.statistic),
        "df": float(chi.dof),
        "p_value": float(chi.pvalue),
        "n": int(tab.sum()),
    }
    if task.contrast is not None and task.outcome.event is not None:
        ind, _, _ = contrast_indicator(data, task.by, task.contrast)
        diff, se, _, _ = _diff_proportions(task.outcome.event.to_numpy(float), ind.to_numpy(float))
        q = stats.norm.ppf(0.975)
        out.update(
            estimate=diff,
            ci_lower=diff - q * se,
            ci_upper=diff + q * se,
            estimate_type="difference in proportions",
        )
    else:
        n = tab.sum()
        v = np.sqrt(chi.statistic / (n * (min(tab.shape) - 1)))
        out.update(estimate=float(v), estimate_type="Cramér's V")
    return out


def _design_diff(design: SurveyDesign, y: pd.Series, ind: pd.Series) -> tuple[float, float]:
    """Weighted difference of domain proportions and its linearisation SE."""
    w = design.weights.to_numpy(float)
    yv = y.to_numpy(float)
    gv = ind.to_numpy(float)
    ok = ~np.isnan(yv) & ~np.isnan(gv)
    z = np.zeros((len(w), 2))
    est = []
    for j, level in enumerate((1.0, 0.0)):
        dom = ok & (gv == level)
        n_w = w[dom].sum()
        p = (w[dom] * yv[dom]).sum() / n_w
        est.append(p)
        # Influence function of a ratio (domain) mean: w_i 1_dom (y_i - p) / N_dom; rows outside
        # the domain contribute zero but keep their PSU (proper domain estimation).
        z[dom, j] = w[dom] * (yv[dom] - p) / n_w
    v = design.total_vcov(z)
    se = float(np.sqrt(v[0, 0] + v[1, 1] - 2 * v[0, 1]))
    return float(est[0] - est[1]), se


def _design(task: Task, data: pd.DataFrame, ctx: Any) -> dict[str, Any]:
    try:
        from ..nonresponse import crosstab as nr_crosstab
    except ImportError as err:
        raise MethodUnavailable(
            "civmodels.nonresponse.crosstab (Rao-Scott test) is not available in this "
            f"installation: {err}"
        ) from err
    weights = ctx.design_weights()
    g = group_codes(data, task.by)
    y = task.outcome.table
    keep = weights.notna()
    n_unweighted = int((~keep).sum())
    if n_unweighted:
        task.notes.append(f"{n_unweighted} respondents without a frame position (no weight)")
    # Rows lacking the answer or the group stay in the design: crosstab treats them as outside
    # the domain but keeps their PSU, which is how domain variances must be computed.
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
    test = nr_crosstab(design, "group", "outcome").test("rao-scott")
    task.notes.append(f"Rao-Scott F on ({test.ndf:.2f}, {test.ddf:.1f}) df")
    out: dict[str, Any] = {
        "statistic": float(test.statistic),
        "df": float(test.ndf),
        "p_value": float(test.p_value),
        "n": int(ok.sum()),
    }
    if task.contrast is not None and task.outcome.event is not None:
        keep = weights.notna()
        full = SurveyDesign(
            pd.DataFrame({"w": weights[keep].astype(float), CLUSTER: data.loc[keep, CLUSTER]}),
            weights="w",
            cluster=CLUSTER,
            lonely_psu="certainty",
        )
        ind, _, _ = contrast_indicator(data, task.by, task.contrast)
        diff, se = _design_diff(full, task.outcome.event[keep], ind[keep])
        q = stats.t.ppf(0.975, max(full.degf, 1))
        out.update(
            estimate=diff,
            ci_lower=diff - q * se,
            ci_upper=diff + q * se,
            estimate_type="difference in proportions (weighted)",
        )
    else:
        out["estimate_type"] = "Rao-Scott F"
    return out


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in str(name))


def model_frame(task: Task, data: pd.DataFrame) -> tuple[pd.DataFrame, list[str], str | None, str]:
    """Outcome, grouping dummies and adjustment columns under formula-safe names."""
    out = pd.DataFrame(index=data.index)
    kind = task.outcome.kind
    if task.outcome.ordered is not None and kind in ("ordinal", "count"):
        out["y"] = task.outcome.ordered
        family = "ordinal"
    else:
        ev = task.outcome.event
        if ev is None:
            if kind != "binary":
                raise ValueError(
                    f"{task.item!r} is a {kind} item with no event defined; a model needs an "
                    "ordered or binary outcome"
                )
            assert task.outcome.ordered is not None  # binary items always have an order
            ev = task.outcome.ordered.cat.codes.replace(-1, np.nan).astype(float)
        out["y"] = ev
        family = "binary"
    labels: dict[str, str] = {}
    pred, terms, focal_term = predictor_columns(task, data, labels)
    out = pd.concat([out, pred], axis=1)
    out.attrs["term_labels"] = labels
    return out, terms, focal_term, family


def predictor_columns(
    task: Task, data: pd.DataFrame, labels: dict[str, str] | None = None
) -> tuple[pd.DataFrame, list[str], str | None]:
    """Grouping dummies (``g_*``) and adjustment covariates (``a_*``) under formula-safe names.

    Applied to the respondents for fitting and to the 838-position frame for MRP, so both get
    identical columns. Adjustment covariates keep their own names when these are valid
    identifiers (so tables show them); ``labels``, when given, receives a readable label for
    each grouping dummy.
    """
    out = pd.DataFrame(index=data.index)
    terms: list[str] = []
    focal_term: str | None = None
    if task.contrast is not None and task.contrast.get("reference") == "rest":
        ind, _, _ = contrast_indicator(data, task.by, task.contrast)
        out["g_focal"] = ind
        terms.append("g_focal")
        focal_term = "g_focal"
        if labels is not None:
            _, focal_label, ref_label = contrast_indicator(data, task.by, task.contrast)
            labels["g_focal"] = f"{focal_label} (vs {ref_label})"
    else:
        g = group_codes(data, task.by)
        levels = list(g.cat.categories)
        focal = None
        if task.contrast is not None:
            ref = levels[0] if task.contrast["reference"] == "first" else task.contrast["reference"]
            focal = levels[-1] if task.contrast["focal"] == "last" else task.contrast["focal"]
            levels = [ref, *[lv for lv in levels if lv != ref]]
        for j, lev in enumerate(levels[1:], start=1):
            col = f"g_{j}"
            out[col] = (g == lev).astype(float).where(g.notna())
            terms.append(col)
            if labels is not None:
                labels[col] = f"{task.by} = {lev} (vs {levels[0]})"
            if focal is not None and lev == focal:
                focal_term = col
    for a in task.adjust:
        col = a if a.isidentifier() and not a.startswith(("g_", "y")) else f"a_{_safe(a)}"
        s = data[a]
        if pd.api.types.is_bool_dtype(s.dtype):
            s = s.astype(float)
        elif isinstance(s.dtype, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(s):
            s = s.astype("object").astype(str).where(s.notna())
        out[col] = s
    out[CLUSTER] = data[CLUSTER]
    return out, terms, focal_term


def _wald(res: Any, names: list[str]) -> tuple[float, int, float]:
    params = res.params
    vcov = res.vcov
    b = params.loc[names].to_numpy(float)
    if isinstance(vcov, pd.DataFrame):
        v = vcov.loc[names, names].to_numpy(float)
    else:
        idx = [list(params.index).index(n) for n in names]
        v = np.asarray(vcov, float)[np.ix_(idx, idx)]
    stat = float(b @ np.linalg.solve(v, b))
    return stat, len(names), float(stats.chi2.sf(stat, len(names)))


def _fit_model(task: Task, data: pd.DataFrame, *, mixed: bool) -> dict[str, Any]:
    try:
        import civmodels as cm

        engine = {"ordinal": cm.Ordinal, "binary": cm.Logistic}
    except (ImportError, AttributeError) as err:
        raise MethodUnavailable(
            f"the ordinal/logistic engines (civmodels.Ordinal/Logistic) are not available: {err}"
        ) from err
    frame, terms, focal_term, family = model_frame(task, data)
    adj = [c for c in frame.columns if c not in ("y", CLUSTER, *terms)]
    rhs = " + ".join(terms + adj)
    if mixed:
        formula = f"y ~ {rhs} + (1 | {CLUSTER})"
    else:
        formula = f"y ~ {rhs}"
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
    out: dict[str, Any] = {"n": int(res.nobs), "n_dropped": int(res.n_dropped)}
    stat, df, p = _wald(res, terms)
    if focal_term is not None:
        b = float(res.params[focal_term])
        se = float(res.std_errors[focal_term])
        q = stats.norm.ppf(0.975)
        out.update(
            estimate=float(np.exp(b)),
            ci_lower=float(np.exp(b - q * se)),
            ci_upper=float(np.exp(b + q * se)),
            statistic=(b / se) ** 2,
            df=1.0,
            p_value=float(2 * stats.norm.sf(abs(b / se))),
            estimate_type="odds ratio",
        )
    else:
        out.update(statistic=stat, df=float(df), p_value=p, estimate_type="Wald chi-square")
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
    return _fit_model(task, data, mixed=False)


def _mixed(task: Task, data: pd.DataFrame, ctx: Any) -> dict[str, Any]:
    return _fit_model(task, data, mixed=True)


def _bayes(task: Task, data: pd.DataFrame, ctx: Any) -> dict[str, Any]:
    try:
        # import_module consults sys.modules, so a missing or broken civmodels.bayes is
        # noticed even after the package attribute was cached by an earlier import.
        importlib.import_module("civmodels.bayes")
        from ._bayes import bayes_difference
    except ImportError as err:
        raise MethodUnavailable(f"civmodels.bayes is not available: {err}") from err
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
