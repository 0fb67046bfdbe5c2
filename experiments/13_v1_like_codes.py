"""Experiment 13: which codes look like V1? (SAILnet, L1 and hard sparseness at 1x, 2x, 4x).

Usage: python experiments/13_v1_like_codes.py [--quick] [--device cuda] [--set key=value ...]
(the same as `effcode run 13 ...`; `--help` lists every option).
"""
import sys

from effcode.cli import main

if __name__ == "__main__":
    sys.exit(main(["run", "13", *sys.argv[1:]]))
