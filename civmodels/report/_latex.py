"""LaTeX rendering shared by :class:`civmodels.results.Summary` and the report tables."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ..results import Summary

__all__ = ["latex_escape", "summary_to_latex"]

_ESCAPES = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def latex_escape(text: object) -> str:
    """Escape LaTeX special characters in ``text``."""
    return "".join(_ESCAPES.get(ch, ch) for ch in str(text))


def summary_to_latex(summary: Summary) -> str:
    """Render a :class:`~civmodels.results.Summary` as a booktabs table."""
    blocks = [b for b in summary.blocks.values() if len(b)]
    ncol = max((b.shape[1] for b in blocks), default=1)
    lines = [
        r"\begin{tabular}{l" + "r" * ncol + "}",
        r"\toprule",
        rf"\multicolumn{{{ncol + 1}}}{{l}}{{{latex_escape(summary.title)}}} \\",
        r"\midrule",
    ]
    for name, df in summary.blocks.items():
        if not len(df):
            continue
        lines.append(rf"\multicolumn{{{ncol + 1}}}{{l}}{{\textit{{{latex_escape(name)}}}}} \\")
        lines.append(" & ".join(["", *(latex_escape(c) for c in df.columns)]) + r" \\")
        lines.append(r"\midrule")
        for idx, row in df.iterrows():
            cells = []
            for v in row:
                if isinstance(v, (float, np.floating)):
                    cells.append("" if np.isnan(v) else f"{v:.{summary.digits}f}")
                else:
                    cells.append(latex_escape(v))
            cells += [""] * (ncol - len(cells))
            lines.append(" & ".join([latex_escape(idx), *cells]) + r" \\")
        lines.append(r"\midrule")
    for k, v in summary.info.items():
        val = f"{v:.{summary.digits}f}" if isinstance(v, (float, np.floating)) else str(v)
        lines.append(rf"{latex_escape(k)} & \multicolumn{{{ncol}}}{{r}}{{{latex_escape(val)}}} \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"
