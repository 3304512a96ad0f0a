"""Publication tables: several fitted models side by side.

:func:`regression_table` reads each result's :class:`~civmodels.results.Summary` (the shared
contract: blocks ``Thresholds``, ``Location``/``Coefficients``, ``Nominal``, ``Scale``,
``Loadings`` (Bayesian batteries), ``Response model`` (Bayesian joint response-outcome models)
and ``Random effects`` with the columns ``estimate, std_error, ci_lower, ci_upper``, and the
fit facts in ``Summary.stats``), so fixed, mixed, weighted, design-based and Bayesian results
mix freely: a Bayesian column shows posterior means, posterior SDs and credible intervals, and
gets no significance stars. Intercepts, thresholds and random-effect SDs never get stars
either: a test of "intercept = 0" or "threshold = 0" is not a finding. With
``exponentiate=True`` the coefficients become odds ratios and the intercept the baseline odds
(the odds at the reference levels and zero covariates), labelled as such.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..results import Summary, markdown_escape
from ._docx import check_docx_path, table_to_docx
from ._latex import latex_escape, multicolumn

__all__ = [
    "OUTPUTS",
    "HTMLTable",
    "MarkdownTable",
    "regression_table",
    "term_label",
    "verdict_table",
]

Output = Literal["frame", "latex", "html", "markdown", "docx"]
#: The formats :func:`regression_table` writes.
OUTPUTS = ("frame", "latex", "html", "markdown", "docx")
LANGUAGES = ("da", "en")

#: Labels of the report's independent variables (codebook.yaml, independent_variables) and of
#: the derived municipality covariates, used when the data codebook does not name a term.
_VARIABLE_LABELS: dict[str, dict[str, str]] = {
    "area": {"da": "Fagområde", "en": "Policy area"},
    "policy_area": {"da": "Fagområde", "en": "Policy area"},
    "size_group": {"da": "Kommunestørrelse", "en": "Municipality size"},
    "log_population": {"da": "Log(indbyggertal)", "en": "Log population"},
    "pressure_high": {"da": "Højt udgiftspres", "en": "High spending pressure"},
    "spending_pressure": {"da": "Udgiftspres (indeks)", "en": "Spending pressure (index)"},
    "region": {"da": "Region", "en": "Region"},
    "bloc": {"da": "Borgmesterens blok", "en": "Mayor's bloc"},
    "municipality_code": {"da": "Kommune", "en": "Municipality"},
    "Intercept": {"da": "Konstantled", "en": "Intercept"},
}
#: Suffix of the intercept's label when the coefficients are exponentiated.
_BASELINE_ODDS = {"da": "basisodds", "en": "baseline odds"}
_INTERCEPT = re.compile(r"^(?:.*: )?\(?Intercept\)?$")
_LEVEL_LABELS: dict[str, dict[str, str]] = {
    "sundhed_forebyggelse": {"da": "Sundhed og forebyggelse", "en": "Health and prevention"},
    "social": {"da": "Socialområdet", "en": "Social services"},
    "skole_uddannelse": {"da": "Skole og uddannelse", "en": "Schools and education"},
    "kultur_fritid": {"da": "Kultur og fritid", "en": "Culture and leisure"},
    "beskaeftigelse": {"da": "Beskæftigelse og arbejdsmarked", "en": "Employment"},
    "teknik_miljo": {"da": "Teknik og miljø", "en": "Technical services and environment"},
    "ledelse_strategi": {"da": "Ledelse og strategi", "en": "Management and strategy"},
    "borgerservice": {"da": "Borgerservice", "en": "Citizen services"},
    "red": {"da": "Rød", "en": "Red"},
    "blue": {"da": "Blå", "en": "Blue"},
    "True": {"da": "Ja", "en": "Yes"},
    "False": {"da": "Nej", "en": "No"},
}
_BLOCK_NAMES = {
    "coef": {"da": "Koefficienter", "en": "Coefficients"},
    "nominal": {"da": "Nominelle effekter", "en": "Nominal effects"},
    "scale": {"da": "Skalaeffekter", "en": "Scale effects"},
    "thresholds": {"da": "Tærskler", "en": "Thresholds"},
    "loadings": {"da": "Ladninger", "en": "Loadings"},
    "response": {"da": "Svarmodel", "en": "Response model"},
    "re_sd": {"da": "Tilfældige effekter (SD)", "en": "Random effects (SD)"},
    "stats": {"da": "Modelstatistik", "en": "Model statistics"},
}
_RE_SD_COR = {
    "da": "Tilfældige effekter (SD, korrelation)",
    "en": "Random effects (SD, correlation)",
}
#: Summary block -> table block.
_SUMMARY_BLOCKS = {
    "Location": "coef",
    "Coefficients": "coef",
    "Nominal": "nominal",
    "Scale": "scale",
    "Thresholds": "thresholds",
    "Loadings": "loadings",
    "Response model": "response",
    "Random effects": "re_sd",
}
_BLOCK_ORDER = [
    "coef",
    "nominal",
    "scale",
    "thresholds",
    "loadings",
    "response",
    "re_sd",
    "stats",
]
_STAT_NAMES = {
    "nobs": {"da": "N", "en": "N"},
    "n_dropped": {"da": "Udeladte rækker", "en": "Rows dropped"},
    "n_groups": {"da": "Grupper", "en": "Groups"},
    "n_clusters": {"da": "Klynger", "en": "Clusters"},
    "icc": {"da": "ICC", "en": "ICC"},
    "loglik": {"da": "Log-likelihood", "en": "Log-likelihood"},
    "pseudo_loglik": {"da": "Pseudo-log-likelihood", "en": "Pseudo-log-likelihood"},
    "aic": {"da": "AIC", "en": "AIC"},
    "bic": {"da": "BIC", "en": "BIC"},
}
_STAT_ORDER = list(_STAT_NAMES)


class HTMLTable(str):
    """An HTML string that renders as a table in Jupyter."""

    def _repr_html_(self) -> str:
        return str(self)


class MarkdownTable(str):
    """A Markdown string that renders as a table in Jupyter."""

    def _repr_markdown_(self) -> str:
        return str(self)


def _codebook_labels(lang: str) -> dict[str, str]:
    """Item labels from :mod:`civmodels.data`'s codebook, when it is installed."""
    try:
        from ..data import codebook
    except ImportError:
        return {}
    out: dict[str, str] = {}
    for key in codebook:
        q = codebook[key]
        out[str(key)] = str(getattr(q, f"label_{lang}", "") or key)
    for q in getattr(codebook, "independent", ()):
        out[str(q.id)] = str(getattr(q, f"label_{lang}", "") or q.id)
    return out


