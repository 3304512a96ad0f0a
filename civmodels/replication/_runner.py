"""The replication runner: every finding x outcome x grouping x method, one tidy row each."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..exceptions import CivmodelsError, SpecificationError
from ._frame import resolve_frame
from ._methods import CLUSTER, METHOD_LABELS, MethodUnavailable, Task, run_method
from ._outcomes import contrast_indicator, group_codes, prepare_outcome
from ._progress import Progress
from ._registry import METHODS, Finding, Pattern, Registry, load_registry

__all__ = ["COLUMNS", "VERDICTS", "adjust_pvalues", "run"]

#: Verdict vocabulary (see :func:`run`).
VERDICTS = (
    "replicated",
    "not significant",
    "reversed",
    "not replicated",
    "not testable",
    "not available",
    "failed",
    "consistent",
    "differs from report",
    "significant",
)

COLUMNS = [
    "finding_id",
    "kind",
    "title",
    "outcome",
    "by",
    "contrast",
    "direction",
    "method",
    "estimate_type",
    "estimate",
    "ci_lower",
    "ci_upper",
    "statistic",
    "df",
    "p_value",
    "prob_direction",
    "p_holm",
    "p_bh",
    "verdict",
    "verdict_holm",
    "n",
    "n_dropped",
    "report_value",
    "report_figures",
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


def _direction_verdict(direction: str, est: float, sig: bool, etype: str) -> str:
    centre = 1.0 if etype == "odds ratio" else 0.0
    if not sig:
        return "not significant"
    up = est > centre
    return "replicated" if up == (direction == "higher") else "reversed"


def _verdict(row: dict[str, Any], p_key: str, alpha: float) -> str:
    if row.get("verdict") in ("not testable", "not available", "failed"):
        return row["verdict"]
    direction = row["direction"]
    if row["method"] == "bayes":
        pr = row.get("prob_direction")
        if pr is None or np.isnan(pr):
            return "failed"
        if pr >= 1 - alpha / 2:
            return "replicated"
        if pr <= alpha / 2:
            return "reversed"
        return "not significant"
    p = row.get(p_key)
    if p is None or np.isnan(p):
        return "failed"
    sig = p < alpha
    if direction in ("higher", "lower"):
        return _direction_verdict(direction, row["estimate"], sig, row["estimate_type"])
    if direction == "differs":
        return "replicated" if sig else "not significant"
    if direction == "none":
        return "not replicated" if sig else "replicated"
    return "significant" if sig else "not significant"


def _base_row(f: Finding, item: str, by: str, method: str, contrast: str | None) -> dict:
    return {
        "finding_id": f.id,
        "kind": f.kind,
        "title": f.title,
        "outcome": item,
        "by": by,
        "contrast": contrast,
        "direction": f.direction,
        "method": method,
        "estimate_type": None,
        "estimate": np.nan,
        "ci_lower": np.nan,
        "ci_upper": np.nan,
        "statistic": np.nan,
        "df": np.nan,
        "p_value": np.nan,
        "prob_direction": np.nan,
        "p_holm": np.nan,
        "p_bh": np.nan,
        "verdict": None,
        "verdict_holm": None,
        "n": np.nan,
        "n_dropped": np.nan,
        "report_value": np.nan,
        "report_figures": f.figures,
        "page": f.page,
        "note": "",
    }


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
            prepared = None
            if problem is None:
                event = f.event
                if event is None and item in reg.model_events:
                    event = reg.model_events[item]
                try:
                    prepared = prepare_outcome(data, item, event, bands=reg.count_bands.get(item))
                    problem = _answers_problem(data, prepared, by, f.contrast)
                except (SpecificationError, ValueError) as err:
                    problem = str(err)
            for method in applicable:
                tick(method)
                row = _base_row(f, item, by, method, contrast)
                row["estimate_type"] = None
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
                task = Task(
                    finding=f,
                    item=item,
                    by=by,
                    outcome=prepared,
                    contrast=f.contrast if f.kind == "difference" else None,
                    adjust=adjust if method in ("ordinal", "mixed", "bayes") else (),
                    notes=notes if method in ("ordinal", "mixed", "bayes") else [],
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
                except (CivmodelsError, ValueError, np.linalg.LinAlgError) as err:
                    row.update(verdict="failed", note=f"{type(err).__name__}: {err}")
                    rows.append(row)
                    continue
                res = out.pop("_result", None)
                if results is not None and res is not None:
                    results[(f.id, item, by, method)] = res
                row.update(out)
                if f.report_estimate and method in ("crosstab", "design"):
                    row["report_value"] = f.report_estimate.get("focal", np.nan) - (
                        f.report_estimate.get("overall", np.nan)
                    )
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
    d = SurveyDesign(
        pd.DataFrame({"w": wv, "c": cluster[ok].to_numpy()}),
        weights="w",
        cluster="c",
        lonely_psu="certainty",
    )
    var = d.total_vcov(wv * (yv - est) / wv.sum())[0, 0]
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
                    n=n,
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
    rows = []
    own = table[table["finding_id"] == f.id]
    for method, sub in own.groupby("method", sort=False):
        tested = sub["p_holm"].notna()
        n_tested = int(tested.sum())
        row = _base_row(f, "all", "; ".join(f.by), method, None)
        row["kind"] = "aggregate"
        if n_tested == 0:
            row.update(verdict="not testable", note="no outcome could be tested")
        else:
            share = float((sub.loc[tested, "p_holm"] < alpha).mean())
            verdict = (
                "not significant"
                if share == 0
                else "replicated"
                if share <= 0.5
                else "not replicated"
            )
            row.update(
                estimate_type="share of tests significant (Holm)",
                estimate=share,
                n=n_tested,
                verdict=verdict,
                verdict_holm=verdict,
                note=f"{round(share * n_tested)} of {n_tested} tests significant after Holm",
            )
        rows.append(row)
    return rows


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
) -> pd.DataFrame:
    """Replicate the report's findings, finding by finding and method by method.

    Parameters
    ----------
    data : pandas.DataFrame, optional
        Survey data in the structure of :func:`civmodels.data.load_survey` (codebook ids as
        columns, ``municipality_code``, ``area`` and the municipality covariates). Defaults to
        the bundled (synthetic) survey.
    methods : sequence of str
        Any of ``"crosstab"`` (the report's kind of test: unweighted Pearson chi-square),
        ``"design"`` (Rao-Scott chi-square under nonresponse weights with municipality
        clusters), ``"ordinal"`` (ordinal/logistic model adjusting for the other municipality
        characteristics, cluster-robust errors), ``"mixed"`` (random municipality intercept,
        adaptive quadrature) and ``"bayes"`` (Bayesian hierarchical model with MRP over the
        838 positions).
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

    Returns
    -------
    pandas.DataFrame
        One row per finding x outcome x grouping variable x method (patterns: per target) with
        the columns :data:`COLUMNS`. ``estimate`` is a difference in proportions (crosstab,
        design, bayes) or an odds ratio (ordinal, mixed) for directional findings, and an
        omnibus effect size or statistic for "differs"/"no difference" findings.
        ``prob_direction`` is the posterior probability of the stated direction (bayes).
        ``p_holm`` and ``p_bh`` adjust the p-values of each method over its family of tested
        findings. ``verdict`` (raw p < 0.05 or posterior probability > 0.975) and
        ``verdict_holm`` (Holm-adjusted p < 0.05) are one of: replicated, not significant,
        reversed (significant in the opposite direction), not replicated (a stated null that
        is contradicted, or F17's "few differences" with most tests significant), not testable
        (outcome or grouping absent; the note says which), not available (the method's module
        is missing; the note says which), failed (the fit raised; the note has the error);
        patterns are consistent or differ from the report.

    Notes
    -----
    The report gives no test statistics (only pp. 1-16 were readable), so "replicated" means
    the stated direction (or absence of difference) is found at the 5 % level.
    """
    methods = _check_methods(methods)
    reg = load_registry()
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
    for m in methods:
        fam = (table["method"] == m) & table["kind"].isin(["difference", "omnibus", "aggregate"])
        table.loc[fam, "p_holm"] = adjust_pvalues(table.loc[fam, "p_value"].to_numpy(float))
        table.loc[fam, "p_bh"] = adjust_pvalues(table.loc[fam, "p_value"].to_numpy(float), "bh")
    records = table.to_dict("records")
    for r in records:
        v = _verdict(r, "p_value", reg.alpha)
        r["verdict_holm"] = _verdict(r, "p_holm", reg.alpha) if r["method"] != "bayes" else v
        r["verdict"] = v
    table = pd.DataFrame(records, columns=COLUMNS)
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
