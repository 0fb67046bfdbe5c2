"""The hostile table of issue 27 as a test: every case a hostile user tried, and where it is replayed.

Cases replayed elsewhere are listed in :data:`ELSEWHERE` with the test that replays them (a test below
checks that each still exists, so the table cannot rot); the cases of folders that are never mixed,
refused overwrites and independent experiments are replayed here.  Nothing waits on a clock: a test
that interrupts a run waits for a file's final name, and then checks what must hold whichever moment
the signal arrived at.
"""

from __future__ import annotations

import ast
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from effcode.cli import main
from effcode.errors import CorruptFileError, InputError
from effcode.runs import Run
from effcode.storage import publish as publishing
from effcode.storage.atomic import read_npz
from effcode.storage.checkpoint import Checkpointer
from effcode.storage.integrity import verify_artifacts

TESTS = Path(__file__).parent

#: (case, test that replays it) for the cases replayed in other modules
ELSEWHERE = [
    ("typed config errors", "test_config_keys.py::test_choices_types_and_special_values_are_refused"),
    ("config errors are one line", "test_cli.py::test_bad_input_is_one_clear_line"),
    ("bad images and arrays fail fast in one line", "test_bad_input.py::test_entry_point_fails_fast_with_a_clear_message"),
    ("an empty image folder", "test_bad_input.py::test_empty_folder"),
    ("bad sweep files", "test_bad_input.py::test_bad_sweep_file"),
    ("an allocation larger than memory is refused", "test_bad_input.py::test_an_allocation_larger_than_memory_is_refused_before_it_starts"),
    ("the 8000 by 8000 image's memory", "test_whitening_memory.py::test_whitening_an_8000_by_8000_image_peaks_under_4_gb"),
    ("a moved results folder keeps its links", "test_cli.py::test_report_links_are_relative_to_the_report_wherever_effcode_ran"),
    ("bit-flipped, truncated, replaced cached steps are recomputed", "test_cache_integrity.py::test_a_corrupt_cached_step_is_named_and_recomputed"),
    ("corrupt sweep points are recomputed", "test_cache_integrity.py::test_a_corrupt_sweep_point_is_named_and_recomputed"),
    ("corrupt checkpoints restart training", "test_cache_integrity.py::test_a_corrupt_checkpoint_is_named_and_training_restarts"),
    ("a changed artifact is refused by figures, in one line", "test_cache_integrity.py::test_cli_names_a_corrupt_artifact_in_one_line"),
    ("concurrent runs with different settings", "test_cache_integrity.py::test_parallel_runs_with_different_settings_leave_every_folder_consistent"),
    ("kill -9 of 03 mid-training resumes to the uninterrupted result", "test_resume.py::test_effcode_run_03_killed_mid_training_resumes_to_the_uninterrupted_result"),
    ("a resumed training equals an uninterrupted one (01's and 02's learners)", "test_resume.py::test_a_resumed_training_equals_an_uninterrupted_one"),
    ("kill -9 of a sweep resumes without recomputing", "test_sweep.py::test_killed_sweep_resumes_without_recomputing"),
    ("kill -9 of a sweep point mid-training resumes from its checkpoint (item 3)", "test_sweep_checkpoints.py::test_a_killed_sweep_point_resumes_from_its_checkpoint"),
    ("kill -9 of 13's SAILnet mid-training resumes (item 3)", "test_sweep_checkpoints.py::test_experiment_13s_sailnet_killed_mid_training_resumes_to_the_uninterrupted_result"),
    ("kill -9 of a sweep point while it is scored does not train again (item 3)", "test_sweep_checkpoints.py::test_a_sweep_point_killed_while_scored_is_scored_again_without_training"),
    ("an edit off a step's path keeps its cache (item 1)", "test_codehash.py::test_an_edit_off_the_path_keeps_the_hash"),
    ("an edit on a step's path invalidates it (item 1)", "test_codehash.py::test_an_edit_on_the_path_changes_the_hash"),
    ("packaged data files are in the key (item 6 of the table)", "test_codehash.py::test_a_data_file_beside_a_reached_module_counts"),
    ("the key is the same in every process", "test_codehash.py::test_the_hash_is_the_same_in_every_process"),
    ("a results folder that cannot be written is refused first", "test_cli.py::test_results_folder_is_checked_before_any_computation"),
]


