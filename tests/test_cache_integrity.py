"""The cache knows its code, checks its files, and keeps one run per folder (issue 14 items 1, 2, 4)."""

import importlib
import json
import os
import subprocess
import sys
import textwrap
import uuid

import numpy as np
import pytest

from effcode.errors import CorruptFileError, IntegrityWarning
from effcode.runs import Run, read_npz, run_sweep, write_npz
from effcode.storage.checkpoint import Checkpointer
from effcode.runs.codehash import code_hash, module_closure
from effcode.storage.integrity import read_checked_npz, write_checked_npz


@pytest.fixture
def step_package(tmp_path, monkeypatch):
    """A throwaway importable package: ``steps`` (the compute function) imports ``helper``;
    ``unrelated`` is imported by nothing. Returns (package name, its folder, a call counter file)."""
    name = f"pkg_{uuid.uuid4().hex[:8]}"
    folder = tmp_path / "code" / name
    folder.mkdir(parents=True)
    (folder / "__init__.py").write_text("")
    (folder / "helper.py").write_text("FACTOR = 2\n")
    (folder / "unrelated.py").write_text("X = 1\n")
    counter = tmp_path / "calls.txt"
    (folder / "steps.py").write_text(textwrap.dedent(f"""
        import numpy as np
        from .helper import FACTOR


        def compute():
            with open({str(counter)!r}, "a") as fh:
                fh.write("x")
            return {{"x": np.arange(3) * FACTOR}}


        def evaluate(point):
            with open({str(counter)!r}, "a") as fh:
                fh.write("x")
            return {{"y": point["a"] * FACTOR}}
        """))
    monkeypatch.syspath_prepend(str(tmp_path / "code"))
    yield name, folder, counter
    for module in [m for m in sys.modules if m.startswith(name)]:
        del sys.modules[module]


def _edit(path, text):
    """Rewrite a source file so that its size and modification time both change."""
    stat = path.stat()
    path.write_text(text)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10_000_000))


def _calls(counter) -> int:
    return len(counter.read_text()) if counter.exists() else 0


# -- item 1: a cache that knows its code ---------------------------------------------------------
def test_code_hash_follows_imports_and_ignores_unrelated_modules(step_package):
    name, folder, _ = step_package
    assert set(module_closure(f"{name}.steps")) >= {name, f"{name}.steps", f"{name}.helper"}
    assert f"{name}.unrelated" not in module_closure(f"{name}.steps")
    before = code_hash(f"{name}.steps")
    _edit(folder / "unrelated.py", "X = 22\n")
    assert code_hash(f"{name}.steps") == before
    _edit(folder / "helper.py", "FACTOR = 30\n")
    assert code_hash(f"{name}.steps") != before


def test_registries_filled_by_computed_imports_are_covered():
    """learners/__init__ imports its modules by computed names: a step using it depends on all."""
    closure = module_closure("effcode.experiments.common")
    assert {"effcode.learners.sparse_cnn", "effcode.learners.isa", "effcode.gabor.fit"} <= set(closure)
    assert "effcode.experiments.e09_phase_scrambling" not in closure   # a parent package's registry is not


def test_a_step_is_recomputed_when_its_code_changes(tmp_path, step_package):
    name, folder, counter = step_package
    steps = importlib.import_module(f"{name}.steps")
    run = Run(tmp_path / "run", {"seed": 0})
    run.start()
    assert run.step("s", {"n": 3}, steps.compute)["x"].tolist() == [0, 2, 4]
    assert run.step("s", {"n": 3}, steps.compute)["x"].tolist() == [0, 2, 4]
    assert _calls(counter) == 1
    _edit(folder / "helper.py", "FACTOR = 30\n")
    importlib.reload(importlib.import_module(f"{name}.helper"))
    steps = importlib.reload(steps)
    assert run.step("s", {"n": 3}, steps.compute)["x"].tolist() == [0, 30, 60]
    assert _calls(counter) == 2
    run.finish()
    records = json.loads((tmp_path / "run" / "provenance.json").read_text())["steps"]
    assert [r["from_cache"] for r in records] == [False, True, False]
    assert records[0]["code_hash"] != records[2]["code_hash"]
    assert all(r["effcode_version"] and "git_commit" in r and r["file"].startswith("cache/s-") for r in records)


