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

__all__ = ["ResultProtocol", "Summary", "wald_table"]


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


@dataclass(frozen=True)
class Summary:
    """A model summary: a header of facts and one or more labelled coefficient blocks.

    Display rounding (``digits``) never changes the stored values; ``to_frame()`` returns
    them unrounded.

    Parameters
    ----------
    title : str
        E.g. ``"Cumulative link model (logit)"``.
    info : mapping of str to object
        Header facts: formula, nobs, rows dropped, log-likelihood, AIC, covariance type, ...
    blocks : mapping of str to pandas.DataFrame
        Tables such as ``"Thresholds"``, ``"Location"``, ``"Random effects"``.
    notes : tuple of str
        Footnotes (warnings, how rows were dropped, what the standard errors are).
    digits : int, default 4
        Display digits.
    """

    title: str
    info: Mapping[str, Any]
    blocks: Mapping[str, pd.DataFrame]
    notes: tuple[str, ...] = ()
    digits: int = 4
    _extra: Mapping[str, Any] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """All blocks stacked, with a ``block`` level in the index (unrounded values)."""
        frames = {k: v for k, v in self.blocks.items() if len(v)}
        if not frames:
            return pd.DataFrame()
        return pd.concat(frames, names=["block", "term"])

    def _rounded(self, df: pd.DataFrame) -> pd.DataFrame:
        return df.map(lambda x: _fmt(x, self.digits))

    def to_markdown(self) -> str:
        """GitHub-flavoured Markdown."""
        lines = [f"### {self.title}", ""]
        lines += [f"- **{k}**: {_fmt(v, self.digits)}" for k, v in self.info.items()]
        for name, df in self.blocks.items():
            lines += ["", f"**{name}**", ""]
            r = self._rounded(df)
            cols = ["term", *map(str, r.columns)]
            lines.append("| " + " | ".join(cols) + " |")
            lines.append("|" + "|".join(["---"] + ["---:"] * len(r.columns)) + "|")
            for idx, row in r.iterrows():
                lines.append("| " + " | ".join([str(idx), *row.astype(str)]) + " |")
        if self.notes:
            lines += [""] + [f"_{n}_" for n in self.notes]
        return "\n".join(lines) + "\n"

    def to_html(self) -> str:
        """An HTML fragment (also the notebook representation)."""
        parts = [f"<h4>{html.escape(self.title)}</h4>", "<table>"]
        for k, v in self.info.items():
            parts.append(
                f"<tr><th style='text-align:left'>{html.escape(str(k))}</th>"
                f"<td>{html.escape(_fmt(v, self.digits))}</td></tr>"
            )
        parts.append("</table>")
        for name, df in self.blocks.items():
            parts.append(f"<p><b>{html.escape(name)}</b></p>")
            parts.append(self._rounded(df).to_html(escape=True))
        for n in self.notes:
            parts.append(f"<p><i>{html.escape(n)}</i></p>")
        return "\n".join(parts)

    def _repr_html_(self) -> str:
        return self.to_html()

    def to_latex(self) -> str:
        """A booktabs ``tabular`` with one panel per block."""
        from .report._latex import summary_to_latex

        return summary_to_latex(self)

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
