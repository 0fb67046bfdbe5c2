"""Every Python example in README.md and docs/*.md runs as written.

Each ```python block is executed in a fresh namespace, in a temporary working directory, with
one torch thread. A block that is deliberately not runnable is preceded by a line
``<!-- norun: reason -->`` (an HTML comment: the docs site renders the block as usual, whereas
an unknown fence language would be a Sphinx warning); the reason must be given. The examples
use quick sizes, so all of them together take seconds, not minutes.
"""

import re
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(?P<info>[^\n`]*)\n(?P<body>.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
NORUN = re.compile(r"<!--\s*norun:\s*(?P<reason>.*?)\s*-->\s*$")


def python_blocks(text: str) -> list[tuple[int, str, str | None]]:
    """(line number, code, norun reason or None) of every Python block in a Markdown text."""
    blocks = []
    for match in FENCE.finditer(text):
        language = match["info"].strip().split()[0] if match["info"].strip() else ""
        if language not in ("python", "py"):
            continue
        before = text[:match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        marked = NORUN.search(before)
        blocks.append((text.count("\n", 0, match.start()) + 1, match["body"], marked["reason"] if marked else None))
    return blocks


def _cases():
    for document in DOCUMENTS:
        for line, code, reason in python_blocks(document.read_text()):
            marks = [pytest.mark.skip(reason=f"marked not runnable: {reason}")] if reason else []
            yield pytest.param(code, id=f"{document.relative_to(ROOT)}:{line}", marks=marks)


def test_the_block_finder_reads_fences_and_norun_marks():
    text = "intro\n```python\nx = 1\n```\n```bash\nls\n```\n<!-- norun: needs a GPU -->\n```python\ny = 2\n```\n"
    assert python_blocks(text) == [(2, "x = 1\n", None), (9, "y = 2\n", "needs a GPU")]


def test_the_documents_hold_examples_and_marks_are_rare():
    cases = list(_cases())
    assert len(cases) >= 7                       # README's and the docs' examples are all found
    assert sum(bool(case.marks) for case in cases) <= 2
    for document in DOCUMENTS:
        for _, _, reason in python_blocks(document.read_text()):
            assert reason is None or len(reason) > 10, f"{document.name}: a norun mark must give its reason"


@pytest.fixture
def restored_registries():
    """Examples may register objectives or learners; remove what they added afterwards."""
    from effcode.data.sources import SOURCES
    from effcode.learners import LEARNERS
    from effcode.objectives import OBJECTIVES

    registries = (OBJECTIVES, LEARNERS, SOURCES)
    before = [set(registry.names()) for registry in registries]
    yield
    for registry, names in zip(registries, before):
        for added in set(registry.names()) - names:
            registry.unregister(added)


@pytest.mark.parametrize("code", list(_cases()))
def test_example_runs(code, tmp_path, monkeypatch, one_torch_thread, restored_registries):
    monkeypatch.chdir(tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        exec(compile(code, "<example>", "exec"), {"__name__": "__example__"})
    # an example must not teach settings that effcode itself warns about
    ours = [w for w in caught if issubclass(w.category, (RuntimeWarning, UserWarning))
            and ("effcode" in w.filename or w.filename == "<example>")]
    assert not ours, [str(w.message) for w in ours]


def test_sparse_cnn_transform_images_takes_images_of_different_sizes(one_torch_thread):
    # the sparse CNN example's helper: whiten as fit_images does, then encode each image at its own size
    import numpy as np

    from effcode.data import whiten_images
    from effcode.learners.sparse_cnn import SparseCNN

    rng = np.random.default_rng(0)
    atoms = rng.normal(size=(4, 6, 6)).astype(np.float32)
    atoms /= np.linalg.norm(atoms.reshape(4, -1), axis=1)[:, None, None]
    model = SparseCNN().set_atoms(atoms)
    images = [rng.normal(size=(20, 24)), rng.normal(size=(31, 17))]
    maps = model.transform_images(images)
    assert [m.shape for m in maps] == [(4, 15, 19), (4, 26, 12)]
    for image, white, got in zip(images, whiten_images(images), maps):
        np.testing.assert_array_equal(got, model.transform(white[None])[0])
        assert not np.array_equal(got, model.transform(image[None])[0])   # whitening was applied


def test_import_effcode_gives_lazy_access_to_every_public_subpackage():
    import subprocess
    import sys

    script = """
import sys
import effcode
assert "torch" not in sys.modules and "effcode.gabor" not in sys.modules, "import effcode must stay light"
names = ("data", "learners", "objectives", "gabor", "v1", "encoding", "plots")
assert set(names) <= set(dir(effcode))
for name in names:
    module = getattr(effcode, name)
    assert module is sys.modules["effcode." + name]
assert effcode.gabor.fit_gabors and effcode.learn_filters is effcode.learners.learn_filters
try:
    effcode.nonexistent
except AttributeError as error:
    assert "nonexistent" in str(error)
else:
    raise AssertionError("an unknown attribute must raise AttributeError")
"""
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
