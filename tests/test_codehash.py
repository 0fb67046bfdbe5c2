"""code_hash reaches exactly the code a step runs (issue 27 item 1): edits off that path keep the cache,
edits on it invalidate it."""

import importlib
import os
import subprocess
import sys
import textwrap
import uuid

import pytest

from effcode.runs.codehash import code_hash, reach

FILES = {
    "__init__.py": "",
    "registry.py": """
        from effcode.registry import Registry

        THINGS = Registry("thing")
        """,
    "things.py": """
        from .registry import THINGS


        @THINGS.register("double")
        class Double:
            def apply(self, x):
                return 2 * x
        """,
    "helper.py": """
        SCALE = 3
        OTHER = 4


        def scale(x):
            return x * SCALE


        def unused(x):
            return x - 1


        class Model:
            def __init__(self, k):
                self.k = k

            def predict(self, x):
                return self.k * x


        class Anything:
            def transform(self, x):
                return x + 1
        """,
    "unrelated.py": """
        def figure():
            return 'plot'
        """,
    "steps.py": """
        import numpy as np

        from . import things
        from .helper import Model, scale
        from .registry import THINGS


        def make_step(n):
            def compute(obj):
                \"\"\"The step.\"\"\"
                # a comment
                values = scale(np.arange(n)) + Model(2).predict(n)
                return {"x": obj.transform(values), "t": THINGS.get("double")().apply(1), "v": _table()}
            return compute


        def _table():
            from .v1.load import TABLE
            return TABLE


        def other():
            return 1
        """,
    "v1/__init__.py": "",
    "v1/load.py": """
        from pathlib import Path

        TABLE = (Path(__file__).parent / "data" / "t.csv").read_text()
        """,
    "v1/data/t.csv": "a,b\n1,2\n",
}


@pytest.fixture
def package(tmp_path, monkeypatch):
    """A throwaway package; returns (name, folder, a function giving the compute closure and its hash)."""
    name = f"pkg_ch_{uuid.uuid4().hex[:8]}"
    folder = tmp_path / name
    for path, text in FILES.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_text(textwrap.dedent(text))
    monkeypatch.syspath_prepend(str(tmp_path))
    steps = importlib.import_module(f"{name}.steps")
    compute = steps.make_step(3)

    yield name, folder, compute
    for module in [m for m in sys.modules if m.startswith(name)]:
        del sys.modules[module]


def _edit(path, old, new):
    """Replace ``old`` by ``new`` in a source file, moving its modification time on."""
    text = path.read_text()
    assert old in text
    stat = path.stat()
    path.write_text(text.replace(old, new))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10_000_000))


OFF_PATH = {
    "another function of the same module": ("steps.py", "return 1", "return 2"),
    "a docstring": ("steps.py", "The step.", "The step, documented."),
    "a comment": ("steps.py", "# a comment", "# another comment"),
    "another module": ("unrelated.py", "'plot'", "'plots'"),
    "another function of a reached module": ("helper.py", "return x - 1", "return x - 2"),
    "a constant nobody reads": ("helper.py", "OTHER = 4", "OTHER = 5"),
    "a moved function": ("steps.py", "def make_step", "\n\n\ndef make_step"),
}

ON_PATH = {
    "the compute function": ("steps.py", "Model(2)", "Model(3)"),
    "a function it calls in another module": ("helper.py", "return x * SCALE", "return x * SCALE + 0"),
    "a method of a class it instantiates": ("helper.py", "return self.k * x", "return self.k * x * 1"),
    "a method reached by an unknown object's call": ("helper.py", "return x + 1", "return x + 2"),
    "a module-level constant it reads": ("helper.py", "SCALE = 3", "SCALE = 4"),
    "a registered object's source": ("things.py", "return 2 * x", "return x + x"),
    "a module its function imports": ("v1/load.py", '"t.csv"', '"t.csv" ""'),
}


@pytest.mark.parametrize("edit", OFF_PATH)
def test_an_edit_off_the_path_keeps_the_hash(package, edit):
    _, folder, compute = package
    before = code_hash(compute)
    path, old, new = OFF_PATH[edit]
    _edit(folder / path, old, new)
    assert code_hash(compute) == before


