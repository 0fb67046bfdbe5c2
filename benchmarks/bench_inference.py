"""Benchmark: sparse inference alone, time per patch and objective reached, effcode against SPAMS.

All methods code the *same* held-out whitened 16x16 patches (unit RMS, as in
``bench_dictionary_learning.py``) over the *same* learned dictionary (K = 256 unit-norm atoms,
``SparseCoding(inference="auto")`` trained for ``TRAIN_STEPS`` updates), minimising per patch

    0.5 * ||x - D^T a||^2 + lam * ||a||_1,   lam = 2:

* ``effcode cd``: compiled active-set coordinate descent (``inference="cd"``) at its default
  tolerance (1e-2 per sweep) and at 1e-4;
* ``effcode active_set``: batched active-set FISTA (the GPU method), tolerance 1e-3;
* ``effcode fista``: SparseCoding's default inference, 20 FISTA iterations, tolerance 1e-3;
* ``spams lasso``: SPAMS ``lasso`` (LARS-Lasso, Mairal et al. 2010), penalised mode (mode=2), which
  ends at the exact solution (optional: ``pip install spams-bin``).

One thread each; the methods run interleaved within each of ``--reps`` repetitions, the time is
the median, and ``time_over_cd`` is each method's median time over that of effcode cd at its
default tolerance.  ``objective_excess`` = mean objective over that of the reference solution
(FISTA, 3000 iterations, tolerance 1e-9) minus 1.  effcode's numba kernels are loaded before any
clock starts.  Writes ``results/benchmarks/inference.csv`` and its README section.
Run ``python benchmarks/bench_inference.py [--quick]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import FOLDER, publish  # noqa: E402
from bench_dictionary_learning import patch_sets  # noqa: E402

from effcode.learners.sparse_coding import SparseCoding, sparse_encode  # noqa: E402

LAM = 2.0
TRAIN_STEPS = 150

#: name -> sparse_encode keyword arguments
EFFCODE_METHODS = {
    "effcode cd": {"inference_method": "cd", "n_iter": 20, "tol": 1e-2},
    "effcode cd (tol 1e-4)": {"inference_method": "cd", "n_iter": 200, "tol": 1e-4},
    "effcode active_set": {"inference_method": "active_set", "n_iter": 20, "tol": 1e-3},
    "effcode fista": {"inference_method": "fista", "n_iter": 20, "tol": 1e-3},
}


def spams_lasso(test, atoms):
    import spams
    from threadpoolctl import threadpool_limits

    signals = np.asfortranarray(test.T, dtype=np.float64)
    dictionary = np.asfortranarray(atoms.T, dtype=np.float64)
    with threadpool_limits(1):
        codes = spams.lasso(signals, D=dictionary, lambda1=LAM, mode=2, numThreads=1)
    return np.asarray(codes.todense()).T


def objective(codes, test, atoms) -> float:
    residual = test.astype(np.float64) - codes @ atoms.astype(np.float64)
    return float(np.mean(0.5 * np.sum(residual ** 2, axis=1) + LAM * np.sum(np.abs(codes), axis=1)))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer patches and repetitions (seconds)")
    parser.add_argument("--reps", type=int, default=None, help="repetitions (default 5, quick 1)")
    parser.add_argument("--out", type=Path, default=FOLDER)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    n_test, reps = (2000, 1) if args.quick else (20_000, 5)
    reps = args.reps or reps
    train, test = patch_sets(TRAIN_STEPS * 512, n_test)
    atoms = SparseCoding(256, lam=LAM, inference="auto", n_steps=TRAIN_STEPS, random_state=0).fit(train).components_
    methods = {name: (lambda params=params: sparse_encode(test, atoms, lam=LAM, **params))
               for name, params in EFFCODE_METHODS.items()}
    try:
        import spams  # noqa: F401
        methods["spams lasso"] = lambda: spams_lasso(test, atoms)
    except ImportError:
        print("spams is not installed (pip install spams-bin, or pip install -e '.[bench]'): skipping it")
    for run in methods.values():        # load the compiled kernels and warm every path before timing
        run()
    reference = objective(sparse_encode(test, atoms, lam=LAM, n_iter=3000, tol=1e-9), test, atoms)
    times = {name: [] for name in methods}
    codes = {}
    for _ in range(reps):
        for name, run in methods.items():
            start = time.perf_counter()
            codes[name] = run()
            times[name].append(time.perf_counter() - start)
    baseline = statistics.median(times["effcode cd"])
    table = {"method": [], "median_s": [], "us_per_patch": [], "time_over_cd": [], "objective_excess": [],
             "nonzeros_per_patch": []}
    for name in methods:
        median = statistics.median(times[name])
        table["method"].append(name)
        table["median_s"].append(median)
        table["us_per_patch"].append(1e6 * median / n_test)
        table["time_over_cd"].append(median / baseline)
        table["objective_excess"].append(objective(codes[name], test, atoms) / reference - 1.0)
        table["nonzeros_per_patch"].append(float(np.mean(np.count_nonzero(codes[name], axis=1))))
    ratios = dict(zip(table["method"], table["time_over_cd"]))
    headline = ""
    if "spams lasso" in ratios:
        headline = (f"effcode's compiled coordinate descent codes the patches {ratios['spams lasso']:.2f}x faster "
                    f"than SPAMS lasso (LARS) and {ratios['effcode fista']:.2f}x faster than 20 FISTA iterations.")
    notes = (f"{n_test} held-out whitened 16x16 patches, K=256, lam={LAM}, one thread each, median of {reps} "
             f"interleaved repetitions; dictionary from SparseCoding(inference='auto') after {TRAIN_STEPS} updates. "
             "objective_excess = mean objective / that of the reference solution (FISTA, 3000 iterations) - 1. "
             "Times include computing X D^T and D D^T.")
    text = publish("inference", table, title="Sparse inference: time per patch and objective", headline=headline,
                   notes=notes, folder=args.out)
    print(text)
    if headline:
        print(headline)


if __name__ == "__main__":
    main()
