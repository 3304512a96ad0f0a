"""The replication runner: every finding x outcome x grouping x method, one tidy row each."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..exceptions import CivmodelsError, SpecificationError
from ._contrasts import check_margins
from ._frame import resolve_frame
from ._methods import METHOD_LABELS, run_method
from ._outcomes import contrast_indicator, group_codes, prepare_outcome
from ._progress import Progress
from ._registry import METHODS, Finding, Pattern, Registry, load_registry
from ._task import CLUSTER, MethodUnavailable, Task

__all__ = [
    "COLUMNS",
    "FAMILIES",
    "VERDICTS",
    "VERDICT_MEANINGS",
    "adjust_pvalues",
    "apply_families",
    "decide",
    "run",
]

#: Verdict vocabulary, defined once (docs/replication.md, the report's legend and
#: :data:`VERDICT_MEANINGS` say the same).
VERDICT_MEANINGS: dict[str, str] = {
    "replicated": "the stated contrast is significant (p < alpha; its interval excludes the "
    "null) in the stated direction; for a 'differs' finding, the omnibus test is significant; "
    "for F17, the pattern rule holds",
    "reversed": "the stated contrast is significant in the opposite direction",
    "not significant": "the stated contrast (or omnibus test) is not significant: see the "
    "minimal detectable effect to tell 'underpowered' from 'probably absent'",
    "equivalent": "a 'no difference' finding replicated: every pair of groups differs by less "
    "than the equivalence margin (TOST at alpha; the 1 - 2 alpha interval lies inside it)",
    "difference found": "a 'no difference' finding contradicted: the omnibus test is "
    "significant and equivalence could not be shown",
    "inconclusive": "neither equivalence nor a difference could be shown: the data cannot tell",
    "not replicated": "F17 only: more than half of the outcome tests are significant, so the "
    "differences are not 'only some'",
    "not testable": "the data lack the outcome, the grouping or a contrasted level (the note "
    "says which)",
    "not available": "the method's module is not installed (the note says which)",
    "failed": "the method raised an error on this finding (the note has its first line)",
    "consistent": "pattern M1-M13: the report's figure lies inside the 95 % interval, or the "
    "stated ordering holds",
    "differs from report": "pattern M1-M13: the report's figure lies outside the 95 % interval, "
    "or the stated ordering does not hold",
}
VERDICTS = tuple(VERDICT_MEANINGS)

COLUMNS = [
    "finding_id",
    "kind",
    "title",
    "outcome",
    "by",
    "contrast",
    "direction",
    "method",
    "test",
    "estimate_type",
    "estimate",
    "ci_lower",
    "ci_upper",
    "ci_level",
    "statistic",
    "df",
    "p_value",
    "prob_direction",
    "family",
    "p_holm",
    "p_bh",
    "verdict",
    "verdict_holm",
    "margin",
    "mde",
    "mde_type",
    "omnibus_test",
    "omnibus_statistic",
    "omnibus_df",
    "omnibus_p",
    "omnibus_p_holm",
    "n_used",
    "n_dropped",
    "report_value",
    "report_figures",
    "stated",
    "page",
    "note",
]


def adjust_pvalues(p: Sequence[float] | np.ndarray, method: str = "holm") -> np.ndarray:
    """Holm (step-down FWER) or Benjamini-Hochberg (step-up FDR) adjusted p-values.

    Parameters
    ----------
    p : array_like
        Raw p-values; NaN entries are ignored and stay NaN.
    method : {"holm", "bh"}
        Adjustment.

    Returns
    -------
    numpy.ndarray
        Adjusted p-values, capped at 1, in the input order.
    """
    p = np.asarray(p, dtype=float)
    out = np.full_like(p, np.nan)
    ok = ~np.isnan(p)
    m = int(ok.sum())
    if m == 0:
        return out
    pv = p[ok]
    order = np.argsort(pv, kind="mergesort")
    ranked = pv[order]
    if method == "holm":
        adj = np.maximum.accumulate((m - np.arange(m)) * ranked)
    elif method == "bh":
        adj = np.minimum.accumulate((m / np.arange(m, 0, -1)) * ranked[::-1])[::-1]
    else:
        raise ValueError(f"method must be 'holm' or 'bh', got {method!r}")
    res = np.empty(m)
    res[order] = np.minimum(adj, 1.0)
    out[ok] = res
    return out


#: Below this many respondents no respondent-level test is attempted: every row is 'not
#: testable' with the reason (chi-square and model approximations need far more answers).
MIN_RESPONDENTS = 30


class _Context:
    """What the methods share: the data, the frame, weights, the seed."""

    def __init__(
        self,
        data: pd.DataFrame,
        registry: Registry,
        *,
        frame: pd.DataFrame | None,
        weights: str | pd.Series | None,
        random_seed: int,
    ) -> None:
        self.data = data
        self.registry = registry
        self._frame = frame
        self._weights_arg = weights
        self._weights: pd.Series | None = None
        self.random_seed = random_seed
        self.propensity: Any = None
        self.seeds = np.random.SeedSequence(random_seed)
        self.alpha: float = registry.alpha
        self.margins: dict[str, float] = dict(registry.margins)
        report = data.attrs.get("read_report")
        self.missing_items = set(getattr(report, "missing_items", ()) or ())

    def too_few(self) -> str | None:
        """Why no respondent-level test is attempted, or None."""
        n = len(self.data)
        if n >= MIN_RESPONDENTS:
            return None
        return f"the data have {n} respondent(s); no test is attempted below {MIN_RESPONDENTS}"

    def frame(self) -> pd.DataFrame:
        if self._frame is None:
            raise MethodUnavailable("no frame of invited positions")
        return self._frame

    def design_weights(self) -> pd.Series:
        if self._weights is None:
            self._weights = _resolve_weights(self)
        return self._weights


def _resolve_weights(ctx: _Context) -> pd.Series:
    w = ctx._weights_arg
    if isinstance(w, str):
        if w not in ctx.data.columns:
            raise SpecificationError(f"weights={w!r} is not a column of the data")
        return ctx.data[w].astype(float)
    if isinstance(w, pd.Series):
        return w.reindex(ctx.data.index).astype(float)
    try:
        from ..nonresponse import propensity_weights
    except ImportError as err:
        raise MethodUnavailable(
            "nonresponse weights need civmodels.nonresponse.propensity_weights, which is not "
            f"available: {err}"
        ) from err
    from ._weights import respondent_weights

    def fitted(frame: pd.DataFrame) -> Any:
        ctx.propensity = propensity_weights(frame)
        return ctx.propensity

    return respondent_weights(ctx.data, ctx.frame(), fitted)


def _adjust_set(reg: Registry, by: str, data: pd.DataFrame) -> tuple[tuple[str, ...], list[str]]:
    drop = {by, *reg.collinear.get(by, [])}
    keep, notes = [], []
    for a in reg.adjust:
        if a in drop:
            continue
        if a not in data.columns:
            notes.append(f"adjustment variable {a!r} absent from the data, not adjusted for")
            continue
        keep.append(a)
    return tuple(keep), notes


_FINAL = ("not testable", "not available", "failed")


def decide(row: Mapping[str, Any], alpha: float, *, adjusted: bool = False) -> str:
    """The verdict of one row (see :data:`VERDICT_MEANINGS`).

    Parameters
    ----------
    row : mapping
        A row of the replication table.
    alpha : float
        Level of every test.
    adjusted : bool
        Use the Holm-adjusted p-values (``p_holm``, ``omnibus_p_holm``) instead of the raw ones.

    Notes
    -----
    Every method follows the same rule. For a directional finding the sign of the estimate
    (against 1 for an odds ratio, 0 otherwise) gives the direction and ``p_value`` - from the
    same contrast, and for the Bayesian method the posterior tail probability
    ``2 min(P(d <= 0), P(d >= 0))`` - its significance. For a "no difference" finding
    ``p_value`` is the equivalence (TOST) p-value and ``omnibus_p`` the omnibus test's.
    """
    if row.get("verdict") in _FINAL:
        return str(row["verdict"])
    direction = row.get("direction")
    p = row.get("p_holm" if adjusted else "p_value")
    if p is None or not np.isfinite(p):
        return "failed"
    if direction in ("higher", "lower"):
        if p >= alpha:
            return "not significant"
        centre = 1.0 if row.get("estimate_type") == "odds ratio" else 0.0
        up = float(row["estimate"]) > centre
        return "replicated" if up == (direction == "higher") else "reversed"
    if direction in ("none", "few"):
        if p < alpha:
            return "equivalent"
        po = row.get("omnibus_p_holm" if adjusted else "omnibus_p")
        if po is not None and np.isfinite(po) and po < alpha:
            return "difference found"
        return "inconclusive"
    return "replicated" if p < alpha else "not significant"


_TEXT_COLUMNS = {"test", "estimate_type", "family", "verdict", "verdict_holm", "mde_type"}
_TEXT_COLUMNS |= {"omnibus_test", "note"}


def _empty_row() -> dict[str, Any]:
    return {c: (None if c in _TEXT_COLUMNS else np.nan) for c in COLUMNS}


def _base_row(f: Finding, item: str, by: str, method: str, contrast: str | None) -> dict:
    row = _empty_row()
    row.update(
        finding_id=f.id,
        kind=f.kind,
        title=f.title,
        outcome=item,
        by=by,
        contrast=contrast,
        direction=f.direction,
        method=method,
        report_figures=f.figures,
        stated=f.stated,
        page=f.page,
        note="",
    )
    return row


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}".rstrip(": ")


def _report_value(f: Finding, ind: pd.Series, answered: pd.Series) -> tuple[float, str]:
    """The report's figure on the row's estimand (focal minus reference), and how it was got.

    The report may print focal vs overall (F05: 70 % vs 82 %). With ``w`` the focal group's
    share of those who answered, ``overall = w focal + (1 - w) rest``, so
    ``focal - rest = (focal - overall) / (1 - w)``.
    """
    est = f.report_estimate or {}
    if "focal" in est and "reference" in est:
        return float(est["focal"]) - float(est["reference"]), "report's focal - reference"
    if "focal" in est and "overall" in est:
        ok = ind.notna() & answered
        w = float((ind[ok] == 1.0).mean()) if ok.any() else np.nan
        value = (float(est["focal"]) - float(est["overall"])) / (1 - w)
        return value, (
            f"report: {est['focal']:.0%} focal vs {est['overall']:.0%} overall; as focal - rest "
            f"with the focal group's share of answers w = {w:.3f}: "
            f"({est['focal']:g} - {est['overall']:g}) / (1 - w) = {value:.3f}"
        )
    return np.nan, ""


def _contrast_problem(data: pd.DataFrame, f: Finding, by: str) -> str | None:
    """Why the finding's contrast cannot be formed on ``data`` (None if it can)."""
    if f.contrast is None:
        return None
    try:
        ind, focal, ref = contrast_indicator(data, by, f.contrast)
    except SpecificationError as err:
        return str(err)
    for value, label in ((1.0, focal), (0.0, ref)):
        if not (ind == value).any():
            return f"contrast level {label} has no respondents in the data"
    return None


