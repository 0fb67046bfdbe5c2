"""The compiled kernels: ``effcode compile`` fills numba's cache once per installation, and a read-only
installation caches them elsewhere without a message."""

import os
import subprocess
import sys
from pathlib import Path

from effcode import numba_cache
from effcode.learners.compiled import KERNELS, compile_all


def test_compile_all_compiles_or_loads_every_kernel():
    seconds = compile_all()
    assert list(seconds) == list(KERNELS) and len(KERNELS) == 4
    assert all(value >= 0 for value in seconds.values())


def test_effcode_compile_lists_each_kernel_with_its_time(tmp_path):
    """A fresh cache folder: the command compiles every kernel into it, and a second process only loads them."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    first = subprocess.run([sys.executable, "-m", "effcode", "compile"], capture_output=True, text=True, env=env,
                           check=True)
    assert [line.rsplit(None, 2)[0] for line in first.stdout.splitlines()] == list(KERNELS)
    assert any(tmp_path.rglob("*.nbi")), "nothing was written to the cache"
    quiet = subprocess.run([sys.executable, "-m", "effcode", "compile", "--quiet"], capture_output=True, text=True,
                           env=env, check=True)
    assert quiet.stdout == "" and quiet.stderr == ""


def test_a_writable_installation_keeps_numba_default(monkeypatch):
    monkeypatch.setattr(numba_cache, "writable", lambda folder: True)
    assert numba_cache.cache_folder({}) is None


def test_a_read_only_installation_caches_in_the_user_cache_folder(monkeypatch, tmp_path):
    package = Path(numba_cache.__file__).parent
    monkeypatch.setattr(numba_cache, "writable", lambda folder: package not in (folder, *folder.parents))
    assert numba_cache.cache_folder({"XDG_CACHE_HOME": str(tmp_path)}) == str(tmp_path / "effcode" / "numba")


def test_without_a_writable_home_the_temporary_folder_is_used(monkeypatch, tmp_path):
    home = tmp_path / "home"
    monkeypatch.setattr(numba_cache, "writable", lambda folder: str(folder).startswith(str(tmp_path / "tmp")))
    monkeypatch.setattr(numba_cache.tempfile, "gettempdir", lambda: str(tmp_path / "tmp"))
    folder = numba_cache.cache_folder({"XDG_CACHE_HOME": str(home)})
    assert folder == str(tmp_path / "tmp" / f"effcode-numba-{os.getuid()}")


def test_a_cache_folder_the_user_set_is_left_alone(monkeypatch):
    monkeypatch.setattr(numba_cache, "writable", lambda folder: False)
    assert numba_cache.cache_folder({"NUMBA_CACHE_DIR": "/somewhere"}) is None


def test_writable_looks_at_the_nearest_existing_folder(tmp_path):
    assert numba_cache.writable(tmp_path / "not" / "yet")
    tmp_path.chmod(0o500)
    try:
        assert numba_cache.writable(tmp_path / "not" / "yet") == (os.geteuid() == 0)
    finally:
        tmp_path.chmod(0o700)