_TERM = re.compile(r"^(?P<var>[^\[]+)\[(?:T\.)?(?P<level>.*)\]$")


def term_label(
    term: str, labels: str | Mapping[str, str] | None, codebook: Mapping[str, str]
) -> str:
    """Display label of a formulaic term name such as ``"area[T.social]"``."""
    if labels is None:
        return term
    if isinstance(labels, Mapping):
        return str(labels.get(term, term))
    lang = labels
    m = _TERM.match(term)
    var, level = (m["var"], m["level"]) if m else (term, None)
    var_label = codebook.get(var) or _VARIABLE_LABELS.get(var, {}).get(lang) or var
    if level is None:
        return var_label
    level_label = _LEVEL_LABELS.get(level, {}).get(lang, level)
    return f"{var_label}: {level_label}"


def _summary_of(res: Any, level: float) -> Summary:
    """The result's :class:`Summary` at ``level`` (the contract every model result keeps)."""
    try:
        s = res.summary(level=level)
    except TypeError:
        s = res.summary()
    if not isinstance(s, Summary):
        raise TypeError(
            f"{type(res).__name__}.summary() returned {type(s).__name__}, not a civmodels "
            "Summary; regression_table needs fitted civmodels model results"
        )
    return s


def _is_intercept(term: str) -> bool:
    """Whether ``term`` names an intercept (``"Intercept"``, ``"(Intercept)"`` or a prefixed
    ``"response: Intercept"``)."""
    return bool(_INTERCEPT.match(term))


def _stars(p: float) -> str:
    if not np.isfinite(p):
        return ""
    return "***" if p < 0.001 else "**" if p < 0.01 else "*" if p < 0.05 else ""


def _fmt(x: Any, digits: int) -> str:
    if x is None:
        return ""
    x = float(x)
    return "" if not np.isfinite(x) else f"{x:.{digits}f}"


