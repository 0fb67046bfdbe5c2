"""Experiment 05: learned populations against V1 statistics.

Usage: python experiments/05_v1_comparison.py [--quick] [--device cuda] [--set key=value ...]
(the same as `effcode run 05 ...`; `--help` lists every option).
"""
import sys

from effcode.cli import main

if __name__ == "__main__":
    sys.exit(main(["run", "05", *sys.argv[1:]]))
