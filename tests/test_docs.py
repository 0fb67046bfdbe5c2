"""The documentation site: its sources are complete, and it builds with warnings as errors.

The build runs Sphinx in a subprocess on a fresh copy of ``docs/`` and ``examples/``, so every
gallery example is executed (sphinx-gallery would otherwise skip examples it ran before) and
nothing is written into the checkout. It needs the ``docs`` requirements, which the ``test``
extra installs too; without Sphinx the build test is skipped with that reason.
"""

import importlib
import importlib.util
import inspect
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpydoc.docscrape
import numpydoc.validate
import pytest

import effcode
from effcode.learners import LEARNERS

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
EXAMPLES = ROOT / "examples"
#: a guard against a hung build only, far above its usual one to three minutes (no test depends on timing)
HANG_GUARD_S = 1800
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


#: pages that are not part of the guide proper (they include or list other sources)
NOT_GUIDE = ("changelog",)
#: guide pages whose formulas must be typeset (``$...$`` / ``$$...$$``), not code
MATH_PAGES = ("objectives", "ica", "gabor", "encoding")


@pytest.mark.parametrize("page", sorted(path.stem for path in DOCS.glob("*.md") if path.stem not in NOT_GUIDE))
def test_every_guide_page_shows_a_figure_that_exists(page):
    figures = re.findall(r"^```\{figure\} (\S+)$", (DOCS / f"{page}.md").read_text(), re.MULTILINE)
    assert figures, f"docs/{page}.md shows no figure (docs/copy_figures.py lists one per page)"
    for figure in figures:
        assert (DOCS / figure).is_file(), f"docs/{page}.md shows {figure}, which is not in docs/"


@pytest.mark.parametrize("page", MATH_PAGES)
def test_formulas_are_typeset_math_not_code_blocks(page):
    text = (DOCS / f"{page}.md").read_text()
    assert text.count("$$") >= 2 or "$" in text, f"docs/{page}.md has no math"
    indented = [line for line in text.splitlines() if re.match(r"^    (max|min|L\(|g\(|G\(|r\()", line)]
    assert not indented, f"docs/{page}.md writes formulas as indented code: {indented}"


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


def test_the_gallery_has_the_seven_promised_examples():
    examples = sorted(path.name for path in EXAMPLES.glob("plot_*.py"))
    assert len(examples) >= 7
    sources = "\n".join(path.read_text() for path in EXAMPLES.glob("plot_*.py"))
    for needed in ("load_images(folder)", "score_population", "OBJECTIVES.register", '"ica"', '"sparse_coding"',
                   "fit_gabors", 'backend="dask"', "LocalCluster", "Pipeline([", "PatchWhitener", "GridSearchCV(",
                   "fit_encoding_model(", "make_simple_cell("):
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
    shutil.copy(ROOT / "CHANGELOG.md", tmp_path / "CHANGELOG.md")   # docs/changelog.md includes it
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "MPLBACKEND": "agg"}
    build = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", str(source),
                            str(tmp_path / "html")], cwd=tmp_path, env=env, capture_output=True, text=True,
                           timeout=HANG_GUARD_S)
    assert build.returncode == 0, f"sphinx-build failed:\n{build.stderr[-6000:]}"

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
    for page in MATH_PAGES:
        assert 'class="math' in (html / f"{page}.html").read_text(), f"{page}.html shows no typeset equation"
    for command in ("effcode run", "effcode sweep", "effcode compile"):
        assert f"usage: {command}" in (html / "cli.html").read_text(), f"cli.html lacks the help of {command}"
    assert "Unreleased" in (html / "changelog.html").read_text()


# --- numpydoc: every public object's sections parse as numpydoc means them ------------------
#: the parameter-section checks of ``numpydoc.validate`` enforced on every public object: PR02 (a
#: documented parameter the signature lacks), PR03 (wrong order), PR05 (a type ending in a period),
#: PR06 (``integer``/``string``/``boolean`` for int/str/bool), PR07 (no description: the text sits in
#: the type slot, ``name : text``), PR08/PR09 (description's first capital, final period), PR10 (no
#: space before the colon)
PARAMETER_CHECKS = ("PR02", "PR03", "PR05", "PR06", "PR07", "PR08", "PR09", "PR10")
#: objects on which PR01 (every parameter documented) is enforced as well: the estimators' and the
#: image record's constructors, the pages a user reads first
FULLY_DOCUMENTED = ("effcode.learners.sparse_coding.SparseCoding", "effcode.learners.sailnet.SAILnet",
                    "effcode.learners.ica.ICA", "effcode.learners.isa.ISA", "effcode.learners.sparse_cnn.SparseCNN",
                    "effcode.data.sources.Image", "effcode.v1.physiology.measure_receptive_fields")