def _finding_rows(
    f: Finding,
    methods: Sequence[str],
    ctx: _Context,
    unavailable: dict[str, str],
    results: dict | None,
    tick: Callable[[str], None],
) -> list[dict[str, Any]]:
    reg = ctx.registry
    rows: list[dict[str, Any]] = []
    applicable = [m for m in methods if m in f.tests]
    for by in f.by:
        for item in f.outcomes:
            contrast = f"{f.contrast['focal']} vs {f.contrast['reference']}" if f.contrast else None
            data = ctx.data
            problem = None
            if f.frame:
                try:
                    data = ctx.frame()
                except MethodUnavailable as err:
                    problem = str(err)
            if problem is None and not f.frame:
                problem = ctx.too_few()
            if problem is None and item not in data.columns:
                problem = f"item {item!r} is not in the data"
            if problem is None and by not in data.columns:
                problem = f"grouping variable {by!r} is not in the data"
            if problem is None and not data[item].notna().any():
                absent = item in ctx.missing_items
                problem = f"no answers to {item!r}" + (" (not in the export)" if absent else "")
            if problem is None:
                problem = _contrast_problem(data, f, by)
            prepared = None
            if problem is None:
                event = f.event
                if event is None and item in reg.default_events:
                    event = reg.default_events[item]
                try:
                    prepared = prepare_outcome(data, item, event, bands=reg.count_bands.get(item))
                    problem = _answers_problem(data, prepared, by, f.contrast)
                except (SpecificationError, ValueError) as err:
                    problem = str(err)
            if problem is None and f.direction in ("none", "few"):
                assert prepared is not None
                if prepared.event is None:
                    problem = (
                        f"an equivalence test of {item!r} needs an event; add one under "
                        "default_events in findings.yaml"
                    )
            for method in applicable:
                tick(method)
                row = _base_row(f, item, by, method, contrast)
                if problem is not None:
                    row.update(verdict="not testable", note=problem)
                    rows.append(row)
                    continue
                if method in unavailable:
                    row.update(verdict="not available", note=unavailable[method])
                    rows.append(row)
                    continue
                if method != "crosstab" and CLUSTER not in data.columns:
                    row.update(verdict="not testable", note=f"no {CLUSTER!r} column")
                    rows.append(row)
                    continue
                adjust, notes = _adjust_set(reg, by, data)
                assert prepared is not None  # set whenever there is no problem
                modelled = method in ("ordinal", "mixed", "bayes")
                task = Task(
                    finding=f,
                    item=item,
                    by=by,
                    outcome=prepared,
                    contrast=f.contrast if f.kind == "difference" else None,
                    adjust=adjust if modelled else (),
                    notes=notes if modelled else [],
                )
                if f"{item}_dk" in data.columns:
                    # the data engineer's convention: 'Ved ikke' is NaN plus an <item>_dk flag
                    n_dk = int(data[f"{item}_dk"].fillna(False).astype(bool).sum())
                    if n_dk:
                        task.notes.append(f"{n_dk} 'Ved ikke' answers as missing")
                elif prepared.n_dont_know:
                    task.notes.append(f"{prepared.n_dont_know} 'Ved ikke' answers as missing")
                try:
                    out = run_method(method, task, data, ctx)
                except MethodUnavailable as err:
                    unavailable[method] = str(err)
                    row.update(verdict="not available", note=str(err))
                    rows.append(row)
                    continue
                except Exception as err:
                    row.update(verdict="failed", note=_first_line(err))
                    rows.append(row)
                    continue
                res = out.pop("_result", None)
                if results is not None and res is not None:
                    results[(f.id, item, by, method)] = res
                row.update(out)
                if f.report_estimate and f.contrast is not None and prepared.event is not None:
                    ind, _, _ = contrast_indicator(data, by, f.contrast)
                    value, how = _report_value(f, ind, prepared.event.notna())
                    if row["estimate_type"] != "odds ratio":
                        row["report_value"] = value
                    if how:
                        task.notes.append(how)
                row["note"] = "; ".join(task.notes)
                rows.append(row)
    return rows