def _defined(module: Path) -> set[str]:
    return {node.name for node in ast.walk(ast.parse(module.read_text())) if isinstance(node, ast.FunctionDef)}


@pytest.mark.parametrize("case, where", ELSEWHERE, ids=[case for case, _ in ELSEWHERE])
def test_every_case_replayed_elsewhere_has_its_test(case, where):
    module, _, name = where.partition("::")
    assert (TESTS / module).exists(), f"{case}: {module} is gone"
    assert not name or name in _defined(TESTS / module), f"{case}: {where} is gone"


# -- folders are never mixed (issue 27 item 2) --------------------------------------------------------
def _publish_run(folder, n_filters: int, *, figures=("basis",)) -> Run:
    run = Run(folder, {"seed": 0, "n_filters": n_filters})
    run.start()
    run.save_json("metrics.json", {"n_filters": n_filters})
    run.save_csv("gabor_fits.csv", {"r2": list(range(n_filters))})
    for name in figures:
        run.figure_path(name).parent.mkdir(parents=True, exist_ok=True)
        run.figure_path(name).with_suffix(".png").write_text(f"{name} of {n_filters} atoms")
    run.finish()
    return run


def _files(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in publishing.result_files(folder)}


def test_a_run_publishes_its_results_and_figures_together_with_a_manifest(tmp_path):
    folder = tmp_path / "01_sparse_coding"
    _publish_run(folder, 16, figures=("basis", "r2_ecdf"))
    manifest = json.loads((folder / "checksums.json").read_text())
    assert set(manifest) == {"config.json", "provenance.json", "metrics.json", "gabor_fits.csv",
                             "figures/basis.png", "figures/r2_ecdf.png"}
    assert not (folder / publishing.STAGING).exists() and not (folder / publishing.JOURNAL).exists()
    _publish_run(folder, 32, figures=("basis",))   # a file the new run does not write is not left behind
    assert sorted(publishing.result_files(folder)) == sorted(set(manifest) - {"figures/r2_ecdf.png"})
    Run.open(folder)


def test_an_interrupted_rerun_with_new_settings_leaves_the_previous_run_whole(tmp_path):
    folder = tmp_path / "01_sparse_coding"
    _publish_run(folder, 16)
    before = _files(folder)
    rerun = Run(folder, {"seed": 0, "n_filters": 32})
    rerun.start()
    rerun.save_npz("filter_bank.npz", filters=[[0.0] * 32])   # 01 writes its bank after the first seed
    rerun.save_csv("gabor_fits.csv", {"r2": list(range(32))})
    # interrupted here (SIGINT, disk full, kill -9): nothing was published
    assert _files(folder) == before
    assert json.loads((Run.open(folder).path("metrics.json")).read_text())["n_filters"] == 16
    _publish_run(folder, 32)   # the next run discards the stale staging folder
    assert "filter_bank.npz" not in publishing.result_files(folder)


@pytest.mark.parametrize("moves", [0, 1, 3])
def test_a_publication_interrupted_after_its_commit_point_is_completed_before_the_folder_is_read(
        tmp_path, monkeypatch, moves):
    """Killed while moving the staged files in (after ``moves`` of them): the journal makes the next reader
    finish the publication, so it reads the new run whole."""
    folder = tmp_path / "01_sparse_coding"
    _publish_run(folder, 16, figures=("basis", "old_only"))
    real_replace, done = os.replace, []

    def killed_after(source, target):   # counts the moves out of the staging folder, and stops there
        if publishing.STAGING in Path(source).parts and publishing.STAGING not in Path(target).parts:
            if len(done) == moves:
                raise KeyboardInterrupt
            done.append(target)
        real_replace(source, target)

    monkeypatch.setattr(publishing.os, "replace", killed_after)
    with pytest.raises(KeyboardInterrupt):
        _publish_run(folder, 32)
    monkeypatch.setattr(publishing.os, "replace", real_replace)
    assert (folder / publishing.JOURNAL).exists()
    run = Run.open(folder)   # finishes the publication under the folder's lock, then checks every file
    assert run.config["n_filters"] == 32 and json.loads(run.path("metrics.json").read_text())["n_filters"] == 32
    assert (folder / "figures" / "basis.png").read_text() == "basis of 32 atoms"
    assert not (folder / "figures" / "old_only.png").exists() and not (folder / publishing.JOURNAL).exists()