#: packages and modules whose every public object (functions, classes with their constructors, methods)
#: must pass PR01 too: together, every module of :func:`public_objects`
FULLY_DOCUMENTED_MODULES = ("effcode.gabor", "effcode.v1", "effcode.data", "effcode.encoding", "effcode.learners",
                            "effcode.objectives", "effcode.registry", "effcode.storage", "effcode.runs", "effcode.plots",
                            "effcode.errors")


def fully_documented_names() -> list[str]:
    """FULLY_DOCUMENTED plus every public object defined in a module of FULLY_DOCUMENTED_MODULES."""
    in_modules = [name for name in public_objects()
                  if any(name.startswith(module + ".") for module in FULLY_DOCUMENTED_MODULES)]
    return [*FULLY_DOCUMENTED, *in_modules]


def public_objects() -> dict[str, object]:
    """Every public function and class of the API reference's modules, with each class's public methods."""
    modules = [f"effcode.{name}" for name in (*effcode.SUBPACKAGES, "runs", "errors", "registry")]
    modules += sorted({LEARNERS.get(name).__module__ for name in LEARNERS.names()})
    found: dict[str, object] = {}
    for module_name in modules:
        module = importlib.import_module(module_name)
        names = getattr(module, "__all__", None) or [  # autosummary's rule without __all__
            name for name, value in vars(module).items()
            if not name.startswith("_") and getattr(value, "__module__", None) == module_name]
        for name in names:
            obj = getattr(module, name)
            if not (inspect.isclass(obj) or inspect.isfunction(obj)):
                continue
            found[f"{obj.__module__}.{obj.__qualname__}"] = obj
            if inspect.isclass(obj):
                for member, value in vars(obj).items():
                    if not member.startswith("_") and (inspect.isfunction(value) or isinstance(value, property)):
                        found[f"{obj.__module__}.{obj.__qualname__}.{member}"] = value
    return found


def parameter_section_errors(names, checks) -> list[str]:
    return [f"{name}: {code} {message}" for name in names for code, message in numpydoc.validate.validate(name)["errors"]
            if code in checks]


def test_public_objects_are_found_in_every_module():
    names = public_objects()
    assert "effcode.learners.sparse_coding.SparseCoding.transform" in names
    assert "effcode.data.sources.Image" in names and len(names) > 250


def test_every_public_docstring_has_well_formed_parameter_sections():
    errors = parameter_section_errors(public_objects(), PARAMETER_CHECKS)
    assert not errors, f"{len(errors)} numpydoc parameter-section errors:\n" + "\n".join(errors[:40])


def test_every_public_object_of_the_fully_documented_modules_documents_every_parameter():
    errors = parameter_section_errors(fully_documented_names(), ("PR01", *PARAMETER_CHECKS))
    assert not errors, "\n".join(errors)


def test_every_fully_documented_module_has_public_objects_under_the_pr01_check():
    names = fully_documented_names()
    for module in FULLY_DOCUMENTED_MODULES:
        assert any(name.startswith(module + ".") for name in names), module
    assert set(public_objects()) <= set(names), "a public module is outside FULLY_DOCUMENTED_MODULES"


def test_the_pr01_check_catches_an_undocumented_parameter():
    errors = parameter_section_errors([f"{__name__}.misformatted_example"], ("PR01",))
    assert not errors
    errors = parameter_section_errors([f"{__name__}.undocumented_example"], ("PR01",))
    assert errors and "PR01" in errors[0]


def undocumented_example(n_iter):
    """Do nothing (the docs tests' example of a parameter left out of the docstring)."""


def misformatted_example(n_iter):
    """Do nothing (the docs tests' example of a description written in the type slot).

    Parameters
    ----------
    n_iter : the number of iterations.
    """


def test_the_parameter_check_catches_a_description_in_the_type_slot():
    errors = parameter_section_errors([f"{__name__}.misformatted_example"], PARAMETER_CHECKS)
    assert {error.split()[1] for error in errors} == {"PR05", "PR07"}


def test_class_attributes_have_a_type_and_a_description():
    bad = []
    for name, obj in public_objects().items():
        if inspect.isclass(obj):
            for section in ("Parameters", "Attributes"):
                for entry in numpydoc.docscrape.ClassDoc(obj, config={"show_class_members": False})[section]:
                    if not "".join(entry.desc).strip() or entry.type.rstrip().endswith("."):
                        bad.append(f"{name} {section}: {entry.name} : {entry.type[:50]}")
    assert not bad, "write 'name : type' and the description indented below it:\n" + "\n".join(bad)