def _answers_problem(
    data: pd.DataFrame, prepared: Any, by: str, contrast: dict[str, Any] | None
) -> str | None:
    """Why the answers cannot be compared across ``by`` (too few groups or categories)."""
    item = prepared.item
    y, g = prepared.table, group_codes(data, by)
    ok = (y.notna() & g.notna()).to_numpy()
    n = int(ok.sum())
    if n == 0:
        return f"no answers to {item!r} with {by!r} known"
    groups = pd.unique(g[ok])
    if len(groups) < 2:
        return f"all {n} answers to {item!r} come from one {by!r} group ({groups[0]})"
    values = pd.unique(y[ok])
    if len(values) < 2:
        return f"all {n} answers to {item!r} are {values[0]!r}; nothing to compare"
    if contrast is not None:
        ind, focal, reference = contrast_indicator(data, by, contrast)
        for code, label in ((1.0, focal), (0.0, reference)):
            if not (ok & (ind == code).to_numpy()).any():
                return f"no answers to {item!r} in the group {label}"
    return None


def _weighted_mean_ci(
    y: pd.Series, w: pd.Series | None, cluster: pd.Series | None
) -> tuple[float, float, float, int]:
    from ..design import SurveyDesign

    ok = y.notna() if w is None else y.notna() & w.notna()
    yv = y[ok].to_numpy(float)
    if len(yv) == 0:
        raise ValueError("no answers")
    if w is None:
        est = float(yv.mean())
        se = float(yv.std(ddof=1) / np.sqrt(len(yv)))
        return est, est - 1.96 * se, est + 1.96 * se, len(yv)
    if cluster is None:
        raise ValueError(f"a weighted estimate needs the {CLUSTER!r} column")
    wv = w[ok].to_numpy(float)
    est = float((wv * yv).sum() / wv.sum())
    # Domain estimation: every weighted row stays in the design (rows without an answer
    # contribute zero), so municipalities whose respondents all skipped the item keep their PSU.
    has_w = w.notna()
    d = SurveyDesign(
        pd.DataFrame({"w": w[has_w].to_numpy(float), "c": cluster[has_w].to_numpy()}),
        weights="w",
        cluster="c",
        lonely_psu="certainty",
    )
    z = np.zeros(int(has_w.sum()))
    in_dom = ok[has_w].to_numpy()
    z[in_dom] = wv * (yv - est) / wv.sum()
    var = d.total_vcov(z)[0, 0]
    q = stats.t.ppf(0.975, max(d.degf, 1))
    se = float(np.sqrt(var))
    return est, est - q * se, est + q * se, len(yv)


