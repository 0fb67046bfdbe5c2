"""Experiment 07: overcompleteness (1x, 2x, 4x) and patch size.

Usage: python experiments/07_overcompleteness.py [--quick] [--device cuda] [--set key=value ...]
(the same as `effcode run 07 ...`; `--help` lists every option).
"""
import sys

from effcode.cli import main

if __name__ == "__main__":
    sys.exit(main(["run", "07", *sys.argv[1:]]))
