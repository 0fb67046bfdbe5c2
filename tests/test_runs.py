import json
import multiprocessing as mp

import numpy as np
import pytest

from effcode.errors import InputError
from effcode.registry import Registry
from effcode.runs import (Run, merge_config, parse_assignments, read_npz, write_json, write_npz)


def test_registry_register_get_and_errors():
    reg = Registry("thing")
    reg.register("a", lambda: 1)
    assert reg.create("a") == 1 and "a" in reg and reg.names() == ["a"]
    with pytest.raises(InputError, match="unknown thing 'b'; expected one of: a"):
        reg.get("b")
    with pytest.raises(InputError, match="already registered"):
        reg.register("a", lambda: 2)


def test_parse_assignments_and_merge_types():
    overrides = parse_assignments(["n=64", "objectives=[l1,my_objective]", "lam=0.1", "name=x"])
    assert overrides == {"n": 64, "objectives": ["l1", "my_objective"], "lam": 0.1, "name": "x"}
    merged = merge_config({"n": 1, "objectives": ["l1"], "lam": 1.0, "name": "a"}, {"lam": 2})
    assert merged["lam"] == 2.0 and isinstance(merged["lam"], float)
    with pytest.raises(InputError, match="unknown config key 'nn'"):
        merge_config({"n": 1}, {"nn": 2})
    with pytest.raises(InputError, match="expects int"):
        merge_config({"n": 1}, {"n": "many"})
    with pytest.raises(InputError, match="key=value"):
        parse_assignments(["novalue"])


def test_scientific_notation_dict_merging_and_list_elements():
    assert parse_assignments(["lam=1e-3", "big=2E+4", "levels=[1e-1, 2]", "base={l1: 3e0}"]) == {
        "lam": 0.001, "big": 20000.0, "levels": [0.1, 2], "base": {"l1": 3.0}}
    assert parse_assignments(["name=e5"]) == {"name": "e5"}          # not a number: stays text
    with pytest.raises(InputError, match=r"write \{l1: 3\}, with a space after the colon"):
        parse_assignments(["base_lam={l1:3}"])
    defaults = {"base_lam": {"l1": 2.0, "l0": 1.0}, "levels": [0.5, 1.0], "sizes": [8, 12], "names": ["l1"]}
    merged = merge_config(defaults, parse_assignments(["base_lam={l1: 3}", "levels=[1, 2]"]))
    assert merged["base_lam"] == {"l1": 3.0, "l0": 1.0} and merged["levels"] == [1.0, 2.0]
    assert merge_config(defaults, {"base_lam": {"mine": 0.5}})["base_lam"] == {"l1": 2.0, "l0": 1.0, "mine": 0.5}
    with pytest.raises(InputError, match=r"key 'levels' element 0 expects float"):
        merge_config(defaults, parse_assignments(["levels=[a,b]"]))
    with pytest.raises(InputError, match=r"key 'sizes' element 1 expects int"):
        merge_config(defaults, {"sizes": [8, 12.5]})
    with pytest.raises(InputError, match=r"key 'base_lam' entry 'l0' expects float"):
        merge_config(defaults, {"base_lam": {"l0": "high"}})


def test_npz_refuses_objects_and_loads_without_pickle(tmp_path):
    with pytest.raises(TypeError):
        write_npz(tmp_path / "x.npz", a=np.array([{"a": 1}], dtype=object))
    write_npz(tmp_path / "y.npz", a=np.arange(3))
    assert read_npz(tmp_path / "y.npz")["a"].tolist() == [0, 1, 2]


def test_atomic_write_leaves_old_file_on_failure(tmp_path):
    path = tmp_path / "m.json"
    write_json(path, {"v": 1})
    with pytest.raises(TypeError):
        write_json(path, {"v": object()})
    assert json.loads(path.read_text()) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["m.json"]  # no temporary left behind


def test_run_step_caches_on_params(tmp_path):
    run = Run(tmp_path / "01_x", {"seed": 0})
    run.start()
    calls = []

    def compute():
        calls.append(1)
        return {"value": np.array([len(calls)])}

    first = run.step("s", {"n": 1}, compute)
    again = run.step("s", {"n": 1}, compute)
    other = run.step("s", {"n": 2}, compute)
    assert len(calls) == 2 and first["value"][0] == again["value"][0] == 1 and other["value"][0] == 2
    run.finish()
    prov = run.load_json("provenance.json")
    assert prov["seed"] == 0 and "numpy" in prov["packages"] and prov["effcode_version"]


