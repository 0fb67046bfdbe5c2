"""Sweeps: local joblib, a dask LocalCluster on loopback, and resuming after SIGKILL."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from effcode.experiments.common import POINT_METRICS, SCORER_DEFAULTS, evaluate_point
from effcode.runs import expand_grid, run_sweep

FIXED = {"method": "sparse_coding", "n_filters": 8, "patch_size": 6, "n_steps": 5,
         "device": "cpu", "r2_threshold": 0.5, "n_bootstrap": 20, "seed": 0}


def test_expand_grid():
    points = expand_grid({"a": [1, 2], "b": ["x", "y", "z"]}, {"c": 0})
    assert len(points) == 6 and points[0] == {"c": 0, "a": 1, "b": "x"}


def test_dask_cluster_gives_the_local_results(tmp_path, small_image_folder):
    distributed = pytest.importorskip("distributed")
    points = expand_grid({"seed": [0, 1], "lam": [0.2, 0.4]}, {**FIXED, "source": str(small_image_folder)})
    local = run_sweep(evaluate_point, points, tmp_path / "local", backend="joblib", n_jobs=1)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        remote = run_sweep(evaluate_point, points, tmp_path / "dask", backend="dask",
                           scheduler=cluster.scheduler_address)
    assert json.dumps(remote, sort_keys=True) == json.dumps(local, sort_keys=True)


def test_killed_sweep_resumes_without_recomputing(tmp_path, small_image_folder):
    command = [sys.executable, "-m", "effcode", "sweep", "--grid", "seed=[0,1,2,3]", "--name", "k", "--quiet",
               "--results", str(tmp_path), "--set", f"source={small_image_folder}"] + [a for k, v in FIXED.items() if k not in ("method", "device", "seed")
                                               for a in ("--set", f"{k}={v}")]
    points = tmp_path / "sweeps" / "k" / "points"
    proc = subprocess.Popen(command, start_new_session=True)
    deadline = time.time() + 120
    saved = "[!.]*.json"   # finished points; a kill mid-write leaves only a hidden temporary file
    while time.time() < deadline and not (points.exists() and any(points.glob(saved))):
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done = {p.name: p.stat().st_mtime_ns for p in points.glob(saved)}
    assert 1 <= len(done) < 4, "the sweep should have been killed part-way"
    subprocess.run(command, check=True)
    after = {p.name: p.stat().st_mtime_ns for p in points.glob(saved)}
    assert len(after) == 4 and all(after[name] == stamp for name, stamp in done.items())
    table = (tmp_path / "sweeps" / "k" / "results.csv").read_text()
    assert table.count("\n") == 5
    header = table.splitlines()[0].split(",")
    assert set(POINT_METRICS) <= set(header) and set(SCORER_DEFAULTS) <= set(header)


def test_sweep_fixed_keys_carry_the_scorer_settings():
    from effcode.cli import SWEEP_DEFAULTS

    assert set(SCORER_DEFAULTS) <= set(SWEEP_DEFAULTS)
    assert {k: SWEEP_DEFAULTS[k] for k in SCORER_DEFAULTS if k != "n_bootstrap"} == \
        {k: v for k, v in SCORER_DEFAULTS.items() if k != "n_bootstrap"}


def test_sweep_refuses_an_unknown_population_before_learning(tmp_path, capsys):
    from effcode.cli import main

    assert main(["sweep", "--grid", "population=[basis,nope]", "--results", str(tmp_path), "--quiet"]) == 2
    assert "population must be one of measured_rf, filters, basis; got 'nope'" in capsys.readouterr().err
    assert not (tmp_path / "sweeps").exists()


def test_bad_workers_and_unreachable_schedulers_are_one_line_errors(tmp_path):
    from effcode.errors import InputError

    points = [dict(FIXED, source="default")]
    with pytest.raises(InputError, match="n_jobs must be a positive number"):
        run_sweep(evaluate_point, points, tmp_path, n_jobs=0)
    pytest.importorskip("distributed")
    # in a fresh process: a failed dask client leaves state behind that later clients in this one trip on
    script = f"""
from effcode.errors import InputError
from effcode.experiments.common import evaluate_point
from effcode.runs import run_sweep, sweep
sweep.SCHEDULER_TIMEOUT_S = 2
for address in ("foo", "tcp://127.0.0.1:9"):     # malformed; nothing listening
    try:
        run_sweep(evaluate_point, [{points[0]!r}], {str(tmp_path)!r}, backend="dask", scheduler=address)
    except InputError as exc:
        print(exc)
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120).stdout
    for address in ("foo", "tcp://127.0.0.1:9"):
        assert f"could not reach the dask scheduler '{address}' within 2 s" in out, out
    assert not list(tmp_path.glob("points/*.json"))        # nothing computed, nothing written


def _images_seen(point):
    """What a worker reads from the point's image source (module level: sent to dask workers)."""
    from effcode.data import load_images

    images = load_images(point["source"])
    return {"source_seen": point["source"], "ids": [im.id for im in images], "sha256": [im.sha256 for im in images]}


def test_folder_sources_are_sent_to_dask_workers(tmp_path, small_image_folder):
    """Workers read a copy of the driver's image folder (no shared path needed), with the same ids
    and pixels as the driver's own load."""
    distributed = pytest.importorskip("distributed")
    from effcode.data import load_images

    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        (row,) = run_sweep(_images_seen, [{"source": str(small_image_folder)}], tmp_path, backend="dask",
                           scheduler=cluster.scheduler_address)
    here = load_images(str(small_image_folder))
    assert "effcode-images-" in row["source_seen"] and row["source_seen"] != str(small_image_folder)
    assert row["ids"] == [im.id for im in here] and row["sha256"] == [im.sha256 for im in here]


def test_pack_and_unpack_a_folder_round_trip(tmp_path, small_image_folder):
    from effcode.data import load_images
    from effcode.data.shipping import pack_folder, unpack_folder

    packed = pack_folder(small_image_folder)
    copy = unpack_folder(packed, root=tmp_path)
    assert unpack_folder(packed, root=tmp_path) == copy and copy.name == small_image_folder.name
    assert [(im.id, im.sha256) for im in load_images(str(copy))] == \
        [(im.id, im.sha256) for im in load_images(str(small_image_folder))]


def test_effcode_run_sends_sweeps_to_a_scheduler_and_refuses_a_bad_one(tmp_path):
    from effcode.cli import _with_scheduler
    from effcode.experiments import get_experiment

    for number in ("06", "07", "13"):
        exp = get_experiment(number)
        config = exp.config(overrides=_with_scheduler(exp, {}, "tcp://10.0.0.1:8786"))
        assert config["backend"] == "dask" and config["scheduler"] == "tcp://10.0.0.1:8786"
    assert _with_scheduler(get_experiment("01"), {"n_filters": 8}, "tcp://10.0.0.1:8786") == {"n_filters": 8}
    done = subprocess.run([sys.executable, "-m", "effcode", "run", "07", "--quick", "--results", str(tmp_path),
                           "--scheduler", "foo"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "scheduler" in done.stderr and "'foo'" in done.stderr and not (tmp_path / "07_overcompleteness").exists()
