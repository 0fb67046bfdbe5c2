"""Experiment 10: architecture principles (equivariance, pooling, weight sharing, receptive fields,
gradients, decoding).

Usage: python experiments/10_architecture.py [--quick] [--device cuda] [--set key=value ...]
(the same as `effcode run 10 ...`; `--help` lists every option).
"""
import sys

from effcode.cli import main

if __name__ == "__main__":
    sys.exit(main(["run", "10", *sys.argv[1:]]))