@dataclass(frozen=True)
class _Column:
    """One model's cells: (block, term, row) -> text, its outcome, SE type and weights."""

    cells: dict[tuple[str, str, str], str]
    outcome: str | None
    se_type: str | None
    weights: str | None
    bayes: bool
    stars: bool
    intercept: bool


def _model_column(
    res: Any, *, exponentiate: bool, stars: bool, ci: bool, digits: int, level: float
) -> _Column:
    s = _summary_of(res, level)
    if not any(b in _SUMMARY_BLOCKS for b in s.blocks):
        raise TypeError(
            f"{type(res).__name__} is not a fitted model (its summary has blocks "
            f"{list(s.blocks)}, none of {list(_SUMMARY_BLOCKS)}); regression_table shows "
            "model fits — show other results with their own summary()"
        )
    name = type(res).__name__
    if not s.stats:
        raise TypeError(
            f"{name}.summary() has no fit facts (Summary.stats is empty), so regression_table "
            "cannot tell its estimator, standard-error type, N or weights; its summary does not "
            "follow the Summary contract (civmodels.results.model_stats)"
        )
    extra = [
        b
        for b, tab in s.blocks.items()
        if b not in _SUMMARY_BLOCKS and {"estimate", "mean"} & set(map(str, tab.columns))
    ]
    if extra:
        raise TypeError(
            f"{name}.summary() has estimate blocks {extra} that are not model blocks "
            f"({list(_SUMMARY_BLOCKS)}); regression_table would leave them out of the table, "
            "so it refuses — show this result with its own summary()"
        )
    st = dict(s.stats)
    bayes = st.get("estimator") == "bayes"
    cells: dict[tuple[str, str, str], str] = {}
    starred = has_intercept = False
    for bname, tab in s.blocks.items():
        block = _SUMMARY_BLOCKS.get(bname)
        if block is None or not len(tab):
            continue
        missing = [c for c in ("estimate", "std_error", "ci_lower", "ci_upper") if c not in tab]
        if missing:
            raise TypeError(
                f"block {bname!r} of {type(res).__name__}.summary() lacks columns {missing}; "
                "model summaries must follow the Summary contract (civmodels.results)"
            )
        for term, row in tab.iterrows():
            intercept = block == "coef" and _is_intercept(str(term))
            has_intercept = has_intercept or intercept
            b, se = float(row["estimate"]), float(row["std_error"])
            if not np.isfinite(b):
                raise TypeError(
                    f"row {term!r} of block {bname!r} of {name}.summary() has no estimate "
                    f"({b}); regression_table would show an empty cell for a parameter the "
                    "model has, so it refuses"
                )
            lo, hi = float(row["ci_lower"]), float(row["ci_upper"])
            if exponentiate and block in ("coef", "nominal"):
                b, lo, hi = np.exp(b), np.exp(lo), np.exp(hi)
                se = b * se  # delta method SE of exp(b)
            star = ""
            # stars mark tests of effects only: never intercepts, thresholds or random-effect SDs
            if (
                stars
                and block in ("coef", "nominal", "scale")
                and not intercept
                and ("p_value" in tab)
            ):
                star = _stars(float(row["p_value"]))
                starred = True
            key = str(term)
            cells[(block, key, "est")] = _fmt(b, digits) + star
            if ci and np.isfinite(lo) and np.isfinite(hi):
                cells[(block, key, "se")] = f"[{_fmt(lo, digits)}, {_fmt(hi, digits)}]"
            elif not ci and np.isfinite(se):
                cells[(block, key, "se")] = f"({_fmt(se, digits)})"
    for key in ("nobs", "n_dropped", "n_clusters"):
        if st.get(key) is not None:
            cells[("stats", key, "est")] = f"{int(st[key])}"
    for key, fmt in (("n_groups", "{:d}"), ("icc", "{:.3f}")):
        for g, v in dict(st.get(key) or {}).items():
            cells[("stats", f"{key}:{g}", "est")] = fmt.format(int(v) if key == "n_groups" else v)
    if st.get("loglik") is not None:
        name = "pseudo_loglik" if st.get("loglik_kind") == "pseudo" else "loglik"
        cells[("stats", name, "est")] = _fmt(st["loglik"], 2)
    for key in ("aic", "bic"):
        if st.get(key) is not None:
            cells[("stats", key, "est")] = _fmt(st[key], 2)
    return _Column(
        cells=cells,
        outcome=st.get("outcome"),
        se_type=st.get("se_type"),
        weights=st.get("weights"),
        bayes=bayes,
        stars=starred,
        intercept=has_intercept,
    )