def _pattern_rows(
    p: Pattern, methods: Sequence[str], ctx: _Context, unavailable: dict[str, str]
) -> list[dict[str, Any]]:
    rows = []
    data = ctx.data
    for method in [m for m in methods if m in ("crosstab", "design")]:
        base = {
            "finding_id": p.id,
            "kind": p.kind,
            "title": p.title,
            "by": None,
            "contrast": None,
            "direction": None,
            "method": method,
            "report_figures": p.stated,
            "page": p.page,
        }
        weights = None
        if ctx.too_few() is not None:
            for label, event in _pattern_labels(p):
                rows.append(
                    {
                        **base,
                        "outcome": label,
                        "contrast": event,
                        "verdict": "not testable",
                        "note": ctx.too_few(),
                    }
                )
            continue
        if method == "design":
            problem = unavailable.get("weights")
            if problem is None:
                try:
                    weights = ctx.design_weights()
                except (MethodUnavailable, CivmodelsError) as err:
                    problem = unavailable["weights"] = str(err)
            if problem is not None:
                for label, event in _pattern_labels(p):
                    rows.append(
                        {
                            **base,
                            "outcome": label,
                            "contrast": event,
                            "verdict": "not available",
                            "note": problem,
                        }
                    )
                continue
        cluster = data[CLUSTER] if CLUSTER in data.columns else None
        if weights is not None and cluster is None:
            rows.append(
                {
                    **base,
                    "outcome": None,
                    "verdict": "not testable",
                    "note": f"no {CLUSTER!r} column",
                }
            )
            continue
        if p.kind == "marginal":
            for t in p.targets:
                item = t["outcome"]
                row = {
                    **base,
                    "outcome": item,
                    "contrast": _event_label(t["event"]),
                    "report_value": float(t["value"]),
                }
                try:
                    prep = prepare_outcome(data, item, t["event"])
                    y = prep.numeric if t["event"] == "mean" else prep.event
                    if y is None:
                        raise ValueError(f"event {t['event']!r} gives no value for {item!r}")
                    est, lo, hi, n = _weighted_mean_ci(y, weights, cluster)
                except KeyError:
                    rows.append(
                        {
                            **row,
                            "verdict": "not testable",
                            "note": f"item {item!r} is not in the data",
                        }
                    )
                    continue
                except (SpecificationError, ValueError) as err:
                    rows.append({**row, "verdict": "not testable", "note": str(err)})
                    continue
                value = float(t["value"])
                row.update(
                    estimate_type="mean" if t["event"] == "mean" else "proportion",
                    estimate=est,
                    ci_lower=lo,
                    ci_upper=hi,
                    ci_level=0.95,
                    n_used=n,
                    n_dropped=len(data) - n,
                    test="weighted share with its design interval"
                    if weights is not None
                    else "share with its Wald interval",
                    verdict="consistent" if lo <= value <= hi else "differs from report",
                )
                rows.append(row)
        else:
            rows.append({**base, **_ranking(p, data, weights)})
    return rows


