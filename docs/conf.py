"""Sphinx configuration for the civmodels documentation.

The build executes the examples: every ``examples/NN_topic.py`` (a jupytext percent script) is
converted to a notebook under ``_generated/examples/``, every ``examples/NN_topic.ipynb`` is
copied there (without its outputs), and myst-nb runs them all. Formulas are rendered by a
MathJax bundled with the site (``sphinx-mathjax-offline``), so pages show mathematics without
a network. The user-guide and
API pages list only the modules present in this checkout, so the site builds at every stage
of development; the build is run with ``-W`` (warnings are errors) by ``tests/test_docs.py``.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
GENERATED = DOCS / "_generated"
sys.path.insert(0, str(ROOT))
# Notebook kernels are subprocesses: let them import this checkout's civmodels too.
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
)
os.environ.setdefault("MPLBACKEND", "Agg")

project = "civmodels"
author = "civmodels developers"
copyright = "2026, civmodels developers"

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    # serves MathJax from the built site's _static/ instead of a CDN
    "sphinx-mathjax-offline",
    "sphinx.ext.intersphinx",
    "numpydoc",
]

# --- user guide: the module pages present in this checkout, in reading order -------------
USER_GUIDE = [
    ("data", "Data and provenance"),
    ("ordinal", "Ordinal models"),
    ("logistic", "Logistic models"),
    ("mixed", "Mixed (random-intercept) models"),
    ("postfit", "After the fit"),
    ("nonresponse", "Nonresponse and weighting"),
    ("bayes", "Bayesian hierarchical models and MRP"),
    ("simulation", "Simulation studies"),
    ("replication", "Replicating the report"),
    ("reporting", "Publication tables and plots"),
]
# The package root is left out: it only re-exports (Ordinal, Logistic, ...), which would
# document the same objects twice.
API_MODULES = [
    "civmodels.data",
    "civmodels.ordinal",
    "civmodels.logistic",
    "civmodels.design",
    "civmodels.nonresponse",
    "civmodels.bayes",
    "civmodels.simulation",
    "civmodels.replication",
    "civmodels.report",
    "civmodels.report.plots",
    "civmodels.results",
    "civmodels.inference",
    "civmodels.predictions",
    "civmodels.formula",
    "civmodels.exceptions",
    "civmodels.cli",
]


def _write_if_changed(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def _generate() -> None:
    pages = [(name, title) for name, title in USER_GUIDE if (DOCS / f"{name}.md").exists()]
    # any other topic page an engineer adds joins the guide too (after the known ones), so
    # no page is left out of the toctree
    listed = {name for name, _ in USER_GUIDE} | {"index", "getting_started", "glossary"}
    pages += [(p.stem, p.stem) for p in sorted(DOCS.glob("*.md")) if p.stem not in listed]
    guide = ["# User guide", "", "```{toctree}", ":maxdepth: 2", ""]
    guide += [f"../{name}" for name, _ in pages] + ["```", ""]
    _write_if_changed(GENERATED / "user_guide.md", "\n".join(guide))

    import jupytext

    ex_dir = GENERATED / "examples"
    ex_dir.mkdir(parents=True, exist_ok=True)
    scripts = sorted((ROOT / "examples").glob("[0-9][0-9]_*.py"))
    notebooks = sorted((ROOT / "examples").glob("[0-9][0-9]_*.ipynb"))
    for old in ex_dir.glob("*.ipynb"):
        if not any((ROOT / "examples" / f"{old.stem}{ext}").exists() for ext in (".py", ".ipynb")):
            old.unlink()
    for script in scripts:
        nb = jupytext.read(script, fmt="py:percent")
        nb.metadata["kernelspec"] = {
            "name": "python3",
            "display_name": "Python 3",
            "language": "python",
        }
        _write_if_changed(ex_dir / f"{script.stem}.ipynb", jupytext.writes(nb, fmt="ipynb"))
    import nbformat

    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:  # the build executes it afresh
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
        _write_if_changed(ex_dir / path.name, nbformat.writes(nb) + "\n")
    ex = [
        "# Examples",
        "",
        "Executed when the documentation is built; the sources are the "
        "jupytext scripts in `examples/`.",
        "",
        "```{toctree}",
        ":maxdepth: 1",
        "",
    ]
    ex += [f"examples/{s.stem}" for s in sorted([*scripts, *notebooks])] + ["```", ""]
    _write_if_changed(GENERATED / "examples.md", "\n".join(ex))

    mods = [m for m in API_MODULES if importlib.util.find_spec(m) is not None]
    # Stub pages left by an earlier build (a renamed or dropped module) would be orphans,
    # which -W turns into errors: keep only the current modules' stubs.
    for stub in (GENERATED / "api").glob("*.rst"):
        if stub.stem not in mods:
            stub.unlink()
    # One page per public module, documenting its __all__. Not recursive: a package that
    # re-exports ``poststratify`` from its submodule ``poststratify`` would otherwise describe
    # the same dotted name twice.
    api = ["# API reference", "", "```{eval-rst}", ".. autosummary::", "   :toctree: api", ""]
    api += [f"   {m}" for m in mods] + ["```", ""]
    _write_if_changed(GENERATED / "api.md", "\n".join(api))


_generate()

autosummary_generate = True
autosummary_imported_members = False
autosummary_ignore_module_all = False
autodoc_typehints = "none"
autodoc_default_options = {"members": True, "show-inheritance": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_validation_checks: set[str] = set()
intersphinx_mapping: dict[str, tuple[str, None]] = {}

# .rst first: autosummary writes its stub pages with the first suffix.
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
exclude_patterns = ["_build", "**.ipynb_checkpoints", "conf.py"]
myst_enable_extensions = ["dollarmath", "colon_fence", "deflist"]
myst_heading_anchors = 3

# CIVMODELS_DOCS_EXECUTE=off skips running the examples (quick local checks of the prose);
# the test suite and CI always execute them.
nb_execution_mode = os.environ.get("CIVMODELS_DOCS_EXECUTE", "force")
nb_execution_timeout = 600
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_merge_streams = True

html_theme = "pydata_sphinx_theme"
html_title = "civmodels"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
}
# A set colour mode: with none stored in the browser, the theme logs "Got invalid theme mode"
# to the console as an error (the browser test requires a clean console).
html_context = {"default_mode": "light"}
html_static_path: list[str] = []


def _skip_foreign_members(app, what, name, obj, skip, options):
    """Leave out members inherited from third-party bases (e.g. scikit-learn's
    ``set_fit_request``), whose docstrings cross-reference *their* documentation."""
    module = getattr(obj, "__module__", None) or ""
    if module.split(".")[0] in {"sklearn", "numpy", "pandas", "scipy"}:
        return True
    return skip


def setup(app):
    app.connect("autodoc-skip-member", _skip_foreign_members)
