"""Experiment 02: ICA filters and basis functions (van Hateren & van der Schaaf 1998).

Usage: python experiments/02_ica.py [--quick] [--device cuda] [--set key=value ...]
(the same as `effcode run 02 ...`; `--help` lists every option).
"""
import sys

from effcode.cli import main

if __name__ == "__main__":
    sys.exit(main(["run", "02", *sys.argv[1:]]))