def _event_label(event: Any) -> str:
    if isinstance(event, dict):
        if "at_least" in event:
            return f"at least {event['at_least']}"
        return "event: " + " / ".join(map(str, event.get("codes") or event.get("labels", [])))
    return f"event: {'yes' if event is True else event}"


def _pattern_labels(p: Pattern) -> list[tuple[str, str | None]]:
    if p.kind == "marginal":
        return [(t["outcome"], _event_label(t["event"])) for t in p.targets]
    return [(", ".join(p.items), None)]


def _ranking(p: Pattern, data: pd.DataFrame, weights: pd.Series | None) -> dict[str, Any]:
    missing = [i for i in p.items if i not in data.columns]
    label = ", ".join(p.items)
    if missing:
        return {
            "outcome": label,
            "verdict": "not testable",
            "note": f"items not in the data: {missing}",
        }
    if p.event is None:
        return {
            "outcome": label,
            "verdict": "not testable",
            "note": "the report states this pattern only in words; no rule to check",
        }
    shares = {}
    for item in p.items:
        try:
            ev = prepare_outcome(data, item, p.event).event
        except (SpecificationError, ValueError) as err:
            return {"outcome": label, "verdict": "not testable", "note": str(err)}
        if ev is None:
            return {"outcome": label, "verdict": "not testable", "note": "no event"}
        ok = ev.notna() if weights is None else ev.notna() & weights.notna()
        if not ok.any():
            return {"outcome": label, "verdict": "not testable", "note": f"no answers to {item!r}"}
        wv = np.ones(int(ok.sum())) if weights is None else weights[ok].to_numpy(float)
        shares[item] = float((wv * ev[ok].to_numpy(float)).sum() / wv.sum())
    checks = []
    extra = p.extra
    if extra.get("order") == "decreasing":
        vals = [shares[i] for i in p.items]
        checks.append(all(a >= b for a, b in itertools.pairwise(vals)))
    if "below_half" in extra:
        low = set(extra["below_half"])
        checks.append(all((shares[i] < 0.5) == (i in low) for i in p.items))
    if "highest" in extra:
        checks.append(max(shares, key=lambda k: shares[k]) == extra["highest"])
    if "lowest" in extra:
        checks.append(min(shares, key=lambda k: shares[k]) == extra["lowest"])
    note = "shares (" + str(p.event) + "): " + ", ".join(f"{k}={v:.2f}" for k, v in shares.items())
    return {
        "outcome": label,
        "estimate_type": "ordering of shares",
        "verdict": "consistent" if checks and all(checks) else "differs from report",
        "note": note,
    }