def test_a_sweep_point_is_recomputed_when_its_code_changes(tmp_path, step_package):
    name, folder, counter = step_package
    steps = importlib.import_module(f"{name}.steps")
    records = []
    assert [r["y"] for r in run_sweep(steps.evaluate, [{"a": 1}, {"a": 2}], tmp_path, records=records)] == [2, 4]
    run_sweep(steps.evaluate, [{"a": 1}, {"a": 2}], tmp_path)
    assert _calls(counter) == 2 and not any(r["from_cache"] for r in records)
    _edit(folder / "helper.py", "FACTOR = 30\n")
    importlib.reload(importlib.import_module(f"{name}.helper"))
    steps = importlib.reload(steps)
    records = []
    assert [r["y"] for r in run_sweep(steps.evaluate, [{"a": 1}], tmp_path, records=records)] == [30]
    assert _calls(counter) == 3 and records[0]["from_cache"] is False and records[0]["code_hash"]


def test_provenance_lists_every_step_with_what_computed_it(tmp_path, small_image_folder):
    from effcode.experiments import run_experiment

    options = dict(quick=True, results_dir=tmp_path, make_figures=False,
                   overrides={"source": str(small_image_folder), "n_filters": 8, "patch_size": 8, "n_steps": 10,
                              "n_seeds": 1})
    first = json.loads(run_experiment("01", **options).path("provenance.json").read_text())
    second = json.loads(run_experiment("01", **options).path("provenance.json").read_text())
    assert [s["step"] for s in first["steps"]] == ["bank-sparse_coding", "gabor"]
    assert not any(s["from_cache"] for s in first["steps"]) and all(s["from_cache"] for s in second["steps"])
    assert [s["git_commit"] for s in second["steps"]] == [s["git_commit"] for s in first["steps"]]
    assert all(s["code_hash"] and s["effcode_version"] for s in second["steps"])


