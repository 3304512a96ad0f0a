"""LaTeX rendering shared by :class:`civmodels.results.Summary` and the report tables."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from ..results import Summary

__all__ = [
    "frame_to_latex",
    "latex_document",
    "latex_escape",
    "multicolumn",
    "summary_to_latex",
]

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
    # symbols that utf8 inputenc does not know without extra packages
    "≥": r"$\geq$",
    "≤": r"$\leq$",
    "−": "$-$",
    "×": r"$\times$",
    "²": r"$^2$",
    "χ": r"$\chi$",
}


def latex_escape(text: object) -> str:
    """Escape LaTeX special characters in ``text``."""
    return "".join(_ESCAPES.get(ch, ch) for ch in str(text))


def multicolumn(n: int, align: str, text: str) -> str:
    """A full ``\\multicolumn{n}{align}{text} \\\\`` row."""
    return r"\multicolumn{" + str(n) + "}{" + align + "}{" + text + r"} \\"


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


def frame_to_latex(
    df: pd.DataFrame,
    *,
    digits: int = 3,
    align: str | None = None,
    caption: str | None = None,
    index: bool = False,
) -> str:
    """Render a DataFrame as a booktabs ``tabular`` (floats rounded to ``digits``).

    Parameters
    ----------
    df : pandas.DataFrame
        Table to render; cells are escaped.
    digits : int, default 3
        Display digits of float cells (NaN prints empty).
    align : str, optional
        Column alignment (default ``l`` for text columns, ``r`` for numbers).
    caption : str, optional
        Written as a LaTeX comment above the table.
    index : bool, default False
        Include the index as the first column.
    """
    data = df.reset_index() if index else df
    if align is None:
        align = "".join(
            "r" if pd.api.types.is_numeric_dtype(data[c].dtype) else "l" for c in data.columns
        )

    def cell(v: object) -> str:
        if isinstance(v, (float, np.floating)):
            return "" if np.isnan(v) else f"{v:.{digits}f}"
        if v is None or (not isinstance(v, str) and pd.isna(v)):
            return ""
        return latex_escape(v)

    lines = [f"% {caption}"] if caption else []
    lines += [
        r"\begin{tabular}{" + align + "}",
        r"\toprule",
        " & ".join(latex_escape(c) for c in data.columns) + r" \\",
        r"\midrule",
    ]
    for row in data.itertuples(index=False):
        lines.append(" & ".join(cell(v) for v in row) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


def latex_document(*bodies: str, landscape: bool = False) -> str:
    """Wrap ``tabular`` bodies in a standalone document that compiles with ``pdflatex``.

    Uses only packages from Debian's ``texlive-latex-base`` and
    ``texlive-latex-recommended`` (booktabs, geometry, graphicx). Default OT1 fonts set æ, ø
    and å through ``inputenc``, so neither ``cm-super`` nor ``lm`` is needed.
    """
    opts = "a4paper,margin=1.5cm" + (",landscape" if landscape else "")
    head = [
        r"\documentclass[10pt]{article}",
        r"\usepackage[utf8]{inputenc}",
        r"\usepackage{booktabs}",
        r"\usepackage[" + opts + "]{geometry}",
        r"\begin{document}",
    ]
    parts = []
    for b in bodies:
        parts += [
            r"\begin{center}",
            r"\resizebox{\ifdim\width>\linewidth\linewidth\else\width\fi}{!}{%",
            b.rstrip(),
            "}",
            r"\end{center}",
            "",
        ]
    return (
        "\n".join([*head[:-1], r"\usepackage{graphicx}", head[-1], *parts, r"\end{document}"])
        + "\n"
    )
