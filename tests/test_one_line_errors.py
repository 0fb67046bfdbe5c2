"""Errors of the machine, not of effcode, end in one line and lose nothing (issue 27, item 8 of the
hostile table): a full disk or a file size limit, a folder that cannot be written, not enough memory, a
malformed sweep file, a sweep file and a command line that disagree, and no folder for numba's cache."""

import errno
import os
import subprocess
import sys

import pytest

from effcode import cli
from effcode.storage import atomic

ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
TINY = ["n_filters=4", "patch_size=6", "n_steps=3", "batch_size=8", "population=filters", "n_bootstrap=20",
        "n_permutations=99"]


def sweep_args(results, source, *grid):
    return ["sweep", "--name", "s", "--quiet", "--results", str(results), "--set", f"source={source}",
            *[arg for setting in TINY for arg in ("--set", setting)], *[arg for g in grid for arg in ("--grid", g)]]


def one_error_line(stderr: str) -> str:
    """The error line of ``stderr``, after checking that there is exactly one and no traceback."""
    errors = [line for line in stderr.splitlines() if line.startswith("effcode: error:")]
    assert "Traceback" not in stderr and len(errors) == 1, stderr[-2000:]
    return errors[0]


def folder_state(folder):
    """Every file of ``folder`` and its bytes."""
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("number, words", [(errno.ENOSPC, "no space left on the disk"),
                                           (errno.EFBIG, "file size limit reached")])
