"""Experiment 12: statistics against training length (is each learner converged?).

Usage: python experiments/12_training_length.py [--quick] [--device cuda] [--set key=value ...]
(the same as `effcode run 12 ...`; `--help` lists every option).
"""
import sys

from effcode.cli import main

if __name__ == "__main__":
    sys.exit(main(["run", "12", *sys.argv[1:]]))