@pytest.mark.parametrize("name, change", [("metrics.json", b'{"n_filters": 17}'),
                                          ("figures/basis.png", b"another figure"),
                                          ("gabor_fits.csv", b"")])
def test_a_folder_whose_files_do_not_match_its_manifest_is_refused_in_one_line(tmp_path, name, change):
    folder = tmp_path / "01_sparse_coding"
    _publish_run(folder, 16)
    (folder / name).write_bytes(change)
    with pytest.raises(CorruptFileError, match=name.replace("/", ".")) as info:
        Run.open(folder)
    assert "\n" not in str(info.value)


def test_a_legacy_folder_without_a_manifest_is_accepted(tmp_path):
    folder = tmp_path / "01_sparse_coding"
    _publish_run(folder, 16)
    (folder / "checksums.json").unlink()
    assert Run.open(folder).config["n_filters"] == 16


# -- runs with other settings (issue 26 item 7) and sweeps ------------------------------------------------
TINY = ["--quick", "--quiet", "--set", "n_filters=8", "--set", "patch_size=6", "--set", "n_steps=3",
        "--set", "n_seeds=1"]


def test_a_rerun_with_other_settings_is_refused_naming_them_and_force(tmp_path, small_image_folder, capsys):
    common = [*TINY, "--results", str(tmp_path), "--no-figures", "--set", f"source={small_image_folder}"]
    assert main(["run", "01", *common]) == 0
    before = _files(tmp_path / "01_sparse_coding")
    capsys.readouterr()
    assert main(["run", "01", *common, "--set", "n_filters=12"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "n_filters=8 there, 12 now" in err and "--force" in err
    assert _files(tmp_path / "01_sparse_coding") == before
    assert main(["run", "01", *common]) == 0   # the same settings again: no question asked
    assert main(["run", "01", *common, "--set", "n_filters=12", "--force"]) == 0
    assert Run.open(tmp_path / "01_sparse_coding").config["n_filters"] == 12


def _fake_sweep(folder: Path, seen: dict):
    """A run_sweep that records whether another process could take ``folder``'s lock meanwhile."""
    def run_sweep(evaluate, points, directory, **options):
        probe = "from filelock import FileLock, Timeout\ntry:\n    FileLock(%r).acquire(timeout=0)\nexcept " \
                "Timeout:\n    raise SystemExit(3)\n" % str(folder / ".lock")
        seen["lock held"] = subprocess.run([sys.executable, "-c", probe]).returncode == 3
        return [{**p, "score": 1.0} for p in points]
    return run_sweep


def test_a_sweep_folder_takes_the_run_lock_and_refuses_another_grid_without_force(tmp_path, monkeypatch, capsys):
    import effcode.runs

    folder, seen = tmp_path / "sweeps" / "s", {}
    monkeypatch.setattr(effcode.runs, "run_sweep", _fake_sweep(folder, seen))
    sweep = ["sweep", "--name", "s", "--quiet", "--results", str(tmp_path)]
    assert main([*sweep, "--grid", "lam=[0.1,0.2]"]) == 0
    assert seen["lock held"]
    assert json.loads((folder / "sweep.json").read_text())["grid"] == {"lam": [0.1, 0.2]}
    assert set(json.loads((folder / "checksums.json").read_text())) == {"sweep.json", "results.csv"}
    capsys.readouterr()
    assert main([*sweep, "--grid", "lam=[0.3]"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "sweep.json" not in err and "--force" in err and "0.3" in err
    assert main([*sweep, "--grid", "lam=[0.3]", "--force"]) == 0
    assert (folder / "results.csv").read_text().count("\n") == 2


# -- independence (issue 27 item 6) ----------------------------------------------------------------------
def test_a_corrupt_artifact_of_one_experiment_stops_no_other_and_is_marked_in_the_report(tmp_path, capsys,
                                                                                       small_image_folder):
    common = ["--quick", "--quiet", "--set", "n_filters=8", "--set", "patch_size=6", "--set", "n_seeds=1",
              "--set", f"source={small_image_folder}", "--results", str(tmp_path), "--n-jobs", "1"]
    assert main(["run", "01", "02", *common]) == 0
    metrics = tmp_path / "02_ica" / "metrics.json"
    metrics.write_text(metrics.read_text()[:-20])
    capsys.readouterr()
    assert main(["figures", "--results", str(tmp_path)]) == 2   # refused, in one line, naming the file
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(metrics) in err and "Traceback" not in err
    report = (tmp_path / "REPORT.md").read_text()
    broken = report.split("## 02.")[1]
    assert "Broken" in broken and str(metrics) in broken and "effcode run 02" in broken
    assert "## 01." in report and "01_sparse_coding/figures/" in report   # the other sections are drawn
    assert main(["run", "01", "02", *common]) == 0   # 01 writes the report with 02 broken; 02 then repairs it
    Run.open(tmp_path / "02_ica")
    assert "Broken" not in (tmp_path / "REPORT.md").read_text()


# -- interrupted processes (slow: real runs of experiment 01) ------------------------------------------------
def _effcode(results: Path, source: Path, *settings: str, force: bool = False) -> subprocess.Popen:
    command = [sys.executable, "-m", "effcode", "run", "01", *TINY, "--results", str(results),
               "--set", f"source={source}", *[a for s in settings for a in ("--set", s)], *["--force"] * force]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "kill -9"])
@pytest.mark.parametrize("moment", ["filter_bank.npz", "figures/basis.png", "config.json"])
def test_a_rerun_with_new_settings_interrupted_at_any_moment_leaves_one_whole_run(tmp_path, small_image_folder,
                                                                                  sig, moment):
    """Run 01 with 8 atoms, then again with 12 atoms and 2 seeds; interrupt it once ``moment`` is staged
    (under its final name). Whenever the signal lands, the folder holds one whole run: the old or the new."""
    folder = tmp_path / "01_sparse_coding"
    assert _effcode(tmp_path, small_image_folder).wait() == 0
    before = _files(folder)
    rerun = _effcode(tmp_path, small_image_folder, "n_filters=12", "n_seeds=2", "n_steps=30", force=True)
    staged = folder / publishing.STAGING / moment
    while not staged.exists() and rerun.poll() is None:
        time.sleep(0.01)   # waiting for a file's final name (or the run's end), not for a time
    rerun.send_signal(sig)
    rerun.wait()
    run = Run.open(folder)   # a publication cut short is finished first; every file matches the manifest
    if _files(folder) != before:   # the signal came after the commit point: the new run, whole
        assert run.config["n_filters"] == 12 == json.loads(run.path("metrics.json").read_text())["n_filters"]
        assert read_npz(folder / "filter_bank.npz")["filters"].shape[0] == 12
    assert subprocess.run([sys.executable, "-m", "effcode", "figures", "--results", str(tmp_path)],
                          capture_output=True).returncode == 0


# -- kill -9 of experiment 02 and SIGINT of a sweep (slow: real runs, held at a known moment) ----------------
#: effcode's command line, steered: counting its training steps, or held just after its first checkpoint
STEERED = TESTS / "steered_effcode.py"
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
#: how long a wait on a file or a process may take before the test fails (a bound, not a timing)
PATIENCE_S = 300


def _steered(marker: Path, mode: str, *arguments: str, **popen) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(STEERED), str(marker), mode, *arguments], env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)


