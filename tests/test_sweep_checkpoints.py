"""Training inside sweep points checkpoints and resumes; a point killed while it is scored is not trained
again; cache files carry their own key; sweep workers stop with their parent.

The kill tests run effcode's command line through :data:`STEERED` (``tests/steered_effcode.py``), which
counts the training steps a process makes, or holds it at a known moment: just after its first
checkpoint is saved, or at a point's scoring.  They wait for the held process's marker file under its
final name, kill the run's process group with SIGKILL, and check that the rerun trains exactly the
steps after the last checkpoint (none when the training had finished) and ends with the uninterrupted
run's numbers.  Nothing depends on timing.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from effcode.runs import Run, run_sweep
from effcode.storage.checkpoint import Checkpointer

ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
#: how long a wait on a file or a process may take before the test fails (a bound, not a timing)
PATIENCE_S = 300


def wait_for(condition, process=None, what="the condition"):
    """Poll ``condition()`` until it is true; fail if ``process`` ends first or :data:`PATIENCE_S` pass."""
    deadline = time.monotonic() + PATIENCE_S
    while not condition():
        if process is not None and process.poll() is not None:
            pytest.fail(f"the run ended before {what}: {process.communicate()[1][-2000:]}")
        assert time.monotonic() < deadline, f"no {what} within {PATIENCE_S} s"
        time.sleep(0.02)


def final_files(folder, pattern):
    """Files of ``folder`` matching ``pattern`` under their final names (not an atomic write's temporary)."""
    return sorted(p for p in folder.glob(pattern) if not p.name.startswith(".")) if folder.exists() else []


#: effcode's command line, steered: counting its training steps, or held at a known moment until killed
STEERED = Path(__file__).with_name("steered_effcode.py")


def steered(tmp_path, mode: str, arguments: list[str]) -> list[str]:
    """The command running ``effcode ARGUMENTS`` through :data:`STEERED` in ``mode`` (marker folder ``tmp_path``)."""
    return [sys.executable, str(STEERED), str(tmp_path), mode, *arguments]


def kill_when(command, ready, what):
    """Start ``command`` in its own process group and SIGKILL the group once ``ready()`` is true."""
    proc = subprocess.Popen(command, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    wait_for(ready, proc, what)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()


def kill_after_checkpoint(tmp_path, arguments, points):
    """Run ``effcode ARGUMENTS``, SIGKILL it just after its first point's first checkpoint; return its step."""
    kill_when(steered(tmp_path, "hold-training", arguments), (tmp_path / "held").exists, "a checkpoint")
    checkpoints = final_files(points, "*.checkpoint.pt")
    assert len(checkpoints) == 1 and not final_files(points, "*.json")
    return Checkpointer(checkpoints[0]).load()["step"]


def kill_while_scoring(tmp_path, arguments, points):
    """Run ``effcode ARGUMENTS``, SIGKILL it while its first point is scored.  Checks what the kill leaves: the
    finished training kept, no checkpoint (the finished training supersedes it), no point saved."""
    kill_when(steered(tmp_path, "hold-scoring", arguments), (tmp_path / "held").exists, "the point's scoring")
    assert len(final_files(points, "*.trained.npz")) == 1
    assert not final_files(points, "*.checkpoint.pt") and not final_files(points, "*.json")


def completed(command):
    done = subprocess.run(command, env=ENV, capture_output=True, text=True, timeout=PATIENCE_S)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stderr


def trained_steps(log: str) -> int:
    """The training steps a :data:`STEERED` process made, from its log."""
    return int(re.findall(r"trained steps: (\d+)", log)[-1])


SWEEP_STEPS = 250


def sweep(results, source):
    return ["sweep", "--grid", "seed=[0]", "--name", "k", "--n-jobs", "1", "--results", str(results),
            *[arg for setting in ("n_filters=8", "patch_size=6", f"n_steps={SWEEP_STEPS}", "batch_size=8",
                                  "population=filters", "n_bootstrap=20", "n_permutations=99", f"source={source}")
              for arg in ("--set", setting)]]


def test_a_killed_sweep_point_resumes_from_its_checkpoint(tmp_path, small_image_folder):
    points = tmp_path / "killed" / "sweeps" / "k" / "points"
    step = kill_after_checkpoint(tmp_path, sweep(tmp_path / "killed", small_image_folder), points)
    assert step == 100
    log = completed(steered(tmp_path, "run", sweep(tmp_path / "killed", small_image_folder)))
    assert re.search(rf"SparseCoding: resuming from step {step}\b", log), log[-2000:]
    assert trained_steps(log) == SWEEP_STEPS - step   # only the steps after the checkpoint are trained again
    assert not final_files(points, "*.checkpoint.pt") and not final_files(points, "*.trained.npz")
    uninterrupted = completed(steered(tmp_path, "run", sweep(tmp_path / "uninterrupted", small_image_folder)))
    assert "resuming" not in uninterrupted and trained_steps(uninterrupted) == SWEEP_STEPS
    resumed = (tmp_path / "killed" / "sweeps" / "k" / "results.csv").read_text()
    assert resumed == (tmp_path / "uninterrupted" / "sweeps" / "k" / "results.csv").read_text()


def test_a_sweep_point_killed_while_scored_is_scored_again_without_training(tmp_path, small_image_folder):
    points = tmp_path / "killed" / "sweeps" / "k" / "points"
    kill_while_scoring(tmp_path, sweep(tmp_path / "killed", small_image_folder), points)
    log = completed(steered(tmp_path, "run", sweep(tmp_path / "killed", small_image_folder)))
    assert trained_steps(log) == 0 and "trained before the interruption" in log, log[-2000:]
    assert not final_files(points, "*.trained.npz")   # removed once the point was saved
    uninterrupted = completed(steered(tmp_path, "run", sweep(tmp_path / "uninterrupted", small_image_folder)))
    assert trained_steps(uninterrupted) == SWEEP_STEPS
    resumed = (tmp_path / "killed" / "sweeps" / "k" / "results.csv").read_text()
    assert resumed == (tmp_path / "uninterrupted" / "sweeps" / "k" / "results.csv").read_text()


SAILNET_STEPS = 250


def run_13(results, source):
    settings = [f"sailnet_steps={SAILNET_STEPS}", "sailnet_factors=[1.0]", "n_seeds=1", "objectives=[l1]",
                "factors=[1.0]", "n_steps=5", f"source={source}"]
    return ["run", "13", "--quick", "--no-figures", "--results", str(results),
            *[arg for setting in settings for arg in ("--set", setting)]]


def test_experiment_13s_sailnet_killed_mid_training_resumes_to_the_uninterrupted_result(tmp_path,
                                                                                       small_image_folder):
    points = tmp_path / "killed" / "13_v1_like_codes" / "points"
    step = kill_after_checkpoint(tmp_path, run_13(tmp_path / "killed", small_image_folder), points)
    assert step == 100
    log = completed(steered(tmp_path, "run", run_13(tmp_path / "killed", small_image_folder)))
    assert re.search(rf"SAILnet: resuming from step {step}\b", log), log[-2000:]
    assert trained_steps(log) == SAILNET_STEPS - step + 5   # the rest of SAILnet's, and the l1 point's 5
    assert not final_files(points, "*.checkpoint.pt") and not final_files(points, "*.trained.npz")
    uninterrupted = completed(steered(tmp_path, "run", run_13(tmp_path / "uninterrupted", small_image_folder)))
    assert "resuming" not in uninterrupted and trained_steps(uninterrupted) == SAILNET_STEPS + 5
    resumed = (tmp_path / "killed" / "13_v1_like_codes" / "sweep.csv").read_text()
    assert resumed == (tmp_path / "uninterrupted" / "13_v1_like_codes" / "sweep.csv").read_text()


def _checkpoint_given(point, checkpoint=None):
    return {"checkpoint": str(checkpoint)}


def test_a_dask_worker_that_cannot_make_the_checkpoint_folder_evaluates_without_checkpoints(tmp_path):
    """Without a disk shared with the client, a worker keeps checkpoints at the client's path on its own disk;
    where it cannot make that folder (here: a file stands in its way) the point still runs, unresumable."""
    from effcode.runs.sweep import _evaluate_with_images

    (tmp_path / "not_a_folder").write_text("")
    unmakeable = tmp_path / "not_a_folder" / "points" / "p.checkpoint.pt"
    assert _evaluate_with_images(_checkpoint_given, 0, {}, unmakeable, None)[1] == {"checkpoint": "None"}
    makeable = tmp_path / "elsewhere" / "points" / "p.checkpoint.pt"
    assert _evaluate_with_images(_checkpoint_given, 0, {}, makeable, None)[1] == {"checkpoint": str(makeable)}
    assert makeable.parent.is_dir()


# -- cache files carry their own key -----------------------------------------------------------
def _seeded(seed):
    return lambda: {"x": np.random.default_rng(seed).normal(size=4)}


def test_a_step_file_copied_over_another_steps_is_recomputed(tmp_path):
    run = Run(tmp_path / "r", {})
    a = run.step("bank", {"seed": 0}, _seeded(0))["x"]
    b = run.step("bank", {"seed": 1}, _seeded(1))["x"]
    file_a, file_b = sorted((tmp_path / "r" / "cache").glob("bank-*.npz"),
                            key=lambda p: p.stat().st_mtime_ns)
    shutil.copyfile(file_a, file_b)   # cp bank-A bank-B
    with pytest.warns(UserWarning, match=f"{file_b.stem[:5]}.*holds the result of {file_a.stem}"):
        again = Run(tmp_path / "r", {}).step("bank", {"seed": 1}, _seeded(1))["x"]
    assert np.array_equal(again, b) and not np.array_equal(again, a)


def _point_value(point):
    return {"value": point["seed"] * 10}


def test_a_point_file_copied_over_anothers_is_recomputed(tmp_path):
    points = [{"seed": 0}, {"seed": 1}]
    assert [r["value"] for r in run_sweep(_point_value, points, tmp_path)] == [0, 10]
    records = []
    run_sweep(_point_value, points, tmp_path, records=records)
    first, second = (tmp_path / r["file"] for r in records)
    shutil.copyfile(first, second)
    with pytest.warns(UserWarning, match="holds the result of another point"):
        assert [r["value"] for r in run_sweep(_point_value, points, tmp_path)] == [0, 10]


# -- workers stop with their parent ------------------------------------------------------------
WAITING_POINT = '''
import os
import pathlib
import threading


def evaluate(point):
    folder = pathlib.Path(point["folder"])
    tmp = folder / f".{os.getpid()}.tmp"
    tmp.write_text("")
    os.replace(tmp, folder / f"{os.getpid()}.pid")
    threading.Event().wait()   # never returns: only the parent's death ends it
'''


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads process states from /proc")
def test_joblib_workers_stop_when_the_sweep_is_killed(tmp_path):
    (tmp_path / "waiting_point.py").write_text(textwrap.dedent(WAITING_POINT))
    script = ("from effcode.runs import run_sweep; import waiting_point; "
              f"run_sweep(waiting_point.evaluate, [{{'folder': {str(tmp_path)!r}, 'i': i}} for i in (0, 1)], "
              f"{str(tmp_path / 'sweep')!r}, n_jobs=2)")
    env = {**ENV, "PYTHONPATH": os.pathsep.join([str(tmp_path), ENV.get("PYTHONPATH", "")])}
    parent = subprocess.Popen([sys.executable, "-c", script], env=env, stderr=subprocess.PIPE, text=True)
    wait_for(lambda: len(final_files(tmp_path, "*.pid")) == 2, parent, "two workers")
    workers = [int(p.stem) for p in final_files(tmp_path, "*.pid")]
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    try:
        wait_for(lambda: not any(alive(pid) for pid in workers), what="the workers' exit")
    finally:
        for pid in filter(alive, workers):
            os.kill(pid, signal.SIGKILL)


def children(pid: int) -> list[int]:
    """The live processes whose parent is ``pid``."""
    found = []
    for stat in os.listdir("/proc"):
        if stat.isdigit():
            try:
                with open(f"/proc/{stat}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
            except (FileNotFoundError, ProcessLookupError):
                continue
            if int(fields[1]) == pid and fields[0] not in ("Z", "X"):
                found.append(int(stat))
    return found


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads process states from /proc")
def test_experiment_workers_stop_when_effcode_run_is_killed(tmp_path, small_image_folder):
    """``effcode run 01 02 --n-jobs 2``: killed once both experiments have started in its workers (each has
    had its staging folder), its worker processes end instead of computing results nobody will publish."""
    command = [sys.executable, "-m", "effcode", "run", "01", "02", "--quick", "--no-figures", "--n-jobs", "2",
               "--results", str(tmp_path), "--set", f"source={small_image_folder}"]
    parent = subprocess.Popen(command, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    staging = {tmp_path / "01_sparse_coding" / ".staging", tmp_path / "02_ica" / ".staging"}
    seen = set()

    def both_started():
        seen.update(folder for folder in staging if folder.exists())
        return seen == staging

    wait_for(both_started, parent, "both experiments' start")
    workers = children(parent.pid)
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    try:
        wait_for(lambda: not any(alive(pid) for pid in workers), what="the workers' exit")
    finally:
        for pid in filter(alive, workers):
            os.kill(pid, signal.SIGKILL)