def regression_table(
    *results: Any,
    output: Output = "frame",
    exponentiate: bool = False,
    stars: bool = True,
    ci: bool = False,
    labels: Literal["da", "en"] | Mapping[str, str] | None = None,
    names: Sequence[str] | None = None,
    digits: int = 3,
    level: float = 0.95,
    title: str | None = None,
    path: str | Path | None = None,
) -> Any:
    """Several fitted models side by side, as a publication table.

    Parameters
    ----------
    *results
        Fitted civmodels results (fixed, mixed, weighted, design-based or Bayesian; they may
        be mixed). Each is read through its :class:`~civmodels.results.Summary`.
    output : {"frame", "latex", "html", "markdown", "docx"}, default "frame"
        ``"frame"``: a DataFrame of display strings indexed by (block, term, row), the note in
        ``.attrs["note"]``; ``"latex"``: a booktabs ``tabular`` (needs
        ``\\usepackage{booktabs}``; :func:`~civmodels.report.latex_document` wraps it in a
        document that compiles); ``"html"``: an HTML table that renders in a notebook and
        scrolls sideways when wide; ``"markdown"``: GitHub Markdown (cells escaped);
        ``"docx"``: a Word document (python-docx), saved to ``path`` when given.
    exponentiate : bool, default False
        Show exp(coefficient) (odds ratios for logit links); standard errors by the delta
        method, intervals by transforming the bounds. The intercept of a binary model is
        exponentiated with them and shown as the *baseline odds* (the odds at the reference
        levels and zero covariates), labelled "Intercept (baseline odds)" / "Konstantled
        (basisodds)", so every number in the coefficient block is on the odds scale.
        Thresholds, scale effects, item loadings, the response model of a joint
        response-outcome model and random-effect SDs are never exponentiated.
    stars : bool, default True
        Mark p < 0.05, 0.01, 0.001 with ``*``, ``**``, ``***`` on effects of results that
        have p-values. Intercepts, thresholds, random-effect SDs and Bayesian columns get
        none.
    ci : bool, default False
        Show the ``level`` interval under each estimate instead of the standard error.
    labels : {"da", "en"} or mapping, optional
        Danish or English term labels from the codebook (and the report's independent
        variables), or an explicit mapping term -> label. Default: the raw term names with
        English block names. The language also sets the block names, the statistics rows
        and the note (its standard-error types and weights included).
    names : sequence of str, optional
        Column titles (default ``(1)``, ``(2)``, ... or each result's ``name``).
    digits : int, default 3
        Display digits; rounding never changes the results.
    level : float, default 0.95
        Interval level when ``ci=True``.
    title : str, optional
        Caption (HTML, Markdown, Word; a LaTeX comment).
    path : str or pathlib.Path, optional
        Where to save the ``.docx`` (``output="docx"`` only). Its folder must exist.

    Returns
    -------
    pandas.DataFrame, str or docx.document.Document
        The table in the requested format (``output="docx"``: the python-docx document, also
        saved to ``path`` when given).

    Notes
    -----
    Blocks: coefficients (location effects); nominal and scale effects; thresholds;
    random-effect standard deviations; model statistics (N, rows dropped, groups per
    grouping factor, clusters, ICC, log-likelihood — "pseudo-log-likelihood" for weighted or
    design-based fits, which get no AIC/BIC — AIC, BIC). A cell is empty when a model lacks
    the term or statistic. The note states the standard-error type and the weights of each
    model. Results of models with different outcomes may share a table: the outcomes are
    named in a header row.
    """
    if not results:
        raise ValueError("regression_table needs at least one fitted result")
    if output not in OUTPUTS:
        raise ValueError(
            f"output={output!r} is not a format regression_table writes; choose one of "
            + ", ".join(repr(o) for o in OUTPUTS)
        )
    if isinstance(labels, str) and labels not in LANGUAGES:
        raise ValueError(
            f"labels={labels!r}: label language must be 'da' (Danish) or 'en' (English); or "
            "pass a mapping term -> label, or None for the raw term names"
        )
    if path is not None and output != "docx":
        raise ValueError(f"path= is for output='docx' (got output={output!r})")
    docx_path = check_docx_path(path) if path is not None else None
    for i, r in enumerate(results):
        if not callable(getattr(r, "summary", None)):
            raise TypeError(
                f"result {i + 1} ({type(r).__name__}) lacks summary(); regression_table needs "
                "fitted civmodels results"
            )
    if names is None:
        names = [str(getattr(r, "name", None) or f"({i + 1})") for i, r in enumerate(results)]
    names = list(names)
    if len(names) != len(results):
        raise ValueError(f"got {len(names)} names for {len(results)} results")
    cols = [
        _model_column(r, exponentiate=exponentiate, stars=stars, ci=ci, digits=digits, level=level)
        for r in results
    ]
    order = _row_order(cols)
    lang = labels if isinstance(labels, str) else "en"
    cb = _codebook_labels(labels) if isinstance(labels, str) else {}

    def label(block: str, term: str) -> str:
        if block == "stats":
            key, _, group = term.partition(":")
            return _STAT_NAMES[key][lang] + (f" ({group})" if group else "")
        if block in ("thresholds", "loadings", "re_sd"):
            return term
        text = term_label(term, labels, cb)
        if exponentiate and block == "coef" and _is_intercept(term):
            text += f" ({_BASELINE_ODDS[lang]})"
        return text

    with_cor = any(b == "re_sd" and t.startswith("cor(") for b, t, _ in order)

    def block_name(block: str) -> str:
        # random-effect correlations (a correlated slope) share the SD block
        if block == "re_sd" and with_cor:
            return _RE_SD_COR[lang]
        return _BLOCK_NAMES[block][lang]

    index = pd.MultiIndex.from_tuples(
        [(block_name(b), label(b, t), r) for b, t, r in order],
        names=["block", "term", "row"],
    )
    outcomes = [c.outcome for c in cols]
    columns: pd.Index = pd.Index(names)
    if len(set(outcomes)) > 1:
        columns = pd.MultiIndex.from_arrays(
            [[o or "" for o in outcomes], names], names=["outcome", "model"]
        )
    frame = pd.DataFrame(
        [[c.cells.get(k, "") for c in cols] for k in order],
        index=index,
        columns=columns,
        dtype=object,
    )
    note = _note(cols, names, ci=ci, level=level, exponentiate=exponentiate, lang=lang)
    if output == "frame":
        frame.attrs["note"] = note
        return frame
    grid = _Grid.from_frame(frame, note, title)
    if output == "markdown":
        return MarkdownTable(grid.to_markdown())
    if output == "html":
        return HTMLTable(grid.to_html())
    if output == "docx":
        return table_to_docx(grid.title, grid.header, grid.blocks(), grid.note, docx_path)
    return grid.to_latex()


