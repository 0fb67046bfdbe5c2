"""Experiment 08: GLM and CNN encoding models of simulated V1 simple and complex cells.

Usage: python experiments/08_encoding.py [--quick] [--device cuda] [--set key=value ...]
(the same as `effcode run 08 ...`; `--help` lists every option).
"""
import sys

from effcode.cli import main

if __name__ == "__main__":
    sys.exit(main(["run", "08", *sys.argv[1:]]))