def _aggregate_rows(f: Finding, table: pd.DataFrame, alpha: float) -> list[dict[str, Any]]:
    """F17's pattern rule (written next to it in findings.yaml), one row per method."""
    rows = []
    own = table[(table["finding_id"] == f.id) & (table["outcome"] != "all")]
    for method, sub in own.groupby("method", sort=False):
        tested = sub["omnibus_p"].notna() & sub["p_value"].notna()
        k = int(tested.sum())
        row = _base_row(f, "all", "; ".join(f.by), method, None)
        row["kind"] = "aggregate"
        row["note"] = f.rule or ""
        if k == 0:
            reasons = "; ".join(dict.fromkeys(n for n in sub["note"] if n))
            row.update(verdict="not testable", note=f"no outcome could be tested ({reasons})")
            rows.append(row)
            continue
        p_diff = adjust_pvalues(sub.loc[tested, "omnibus_p"].to_numpy(float), "holm")
        p_eq = adjust_pvalues(sub.loc[tested, "p_value"].to_numpy(float), "holm")
        n_sig, n_eq = int((p_diff < alpha).sum()), int((p_eq < alpha).sum())
        if n_sig == 0:
            verdict = "not significant"
        elif n_sig > k / 2:
            verdict = "not replicated"
        elif n_eq >= k / 2:
            verdict = "replicated"
        else:
            verdict = "inconclusive"
        row.update(
            estimate_type="share of tests significant (Holm within F17)",
            estimate=n_sig / k,
            n_used=k,
            n_dropped=int((~tested).sum()),
            verdict=verdict,
            verdict_holm=verdict,
            test="pattern rule over the outcome x grouping tests (see note)",
            note=f"{n_sig} of {k} tests significant, {n_eq} of {k} equivalent (Holm within "
            f"F17). Rule: {f.rule or ''}",
        )
        rows.append(row)
    return rows


#: The multiplicity families, per method (every method alike, the Bayesian one included through
#: its posterior tail probability): the difference tests (directional contrasts, 'differs'
#: omnibus tests and the omnibus tests of the 'no difference' findings) and the equivalence
#: tests (TOST p-values of the 'no difference' findings). F17's pattern rule adjusts within F17.
FAMILIES = {
    "difference": "directional contrasts, 'differs' omnibus tests and the omnibus tests of the "
    "'no difference' findings, per method",
    "equivalence": "equivalence (TOST) tests of the 'no difference' findings, per method",
}


def apply_families(table: pd.DataFrame, methods: Sequence[str], alpha: float) -> pd.DataFrame:
    """Holm and BH adjustment within each declared family, then every row's verdicts."""
    table = table.copy()
    eq_rows = table["direction"].isin(["none", "few"])
    for m in methods:
        mine = table["method"] == m
        diff = mine & ~eq_rows & table["p_value"].notna()
        eq = mine & eq_rows & table["p_value"].notna()
        # one difference family: the p-value of the directional/differs rows, and the omnibus
        # p-value of the equivalence rows
        pd_vals = np.concatenate(
            [table.loc[diff, "p_value"].to_numpy(float), table.loc[eq, "omnibus_p"].to_numpy(float)]
        )
        n_diff = int(diff.sum())
        for how, col in (("holm", "p_holm"), ("bh", "p_bh")):
            adj = adjust_pvalues(pd_vals, how)
            table.loc[diff, col] = adj[:n_diff]
            if how == "holm":
                table.loc[eq, "omnibus_p_holm"] = adj[n_diff:]
            table.loc[eq, col] = adjust_pvalues(table.loc[eq, "p_value"].to_numpy(float), how)
        table.loc[diff, "family"] = f"difference ({m})"
        table.loc[eq, "family"] = f"equivalence ({m})"
    records = table.to_dict("records")
    for r in records:
        r["verdict_holm"] = decide(r, alpha, adjusted=True)
        r["verdict"] = decide(r, alpha)
    return pd.DataFrame(records, columns=table.columns)


