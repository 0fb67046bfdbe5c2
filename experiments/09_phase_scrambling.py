"""Experiment 09: mechanistic test of the energy model with phase manipulations.

Usage: python experiments/09_phase_scrambling.py [--quick] [--device cuda] [--set key=value ...]
(the same as `effcode run 09 ...`; `--help` lists every option).
"""
import sys

from effcode.cli import main

if __name__ == "__main__":
    sys.exit(main(["run", "09", *sys.argv[1:]]))
