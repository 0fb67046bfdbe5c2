"""Experiment 11: non-identifiability of weights; identifiability of functions and population statistics.

Usage: python experiments/11_identifiability.py [--quick] [--device cuda] [--set key=value ...]
(the same as `effcode run 11 ...`; `--help` lists every option).
"""
import sys

from effcode.cli import main

if __name__ == "__main__":
    sys.exit(main(["run", "11", *sys.argv[1:]]))