def _row_order(cols: list[_Column]) -> list[tuple[str, str, str]]:
    """Rows in block order; within a block by first appearance, estimate before SE. The
    intercept is the last coefficient (as Stata's ``_cons``), wherever the models put it, so
    it does not land among the effects when an ordinal model (no intercept) comes first."""
    seen: dict[tuple[str, str], int] = {}
    for c in cols:
        for key in c.cells:
            seen.setdefault(key[:2], len(seen))
    keys = {k for c in cols for k in c.cells}

    def rank(k: tuple[str, str, str]) -> tuple[int, int, bool]:
        if k[0] == "stats":
            within = _STAT_ORDER.index(k[1].partition(":")[0])
        else:
            within = int(k[0] == "coef" and _is_intercept(k[1]))
        return (_BLOCK_ORDER.index(k[0]), within * 10_000 + seen[k[:2]], k[2] != "est")

    return sorted(keys, key=rank)


#: Danish wording of the standard-error types the model results report (``Summary.stats
#: ["se_type"]``): (English pattern, Danish replacement), tried in order on the whole text.
_SE_TYPES_DA: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), da)
    for pattern, da in (
        (
            r"nonrobust \(inverse observed information\)",
            "modelbaserede (invers observeret information)",
        ),
        (
            r"nonrobust \(inverse expected information\)",
            "modelbaserede (invers forventet information)",
        ),
        (r"robust sandwich \(HC1\)", "robuste (sandwich, HC1)"),
        (
            r"robust sandwich, sampling weights \((\d+) rows, n/\(n-1\)\)",
            r"robuste (sandwich, samplingvægte, \1 rækker, n/(n-1))",
        ),
        (
            r"cluster-robust sandwich, sampling weights \((\d+) clusters, G/\(G-1\)\)",
            r"klyngerobuste (sandwich, samplingvægte, \1 klynger, G/(G-1))",
        ),
        (
            r"cluster-robust sandwich by group \(sampling weights, (\d+) clusters, G/\(G-1\); "
            r"t with (\d+) df\)",
            r"klyngerobuste (sandwich pr. gruppe, samplingvægte, \1 klynger, G/(G-1); t med \2 df)",
        ),
        (
            r"cluster-robust sandwich by group \((\d+) clusters, G/\(G-1\); t with (\d+) df\)",
            r"klyngerobuste (sandwich pr. gruppe, \1 klynger, G/(G-1); t med \2 df)",
        ),
        (
            r"design-based \(Taylor linearisation; sampling weights; df (\d+)\)",
            r"designbaserede (Taylor-linearisering; samplingvægte; df \1)",
        ),
        (
            r"design-based \(replicate weights: (.+); df (\d+)\)",
            r"designbaserede (replikatvægte: \1; df \2)",
        ),
        (r"cluster-robust \(CR1, (\d+) clusters\)", r"klyngerobuste (CR1, \1 klynger)"),
        (r"design-based \(Taylor linearisation\)", "designbaserede (Taylor-linearisering)"),
        (r"Taylor linearisation", "Taylor-linearisering"),
        (
            r"inverse observed information \(marginal likelihood\)",
            "invers observeret information (marginal likelihood)",
        ),
        (
            r"posterior SD; (\d+%) equal-tailed credible intervals",
            r"posterior-SD; \1-kredibilitetsintervaller med lige store haler",
        ),
        (r"posterior SD", "posterior-SD"),
    )
)
#: Danish wording of the weights kinds (a weights column keeps its name).
_WEIGHTS_DA = {"design weights": "designvægte", "weights": "vægte", "none": "ingen"}