def _check_methods(methods: Iterable[str]) -> tuple[str, ...]:
    if isinstance(methods, str):
        methods = (methods,)
    methods = tuple(methods)
    bad = [m for m in methods if m not in METHODS]
    if bad:
        raise SpecificationError(f"unknown method(s) {bad}; valid methods are {', '.join(METHODS)}")
    if not methods:
        raise SpecificationError(f"no methods given; choose from {', '.join(METHODS)}")
    return methods


def _default_data() -> pd.DataFrame:
    try:
        from ..data import load_survey
    except ImportError as err:
        raise CivmodelsError(
            f"no data given and the bundled survey (civmodels.data.load_survey) is not "
            f"available: {err}; pass data=<DataFrame>"
        ) from err
    return load_survey()


def _with_extra_tests(
    reg: Registry, extra: Mapping[str, Sequence[str]] | None, methods: Sequence[str]
) -> Registry:
    """The registry with ``extra`` methods added to the named findings' ``tests``."""
    if extra is None:
        return reg
    if not isinstance(extra, Mapping):
        raise SpecificationError(
            f"extra_tests must map finding ids to methods, e.g. {{'F15': ['bayes']}}, got "
            f"{type(extra).__name__}"
        )
    ids = {f.id for f in reg.findings}
    added: dict[str, tuple[str, ...]] = {}
    for fid, ms in extra.items():
        if fid not in ids:
            raise SpecificationError(
                f"extra_tests names finding {fid!r}, which is not in the registry "
                f"({', '.join(sorted(ids))})"
            )
        ms = (ms,) if isinstance(ms, str) else tuple(ms)
        bad = [m for m in ms if m not in methods]
        if bad:
            raise SpecificationError(
                f"extra_tests[{fid!r}] names {bad}, which are not among the methods run "
                f"({list(methods)}); add them to methods= or drop them"
            )
        added[fid] = ms
    findings = tuple(
        replace(f, tests=f.tests + tuple(m for m in added[f.id] if m not in f.tests))
        if f.id in added
        else f
        for f in reg.findings
    )
    return replace(reg, findings=findings)