def test_a_full_disk_is_one_line_naming_the_file_and_loses_nothing(number, words, tmp_path, small_image_folder,
                                                                   monkeypatch, capsys):
    assert cli.main(sweep_args(tmp_path, small_image_folder, "seed=[0]")) == 0
    before = folder_state(tmp_path / "sweeps" / "s")

    def full(fd):
        raise OSError(number, os.strerror(number))

    monkeypatch.setattr(atomic.os, "fsync", full)   # every write of effcode ends with an fsync
    capsys.readouterr()
    assert cli.main([*sweep_args(tmp_path, small_image_folder, "seed=[0,1]"), "--force"]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert words in line and str(tmp_path / "sweeps" / "s") in line
    after = folder_state(tmp_path / "sweeps" / "s")
    assert {name: data for name, data in after.items() if name in before} == before   # nothing lost
    assert not [name for name in after if name.name.startswith(".") and name.name.endswith(".tmp")]


def test_a_file_size_limit_is_one_line(tmp_path, small_image_folder):
    """``ulimit -f``: Python ignores SIGXFSZ, so a write past the limit raises OSError 27."""
    command = " ".join([sys.executable, "-m", "effcode", *sweep_args(tmp_path, small_image_folder, "seed=[0]")])
    done = subprocess.run(["bash", "-c", f"ulimit -f 1 && exec {command}"], env=ENV, capture_output=True, text=True)
    assert done.returncode == 2
    assert "file size limit reached" in one_error_line(done.stderr)


@pytest.mark.parametrize("command", [["run", "01", "--quick", "--no-figures"], ["figures"]])
def test_a_run_folder_whose_lock_cannot_be_created_is_one_line(command, tmp_path, monkeypatch, capsys):
    """As in a run folder without write permission (simulated: the tests may run as root)."""
    from filelock import FileLock

    def refused(self, *args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", self.lock_file)

    (tmp_path / "01_sparse_coding").mkdir()
    (tmp_path / "01_sparse_coding" / "config.json").write_text("{}")
    monkeypatch.setattr(FileLock, "acquire", refused)
    assert cli.main([*command, "--results", str(tmp_path)]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert f"cannot write {tmp_path / '01_sparse_coding' / '.lock'} (Permission denied)" in line


def test_a_folder_where_no_file_can_be_created_is_one_line(tmp_path, small_image_folder, monkeypatch, capsys):
    def refused(*args, dir=None, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", dir)

    monkeypatch.setattr(atomic.tempfile, "mkstemp", refused)
    assert cli.main(sweep_args(tmp_path, small_image_folder, "seed=[0]")) == 2
    assert "Permission denied" in one_error_line(capsys.readouterr().err)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into any folder")
@pytest.mark.parametrize("command", [["run", "01", "--quick", "--no-figures"], ["figures"]])
def test_a_run_folder_without_write_permission_is_one_line(command, tmp_path):
    folder = tmp_path / "01_sparse_coding"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    folder.chmod(0o500)
    try:
        done = subprocess.run([sys.executable, "-m", "effcode", *command, "--results", str(tmp_path)], env=ENV,
                              capture_output=True, text=True)
    finally:
        folder.chmod(0o700)
    assert done.returncode == 2
    one_error_line(done.stderr)


def test_not_enough_memory_is_one_line_naming_the_keys_set(tmp_path, capsys):
    """Experiment 02 with 2e9 patches asks numpy for terabytes (numpy's ``_ArrayMemoryError``)."""
    assert cli.main(["run", "02", "--quick", "--no-figures", "--results", str(tmp_path), "--set",
                     "n_patches=2000000000"]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "not enough memory (Unable to allocate" in line and "lower the sizes you set (n_patches)" in line


@pytest.mark.parametrize("spec, words", [("fixed: 5", "fixed must be a mapping"),
                                         ("grid: [1, 2]", "grid must be a mapping")])
def test_a_malformed_sweep_file_is_one_line(spec, words, tmp_path, capsys):
    (tmp_path / "grid.yml").write_text(spec + "\n")
    assert cli.main(["sweep", "--file", str(tmp_path / "grid.yml"), "--results", str(tmp_path)]) == 2
    assert words in one_error_line(capsys.readouterr().err)


@pytest.mark.parametrize("file_text, line_args, words", [
    ("fixed: {n_filters: 16}\ngrid: {seed: [0]}", ["--set", "n_filters=32"], "n_filters=16 in the file and 32"),
    ("fixed: {device: cuda}\ngrid: {seed: [0]}", ["--device", "cpu"], "device='cuda' in the file and 'cpu'"),
    ("method: sailnet\ngrid: {seed: [0]}", ["--method", "sparse_coding"], "method='sailnet'"),
    ("grid: {seed: [0, 1]}", ["--grid", "seed=[2]"], "grid key(s) seed=[0, 1] in the file and [2]"),
])
def test_a_sweep_file_value_the_command_line_would_override_is_refused(file_text, line_args, words, tmp_path,
                                                                       capsys):
    (tmp_path / "grid.yml").write_text(file_text + "\n")
    assert cli.main(["sweep", "--file", str(tmp_path / "grid.yml"), "--results", str(tmp_path), *line_args]) == 2
    assert words in one_error_line(capsys.readouterr().err)


def test_a_sweep_files_cuda_device_is_kept_not_replaced_by_cpu(tmp_path, capsys, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    (tmp_path / "grid.yml").write_text("fixed: {device: cuda}\ngrid: {seed: [0]}\n")
    assert cli.main(["sweep", "--file", str(tmp_path / "grid.yml"), "--results", str(tmp_path)]) == 2
    assert "device 'cuda' was requested but CUDA is not available" in one_error_line(capsys.readouterr().err)
    assert not (tmp_path / "sweeps").exists()


def test_without_any_writable_cache_folder_the_kernels_compile_uncached_silently():
    """Neither the installation, nor HOME, nor the temporary folder writable: numba compiles each process's
    kernels without a cache (``effcode list`` and a fit work, with no message)."""
    script = ("import os; os.access = lambda *args, **kwargs: False\n"
              "from effcode import cli, numba_cache\n"
              "from effcode.learners import lif\n"
              "assert numba_cache.CACHE is False\n"
              "lif.compile_kernels()\n"
              "raise SystemExit(cli.main(['list']))\n")
    env = {key: value for key, value in ENV.items() if key != "NUMBA_CACHE_DIR"}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
    assert done.returncode == 0 and done.stderr == "", done.stderr[-2000:]
    assert "13_v1_like_codes" in done.stdout


def test_a_kernel_larger_than_the_crops_names_the_key_the_user_set(tmp_path, capsys):
    """``run 03 --set patch_size=500``: the message names patch_size (set) and not only crop_size (not set)."""
    assert cli.main(["run", "03", "--quick", "--no-figures", "--results", str(tmp_path), "--set",
                     "patch_size=500"]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert line.startswith("effcode: error: patch_size=500 needs training crops of at least 1000 pixels")
    assert "expected patch_size <= 32" in line


def test_an_older_folders_metrics_without_seeds_is_one_line_naming_the_entry(tmp_path, small_image_folder, capsys):
    """A folder of an older effcode (no checksum manifest yet) whose metrics.json lacks an entry read now."""
    import json

    settings = ["--set", f"source={small_image_folder}", "--set", "n_filters=8", "--set", "patch_size=8", "--set",
                "n_steps=10", "--set", "n_seeds=1"]
    assert cli.main(["run", "01", "--quick", "--quiet", "--no-figures", "--results", str(tmp_path), *settings]) == 0
    folder = tmp_path / "01_sparse_coding"
    metrics = json.loads((folder / "metrics.json").read_text())
    del metrics["seeds"]
    (folder / "metrics.json").write_text(json.dumps(metrics))
    (folder / "checksums.json").unlink()
    capsys.readouterr()
    assert cli.main(["figures", "--results", str(tmp_path)]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert f"{folder / 'metrics.json'} has no entry 'seeds'" in line and "effcode run 01" in line
