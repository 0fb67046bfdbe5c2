"""Provenance: what produced a result (code version, packages, hardware, seed, images)."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any, Sequence

PACKAGES = ("numpy", "scipy", "scikit-learn", "scikit-image", "torch", "matplotlib", "joblib")


def git_commit(path: Path | None = None) -> str | None:
    """The git commit of the checkout holding effcode (with ``+dirty`` if modified), or None."""
    root = Path(path or Path(__file__).resolve().parents[2])
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                                timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("+dirty" if dirty else "")


def package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def hardware(device: str = "cpu") -> dict:
    """CPU model, core count, torch's CPU thread count and, for a CUDA device, the GPU name."""
    import torch

    info = {"machine": platform.machine(), "cpu_count": os.cpu_count(), "cpu": platform.processor() or None,
            "torch_threads": torch.get_num_threads(), "platform": platform.platform()}
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    if str(device).startswith("cuda"):
        info["gpu"] = torch.cuda.get_device_name(torch.device(device))
    return info


def provenance(*, seed: int, device: str, images: Sequence[Any] | None = None) -> dict:
    """A JSON-ready record of the code, environment, seed and input images of a run.

    Parameters
    ----------
    seed : int
        The run's seed.
    device : str
        The device the run used.
    images : sequence or None, default None
        The input images, whose ids and hashes are recorded (None: none).
    """
    from .. import __version__

    record: dict[str, Any] = {
        "effcode_version": __version__,
        "git_commit": git_commit(),
        "python": sys.version.split()[0],
        "packages": package_versions(),
        "device": str(device),
        "hardware": hardware(device),
        "seed": seed,
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
    }
    if images is not None:
        record["images"] = [{"id": im.id, "sha256": im.sha256} for im in images]
    return record