def run(
    data: pd.DataFrame | None = None,
    *,
    methods: Sequence[str] = METHODS,
    random_seed: int = 2016,
    findings: Sequence[str] | None = None,
    patterns: bool = True,
    frame: pd.DataFrame | None = None,
    weights: str | pd.Series | None = None,
    progress: bool | Callable[[int], Any] = False,
    results: dict | None = None,
    margins: Mapping[str, float] | None = None,
    extra_tests: Mapping[str, Sequence[str]] | None = None,
) -> pd.DataFrame:
    """Replicate the report's findings, finding by finding and method by method.

    Parameters
    ----------
    data : pandas.DataFrame, optional
        Survey data in the structure of :func:`civmodels.data.load_survey` (codebook ids as
        columns, ``municipality_code``, ``area`` and the municipality covariates). Defaults to
        the bundled (synthetic) survey.
    methods : sequence of str
        Any of ``"crosstab"`` (the report's kind of analysis, unweighted: z test of the
        stated difference in proportions, Pearson chi-square), ``"design"`` (nonresponse
        weights and municipality clusters: design t of the weighted difference, Rao-Scott
        chi-square), ``"ordinal"`` (ordinal/logistic model adjusting for the other
        municipality characteristics, cluster-robust errors), ``"mixed"`` (random
        municipality intercept, adaptive quadrature) and ``"bayes"`` (Bayesian hierarchical
        model with MRP over the 838 positions).
    random_seed : int
        Seed of every random step (only the Bayesian method draws random numbers).
    findings : sequence of str, optional
        Finding ids to run (default all).
    patterns : bool, default True
        Also check the overall marginal patterns M1-M13 (methods crosstab and design).
    frame : pandas.DataFrame, optional
        The invited positions, one row each with ``municipality`` (name) or
        ``municipality_code``, ``area`` and ``responded`` (see :func:`read_frame`); needed by
        the design and Bayesian methods and by F18. Default: the frame follows ``data``. If
        ``data`` holds nonrespondents (a ``responded`` or ``status`` column with some rows
        not responding), its rows are the frame; otherwise the 838-position frame allocation
        of :func:`civmodels.data.load_frame`, where a position responded if it has a row in
        ``data``. The bundled synthetic frame's response flags are used only with the bundled
        survey (``data=None``). Every respondent must have a position of its municipality and
        area, and an explicit frame's responded positions must all have a respondent; both are
        errors naming the rows. ``table.attrs["frame_source"]`` of the result says which
        frame was used.
    weights : str or pandas.Series, optional
        Nonresponse weights for the design method (a column of ``data`` or a Series aligned with
        it); default: response-propensity weights estimated from the frame.
    progress : bool or callable, default False
        Show a progress bar on stderr (tqdm), or a callable taking the number of steps and
        returning an object with ``update()`` and ``close()``.
    results : dict, optional
        If given, filled with the fitted models keyed by ``(finding_id, outcome, by, method)``
        (each a dict with the ``result``, the model ``frame`` and the ``focal`` term; for the
        Bayesian method also the posterior ``draws`` of the difference), and with the
        nonresponse weights under ``"propensity_weights"`` (for tables and plots).
    margins : mapping, optional
        Equivalence margins of the "no difference" findings: ``{"difference": 0.10,
        "odds_ratio": 1.5}`` by default (from ``findings.yaml``): every pair of groups within
        +/- 10 percentage points, or an odds ratio within [1/1.5, 1.5].
    extra_tests : mapping, optional
        Methods to run on findings beyond the ``tests`` the registry lists for them, e.g.
        ``{"F15": ["bayes"]}`` for the Bayesian ROPE on F15's 14 outcome x grouping rows
        (left out by default: 14 more hierarchical fits, several minutes on two cores). The
        methods must also be in ``methods``.

    Returns
    -------
    pandas.DataFrame
        One row per finding x outcome x grouping variable x method (patterns: per target) with
        the columns :data:`COLUMNS`. A directional finding's row holds ONE contrast - a
        difference in proportions with its z test (crosstab), the weighted difference with a
        design t (design), an odds ratio (ordinal, mixed), the MRP difference with its
        posterior tail probability (bayes) - and its ``estimate``, interval, ``p_value`` and
        ``verdict`` all come from it; the omnibus test of the whole table is context in the
        ``omnibus_*`` columns. A "differs" finding's row holds the omnibus test. A "no
        difference" finding's row holds the equivalence (TOST) test of every pair of groups
        against ``margins``, the least equivalent pair's estimate and 90 % interval, and the
        omnibus test. ``mde`` is the minimal detectable effect at 80 % power; ``n_used`` and
        ``n_dropped`` count the rows in and out. ``p_holm``/``p_bh`` adjust within the row's
        ``family`` (:data:`FAMILIES`). ``verdict`` (raw p) and ``verdict_holm`` (Holm) are
        defined in :data:`VERDICT_MEANINGS`.

    Raises
    ------
    SpecificationError
        Unknown methods, a non-DataFrame ``data``, or margins that are not finite numbers > 0
        (a difference margin below 1, an odds-ratio margin above 1).

    Notes
    -----
    The report gives no test statistics (only pp. 1-16 were readable), so each finding is
    tested as stated: see ``docs/replication.md`` for the rules, the margins and the null
    calibration. A method that raises on a finding gives a "failed" row with the error's first
    line; the run goes on.
    """
    methods = _check_methods(methods)
    reg = _with_extra_tests(load_registry(), extra_tests, methods)
    if margins is not None:
        check_margins(margins)  # bad margins fail before any work
    bundled = data is None
    if data is None:
        data = _default_data()
    if not isinstance(data, pd.DataFrame):
        raise SpecificationError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    chosen = reg.findings
    if findings is not None:
        chosen = tuple(reg.finding(fid) for fid in findings)
    # the frame follows the data: never the synthetic response flags with other data
    source = resolve_frame(data, frame, bundled=bundled)
    ctx = _Context(source.data, reg, frame=source.frame, weights=weights, random_seed=random_seed)
    if margins is not None:
        ctx.margins = check_margins(margins)

    planned = [m for f in chosen for _ in f.by for _ in f.outcomes for m in methods if m in f.tests]
    bar = Progress(planned, progress)

    unavailable: dict[str, str] = {}
    rows: list[dict[str, Any]] = []
    try:
        for f in chosen:
            rows += _finding_rows(f, methods, ctx, unavailable, results, bar.tick)
    finally:
        bar.close()
    table = pd.DataFrame(rows, columns=COLUMNS)
    table = apply_families(table, methods, reg.alpha)
    extra = []
    for f in chosen:
        if f.kind == "aggregate":
            extra += _aggregate_rows(f, table, reg.alpha)
    if patterns and findings is None:
        for p in reg.patterns:
            extra += _pattern_rows(p, methods, ctx, unavailable)
    if extra:
        table = pd.concat([table, pd.DataFrame(extra, columns=COLUMNS)], ignore_index=True)
    table["method_label"] = table["method"].map(METHOD_LABELS)
    table.attrs["frame_source"] = source.provenance
    if results is not None and ctx.propensity is not None:
        results["propensity_weights"] = ctx.propensity
    return table