def _se_type_text(se_type: str, lang: str) -> str:
    """``se_type`` (a result's English standard-error description) in language ``lang``.

    Every description the civmodels results produce has a Danish wording; an unknown one
    (e.g. from a result class added later) is kept as it is rather than guessed at.
    """
    if lang != "da":
        return se_type
    for pattern, da in _SE_TYPES_DA:
        if pattern.fullmatch(se_type):
            return pattern.sub(da, se_type)
    return se_type


def _weights_text(weights: str, lang: str) -> str:
    """The weights kind ``weights`` (``"design weights"``, ``"weights"``, ``"none"`` or a
    weights column's name) in language ``lang``; column names are kept."""
    return _WEIGHTS_DA.get(weights, weights) if lang == "da" else weights


def _note(
    cols: list[_Column],
    names: list[str],
    *,
    ci: bool,
    level: float,
    exponentiate: bool,
    lang: str,
) -> str:
    da = lang == "da"

    def per_model(values: Sequence[str | None]) -> str:
        if len(set(values)) == 1:
            return str(values[0])
        # "; " separated, so the LaTeX note can give each model its own short line
        return "; ".join(
            f"{n} {v}" if re.fullmatch(r"\(\d+\)", n) else f"{n}: {v}"
            for n, v in zip(names, values, strict=True)
            if v
        )

    se_types = [None if c.se_type is None else _se_type_text(c.se_type, lang) for c in cols]
    kind = per_model(se_types) if any(se_types) else None
    if ci:
        first = (
            f"{level:.0%}-interval i kantet parentes"
            if da
            else f"{level:.0%} intervals in brackets"
        )
        if kind:
            first += f" (standardfejl: {kind})" if da else f" (standard errors: {kind})"
    else:
        first = "Standardfejl i parentes" if da else "Standard errors in parentheses"
        if kind:
            first += f": {kind}"
    parts = [first]
    weights = [c.weights for c in cols]
    if any(weights):
        shown = [_weights_text(w or "none", lang) for w in weights]
        parts.append(("vægte: " if da else "weights: ") + per_model(shown))
    else:
        parts.append("uvægtet" if da else "unweighted")
    if any(c.bayes for c in cols):
        parts.append(
            "bayesianske modeller: posteriorgennemsnit, posterior-SD og kredibilitetsintervaller"
            if da
            else "Bayesian models: posterior means, posterior SDs and credible intervals"
        )
    if exponentiate:
        parts.append(
            "eksponentierede koefficienter (oddsratioer)"
            if da
            else "exponentiated coefficients (odds ratios)"
        )
        if any(c.intercept for c in cols):
            parts.append(
                "konstantleddet som basisodds (odds ved referencekategorierne og kovariater lig 0)"
                if da
                else "intercept as baseline odds (the odds at the reference levels and "
                "zero covariates)"
            )
    if any(c.stars for c in cols):
        parts.append(
            "* p<0.05, ** p<0.01, *** p<0.001 (ikke for konstantled og tærskler)"
            if da
            else "* p<0.05, ** p<0.01, *** p<0.001 (not for intercepts and thresholds)"
        )
    return "; ".join(parts) + "."


