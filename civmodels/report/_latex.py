"""LaTeX rendering of :class:`civmodels.results.Summary` objects and the report tables.

Text is escaped for pdflatex with ``\\usepackage[T1]{fontenc}`` and
``\\usepackage[utf8]{inputenc}`` (as :func:`latex_document` loads): æ, ø, å and the other
Latin-1 letters pass through as UTF-8; the ten special characters, ``|``, ``<``, ``>`` and the
mathematical symbols civmodels prints (≥, ≤, ×, χ, ², ...) become commands.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..results import Summary, _fmt

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
    # OT1 has no glyphs for these ("|" would print an em dash, "<" an inverted "!"); T1 has
    "|": r"\textbar{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    # symbols that utf8 inputenc does not know without extra packages
    "≥": r"$\geq$",
    "≠": r"$\neq$",
    "±": r"$\pm$",
    "…": r"\ldots{}",
    "α": r"$\alpha$",
    "β": r"$\beta$",
    "θ": r"$\theta$",
    "σ": r"$\sigma$",
    "τ": r"$\tau$",
    "μ": r"$\mu$",
    "ρ": r"$\rho$",
    "√": r"$\surd$",
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
    """Render a :class:`~civmodels.results.Summary` as a booktabs ``tabular``.

    One panel per block (a header row of its column names), then the header facts and the
    notes, each cell escaped; numbers are rounded to ``summary.digits`` for display only.
    """
    blocks = [b for b in summary.blocks.values() if len(b)]
    ncol = max((b.shape[1] for b in blocks), default=1)
    digits = summary.digits
    lines = [
        r"\begin{tabular}{l" + "r" * ncol + "}",
        r"\toprule",
        multicolumn(ncol + 1, "l", r"\textbf{" + latex_escape(summary.title) + "}"),
        r"\midrule",
    ]
    for name, df in summary.blocks.items():
        if not len(df):
            continue
        lines.append(multicolumn(ncol + 1, "l", r"\textit{" + latex_escape(name) + "}"))
        head = [latex_escape(c) for c in df.columns] + [""] * (ncol - df.shape[1])
        lines.append(" & ".join(["", *head]) + r" \\")
        lines.append(r"\midrule")
        for idx, *row in df.itertuples(name=None):  # keeps each column's type
            cells = [latex_escape(_fmt(v, digits)) for v in row]
            cells += [""] * (ncol - len(cells))
            lines.append(" & ".join([latex_escape(idx), *cells]) + r" \\")
        lines.append(r"\midrule")
    for k, v in summary.info.items():
        val = latex_escape(_fmt(v, digits))
        lines.append(latex_escape(k) + " & " + multicolumn(ncol, "r", val))
    lines.append(r"\bottomrule")
    width = f"{min(6 + 2.2 * ncol, 17):.1f}cm"
    for note in summary.notes:
        lines.append(
            multicolumn(ncol + 1, "p{" + width + "}", r"\footnotesize " + latex_escape(note))
        )
    lines.append(r"\end{tabular}")
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

    Loads T1 font encoding with Latin Modern fonts (``fontenc``, ``lmodern``) and UTF-8
    input (``inputenc``), so æ, ø and å are real glyphs and ``|``, ``<``, ``>`` print as
    themselves; plus booktabs, geometry and graphicx. All come with Debian's
    ``texlive-latex-base`` and ``texlive-latex-recommended`` (``lmodern`` is a dependency).
    """
    opts = "a4paper,margin=1.5cm" + (",landscape" if landscape else "")
    head = [
        r"\documentclass[10pt]{article}",
        r"\usepackage[T1]{fontenc}",
        r"\usepackage[utf8]{inputenc}",
        r"\usepackage{lmodern}",
        r"\usepackage{booktabs}",
        r"\usepackage[" + opts + "]{geometry}",
        r"\pagestyle{empty}",
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
