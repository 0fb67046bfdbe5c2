"""Sphinx configuration of effcode's documentation site.

Build it from the repository root with

    pip install -e ".[docs]"
    sphinx-build -W --keep-going -b html docs docs/_build/html

The site has three parts: the user guide (the Markdown pages in ``docs/``, read by MyST), the
API reference (``docs/api/``, autosummary pages generated from the numpydoc docstrings) and the
example gallery (``examples/plot_*.py``, executed by sphinx-gallery at quick sizes).
"""

import os
import sys
from pathlib import Path

from docutils import nodes
from sphinx.util.docutils import SphinxDirective

# The gallery's examples train small models; one thread keeps the build time predictable on a
# shared CI machine. Set before any extension imports numpy or torch.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS.parent))        # document the checkout, even when it is not installed

import effcode  # noqa: E402  (after the path and thread settings above)
from effcode.cli import build_parser  # noqa: E402

project = "effcode"
author = "effcode developers"
copyright = "effcode developers, MIT licence"
release = effcode.__version__
version = release

extensions = [
    "myst_parser",
    "numpydoc",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["api/_templates"]
exclude_patterns = ["_build", "api/_templates"]

# --- the user guide: Markdown pages -------------------------------------------------------
myst_heading_anchors = 3            # "## Sources" can be linked as data.md#sources
myst_enable_extensions = ["dollarmath", "amsmath"]   # $...$ and $$...$$ rendered by MathJax (loaded from its CDN by the browser)

# --- the API reference ----------------------------------------------------------------------
autosummary_generate = True
autosummary_imported_members = False   # a module without __all__ shows what it defines
autosummary_ignore_module_all = False  # a module with __all__ shows exactly that
autodoc_typehints = "none"          # the numpydoc sections say what each argument is
autodoc_member_order = "bysource"
numpydoc_show_class_members = False  # the class template lists the members instead
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True

#: members that classes inherit from these packages are documented there, not here
FOREIGN_PACKAGES = ("sklearn", "torch", "builtins")


def skip_foreign_members(app, what, name, obj, skip, options):
    """Leave out class members defined by scikit-learn, torch or Python (get_params, set_output, ...)."""
    if what != "class":
        return None
    owner = getattr(obj, "__module__", None) or getattr(getattr(obj, "__objclass__", None), "__module__", None)
    return True if owner and owner.split(".")[0] in FOREIGN_PACKAGES else None


# --- the command-line page -------------------------------------------------------------------
#: width of the generated help texts, as a terminal of this many columns would print them
HELP_COLUMNS = 100


class EffcodeHelp(SphinxDirective):
    """``effcode --help`` and every subcommand's ``--help``, each under its own heading, from the parser itself."""

    def run(self):
        os.environ["COLUMNS"] = str(HELP_COLUMNS)   # argparse wraps its help to $COLUMNS
        parser = build_parser()
        found = [("effcode", parser)]
        for action in parser._subparsers._group_actions:    # argparse keeps its subcommands only here
            found += [(f"effcode {name}", sub) for name, sub in action.choices.items()]
        sections = []
        for title, sub in found:
            section = nodes.section(ids=[nodes.make_id(title)])
            section += nodes.title(text=title)
            section += nodes.literal_block(text=sub.format_help(), language="none")
            self.state.document.note_implicit_target(section)
            sections.append(section)
        return sections


# --- the example gallery --------------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": str(DOCS.parent / "examples"),
    "gallery_dirs": str(DOCS / "auto_examples"),
    "filename_pattern": r"/plot_",      # every plot_*.py is executed
    "within_subsection_order": "FileNameSortKey",
    "image_scrapers": ("matplotlib",),
    "download_all_examples": False,
    "remove_config_comments": True,
    "show_memory": False,
    "show_signature": False,
    "min_reported_time": 1,
    "capture_repr": (),                 # print() what matters; no reprs of returned Axes
}

# --- HTML -----------------------------------------------------------------------------------
html_theme = "alabaster"
html_title = f"effcode {release}"


def setup(app):
    app.add_directive("effcode-help", EffcodeHelp)
    app.connect("autodoc-skip-member", skip_foreign_members)