@pytest.mark.parametrize("edit", ON_PATH)
def test_an_edit_on_the_path_changes_the_hash(package, edit):
    _, folder, compute = package
    before = code_hash(compute)
    path, old, new = ON_PATH[edit]
    _edit(folder / path, old, new)
    assert code_hash(compute) != before


def test_a_data_file_beside_a_reached_module_counts(package):
    _, folder, compute = package
    before = code_hash(compute)
    (folder / "v1" / "data" / "t.csv").write_text("a,b\n1,3\n")
    assert code_hash(compute) != before
    (folder / "v1" / "data" / "new.csv").write_text("c\n")
    assert code_hash(compute) != before


def test_the_reach_names_what_it_covers(package):
    name, _, compute = package
    reached = reach(compute)
    assert {f"{name}.steps:make_step.<locals>.compute", f"{name}.helper:scale", f"{name}.helper:Model",
            f"{name}.helper:SCALE", f"{name}.helper:Anything.transform", f"{name}.things:Double",
            f"{name}.v1.load:TABLE", f"{name}.steps:_table"} <= reached
    modules = {label.split(":")[0] for label in reached}
    assert f"{name}.unrelated" not in modules
    assert f"{name}.steps:other" not in reached and f"{name}.helper:unused" not in reached
    assert any(label.startswith("data:") for label in reached)


def test_a_computed_import_falls_back_to_the_module_closure(package):
    name, folder, _ = package
    (folder / "dyn.py").write_text(textwrap.dedent("""
        import importlib

        from . import helper


        def compute(module):
            return importlib.import_module(module).VALUE
        """))
    dyn = importlib.import_module(f"{name}.dyn")
    assert f"{name}.helper:*" in reach(dyn.compute)


def test_a_learned_bank_step_reaches_its_learners_not_figures_or_other_experiments():
    from effcode.experiments import common

    compute = _learned_bank_compute(common)
    reached = reach(compute)
    modules = {label.split(":")[0] for label in reached}
    assert "effcode.plots.figure" not in modules and "effcode.experiments.e09_phase_scrambling" not in modules
    assert not any(m.startswith("effcode.plots") or m.startswith("effcode.experiments.e") for m in modules)
    assert "effcode.learners.sparse_coding:SparseCoding" in reached
    from effcode.objectives import OBJECTIVES

    for objective in OBJECTIVES.names():
        cls = OBJECTIVES.get(objective)
        assert f"{cls.__module__}:{cls.__qualname__}" in reached
    assert code_hash(compute) == code_hash(compute)


def _learned_bank_compute(common):
    """The compute function ``learned_bank`` hands to ``run.step`` (caught before it runs)."""
    captured = {}

    class Stop(Exception):
        pass

    class FakeRun:
        config, device, progress = {}, "cpu", False

        def record_image_subset(self, *args):
            pass

        def step(self, name, key, compute, resumable=False):
            captured["compute"] = compute
            raise Stop

    class Image:
        sha256 = "0" * 64

    spec = common.BankSpec(method="sparse_coding", n_filters=4, patch_size=8, seed=0, params={})
    import effcode.data as data

    original = data.seed_images
    data.seed_images = lambda images, random_state, fraction: images
    try:
        common.learned_bank(FakeRun(), spec, [Image()])
    except Stop:
        pass
    finally:
        data.seed_images = original
    return captured["compute"]


def test_the_hash_is_the_same_in_every_process():
    """String hashing is randomised per process (PYTHONHASHSEED): the reach must not depend on set order, or a
    rerun would not find the cache or the checkpoint of the run it continues (``A, B = 1, 2`` once labelled
    whichever name was read first)."""
    script = ("from effcode.runs.codehash import code_hash\n"
              "from effcode.experiments import EXPERIMENTS\n"
              "from effcode.experiments.common import learned_bank\n"
              "print(code_hash(learned_bank), *(code_hash(EXPERIMENTS.get(n).compute) for n in EXPERIMENTS.names()))\n")
    outputs = {subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                              env={**os.environ, "PYTHONHASHSEED": str(seed)}).stdout for seed in (1, 2, 3)}
    assert len(outputs) == 1