@dataclass(frozen=True)
class _Grid:
    """A rendered-format-independent table: header rows, (block, label, cells) rows, note."""

    header: list[list[str]]
    rows: list[tuple[str, str, list[str]]]
    note: str
    title: str | None

    @property
    def k(self) -> int:
        return len(self.header[-1])

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, note: str, title: str | None) -> _Grid:
        if isinstance(frame.columns, pd.MultiIndex):
            header = [[str(v) for v in frame.columns.get_level_values(i)] for i in range(2)]
        else:
            header = [[str(c) for c in frame.columns]]
        rows = [
            (str(block), str(term) if row == "est" else "", [str(v) for v in vals])
            for (block, term, row), vals in frame.iterrows()
        ]
        return cls(header, rows, note, title)

    def blocks(self) -> list[tuple[str, list[tuple[str, list[str]]]]]:
        out: list[tuple[str, list[tuple[str, list[str]]]]] = []
        for block, label, cells in self.rows:
            if not out or out[-1][0] != block:
                out.append((block, []))
            out[-1][1].append((label, cells))
        return out

    def to_markdown(self) -> str:
        esc = markdown_escape
        k = self.k
        lines = [f"**{esc(self.title)}**", ""] if self.title else []
        head = self.header[-1]
        lines.append("| | " + " | ".join(map(esc, head)) + " |")
        lines.append("|---|" + "---:|" * k)
        if len(self.header) > 1:
            lines.append("| *Outcome* | " + " | ".join(map(esc, self.header[0])) + " |")
        for block, rows in self.blocks():
            lines.append(f"| *{esc(block)}* |" + " |" * k)
            for label, cells in rows:
                lines.append(f"| {esc(label)} | " + " | ".join(map(esc, cells)) + " |")
        lines += ["", f"_{esc(self.note)}_"]
        return "\n".join(lines) + "\n"

    def to_html(self) -> str:
        k, e = self.k, html.escape
        parts = [
            "<div class='civmodels-table-wrap' style='max-width:100%;overflow-x:auto'>",
            "<table class='civmodels-regression-table' style='border-collapse:collapse'>",
        ]
        if self.title:
            parts.append(f"<caption>{e(self.title)}</caption>")
        parts.append("<thead>")
        for i, head in enumerate(self.header):
            top = "border-top:2px solid;" if i == 0 else ""
            bottom = "border-bottom:1px solid" if i == len(self.header) - 1 else ""
            parts.append(f"<tr style='{top}{bottom}'><th></th>")
            parts += [f"<th style='text-align:center'>{e(c)}</th>" for c in head]
            parts.append("</tr>")
        parts.append("</thead><tbody>")
        for block, rows in self.blocks():
            parts.append(
                f"<tr style='border-top:1px solid'><td colspan='{k + 1}' "
                f"style='text-align:left'><i>{e(block)}</i></td></tr>"
            )
            for label, cells in rows:
                parts.append(
                    "<tr><td style='text-align:left'>"
                    + e(label)
                    + "</td>"
                    + "".join(f"<td style='text-align:center'>{e(c)}</td>" for c in cells)
                    + "</tr>"
                )
        parts.append(
            f"</tbody><tfoot><tr style='border-top:2px solid'><td colspan='{k + 1}' "
            f"style='text-align:left'><small>{e(self.note)}</small></td></tr></tfoot></table>"
        )
        parts.append("</div>")
        return "\n".join(parts)

    def to_latex(self) -> str:
        k = self.k
        lines = [f"% {self.title}"] if self.title else []
        lines += [r"\begin{tabular}{l" + "c" * k + "}", r"\toprule"]
        for head in self.header:
            lines.append(" & ".join(["", *(latex_escape(c) for c in head)]) + r" \\")
        lines.append(r"\midrule")
        for i, (block, rows) in enumerate(self.blocks()):
            if i:
                lines.append(r"\midrule")
            lines.append(multicolumn(k + 1, "l", r"\textit{" + latex_escape(block) + "}"))
            for label, cells in rows:
                cells_tex = [_tex_stars(latex_escape(c)) for c in cells]
                lines.append(" & ".join([latex_escape(label), *cells_tex]) + r" \\")
        lines.append(r"\bottomrule")
        # one short line per part of the note, so the note never widens the table
        for part in self.note.split("; "):
            lines.append(
                multicolumn(k + 1, "l", r"\footnotesize " + _tex_stars(latex_escape(part)))
            )
        lines.append(r"\end{tabular}")
        return "\n".join(lines) + "\n"