def _held(marker: Path, *arguments: str) -> subprocess.Popen:
    """``effcode ARGUMENTS`` in its own process group, held just after its first checkpoint is saved (the
    file ``marker/held`` then exists under its final name)."""
    process = _steered(marker, "hold-training", *arguments, start_new_session=True)
    deadline = time.monotonic() + PATIENCE_S
    while not (marker / "held").exists():   # waiting for a file's final name, not for a time
        assert process.poll() is None, f"the run ended before its first checkpoint: {process.communicate()[1]}"
        assert time.monotonic() < deadline, f"no checkpoint within {PATIENCE_S} s"
        time.sleep(0.02)
    return process


def _trained(marker: Path, *arguments: str) -> tuple[str, int]:
    """Run ``effcode ARGUMENTS`` to its end; its log and the training steps it made."""
    process = _steered(marker, "run", *arguments)
    _, log = process.communicate(timeout=PATIENCE_S)
    assert process.returncode == 0, log[-2000:]
    return log, int(re.findall(r"trained steps: (\d+)", log)[-1])


def _checkpoints(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.checkpoint.pt") if not p.name.startswith("."))


RUN_02 = ["--quick", "--no-figures", "--set", "n_filters=16", "--set", "patch_size=8", "--set", "n_patches=5000",
          "--set", "n_seeds=1"]


@pytest.mark.slow
def test_a_kill_9_of_experiment_02_resumes_to_the_uninterrupted_result(tmp_path, small_image_folder):
    """ICA checkpoints every 20 iterations: killed just after the first, the rerun trains only the
    iterations after it and ends with the uninterrupted run's bank and Gabor fits."""
    def run_02(results):
        return ["run", "02", *RUN_02, "--results", str(results), "--set", f"source={small_image_folder}"]

    killed = _held(tmp_path, *run_02(tmp_path / "killed"))
    os.killpg(killed.pid, signal.SIGKILL)
    killed.communicate()
    cache = tmp_path / "killed" / "02_ica" / "cache"
    [checkpoint] = _checkpoints(cache)
    assert Checkpointer(checkpoint).load()["step"] == 20 and not list(cache.glob("*.npz"))
    log, resumed_steps = _trained(tmp_path, *run_02(tmp_path / "killed"))
    assert "ICA: resuming from step 20 " in log and not _checkpoints(cache)
    reference_log, reference_steps = _trained(tmp_path, *run_02(tmp_path / "uninterrupted"))
    assert "resuming" not in reference_log and resumed_steps == reference_steps - 20 > 0
    resumed, reference = (Run.open(tmp_path / name / "02_ica") for name in ("killed", "uninterrupted"))
    for name in ("filters", "basis"):   # the bank's provenance differs: when, and in which folder
        assert np.array_equal(read_npz(resumed.path("filter_bank.npz"))[name],
                              read_npz(reference.path("filter_bank.npz"))[name]), name
    for name in ("gabor_fits_filters.csv", "gabor_fits_basis.csv", "metrics.json"):
        assert resumed.path(name).read_bytes() == reference.path(name).read_bytes(), name


SWEEP_STEPS = 250


@pytest.mark.slow
def test_a_sigint_of_a_sweep_exits_in_one_line_and_leaves_its_folder_whole_and_resumable(tmp_path,
                                                                                          small_image_folder):
    """A sweep of one seed, then one of two seeds (``--force``) interrupted with Ctrl-C (SIGINT to its process
    group) while the new point trains: one line on stderr, no traceback, the folder still the first
    sweep whole, the new point's checkpoint kept; the rerun trains only the steps after it and ends
    with the uninterrupted sweep's table."""
    def sweep(results, seeds, *options):
        return ["sweep", "--grid", f"seed={seeds}", "--name", "s", "--n-jobs", "1", "--results", str(results),
                *options, *[arg for setting in ("n_filters=8", "patch_size=6", f"n_steps={SWEEP_STEPS}",
                                                "batch_size=8", "population=filters", "n_bootstrap=20",
                                                "n_permutations=99", f"source={small_image_folder}")
                            for arg in ("--set", setting)]]

    folder = tmp_path / "killed" / "sweeps" / "s"
    _trained(tmp_path, *sweep(tmp_path / "killed", "[0]"))
    before = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    interrupted = _held(tmp_path, *sweep(tmp_path / "killed", "[0,1]", "--force", "--quiet"))
    os.killpg(interrupted.pid, signal.SIGINT)
    _, err = interrupted.communicate(timeout=PATIENCE_S)
    assert interrupted.returncode == 130
    assert err.count("\n") == 1 and "interrupted" in err and "Traceback" not in err, err
    assert {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()} == before   # the first sweep, whole
    verify_artifacts(folder)
    assert not (folder / publishing.STAGING).exists() and not (folder / publishing.JOURNAL).exists()
    [checkpoint] = _checkpoints(folder / "points")
    assert Checkpointer(checkpoint).load()["step"] == 100
    log, resumed_steps = _trained(tmp_path, *sweep(tmp_path / "killed", "[0,1]", "--force"))
    assert "SparseCoding: resuming from step 100 " in log and resumed_steps == SWEEP_STEPS - 100
    assert not _checkpoints(folder / "points")
    _, reference_steps = _trained(tmp_path, *sweep(tmp_path / "uninterrupted", "[0,1]"))
    assert reference_steps == 2 * SWEEP_STEPS
    assert (folder / "results.csv").read_bytes() == (
        tmp_path / "uninterrupted" / "sweeps" / "s" / "results.csv").read_bytes()
    verify_artifacts(folder)
