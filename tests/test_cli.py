"""The command line: help everywhere, one-line errors, a tiny end-to-end run, cached figures."""

import json
import subprocess
import sys

import pytest

from effcode.cli import main

TINY_01 = ["--set", "n_filters=8", "--set", "patch_size=6", "--set", "n_steps=3", "--set", "n_seeds=2"]


@pytest.mark.parametrize("argv", [[], ["run"], ["figures"], ["list"], ["sweep"]])
def test_help_everywhere(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main([*argv, "--help"])
    assert exc.value.code == 0
    assert "usage: effcode" in capsys.readouterr().out


def _subparsers(parser) -> dict:
    import argparse

    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices


def _accepted(parser) -> set:
    return {option for action in parser._actions for option in action.option_strings}


def test_every_help_text_mentions_only_options_its_command_accepts(capsys, monkeypatch):
    """Each ``--option`` in ``effcode [COMMAND] --help`` (description, epilog, option help) is one the command
    accepts; an option named with another command, as in `effcode list --verbose`, is one that command accepts."""
    import re

    from effcode.cli import build_parser

    monkeypatch.setenv("COLUMNS", "10000")  # no line breaks inside an option name or a quoted command
    parser = build_parser()
    commands = _subparsers(parser)
    assert {"list", "run", "figures", "sweep"} <= set(commands)
    for argv, own in [([], parser), *(([name], sub) for name, sub in commands.items())]:
        with pytest.raises(SystemExit):
            main([*argv, "--help"])
        text = capsys.readouterr().out
        for name, span in re.findall(r"`effcode ([a-z]+)([^`]*)`", text):   # another command's options
            assert name in commands, (argv, name)
            wrong = set(re.findall(r"--[a-z][a-z0-9-]*", span)) - _accepted(commands[name])
            assert not wrong, (argv, name, wrong)
        text = re.sub(r"`effcode [a-z]+[^`]*`", "", text)
        wrong = set(re.findall(r"--[a-z][a-z0-9-]*", text)) - _accepted(own)
        assert not wrong, f"`effcode {' '.join(argv)} --help` mentions {sorted(wrong)}, which it does not accept"


def test_seed_given_twice_with_one_value_is_accepted(tmp_path, monkeypatch):
    import effcode.experiments

    seen = {}
    monkeypatch.setattr(effcode.experiments, "run_experiments", lambda *a, **k: seen.update(k) or iter(()))
    assert main(["run", "01", "--seed", "3", "--set", "seed=3", "--quiet", "--no-figures",
                 "--results", str(tmp_path)]) == 0
    assert seen["seed"] == 3 and seen["overrides"]["01"]["seed"] == 3


def test_module_entry_point_lists_experiments():
    out = subprocess.run([sys.executable, "-m", "effcode", "list"], capture_output=True, text=True, check=True)
    assert "01_sparse_coding" in out.stdout and "06_objective_sweep" in out.stdout


@pytest.mark.parametrize("argv, message", [
    (["run", "99"], "unknown experiment '99'"),
    (["run", "01", "--set", "nonsense=1"], "unknown experiment 01 config key 'nonsense'"),
    (["run", "01", "--set", "n_filters=many"], "key 'n_filters' expects int"),
    (["run", "01", "--set", "n_filters=0", "--set", "n_steps=1"], "'n_filters' must be >= 1"),
    (["run", "01", "--set", "source=no-such-source"], "no-such-source"),
    (["run", "01", "--set", "n_filters"], "--set expects key=value"),
    (["run", "01", "--device", "cuda:7"], "cuda"),
    (["run", "01", "--device", "mps"], "device 'mps'"),
    (["run", "05", "--set", "r2_threshold=2.0"], "key 'r2_threshold' must be in [0, 1], got 2.0"),
    (["run", "01", "--set", "n_seeds=0"], "key 'n_seeds' must be >= 1, got 0"),
    (["run", "07", "--set", "patch_sizes=[8, 1]"], "key 'patch_sizes'"),
    (["figures", "02"], "no cached results"),
    (["sweep"], "at least one --grid"),
    (["sweep", "--grid", "lam=0.1"], "needs a non-empty list"),
    (["sweep", "--grid", "lam=[0.1]", "--method", "nope"], "unknown learner 'nope'"),
    (["run", "01", "--seed", "3", "--set", "seed=4"], "--seed 3 and --set seed=4 disagree; give one"),
    (["run", "01", "--set", "seed=4", "--seed", "3"], "--seed 3 and --set seed=4 disagree; give one"),
    (["run", "99", "--seed", "3", "--set", "seed=4"], "--seed 3 and --set seed=4 disagree"),  # before anything
])
def test_bad_input_is_one_clear_line(argv, message, tmp_path, capsys):
    assert main([*argv, "--results", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("effcode: error:") and message in err and "Traceback" not in err
    assert len(err.splitlines()) == 1


@pytest.mark.parametrize("argv", [["run", "99", "--debug"], ["--debug", "run", "99"]])
def test_debug_shows_the_traceback_before_or_after_the_command(argv, tmp_path):
    from effcode.errors import InputError

    with pytest.raises(InputError):
        main([*argv, "--results", str(tmp_path)])


def test_tiny_run_then_figures_from_cache(tmp_path):
    results = tmp_path / "results"
    assert main(["run", "01", *TINY_01, "--quiet", "--results", str(results)]) == 0
    run_dir = results / "01_sparse_coding"
    for name in ("config.json", "provenance.json", "metrics.json", "filter_bank.npz", "gabor_fits.csv",
                 "figures/basis.png", "figures/basis.pdf"):
        assert (run_dir / name).exists(), name
    cached = sorted((run_dir / "cache").iterdir())
    stamps = [p.stat().st_mtime_ns for p in cached]
    # the same command again reuses every cached step
    assert main(["run", "01", *TINY_01, "--quiet", "--results", str(results)]) == 0
    assert [p.stat().st_mtime_ns for p in sorted((run_dir / "cache").iterdir())] == stamps
    # figures need only the cached results: remove the cache and redraw
    for p in cached:
        p.unlink()
    (run_dir / "figures" / "basis.png").unlink()
    assert main(["figures", "01", "--quiet", "--results", str(results)]) == 0
    assert (run_dir / "figures" / "basis.png").exists()
    report = (results / "REPORT.md").read_text()
    assert "01_sparse_coding/figures/basis.png" in report and "median Gabor R²" in report
    # a failing run leaves the existing results untouched
    before = {p.name: p.read_bytes() for p in run_dir.iterdir() if p.is_file()}
    assert main(["run", "01", *TINY_01, "--set", "n_filters=0", "--quiet", "--results", str(results)]) == 2
    assert {p.name: p.read_bytes() for p in run_dir.iterdir() if p.is_file()} == before
    # a changed parameter recomputes
    assert main(["run", "01", *TINY_01, "--set", "n_steps=4", "--quiet", "--no-figures", "--force",
                 "--results", str(results)]) == 0
    assert len(list((run_dir / "cache").glob("*.npz"))) == 4  # a new bank and its Gabor fit per seed


@pytest.mark.parametrize("argv, folder", [
    (["run", "01"], "results"),
    (["run", "01", "--quick"], "results/quick"),
    (["run", "01", "--quick", "--results", "elsewhere"], "elsewhere"),
    (["figures", "--quick"], "results/quick"),
    (["figures"], "results"),
])
def test_quick_runs_keep_out_of_the_full_results(argv, folder):
    from effcode.cli import _results_dir, build_parser

    assert _results_dir(build_parser().parse_args(argv)) == folder


def test_figures_with_nothing_cached_is_a_one_line_error(tmp_path, capsys):
    assert main(["figures", "--results", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("effcode: error: no cached results in") and len(err.splitlines()) == 1
    assert not (tmp_path / "REPORT.md").exists()


def test_report_links_are_relative_to_the_report_wherever_effcode_ran(tmp_path, monkeypatch):
    import re
    import shutil

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)                       # run from one folder with a relative --results path
    assert main(["run", "01", *TINY_01, "--quiet", "--results", "../res"]) == 0
    moved = tmp_path / "moved" / "res"
    shutil.move(str(tmp_path / "res"), moved)          # move the folder, then redraw from yet another folder
    monkeypatch.chdir(tmp_path)
    assert main(["figures", "--quiet", "--results", str(moved)]) == 0
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", (moved / "REPORT.md").read_text())
    assert links and all(not link.startswith(("/", "..")) and (moved / link).exists() for link in links)


def test_results_folder_is_checked_before_any_computation(tmp_path, capsys, monkeypatch):
    import tempfile

    afile = tmp_path / "afile"
    afile.write_text("")
    assert main(["run", "01", *TINY_01, "--results", str(afile)]) == 2
    assert "is a file; expected a folder" in capsys.readouterr().err

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    import effcode.experiments

    monkeypatch.setattr(tempfile, "NamedTemporaryFile", refuse)
    monkeypatch.setattr(effcode.experiments, "run_experiments", lambda *a, **k: pytest.fail("computation started"))
    assert main(["run", "01", *TINY_01, "--results", str(tmp_path / "ro")]) == 2
    err = capsys.readouterr().err.strip()
    assert "is not writable (Permission denied)" in err and len(err.splitlines()) == 1


def _cached_arrays(results) -> dict:
    """Every cached step's arrays under ``results``, by experiment folder and file name."""
    from effcode.storage.integrity import read_checked_npz

    return {f"{p.parent.parent.name}/{p.name}": read_checked_npz(p)[0] for p in sorted(results.glob("*/cache/*.npz"))}


def test_experiments_in_worker_processes_give_the_serial_results(tmp_path, capsys):
    """Two experiments at tiny settings, serially here (one torch thread, as each worker has) and over two
    worker processes: the same cached arrays and metrics, and one torch thread per worker."""
    import numpy as np
    import torch

    tiny = ["--quick", "--set", "n_filters=8", "--set", "patch_size=6", "--set", "n_seeds=2", "--no-figures"]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        assert main(["run", "01", "02", *tiny, "--results", str(tmp_path / "serial")]) == 0
    finally:
        torch.set_num_threads(threads)
    assert main(["run", "01", "02", *tiny, "--n-jobs", "2", "--results", str(tmp_path / "parallel")]) == 0
    out = capsys.readouterr().out
    assert "experiment 01: done in" in out and "experiment 02: done in" in out
    serial, parallel = _cached_arrays(tmp_path / "serial"), _cached_arrays(tmp_path / "parallel")
    # 01: a bank and its Gabor fit per seed; 02: a bank and the fits of its basis functions and filters per seed
    assert len(serial) == 10 and serial.keys() == parallel.keys()
    for name in serial:
        assert serial[name].keys() == parallel[name].keys()
        for key in serial[name]:
            np.testing.assert_array_equal(serial[name][key], parallel[name][key], err_msg=f"{name} {key}")
    for slug in ("01_sparse_coding", "02_ica"):
        metrics = [json.loads((tmp_path / r / slug / "metrics.json").read_text()) for r in ("serial", "parallel")]
        assert metrics[0] == metrics[1]
        provenance = json.loads((tmp_path / "parallel" / slug / "provenance.json").read_text())
        assert provenance["hardware"]["torch_threads"] == 1


def test_n_jobs_is_checked_before_anything_runs(tmp_path, capsys):
    assert main(["run", "01", "--n-jobs", "0", "--results", str(tmp_path)]) == 2
    assert "--n-jobs must be -1 (every core) or >= 1, got 0" in capsys.readouterr().err


def test_report_header_states_compute_time_and_wall_clock(tmp_path):
    from effcode.experiments.suite import _duration

    assert [_duration(s) for s in (4.24, 65.4, 3725)] == ["4.2 s", "1 min 05 s", "1 h 02 min 05 s"]
    assert main(["run", "01", *TINY_01, "--quiet", "--results", str(tmp_path)]) == 0
    record = json.loads((tmp_path / "run.json").read_text())
    provenance = json.loads((tmp_path / "01_sparse_coding" / "provenance.json").read_text())
    assert record["experiments"] == ["01"] and record["n_jobs"] == 1
    assert record["compute_seconds"] == provenance["total_compute_seconds"] <= record["wall_seconds"]
    header = (tmp_path / "REPORT.md").read_text().split("\n## ")[0]
    assert f"Compute time of the 1 section(s) below: {_duration(record['compute_seconds'])}" in header
    assert (f"The last `effcode run` of experiments 01 (started {record['started']}, one process) took "
            f"{_duration(record['wall_seconds'])} wall-clock") in header


def test_several_experiments_on_the_cpu_use_every_core_by_default():
    from effcode.cli import default_n_jobs
    assert default_n_jobs(13, "cpu") == -1
    assert default_n_jobs(1, "cpu") == 1          # one experiment: here, with its progress bars
    assert default_n_jobs(13, "cuda:0") == 1      # workers would share one GPU
