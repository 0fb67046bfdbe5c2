"""Runs: configs, seeds, provenance, caching and atomic writes under ``results/NN_name/``."""

from .atomic import (atomic_path, read_csv, read_json, read_npz, write_bytes, write_csv, write_json,
                     write_npz, write_text)

__all__ = ["atomic_path", "read_csv", "read_json", "read_npz", "write_bytes", "write_csv", "write_json",
           "write_npz", "write_text"]
