"""Experiment 03: a sparsity-penalised CNN (first-layer filters and reconstructions).

Usage: python experiments/03_sparse_cnn.py [--quick] [--device cuda] [--set key=value ...]
(the same as `effcode run 03 ...`; `--help` lists every option).
"""
import sys

from effcode.cli import main

if __name__ == "__main__":
    sys.exit(main(["run", "03", *sys.argv[1:]]))
