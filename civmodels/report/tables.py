"""Publication tables: several fitted models side by side.

:func:`regression_table` relies only on the shared result contract (``params``,
``std_errors``, ``conf_int``, ``nobs``, ``n_dropped``, and optionally ``thresholds``, ``coef``,
``re_sd``, ``loglik``, ``aic``, ``bic``, ``icc``, ``pvalues``, ``n_clusters``/``n_groups``), so
frequentist and Bayesian results mix freely: a Bayesian column shows posterior means, posterior
SDs and credible intervals, and gets no significance stars.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from ._latex import latex_escape, multicolumn

__all__ = ["HTMLTable", "MarkdownTable", "regression_table", "term_label"]

Output = Literal["latex", "html", "markdown", "frame"]

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
}
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
    "coef": {"da": "Koefficienter", "en": "Coefficients", None: "Coefficients"},
    "thresholds": {"da": "Tærskler", "en": "Thresholds", None: "Thresholds"},
    "re_sd": {
        "da": "Tilfældige effekter (SD)",
        "en": "Random effects (SD)",
        None: "Random effects (SD)",
    },
    "stats": {"da": "Modelstatistik", "en": "Model statistics", None: "Model statistics"},
}
_STAT_NAMES = {
    "nobs": {"da": "N", "en": "N"},
    "n_dropped": {"da": "Udeladte rækker", "en": "Rows dropped"},
    "clusters": {"da": "Klynger", "en": "Clusters"},
    "loglik": {"da": "Log-likelihood", "en": "Log-likelihood"},
    "aic": {"da": "AIC", "en": "AIC"},
    "bic": {"da": "BIC", "en": "BIC"},
    "icc": {"da": "ICC", "en": "ICC"},
}


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


def _get(res: Any, name: str) -> Any:
    try:
        value = getattr(res, name)
    except (AttributeError, NotImplementedError, ValueError):
        return None
    return value() if callable(value) and name not in ("conf_int",) else value


def _clusters(res: Any) -> Any:
    for name in ("n_clusters", "n_groups", "ngroups"):
        v = _get(res, name)
        if v is None:
            continue
        if isinstance(v, Mapping):
            return (
                ", ".join(f"{k}: {n}" for k, n in v.items())
                if len(v) > 1
                else next(iter(v.values()), None)
            )
        return v
    return None


def _stars(p: float) -> str:
    if p is None or not np.isfinite(p):
        return ""
    return "***" if p < 0.001 else "**" if p < 0.01 else "*" if p < 0.05 else ""


def _fmt(x: float, digits: int) -> str:
    if x is None or not np.isfinite(x):
        return ""
    return f"{x:.{digits}f}"


def _model_columns(
    res: Any, *, exponentiate: bool, stars: bool, ci: bool, digits: int, level: float
) -> dict[tuple[str, str, str], str]:
    """(block, term, row) -> cell text for one model."""
    cells: dict[tuple[str, str, str], str] = {}
    params: pd.Series = res.params
    se: pd.Series = res.std_errors.reindex(params.index)
    bounds = res.conf_int(level=level).reindex(params.index)
    pvals = _get(res, "pvalues")
    thr = _get(res, "thresholds")
    coef = _get(res, "coef")
    thr_names = list(thr.index) if isinstance(thr, pd.Series) else []
    coef_names = (
        list(coef.index)
        if isinstance(coef, pd.Series)
        else [t for t in params.index if t not in thr_names]
    )
    for block, names in (("coef", coef_names), ("thresholds", thr_names)):
        for term in names:
            if term not in params.index:
                continue
            b, s = float(params[term]), float(se[term])
            lo, hi = float(bounds.loc[term].iloc[0]), float(bounds.loc[term].iloc[1])
            if exponentiate and block == "coef":
                b, lo, hi = np.exp(b), np.exp(lo), np.exp(hi)
                s = b * s  # delta method SE of exp(b)
            star = ""
            if stars and isinstance(pvals, pd.Series) and term in pvals.index:
                star = _stars(float(pvals[term]))
            cells[(block, term, "est")] = _fmt(b, digits) + star
            cells[(block, term, "se")] = (
                f"[{_fmt(lo, digits)}, {_fmt(hi, digits)}]" if ci else f"({_fmt(s, digits)})"
            )
    re_sd = _get(res, "re_sd")
    if isinstance(re_sd, (pd.Series, Mapping)):
        for g, v in dict(re_sd).items():
            cells[("re_sd", str(g), "est")] = _fmt(float(v), digits)
    stats = {
        "nobs": _get(res, "nobs"),
        "n_dropped": _get(res, "n_dropped"),
        "clusters": _clusters(res),
        "loglik": _get(res, "loglik"),
        "aic": _get(res, "aic"),
        "bic": _get(res, "bic"),
        "icc": _get(res, "icc"),
    }
    for key, v in stats.items():
        if v is None:
            continue
        if isinstance(v, (pd.Series, Mapping)):
            vals = dict(v)
            if not vals:
                continue
            v = next(iter(vals.values())) if len(vals) == 1 else None
            if v is None:
                cells[("stats", key, "est")] = ", ".join(
                    f"{k}: {float(x):.3f}" for k, x in vals.items()
                )
                continue
        if isinstance(v, (int, np.integer)):
            cells[("stats", key, "est")] = f"{int(v)}"
        elif isinstance(v, (float, np.floating)):
            if np.isfinite(v):
                cells[("stats", key, "est")] = _fmt(float(v), 3 if key == "icc" else 2)
        else:
            cells[("stats", key, "est")] = str(v)
    return cells


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
) -> pd.DataFrame | str:
    """Several fitted models side by side, as a publication table.

    Parameters
    ----------
    *results
        Fitted results following the civmodels result contract (frequentist or Bayesian).
    output : {"frame", "latex", "html", "markdown"}, default "frame"
        ``"frame"``: a DataFrame of display strings indexed by (block, term, row);
        ``"latex"``: a booktabs ``tabular`` (needs ``\\usepackage{booktabs}``);
        ``"html"``: an HTML table that renders in a notebook; ``"markdown"``: GitHub Markdown.
    exponentiate : bool, default False
        Show exp(coefficient) (odds ratios for logit links); standard errors by the delta
        method, intervals by transforming the bounds. Thresholds are never exponentiated.
    stars : bool, default True
        Mark p < 0.05, 0.01, 0.001 with ``*``, ``**``, ``***``. Only results with ``pvalues``
        get stars (Bayesian results do not).
    ci : bool, default False
        Show the ``level`` interval under each estimate instead of the standard error.
    labels : {"da", "en"} or mapping, optional
        Danish or English term labels from the codebook (and the report's independent
        variables), or an explicit mapping term -> label. Default: the raw term names.
    names : sequence of str, optional
        Column titles (default ``(1)``, ``(2)``, ... or each result's ``name``).
    digits : int, default 3
        Display digits; rounding never changes the results.
    level : float, default 0.95
        Interval level when ``ci=True``.
    title : str, optional
        Caption (HTML, Markdown, LaTeX comment).

    Returns
    -------
    pandas.DataFrame or str
        The table in the requested format.

    Notes
    -----
    Blocks: location coefficients; thresholds; random-effect standard deviations; model
    statistics (N, rows dropped, clusters, log-likelihood, AIC, BIC, ICC). A cell is empty
    when a model lacks the term or statistic.
    """
    if not results:
        raise ValueError("regression_table needs at least one fitted result")
    if output not in ("frame", "latex", "html", "markdown"):
        raise ValueError(f"output={output!r}; choose 'frame', 'latex', 'html' or 'markdown'")
    if isinstance(labels, str) and labels not in ("da", "en"):
        raise ValueError(f"labels={labels!r}; choose 'da', 'en', a mapping or None")
    for i, r in enumerate(results):
        missing = [a for a in ("params", "std_errors", "conf_int") if not hasattr(r, a)]
        if missing:
            raise TypeError(
                f"result {i + 1} ({type(r).__name__}) lacks {missing}; regression_table needs "
                "fitted civmodels results (params, std_errors, conf_int, nobs)"
            )
    if names is None:
        names = [str(getattr(r, "name", None) or f"({i + 1})") for i, r in enumerate(results)]
    names = list(names)
    if len(names) != len(results):
        raise ValueError(f"got {len(names)} names for {len(results)} results")
    cols = [
        _model_columns(r, exponentiate=exponentiate, stars=stars, ci=ci, digits=digits, level=level)
        for r in results
    ]
    order: list[tuple[str, str, str]] = []
    for block in ("coef", "thresholds", "re_sd", "stats"):
        for c in cols:
            for key in c:
                if key[0] == block and key not in order:
                    order.append(key)
    # keep estimate and SE rows of a term together
    first_seen: dict[tuple[str, str], int] = {}
    for pos, key in enumerate(order):
        first_seen.setdefault(key[:2], pos)
    blocks_order = ["coef", "thresholds", "re_sd", "stats"]
    order = sorted(
        order, key=lambda k: (blocks_order.index(k[0]), first_seen[k[:2]], k[2] != "est")
    )
    lang = labels if isinstance(labels, str) else None
    cb = _codebook_labels(lang) if lang else {}

    def label(block: str, term: str) -> str:
        if block == "stats":
            return _STAT_NAMES[term][lang or "en"]
        if block == "thresholds":
            return term
        return term_label(term, labels, cb)

    index = pd.MultiIndex.from_tuples(
        [(_BLOCK_NAMES[b][lang], label(b, t), r) for b, t, r in order],
        names=["block", "term", "row"],
    )
    frame = pd.DataFrame(
        [[c.get(k, "") for c in cols] for k in order], index=index, columns=names, dtype=object
    )
    note = _note(
        stars and any(_get(r, "pvalues") is not None for r in results),
        ci,
        level,
        exponentiate,
        lang,
        bayes=any(_get(r, "pvalues") is None for r in results),
    )
    if output == "frame":
        frame.attrs["note"] = note
        return frame
    if output == "markdown":
        return MarkdownTable(_to_markdown(frame, note, title))
    if output == "html":
        return HTMLTable(_to_html(frame, note, title))
    return _to_latex(frame, note, title)


def _note(
    stars: bool, ci: bool, level: float, exponentiate: bool, lang: str | None, bayes: bool
) -> str:
    da = lang == "da"
    parts = []
    if ci:
        parts.append(
            f"{level:.0%}-interval i parentes" if da else f"{level:.0%} intervals in brackets"
        )
    else:
        if bayes:
            parts.append(
                "Standardfejl (posterior-SD for bayesianske modeller) i parentes"
                if da
                else "Standard errors (posterior SDs for Bayesian models) in parentheses"
            )
        else:
            parts.append("Standardfejl i parentes" if da else "Standard errors in parentheses")
    if exponentiate:
        parts.append(
            "eksponentierede koefficienter (odds ratio)"
            if da
            else "exponentiated coefficients (odds ratios)"
        )
    if stars:
        parts.append("* p<0.05, ** p<0.01, *** p<0.001")
    return "; ".join(parts) + "."


def _display_rows(frame: pd.DataFrame) -> list[tuple[str, str, list[str]]]:
    """(block, row label, cells); the SE row gets an empty label."""
    out = []
    for (block, term, row), vals in frame.iterrows():
        out.append((block, term if row == "est" else "", [str(v) for v in vals]))
    return out


def _to_markdown(frame: pd.DataFrame, note: str, title: str | None) -> str:
    lines = [f"**{title}**", ""] if title else []
    lines.append("| | " + " | ".join(map(str, frame.columns)) + " |")
    lines.append("|---|" + "---:|" * frame.shape[1])
    current = None
    for block, label, cells in _display_rows(frame):
        if block != current:
            lines.append(f"| *{block}* |" + " |" * frame.shape[1])
            current = block
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += ["", f"_{note}_"]
    return "\n".join(lines) + "\n"


def _to_html(frame: pd.DataFrame, note: str, title: str | None) -> str:
    k = frame.shape[1]
    parts = ["<table class='civmodels-regression-table' style='border-collapse:collapse'>"]
    if title:
        parts.append(f"<caption>{html.escape(title)}</caption>")
    parts.append("<thead><tr style='border-top:2px solid;border-bottom:1px solid'><th></th>")
    parts += [f"<th style='text-align:center'>{html.escape(str(c))}</th>" for c in frame.columns]
    parts.append("</tr></thead><tbody>")
    current = None
    for block, label, cells in _display_rows(frame):
        if block != current:
            parts.append(
                f"<tr style='border-top:1px solid'><td colspan='{k + 1}'><i>"
                f"{html.escape(block)}</i></td></tr>"
            )
            current = block
        parts.append(
            "<tr><td style='text-align:left'>"
            + html.escape(label)
            + "</td>"
            + "".join(f"<td style='text-align:center'>{html.escape(c)}</td>" for c in cells)
            + "</tr>"
        )
    parts.append(
        f"</tbody><tfoot><tr style='border-top:2px solid'><td colspan='{k + 1}'>"
        f"<small>{html.escape(note)}</small></td></tr></tfoot></table>"
    )
    return "\n".join(parts)


def _tex_stars(text: str) -> str:
    return re.sub(r"\*+", lambda m: "$^{" + m[0] + "}$", text)


def _to_latex(frame: pd.DataFrame, note: str, title: str | None) -> str:
    k = frame.shape[1]
    lines = [f"% {title}"] if title else []
    lines += [
        r"\begin{tabular}{l" + "c" * k + "}",
        r"\toprule",
        " & ".join(["", *(latex_escape(c) for c in frame.columns)]) + r" \\",
        r"\midrule",
    ]
    current = None
    for block, label, cells in _display_rows(frame):
        if block != current:
            if current is not None:
                lines.append(r"\midrule")
            lines.append(multicolumn(k + 1, "l", r"\textit{" + latex_escape(block) + "}"))
            current = block
        cells_tex = [_tex_stars(latex_escape(c)) for c in cells]
        lines.append(" & ".join([latex_escape(label), *cells_tex]) + r" \\")
    lines += [
        r"\bottomrule",
        multicolumn(k + 1, "l", r"\footnotesize " + _tex_stars(latex_escape(note))),
        r"\end{tabular}",
    ]
    return "\n".join(lines) + "\n"
