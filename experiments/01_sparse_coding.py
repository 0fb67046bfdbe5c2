"""Experiment 01: sparse coding on natural images (Olshausen & Field 1996).

Usage: python experiments/01_sparse_coding.py [--quick] [--device cuda] [--set key=value ...]
(the same as `effcode run 01 ...`; `--help` lists every option).
"""
import sys

from effcode.cli import main

if __name__ == "__main__":
    sys.exit(main(["run", "01", *sys.argv[1:]]))
