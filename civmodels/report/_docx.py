"""Word (``.docx``) output through python-docx: regression tables and model summaries.

python-docx is imported when a Word document is made, so ``import civmodels.report`` stays
light. Tables have no grid; horizontal rules drawn as cell borders (top and bottom of the
table, under the header) give them the look of the booktabs LaTeX tables.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..results import Summary, _fmt

__all__ = ["check_docx_path", "summary_to_docx", "table_to_docx"]


def check_docx_path(path: str | Path) -> Path:
    """``path`` as a Path, after checking it ends in ``.docx`` and its folder exists."""
    p = Path(path)
    if p.suffix.lower() != ".docx":
        raise ValueError(f"path={str(path)!r} must end in .docx")
    if not p.parent.is_dir():
        raise FileNotFoundError(
            f"path={str(path)!r}: folder {str(p.parent)!r} does not exist; create it first "
            "(e.g. Path(...).mkdir(parents=True)) or choose another folder"
        )
    return p


def _document() -> Any:
    try:
        import docx
    except ImportError as err:  # pragma: no cover - python-docx is a dependency
        raise ImportError(
            "Word output needs python-docx: pip install python-docx (a civmodels dependency)"
        ) from err
    return docx.Document()


def _rule(cell: Any, edge: str, size: int) -> None:
    """A horizontal border of ``size`` eighths of a point on ``edge`` (top/bottom) of a cell."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    tc_pr = cell._tc.get_or_add_tcPr()
    borders = tc_pr.find(qn("w:tcBorders"))
    if borders is None:
        borders = OxmlElement("w:tcBorders")
        tc_pr.append(borders)
    el = OxmlElement(f"w:{edge}")
    el.set(qn("w:val"), "single")
    el.set(qn("w:sz"), str(size))
    el.set(qn("w:space"), "0")
    el.set(qn("w:color"), "000000")
    borders.append(el)


def _fill(table: Any, r: int, values: list[str], *, italic: bool = False, bold: bool = False):
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    for c, text in enumerate(values):
        cell = table.cell(r, c)
        cell.text = ""
        par = cell.paragraphs[0]
        run = par.add_run(text)
        run.italic, run.bold = italic, bold
        par.alignment = WD_ALIGN_PARAGRAPH.LEFT if c == 0 else WD_ALIGN_PARAGRAPH.CENTER


def _rules(table: Any, n_header: int) -> None:
    n_rows, n_cols = len(table.rows), len(table.columns)
    for c in range(n_cols):
        _rule(table.cell(0, c), "top", 12)
        _rule(table.cell(n_header - 1, c), "bottom", 6)
        _rule(table.cell(n_rows - 1, c), "bottom", 12)


def _save(doc: Any, path: Path | None) -> Any:
    if path is not None:
        doc.save(str(path))
    return doc


def table_to_docx(
    title: str | None,
    header: list[list[str]],
    blocks: list[tuple[str, list[tuple[str, list[str]]]]],
    note: str,
    path: Path | None,
) -> Any:
    """A Word document holding a regression table: ``header`` rows (without the label
    column), then per block an italic block row and its (label, cells) rows, then the note."""
    doc = _document()
    if title:
        doc.add_paragraph().add_run(title).bold = True
    k = len(header[-1])
    rows: list[tuple[list[str], bool]] = [(["", *h], False) for h in header]
    for block, body in blocks:
        rows.append(([block] + [""] * k, True))
        rows += [([label, *cells], False) for label, cells in body]
    table = doc.add_table(rows=len(rows), cols=k + 1)
    for r, (values, italic) in enumerate(rows):
        _fill(table, r, values, italic=italic, bold=r < len(header))
    _rules(table, len(header))
    doc.add_paragraph().add_run(note).italic = True
    return _save(doc, path)


def summary_to_docx(summary: Summary, path: str | Path | None = None) -> Any:
    """A :class:`~civmodels.results.Summary` as a Word document.

    Parameters
    ----------
    summary : Summary
        E.g. ``result.summary()``.
    path : str or pathlib.Path, optional
        Where to save it (must end in ``.docx``; its folder must exist).

    Returns
    -------
    docx.document.Document
        The document (python-docx), saved to ``path`` when given.
    """
    target = check_docx_path(path) if path is not None else None
    doc = _document()
    doc.add_heading(summary.title, level=2)
    facts = doc.add_table(rows=len(summary.info), cols=2)
    for r, (k, v) in enumerate(summary.info.items()):
        _fill(facts, r, [str(k), _fmt(v, summary.digits)])
    for name, df in summary.blocks.items():
        if not len(df):
            continue
        doc.add_paragraph().add_run(name).bold = True
        table = doc.add_table(rows=len(df) + 1, cols=df.shape[1] + 1)
        _fill(table, 0, ["", *map(str, df.columns)], bold=True)
        for r, (idx, *row) in enumerate(df.itertuples(name=None), start=1):
            _fill(table, r, [str(idx), *(_fmt(v, summary.digits) for v in row)])
        _rules(table, 1)
    for n in summary.notes:
        doc.add_paragraph().add_run(n).italic = True
    return _save(doc, target)
