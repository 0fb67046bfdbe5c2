"""Runs: configs, seeds, provenance, caching and atomic writes under ``results/NN_name/``."""

from ..storage.atomic import (atomic_path, read_csv, read_json, read_npz, write_bytes, write_csv, write_json,
                     write_npz, write_text)
from .config import config_hash, load_config_file, merge_config, parse_assignments, parse_value
from ..storage.provenance import provenance
from .run import Run

__all__ = ["Run", "atomic_path", "config_hash", "load_config_file", "merge_config", "parse_assignments",
           "parse_value", "provenance", "read_csv", "read_json", "read_npz", "write_bytes", "write_csv",
           "write_json", "write_npz", "write_text"]

from .sweep import expand_grid, run_sweep  # noqa: E402

__all__ += ["expand_grid", "run_sweep"]
