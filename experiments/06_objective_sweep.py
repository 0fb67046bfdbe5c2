"""Experiment 06: objective and sparsity sweep (Rehn & Sommer 2007).

Usage: python experiments/06_objective_sweep.py [--quick] [--device cuda] [--set key=value ...]
(the same as `effcode run 06 ...`; `--help` lists every option).
"""
import sys

from effcode.cli import main

if __name__ == "__main__":
    sys.exit(main(["run", "06", *sys.argv[1:]]))