def _writer(args):
    path, worker = args
    for i in range(30):
        write_npz(path, worker=np.full(1000, worker), i=np.array(i))
    return worker


def test_parallel_writers_never_corrupt(tmp_path):
    path = tmp_path / "shared.npz"
    with mp.get_context("spawn").Pool(2) as pool:
        pool.map(_writer, [(path, w) for w in range(4)])
    data = read_npz(path)
    assert len(set(data["worker"].tolist())) == 1 and data["i"] == 29


def test_compute_time_counts_the_original_seconds_of_cached_steps_and_points(tmp_path):
    import time

    from effcode.experiments.suite import _compute_time

    calls = []

    def slow():
        calls.append(1)
        time.sleep(0.2)
        return {"value": np.arange(3)}

    first = Run(tmp_path / "01_a", {"seed": 0})
    first.step("slow", {"n": 1}, slow)
    assert first.cached_seconds == 0.0
    shared = Run(tmp_path / "02_b", {"seed": 0})           # same step, another experiment: copied, not run
    shared.step("slow", {"n": 1}, slow)
    assert len(calls) == 1, "recomputed a cached step"
    # the seconds the first run recorded (at least the sleep), not a measurement of this one: no timing bound
    assert shared.cached_seconds == first.steps[0]["seconds"] >= 0.2
    points = [{"x": 1}, {"x": 2}]
    shared.sweep(_slow_point, points)
    again = Run(tmp_path / "02_b", {"seed": 0})
    again.sweep(_slow_point, points)
    recorded = [point["seconds"] for point in shared.steps[-1]["points"]]
    assert again.cached_seconds == pytest.approx(sum(recorded)) and min(recorded) >= 0.1
    text = _compute_time({"compute_seconds": 0.01, "total_compute_seconds": 12.0})
    assert text.startswith("compute time 12 s (0.01 s")
    assert _compute_time({"compute_seconds": 5.0}) == "compute time 5.0 s"


def _slow_point(point):
    import time

    time.sleep(0.1)
    return {"y": point["x"] * 2}


def _shared_step(started, go):
    """The compute function of step "shared": it announces ``started`` and finishes once ``go`` is set; without
    them (None) it fails, as it must not run.  The same code in both processes, so the same cache key (the
    events are data in its closure, not code)."""
    def compute():
        if started is None:
            raise AssertionError("computed a step another process was computing")
        started.set()
        go.wait()
        return {"value": np.arange(4)}

    return compute


def _hold_step(directory, started, go):
    """In another process: compute step "shared" of a run in ``directory``, announcing ``started`` and
    finishing only once ``go`` is set."""
    Run(directory, {"seed": 0}).step("shared", {"n": 1}, _shared_step(started, go))


class _Watched:
    """A stand-in for stderr that sets ``seen`` once ``text`` is written to it."""

    def __init__(self, text):
        import threading

        self.text, self.seen = text, threading.Event()

    def write(self, message):
        if self.text in message:
            self.seen.set()

    def flush(self):
        pass


def test_a_step_another_process_is_computing_is_waited_for_and_not_computed_again(tmp_path, monkeypatch):
    import threading

    context = mp.get_context("spawn")
    started, go = context.Event(), context.Event()
    other = context.Process(target=_hold_step, args=(tmp_path / "01_a", started, go))
    other.start()
    try:
        assert started.wait(120), "the other process never started its step"
        watched = _Watched("waiting for another run computing step shared")
        monkeypatch.setattr("sys.stderr", watched)
        run, out = Run(tmp_path / "02_b", {"seed": 0}), {}

        waiter = threading.Thread(target=lambda: out.update(run.step("shared", {"n": 1}, _shared_step(None, None))))
        waiter.start()
        assert watched.seen.wait(120), "the step was not waited for"
        go.set()
        waiter.join()
    finally:
        go.set()
        other.join()
    assert other.exitcode == 0
    assert out["value"].tolist() == [0, 1, 2, 3] and run.steps[-1]["from_cache"]
    assert (tmp_path / "02_b" / "cache").is_dir() and len(list((tmp_path / "02_b" / "cache").glob("*.npz"))) == 1
