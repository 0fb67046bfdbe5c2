"""Experiment 04: Gabor-likeness across learners, with controls.

Usage: python experiments/04_gabor_likeness.py [--quick] [--device cuda] [--set key=value ...]
(the same as `effcode run 04 ...`; `--help` lists every option).
"""
import sys

from effcode.cli import main

if __name__ == "__main__":
    sys.exit(main(["run", "04", *sys.argv[1:]]))
