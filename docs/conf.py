"""Sphinx configuration of the refimpl documentation: ``bash .ci/docs`` builds it into docs/_build/html.

Pages: the API reference (autosummary + numpydoc, one page per module, every ``refimpl`` package found
automatically), one page per topic with the measured numbers read from figures/REPORT.md at build time
(``_ext/refimpl_docs.py``), the page on stepping through a kernel, and a sphinx-gallery of ``examples/``
run at their smallest setting (``--smoke``). Math is rendered by MathJax 3, shipped by the
sphinx-mathjax-offline package, so neither the build nor the pages need a network.
"""

import importlib.util
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(DOCS / "_ext"))
sys.path.insert(0, str(ROOT))  # the checkout's refimpl, also when it is not installed in editable mode

import refimpl  # noqa: E402
from refimpl_docs import stage_examples  # noqa: E402

project = "refimpl"
author = "the refimpl authors"
copyright = "the refimpl authors, MIT licence"
release = version = refimpl.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "sphinx-mathjax-offline",  # sets mathjax_path to its bundled MathJax 3 and copies it into _static
    "refimpl_docs",
]

exclude_patterns = ["_build", "_gallery_src", "gallery_header.rst"]
templates_path = ["_templates"]
default_role = "autolink"  # `name` links to the object where there is one, as in NumPy's docs

# API reference: one generated page per module (api/); class members are documented by autodoc, not listed
# again by numpydoc
autosummary_generate = True
autodoc_default_options = {"members": True, "member-order": "bysource"}
autodoc_typehints = "none"
# torch is optional (refimpl.crosscheck); mock it only where it is not installed
autodoc_mock_imports = [name for name in ("torch", "jax") if importlib.util.find_spec(name) is None]
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

# the gallery: every script in examples/ at its smallest setting, figures written to a throw-away folder
sphinx_gallery_conf = {
    "examples_dirs": str(stage_examples(ROOT / "examples", DOCS / "_gallery_src")),
    "gallery_dirs": "gallery",
    "filename_pattern": r".*\.py$",  # run every example, not only plot_*.py
    "reset_argv": "refimpl_docs.smoke_argv",  # every example's command line: --smoke (a name: conf stays picklable)
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": True,
}

html_theme = "pydata_sphinx_theme"
html_title = f"refimpl {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_show_sourcelink = False
