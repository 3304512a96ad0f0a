"""The result contract shared by every civmodels model, and the :class:`Summary` object.

Every fitted result — frequentist or Bayesian — exposes ``params``, ``std_errors``,
``conf_int(level=0.95)``, ``nobs``, ``n_dropped``, ``summary()``, ``predict(newdata=None,
kind=...)`` and ``to_frame()``. Frequentist results add ``pvalues``, ``vcov``, ``loglik``,
``aic``, ``bic`` and ``converged``; ordinal results ``thresholds`` and ``coef``; mixed results
``re_sd``. :class:`ResultProtocol` states the common part so that reporting code can rely on it.

Results are immutable: another covariance choice is another ``fit``.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

__all__ = [
    "MODEL_BLOCKS",
    "MODEL_COLUMNS",
    "STAT_KEYS",
    "ResultProtocol",
    "Summary",
    "SummaryDisplay",
    "markdown_escape",
    "model_stats",
    "wald_table",
]


@runtime_checkable
class ResultProtocol(Protocol):
    """What every civmodels result provides."""

    @property
    def params(self) -> pd.Series:
        """Estimates (posterior means for Bayesian results), thresholds first."""
        ...

    @property
    def std_errors(self) -> pd.Series:
        """Standard errors (posterior SDs), aligned with ``params``."""
        ...

    @property
    def nobs(self) -> int:
        """Rows used in the fit."""
        ...

    @property
    def n_dropped(self) -> int:
        """Rows excluded for missing values (also shown in ``summary()``)."""
        ...

    def conf_int(self, level: float = 0.95) -> pd.DataFrame:
        """Confidence (or equal-tailed credible) intervals at ``level``."""
        ...

    def summary(self) -> Summary:
        """A :class:`Summary` with header facts and coefficient blocks."""
        ...

    def to_frame(self) -> pd.DataFrame:
        """The estimates table as a DataFrame, unrounded."""
        ...


def wald_table(
    params: pd.Series,
    std_errors: pd.Series,
    *,
    level: float = 0.95,
    df: float | None = None,
) -> pd.DataFrame:
    """Estimates, standard errors, Wald statistics, p-values and confidence limits.

    Parameters
    ----------
    params, std_errors : pandas.Series
        Aligned estimates and standard errors.
    level : float, default 0.95
        Confidence level.
    df : float, optional
        Degrees of freedom for a t reference distribution (design-based inference uses the
        design's degrees of freedom); normal reference when omitted.

    Returns
    -------
    pandas.DataFrame
        Columns ``estimate, std_error, statistic, p_value, ci_lower, ci_upper``.
    """
    from scipy import stats  # deferred: scipy.stats costs ~0.5 s at ``import civmodels``

    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    est = params.to_numpy(float)
    se = std_errors.reindex(params.index).to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = est / se
    ref = stats.norm if df is None else stats.t(df)
    p = 2 * ref.sf(np.abs(z))
    q = ref.ppf(0.5 + level / 2)
    return pd.DataFrame(
        {
            "estimate": est,
            "std_error": se,
            "statistic": z,
            "p_value": p,
            "ci_lower": est - q * se,
            "ci_upper": est + q * se,
        },
        index=params.index,
    )


def with_odds_ratios(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` (a :func:`wald_table`) with ``exp`` of the estimate and of its CI limits added
    as ``odds_ratio``, ``or_lower`` and ``or_upper`` (odds ratios for the logit link)."""
    return table.assign(
        odds_ratio=np.exp(table["estimate"]),
        or_lower=np.exp(table["ci_lower"]),
        or_upper=np.exp(table["ci_upper"]),
    )


def _fmt(x: Any, digits: int) -> str:
    if isinstance(x, (float, np.floating)):
        if np.isnan(x):
            return ""
        size = abs(float(x))
        if size != 0 and (size < 10.0 ** (-digits) or size >= 1e6):
            return f"{x:.{digits}g}"
        return f"{x:.{digits}f}"
    return str(x)


_MD_SPECIALS = str.maketrans({c: "\\" + c for c in "\\|*_`<"} | {"\n": " ", "\r": " "})


def markdown_escape(text: object) -> str:
    """``text`` safe inside a GitHub-flavoured Markdown table cell.

    The pipe (which would end the cell: threshold names such as ``"Slet ikke vigtigt|Mindre
    vigtigt"`` contain one), the backslash, emphasis and code marks and ``<`` (which could
    open an HTML tag) get a backslash; line breaks become spaces.
    """
    return str(text).translate(_MD_SPECIALS)


#: Block names a model summary may use, in display order. Fixed, mixed, weighted, design-based
#: and Bayesian fits all use these, so tables treat them alike. ``Loadings`` are the item
#: loadings of a Bayesian battery (:class:`civmodels.bayes.Battery`); ``Response model`` is
#: the response-propensity part of :class:`civmodels.bayes.JointResponse` (its coefficients,
#: intercept and the loading ``lambda`` of the shared effect).
MODEL_BLOCKS = (
    "Thresholds",
    "Location",
    "Coefficients",
    "Nominal",
    "Scale",
    "Loadings",
    "Response model",
    "Random effects",
)
#: Columns every model-summary block has (posterior mean, posterior SD and credible
#: limits for Bayesian results); frequentist blocks add ``statistic`` and ``p_value``.
MODEL_COLUMNS = ("estimate", "std_error", "ci_lower", "ci_upper")
#: Keys of :attr:`Summary.stats` for a fitted model (absent when they do not apply).
STAT_KEYS = (
    "outcome",
    "estimator",
    "nobs",
    "n_dropped",
    "n_groups",
    "n_clusters",
    "icc",
    "loglik",
    "loglik_kind",
    "aic",
    "bic",
    "se_type",
    "weights",
)


def model_stats(result: Any, **facts: Any) -> dict[str, Any]:
    """The machine-readable :attr:`Summary.stats` of a fitted model.

    Reads what results expose (``nobs``, ``n_dropped``, ``loglik``, ``aic``, ``bic``,
    ``cov_label``/``cov_type``, ``n_clusters``, ``re_sd``/``icc`` and the model's
    ``weights_name`` and outcome); ``facts`` adds or overrides entries (e.g. ``se_type`` for
    Bayesian fits). Entries that do not apply are left out. A likelihood maximised with
    sampling weights (or a design) is a pseudo-likelihood: it is reported as such
    (``loglik_kind="pseudo"``) and no AIC or BIC is given.
    """
    out: dict[str, Any] = {}
    model = getattr(result, "model", None)
    outcome = getattr(model, "outcome", None) or getattr(model, "response", None)
    formula = getattr(model, "formula", None)
    if outcome is None and isinstance(formula, str):
        outcome = formula.split("~")[0].strip() or None
    if isinstance(outcome, str):
        out["outcome"] = outcome
    for key in ("nobs", "n_dropped"):
        value = getattr(result, key, None)
        if value is not None:
            out[key] = int(value)
    cov_type = getattr(result, "cov_type", None)
    weights = getattr(model, "weights_name", None)
    if weights is None and (cov_type == "design" or getattr(result, "weights", None) is not None):
        weights = "design weights" if cov_type == "design" else "weights"
    if weights and not getattr(model, "proportion", False):
        out["weights"] = str(weights)
    loglik = getattr(result, "loglik", None)
    if loglik is not None and np.isfinite(loglik):
        out["loglik"] = float(loglik)
        pseudo = cov_type == "design" or "weights" in out
        out["loglik_kind"] = "pseudo" if pseudo else "likelihood"
        if not pseudo:
            for key in ("aic", "bic"):
                value = getattr(result, key, None)
                if value is not None and np.isfinite(value):
                    out[key] = float(value)
    label = getattr(result, "cov_label", None)
    if label:
        out["se_type"] = str(label)
    n_clusters = getattr(result, "n_clusters", None)
    if n_clusters:
        out["n_clusters"] = int(n_clusters)
    modes = getattr(result, "modes", None)
    if isinstance(modes, Mapping) and modes:
        # one count per grouping factor: a random slope "x|g" shares the groups of "g"
        groups: dict[str, int] = {}
        for g, m in modes.items():
            groups.setdefault(str(g).rsplit("|", 1)[-1], len(m[0]))
        out["n_groups"] = groups
    icc = getattr(result, "icc", None)
    if isinstance(icc, pd.Series) and len(icc):
        # NaN (a random slope, or the cauchit link) is not shown as a number
        finite = {str(g): float(v) for g, v in icc.items() if np.isfinite(v)}
        if finite:
            out["icc"] = finite
    out.update({k: v for k, v in facts.items() if v is not None})
    return out


@dataclass(frozen=True)
class Summary:
    """A model summary: a header of facts and one or more labelled coefficient blocks.

    Display rounding (``digits``) never changes the stored values; ``to_frame()`` returns
    them unrounded. This object holds data and its plain displays (text, Markdown, HTML for
    notebooks); LaTeX and Word renderings live in :mod:`civmodels.report`
    (:func:`~civmodels.report.summary_to_latex`, :func:`~civmodels.report.summary_to_docx`).

    Parameters
    ----------
    title : str
        E.g. ``"Cumulative link model (logit)"``.
    info : mapping of str to object
        Header facts: formula, nobs, rows dropped, log-likelihood, AIC, covariance type, ...
    blocks : mapping of str to pandas.DataFrame
        Tables such as ``"Thresholds"``, ``"Location"``, ``"Random effects"``. Model summaries
        use the names in :data:`MODEL_BLOCKS` and blocks that have the columns
        :data:`MODEL_COLUMNS`.
    notes : tuple of str
        Footnotes (warnings, how rows were dropped, what the standard errors are).
    digits : int, default 4
        Display digits.
    stats : mapping of str to object
        Machine-readable fit facts with the keys of :data:`STAT_KEYS` (see
        :func:`model_stats`); what :func:`~civmodels.report.regression_table` reads.
    """

    title: str
    info: Mapping[str, Any]
    blocks: Mapping[str, pd.DataFrame]
    notes: tuple[str, ...] = ()
    digits: int = 4
    stats: Mapping[str, Any] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """All blocks stacked, with a ``block`` level in the index (unrounded values)."""
        frames = {k: v for k, v in self.blocks.items() if len(v)}
        if not frames:
            return pd.DataFrame()
        return pd.concat(frames, names=["block", "term"])

    def _rounded(self, df: pd.DataFrame) -> pd.DataFrame:
        return df.map(lambda x: _fmt(x, self.digits))

    def to_markdown(self) -> str:
        """GitHub-flavoured Markdown (cells escaped, so every row keeps its columns)."""
        esc = markdown_escape
        lines = [f"### {esc(self.title)}", ""]
        lines += [f"- **{esc(k)}**: {esc(_fmt(v, self.digits))}" for k, v in self.info.items()]
        for name, df in self.blocks.items():
            lines += ["", f"**{esc(name)}**", ""]
            r = self._rounded(df)
            cols = ["term", *map(str, r.columns)]
            lines.append("| " + " | ".join(map(esc, cols)) + " |")
            lines.append("|" + "|".join(["---"] + ["---:"] * len(r.columns)) + "|")
            for idx, row in r.iterrows():
                lines.append("| " + " | ".join(map(esc, [idx, *row.astype(str)])) + " |")
        if self.notes:
            lines += [""] + [f"_{esc(n)}_" for n in self.notes]
        return "\n".join(lines) + "\n"

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def to_html(self) -> str:
        """An HTML fragment, also the notebook representation: the title, the header facts
        in two compact columns, the blocks, and the notes folded into a ``<details>``
        element. Wide blocks scroll inside their container."""
        e = html.escape
        parts = [
            "<div class='civmodels-summary' style='max-width:100%;overflow-x:auto'>",
            # estimates and term names on one line each; a wide block scrolls instead
            "<style>.civmodels-summary table.dataframe th,"
            ".civmodels-summary table.dataframe td{white-space:nowrap}</style>",
            f"<p style='margin:0.3em 0'><b>{e(self.title)}</b></p>",
        ]
        facts = [(e(str(k)), e(_fmt(v, self.digits))) for k, v in self.info.items()]
        if facts:
            half = (len(facts) + 1) // 2
            parts.append("<table style='font-size:90%'>")
            for i in range(half):
                cells = facts[i::half]  # facts i and i + half side by side
                parts.append(
                    "<tr>"
                    + "".join(
                        f"<th style='text-align:left'>{k}</th>"
                        f"<td style='text-align:left;padding-right:2em'>{v}</td>"
                        for k, v in cells
                    )
                    + "</tr>"
                )
            parts.append("</table>")
        for name, df in self.blocks.items():
            parts.append(f"<p style='margin:0.6em 0 0.2em'><i>{e(name)}</i></p>")
            parts.append(self._rounded(df).to_html(escape=True, border=0))
        if self.notes:
            parts.append(f"<details><summary>Notes ({len(self.notes)})</summary>")
            parts += [f"<p style='margin:0.2em 0'><small>{e(n)}</small></p>" for n in self.notes]
            parts.append("</details>")
        parts.append("</div>")
        return "\n".join(parts)

    def _repr_html_(self) -> str:
        return self.to_html()

    def __str__(self) -> str:
        width = 78
        out = [self.title.center(width), "=" * width]
        for k, v in self.info.items():
            out.append(f"{k + ':':<28}{_fmt(v, self.digits)}")
        for name, df in self.blocks.items():
            out += ["-" * width, name, self._rounded(df).to_string()]
        out.append("=" * width)
        out += list(self.notes)
        return "\n".join(out)

    __repr__ = __str__


class SummaryDisplay:
    """Mixin: notebook display of a result through its ``summary()`` (HTML and Markdown)."""

    def summary(self) -> Summary:  # provided by the host class
        """The host result's :class:`Summary` (every class using this mixin defines it)."""
        raise NotImplementedError

    def _repr_html_(self) -> str:
        return self.summary().to_html()

    def _repr_markdown_(self) -> str:
        return self.summary().to_markdown()
