"""Sphinx configuration of the dynopt documentation site.

Build from the repository root with ``sphinx-build -W -b html docs docs/_build/html``.
The API pages are generated from the packages' ``__all__`` and docstrings (numpydoc), the
gallery runs the scripts of ``experiments/`` (sphinx-gallery), and the ledger pages are
written from the committed ``papers/*/claims.json`` (nothing is re-run).
"""
import inspect
import os
import shutil
import sys
import warnings
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(DOCS))
# the experiment scripts import their shared helper as ``_common``
sys.path.insert(0, str(ROOT / "experiments"))

# the gallery's scripts write their files here (the gallery's own output), never into
# experiments/out of a working copy
GALLERY_OUT = DOCS / "auto_examples" / "_out"
os.environ["DYNOPT_EXPERIMENTS_OUT"] = str(GALLERY_OUT)
os.environ.setdefault("MPLBACKEND", "Agg")

import api_pages  # noqa: E402
from sphinx.util import logging as sphinx_logging  # noqa: E402
import ledger_pages  # noqa: E402

project = "dynopt"
author = "the dynopt authors"
copyright = "the dynopt authors, MIT licence"
release = version = "0.1.0"

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

exclude_patterns = ["_build", "auto_examples/_out", "**/*.ipynb"]
html_static_path = ["_static"]
html_css_files = ["dynopt.css"]
html_theme = "furo"
html_title = "dynopt"
html_favicon = "_static/favicon.svg"

# every cross-reference must resolve: a broken internal link fails the build under -W.
# Names outside dynopt (numpy, typing, builtins) are not resolvable without network
# inventories, so only those are ignored.
nitpicky = True
nitpick_ignore_regex = [(r"py:.*", r"(?!dynopt\b).*")]

autosummary_generate = False
autodoc_typehints = "none"
autodoc_default_options = {"member-order": "bysource"}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = False
# numpydoc warns (and -W fails) on a docstring it cannot parse
numpydoc_validation_checks = set()

api_pages.write_api_pages(DOCS / "api")
HOME = api_pages.homes()
ledger_pages.write_ledger_pages(ROOT / "papers", DOCS / "ledger", DOCS)

if GALLERY_OUT.exists():
    shutil.rmtree(GALLERY_OUT)
GALLERY_OUT.mkdir(parents=True)

sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "experiments"),
    "gallery_dirs": str(DOCS / "auto_examples"),
    "filename_pattern": r".*\.py$",
    "ignore_pattern": r"(_common|__init__)\.py$|edge_of_stability\.py$",
    # hooks by dotted name, so that the configuration stays picklable
    "within_subsection_order": "gallery.OrderKey",
    "image_scrapers": ("gallery.scrape_output",),
    "reset_argv": "gallery.small_sizes",
    "reset_modules": ("gallery.close_figures",),
    "download_all_examples": False,
    "remove_config_comments": True,
    "show_memory": False,
    # the timing page loads its table scripts from a CDN; the site must work offline
    "write_computation_times": False,
    "plot_gallery": "True",
    "abort_on_example_error": True,
    "min_reported_time": 1,
}


def _plain_text_bars(app, what, name, obj, options, lines):
    """Read ``|x|`` in a docstring as an absolute value, not a reST substitution.

    dynopt's docstrings write their formulas in plain Unicode (``|x_N − x*|``, ``‖v‖``);
    no docstring uses substitutions, so every bar is escaped before numpydoc parses it.
    """
    for i, line in enumerate(lines):
        if "|" in line:
            lines[i] = line.replace("\\|", "|").replace("|", "\\|")


def _resolve_by_import(app, env, node, contnode):
    """Resolve ``dynopt.x.y.name`` to where that object is documented (its home).

    A docstring may name an object by the module that defines it
    (``dynopt.engine.loop.integrate``) while the reference documents it where the package
    exports it (``dynopt.engine.integrate``); both are the same object.
    """
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "")
    module = node.get("py:module")
    for name in (target, f"{module}.{target}" if module else None):
        if name and name.startswith("dynopt."):
            home = api_pages.resolve_home(name, HOME)
            if home and home != name:
                return env.get_domain("py").resolve_xref(env, node["refdoc"], app.builder, "obj",
                                                         home, node, contnode)
    return None


def _no_inherited_data_docs(app, what, name, obj, options, lines):
    """A constant without a ``#:`` comment shows no docstring, not its type's (sympy.Symbol's)."""
    if what in ("data", "attribute") and not inspect.isclass(obj) and lines:
        own = inspect.getdoc(type(obj)) or ""
        if own and "\n".join(lines).strip().startswith(own.strip().splitlines()[0]):
            lines.clear()


def _numpydoc_warnings_are_sphinx_warnings():
    """numpydoc reports an unparseable docstring (an unknown section, a bad underline) with
    ``warnings.warn``; route those through Sphinx's logger so that ``-W`` fails on them."""
    logger = sphinx_logging.getLogger("numpydoc")
    shown = warnings.showwarning

    def showwarning(message, category, filename, lineno, file=None, line=None):
        if "numpydoc" in str(filename):
            logger.warning("numpydoc: %s", str(message).replace("\n", " "), type="numpydoc")
        else:
            shown(message, category, filename, lineno, file, line)

    warnings.showwarning = showwarning
    warnings.filterwarnings("always", module="numpydoc")


def setup(app):
    _numpydoc_warnings_are_sphinx_warnings()
    app.connect("autodoc-process-docstring", _no_inherited_data_docs, priority=90)
    app.connect("missing-reference", _resolve_by_import)
    # before numpydoc (priority 500) so that its parser sees the escaped text
    app.connect("autodoc-process-docstring", _plain_text_bars, priority=100)