# -- item 2: integrity ---------------------------------------------------------------------------
def _corruptions(path):
    """Each way a cache file goes bad: truncated, one flipped byte, random bytes, empty."""
    data = path.read_bytes()
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0xFF
    rng = np.random.default_rng(0)
    return {"truncated": data[: len(data) // 2], "bit flip": bytes(flipped),
            "random": rng.integers(0, 256, len(data), dtype=np.uint8).tobytes(), "empty": b""}


@pytest.mark.parametrize("kind", ["truncated", "bit flip", "random", "empty", "replaced"])
def test_a_corrupt_cached_step_is_named_and_recomputed(tmp_path, kind):
    calls = []

    def compute():
        calls.append(1)
        return {"x": np.arange(1000.0)}

    run = Run(tmp_path / "run", {})
    run.step("s", {}, compute)
    (path,) = (tmp_path / "run" / "cache").glob("s-*.npz")
    if kind == "replaced":   # another valid archive, as if copied over this one
        write_npz(path, x=np.zeros(1000))
    else:
        path.write_bytes(_corruptions(path)[kind])
    with pytest.warns(IntegrityWarning, match=str(path)):
        again = run.step("s", {}, compute)
    assert len(calls) == 2 and np.array_equal(again["x"], np.arange(1000.0))
    read_checked_npz(path)   # rewritten whole


def test_corrupt_and_valid_npz_give_one_line_errors_naming_the_file(tmp_path):
    good = tmp_path / "good.npz"
    write_checked_npz(good, {"seconds": 1.0}, x=np.arange(5))
    for kind, data in _corruptions(good).items():
        bad = tmp_path / f"{kind.replace(' ', '_')}.npz"
        bad.write_bytes(data)
        with pytest.raises(CorruptFileError) as info:
            read_checked_npz(bad)
        assert str(bad) in str(info.value) and "\n" not in str(info.value) and "pickle" not in str(info.value)
    with pytest.raises(CorruptFileError, match="checksum"):
        write_npz(tmp_path / "plain.npz", x=np.arange(5))
        read_checked_npz(tmp_path / "plain.npz")
    with pytest.raises(CorruptFileError, match="random.npz"):
        read_npz(tmp_path / "random.npz")


def _square(point):
    return {"square": point["a"] ** 2}


@pytest.mark.parametrize("kind", ["truncated", "bit flip", "random", "empty", "edited"])
def test_a_corrupt_sweep_point_is_named_and_recomputed(tmp_path, kind):
    run_sweep(_square, [{"a": 3}], tmp_path)
    (path,) = (tmp_path / "points").glob("*.json")
    if kind == "edited":
        data = json.loads(path.read_text())
        data["result"]["square"] = 10
        path.write_text(json.dumps(data))
    else:
        path.write_bytes(_corruptions(path)[kind])
    with pytest.warns(IntegrityWarning, match=str(path)):
        rows = run_sweep(_square, [{"a": 3}], tmp_path)
    assert rows[0]["square"] == 9


@pytest.mark.parametrize("kind", ["truncated", "bit flip", "random", "empty", "plain torch file"])
def test_a_corrupt_checkpoint_is_named_and_training_restarts(tmp_path, kind):
    import torch

    path = tmp_path / "bank.checkpoint.pt"
    checkpointer = Checkpointer(path, every=1)
    checkpointer.save({"step": 5, "weights": torch.arange(4.0)})
    assert checkpointer.load()["step"] == 5
    if kind == "plain torch file":   # torch's own format, no checksum: e.g. an old or foreign file
        torch.save({"step": 5}, path)
    else:
        path.write_bytes(_corruptions(path)[kind])
    with pytest.warns(IntegrityWarning, match=str(path)) as record:
        assert checkpointer.load() is None
    assert not path.exists()
    assert all("weights_only" not in str(w.message) for w in record)


def test_a_checkpoint_torch_cannot_read_never_shows_torch_advice(tmp_path):
    from effcode.storage.integrity import write_checked_bytes

    path = tmp_path / "x.checkpoint.pt"
    write_checked_bytes(path, b"\x80\x04not a torch file at all")   # checksum fine, content not torch's
    with pytest.warns(IntegrityWarning) as record:
        assert Checkpointer(path).load() is None
    message = str(record[0].message)
    assert str(path) in message and "weights_only" not in message and "\n" not in message


def test_a_changed_artifact_is_refused_when_figures_are_redrawn(tmp_path):
    run = Run(tmp_path / "01_sparse_coding", {"seed": 0})
    run.start()
    run.save_json("metrics.json", {"median_r2": 0.9})
    run.finish()
    Run.open(run.dir)   # intact: opens
    (run.dir / "metrics.json").write_text('{"median_r2": 0.99}')
    with pytest.raises(CorruptFileError, match="metrics.json") as info:
        Run.open(run.dir)
    assert "\n" not in str(info.value)


def test_cli_names_a_corrupt_artifact_in_one_line(tmp_path, small_image_folder):
    common = [sys.executable, "-m", "effcode"]
    settings = ["--results", str(tmp_path), "--set", f"source={small_image_folder}", "--set", "n_filters=8",
                "--set", "patch_size=8", "--set", "n_steps=10", "--set", "n_seeds=1"]
    subprocess.run(common + ["run", "01", "--quick", *settings], check=True, capture_output=True)
    metrics = tmp_path / "01_sparse_coding" / "metrics.json"
    metrics.write_text(metrics.read_text()[:-20])
    done = subprocess.run(common + ["figures", "--results", str(tmp_path)], capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and str(metrics) in done.stderr and "Traceback" not in done.stderr
    cache = next((tmp_path / "01_sparse_coding" / "cache").glob("gabor-*.npz"))
    cache.write_bytes(b"")
    done = subprocess.run(common + ["run", "01", "--quick", *settings], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    warnings = [line for line in done.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1 and str(cache) in warnings[0] and "recomputing" in warnings[0]


# -- item 4: concurrent runs ---------------------------------------------------------------------
def test_parallel_runs_with_different_settings_leave_every_folder_consistent(tmp_path, small_image_folder):
    """Four runs of experiment 01 with different filter counts, started together into one results
    folder, three times over: afterwards config, artifacts and report agree."""
    for trial in range(3):
        results = tmp_path / f"trial{trial}"
        procs = [subprocess.Popen([sys.executable, "-m", "effcode", "run", "01", "--quick", "--results",
                                   str(results), "--set", f"source={small_image_folder}", "--set",
                                   f"n_filters={n}", "--set", "patch_size=8", "--set", "n_steps=10", "--set",
                                   "n_seeds=1", "--force"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                  env={**os.environ, "OMP_NUM_THREADS": "1"})
                 for n in (8, 12, 16, 20)]
        for proc in procs:
            assert proc.wait() == 0, proc.stderr.read()
        folder = results / "01_sparse_coding"
        config = json.loads((folder / "config.json").read_text())
        bank = read_npz(folder / "filter_bank.npz")
        metrics = json.loads((folder / "metrics.json").read_text())
        assert bank["filters"].shape[0] == config["n_filters"] == metrics["n_filters"]
        assert read_npz(folder / "r2_by_seed.npz")[f"r2_seed{config['seed']}"].shape == (config["n_filters"],)
        Run.open(folder)   # every checksum matches
