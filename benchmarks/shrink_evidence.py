"""Evidence for a shrunk setting: one sparse-coding bank trained at two values of one parameter.

Experiment 13 trains its hard-sparse codes (l0, top-k) with ``n_iter = 20 x overcompleteness`` inference
iterations, 80 at 4x, the largest cost left in the full run (``benchmarks/profile_full_run.md``). This script
trains the same bank (12x12 patches of the default images, experiment 13's λ and k, its 800 updates) at each
``--n-iter`` given and prints, per value, the CPU seconds and the statistics the experiment draws its
conclusions from, computed on the basis functions' Gabor fits: median R², median nx and ny of the units with
R² >= 0.7, active units per patch, the final training loss. A shrunk value is safe when its statistics agree
with the original's within the spread between seeds of the committed run.

    OMP_NUM_THREADS=1 python benchmarks/shrink_evidence.py --objective topk --factor 4 --n-iter 40 80 --seed 0
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

import effcode
from effcode.data import load_images
from effcode.gabor import fit_gabors

#: experiment 13's penalty settings (its defaults ``lam`` and ``topk_k``)
PENALTIES = {"l1": {"lam": 2.0}, "l0": {"lam": 1.0}, "topk": {"objective_params": {"k": 8}}}


def statistics(objective: str, factor: float, n_iter: int, seed: int, patch_size: int, n_steps: int) -> dict:
    images = load_images("default")
    n_filters = int(round(factor * patch_size ** 2))
    started = time.process_time()
    bank = effcode.learn_filters("sparse_coding", images, patch_size=patch_size, n_filters=n_filters, n_steps=n_steps,
                                 n_iter=n_iter, random_state=seed, objective=objective, **PENALTIES[objective])
    seconds = time.process_time() - started
    fit = fit_gabors(bank.basis)
    good = fit["r2"] >= 0.7
    return {"objective": objective, "factor": factor, "n_iter": n_iter, "seed": seed, "cpu_s": round(seconds, 1),
            "median_r2": float(np.median(fit["r2"])), "median_nx": float(np.median(fit["nx"][good])),
            "median_ny": float(np.median(fit["ny"][good])),
            "active_units": float(bank.history["sparsity"][-1]) * n_filters,
            "final_loss": float(bank.history["loss"][-1])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--objective", choices=sorted(PENALTIES), default="topk")
    parser.add_argument("--factor", type=float, default=4.0, help="overcompleteness (units / patch pixels)")
    parser.add_argument("--n-iter", type=int, nargs="+", default=[40, 80])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--patch-size", type=int, default=12)
    parser.add_argument("--n-steps", type=int, default=800)
    args = parser.parse_args()
    torch.set_num_threads(1)
    for n_iter in args.n_iter:
        print(json.dumps(statistics(args.objective, args.factor, n_iter, args.seed, args.patch_size, args.n_steps)),
              flush=True)


if __name__ == "__main__":
    main()