def _tex_stars(text: str) -> str:
    return re.sub(r"\*+", lambda m: "$^{" + m[0] + "}$", text)


#: Columns of a replication table shown by :func:`verdict_table`, with their headings.
_VERDICT_COLUMNS = {
    "finding_id": "Finding",
    "outcome": "Outcome",
    "by": "By",
    "method": "Method",
    "estimate": "Estimate",
    "interval": "95% interval",
    "p_value": "p",
    "verdict": "Verdict",
}


def verdict_table(
    results: pd.DataFrame, *, output: Literal["frame", "html", "markdown"] = "html"
) -> Any:
    """A compact view of :func:`civmodels.replication.run`'s results, one row per test.

    Parameters
    ----------
    results : pandas.DataFrame
        The table returned by :func:`civmodels.replication.run`.
    output : {"html", "markdown", "frame"}, default "html"
        ``"html"`` renders in a notebook (and scrolls sideways when wide), ``"markdown"``
        gives a GitHub table with escaped cells, ``"frame"`` the display strings.

    Returns
    -------
    HTMLTable, MarkdownTable or pandas.DataFrame
        Finding, outcome, grouping, method, estimate with its interval, p-value and verdict.
    """
    if output not in ("frame", "html", "markdown"):
        raise ValueError(f"output={output!r}; choose 'html', 'markdown' or 'frame'")
    need = [c for c in (*_VERDICT_COLUMNS, "ci_lower", "ci_upper") if c != "interval"]
    missing = [c for c in need if c not in results.columns]
    if missing:
        raise ValueError(
            f"results lacks columns {missing}; pass the table civmodels.replication.run returns"
        )
    out = pd.DataFrame(
        {
            "finding_id": results["finding_id"].astype(str),
            "outcome": results["outcome"].astype(str),
            "by": results["by"].astype(str),
            "method": results["method"].astype(str),
            "estimate": [_fmt(v, 3) for v in results["estimate"]],
            "interval": [
                f"[{_fmt(lo, 3)}, {_fmt(hi, 3)}]" if np.isfinite(lo) and np.isfinite(hi) else ""
                for lo, hi in zip(results["ci_lower"], results["ci_upper"], strict=True)
            ],
            "p_value": [_fmt(v, 4) for v in results["p_value"]],
            "verdict": results["verdict"].astype(str),
        }
    ).rename(columns=_VERDICT_COLUMNS)
    if output == "frame":
        return out
    if output == "markdown":
        lines = ["| " + " | ".join(map(markdown_escape, out.columns)) + " |"]
        lines.append("|" + "---|" * out.shape[1])
        lines += ["| " + " | ".join(map(markdown_escape, row)) + " |" for row in out.to_numpy()]
        return MarkdownTable("\n".join(lines) + "\n")
    return HTMLTable(
        "<div class='civmodels-table-wrap' style='max-width:100%;overflow-x:auto'>"
        + out.to_html(index=False, escape=True, border=0)
        + "</div>"
    )
