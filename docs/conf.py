"""Sphinx configuration of the stochdepth documentation.

Build (from the repository root, with ``pip install -e ".[docs]"``)::

    python -m sphinx -W -b html docs docs/_build/html

The API reference pages (docs/api/) are written by ``python docs/api_pages.py`` from the packages'
``__all__``; the example gallery (examples/) is executed at every build.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MPLBACKEND", "Agg")

import stochdepth  # noqa: E402

project = "stochdepth"
author = "stochdepth developers"
copyright = "stochdepth developers"
release = version = stochdepth.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "api_pages.py", "conf.py"]
root_doc = "index"

# API reference: numpydoc docstrings through napoleon; one generated page per public name
autosummary_generate = True
autosummary_imported_members = True
autodoc_typehints = "none"
autodoc_member_order = "bysource"
autodoc_default_options = {"members": False}
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False
napoleon_use_ivar = True

# Markdown pages (science.md, architecture.md, guides)
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 4

sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "image_scrapers": ("matplotlib",),
}

html_theme = "furo"
html_title = f"stochdepth {release}"

_ANCHOR = re.compile(r'^<a id="([^"]+)"></a>\s*$', re.MULTILINE)


def _html_anchors_as_targets(app, docname, source):
    """``<a id="a1"></a>`` lines of the Markdown pages become MyST targets ``(a1)=`` so that links
    ``[...](#a1)`` and cross-references to the sections resolve in the built site."""
    if docname in ("science", "architecture") or docname.startswith("guide/"):
        source[0] = _ANCHOR.sub(r"(\1)=", source[0])


def _no_borrowed_docstrings(app, what, name, obj, options, lines):
    """A constant (a dict, a tuple) has no docstring of its own: autodoc would show its type's."""
    if (
        what in ("data", "attribute")
        and lines
        and type(obj).__doc__
        and "\n".join(lines).strip() in type(obj).__doc__
    ):
        lines[:] = []


def setup(app):
    app.connect("source-read", _html_anchors_as_targets)
    app.connect("autodoc-process-docstring", _no_borrowed_docstrings)
