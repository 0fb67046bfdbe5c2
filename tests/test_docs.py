"""The documentation site: its sources are complete, and it builds with warnings as errors.

The build runs Sphinx in a subprocess on a fresh copy of ``docs/`` and ``examples/``, so every
gallery example is executed (sphinx-gallery would otherwise skip examples it ran before) and
nothing is written into the checkout. It needs the ``docs`` requirements, which the ``test``
extra installs too; without Sphinx the build test is skipped with that reason.
"""

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

import effcode
from effcode.learners import LEARNERS

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
EXAMPLES = ROOT / "examples"
#: the build (API reference and the executed gallery) must stay well within CI's budget
BUILD_BUDGET_S = 240
#: what sphinx-build writes into the source folder; never copied into the fresh build
GENERATED = ("_build", "auto_examples", "generated", "sg_execution_times.rst")


def toctree_entries(text: str) -> list[str]:
    """The documents listed by every ``.. toctree::`` directive of a reStructuredText page."""
    entries = []
    for block in re.finditer(r"^\.\. toctree::\n((?:[ \t]+.*\n|\n)*)", text, re.MULTILINE):
        for line in block.group(1).splitlines():
            line = line.strip()
            if line and not line.startswith(":"):
                entries.append(line)
    return entries


def test_toctree_entries_are_read_from_every_toctree():
    text = ".. toctree::\n   :maxdepth: 1\n   :caption: Guide\n\n   data\n   gabor\n\nProse.\n\n.. toctree::\n\n   api/index\n"
    assert toctree_entries(text) == ["data", "gabor", "api/index"]


def test_the_user_guide_lists_every_docs_page():
    entries = toctree_entries((DOCS / "index.rst").read_text())
    pages = sorted(path.stem for path in DOCS.glob("*.md"))
    missing = sorted(set(pages) - set(entries))
    absent = sorted(entry for entry in entries if "/" not in entry and entry not in pages)
    assert not missing, f"docs/index.rst: add the page(s) {missing} to the user guide's toctree"
    assert not absent, f"docs/index.rst lists {absent}, which are not pages in docs/"
    assert {"api/index", "auto_examples/index"} <= set(entries)


def test_the_api_reference_covers_every_public_subpackage_and_learner():
    listed = set(re.findall(r"^\s+(effcode(?:\.\w+)+)\s*$", (DOCS / "api" / "index.rst").read_text(), re.MULTILINE))
    subpackages = {f"effcode.{name}" for name in (*effcode.SUBPACKAGES, "runs")}
    learner_modules = {LEARNERS.get(name).__module__ for name in LEARNERS.names()}
    assert subpackages <= listed, f"docs/api/index.rst misses {sorted(subpackages - listed)}"
    assert learner_modules <= listed, f"docs/api/index.rst misses the learner module(s) {sorted(learner_modules - listed)}"


@pytest.mark.parametrize("method", LEARNERS.names())
def test_every_learner_states_its_objective_in_math_and_the_units_of_its_outputs(method):
    learner = LEARNERS.get(method)
    doc = learner.__doc__
    assert ":math:" in doc or ".. math::" in doc, f"{learner.__name__}'s docstring gives no objective in math"
    assert re.search(r"^\s+Attributes\n\s+-+\n", doc, re.MULTILINE), f"{learner.__name__}: no Attributes section"
    assert "units" in doc, f"{learner.__name__}'s docstring does not say in which units its outputs are"
    assert re.search(r"\(n, K", learner.transform.__doc__), f"{learner.__name__}.transform: output shape not given"


def test_the_gallery_has_the_five_promised_examples():
    examples = sorted(path.name for path in EXAMPLES.glob("plot_*.py"))
    assert len(examples) >= 5
    sources = "\n".join(path.read_text() for path in EXAMPLES.glob("plot_*.py"))
    for needed in ("load_images(folder)", "score_population", "OBJECTIVES.register", '"ica"', '"sparse_coding"',
                   "fit_gabors", 'backend="dask"', "LocalCluster"):
        assert needed in sources, f"no gallery example uses {needed}"


def _missing_docs_requirements() -> list[str]:
    return [name for name in ("sphinx", "myst_parser", "numpydoc", "sphinx_gallery", "distributed")
            if importlib.util.find_spec(name) is None]


@pytest.mark.skipif(bool(_missing_docs_requirements()),
                    reason="the docs requirements are not installed: pip install -e '.[docs]'")
def test_the_docs_build_with_warnings_as_errors_and_run_every_example(tmp_path):
    source = tmp_path / "docs"
    shutil.copytree(DOCS, source, ignore=shutil.ignore_patterns(*GENERATED))
    shutil.copytree(EXAMPLES, tmp_path / "examples")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "MPLBACKEND": "agg"}
    started = time.perf_counter()
    build = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", str(source),
                            str(tmp_path / "html")], cwd=tmp_path, env=env, capture_output=True, text=True,
                           timeout=2 * BUILD_BUDGET_S)
    seconds = time.perf_counter() - started
    assert build.returncode == 0, f"sphinx-build failed:\n{build.stderr[-6000:]}"
    assert seconds < BUILD_BUDGET_S, f"the docs build took {seconds:.0f} s, more than CI's {BUILD_BUDGET_S} s"

    html = tmp_path / "html"
    for example in EXAMPLES.glob("plot_*.py"):
        figures = list((source / "auto_examples" / "images").glob(f"sphx_glr_{example.stem}_*.png"))
        assert figures, f"gallery example {example.name} drew no figure (pass ax= from plt.subplots)"
        assert (html / "auto_examples" / f"{example.stem}.html").exists()
    for method in LEARNERS.names():
        learner = LEARNERS.get(method)
        page = html / "api" / "generated" / f"{learner.__module__}.{learner.__name__}.html"
        assert page.exists(), f"no API page for {learner.__name__}"
        assert 'class="math' in page.read_text(), f"the API page of {learner.__name__} shows no equation"
    for page in DOCS.glob("*.md"):
        assert (html / f"{page.stem}.html").exists(), f"the user guide lacks {page.name}"
