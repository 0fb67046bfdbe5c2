"""Benchmark: effcode ICA against scikit-learn's FastICA on the same natural-image patches.

Two comparisons, each in one process with several repetitions (median time reported):

* ``core``: the ICA iteration alone on the *same* PCA-whitened patches, same initial matrix,
  same contrast (logcosh), same tolerance and iteration cap, same convergence test
  (scikit-learn's ``max |1 - |diag(W_new W^T)|| < tol``).  scikit-learn runs with
  ``whiten=False``; effcode runs :func:`effcode.learners.ica.fastica_symmetric`.
* ``end-to-end``: raw DC-removed patches in, filters out: ``ICA(K, whiten_components=K).fit``
  (PCA whitening with dimension reduction to K, FastICA, pixel-space outputs) against
  ``FastICA(K, whiten="unit-variance").fit``.  Natural-gradient Infomax is timed here too (its
  tolerance is on the per-epoch change of W, not comparable; ``converged`` says whether it met it).

Quality: median logcosh negentropy of the sources, median Gabor R^2 of the basis functions
(:func:`effcode.gabor.fit_gabors`) and, for ``core``, the Amari index between the two
unmixing matrices (0 = the same solution up to order and sign).

Run ``python benchmarks/bench_ica.py [--quick]``; writes ``results/benchmarks/ica.csv``.
"""

from __future__ import annotations

import argparse
import os
import os
import sys
import statistics
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.decomposition import FastICA
from sklearn.exceptions import ConvergenceWarning

from effcode.data import PatchWhitener, load_images
from effcode.gabor import fit_gabors
from effcode.learners.ica import ICA, _random_orthonormal, amari_index, fastica_symmetric, image_patches, negentropy
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import FOLDER, publish  # noqa: E402


def timed(fn, reps: int):
    """(median seconds, min seconds, last result) of ``reps`` calls of ``fn``."""
    times, result = [], None
    for _ in range(reps):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times), result


def gabor_r2(basis: np.ndarray, patch_size: int) -> float:
    return float(np.median(fit_gabors(basis.reshape(-1, patch_size, patch_size))["r2"]))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small problem, 2 repetitions (smoke test)")
    parser.add_argument("--reps", type=int, default=None, help="repetitions per implementation (default 5, quick 2)")
    parser.add_argument("--device", default="cpu", help="torch device for effcode (scikit-learn runs on the CPU)")
    parser.add_argument("--out", type=Path, default=FOLDER, help="folder for the CSV, JSON record and README")
    args = parser.parse_args(argv)
    n, k, reps = (10_000, 32, 2) if args.quick else (50_000, 64, 5)
    reps = args.reps or reps
    patch, tol, max_iter = 16, 1e-4, 200

    X = image_patches(load_images("default"), patch, n, log=False, seed=0)
    whitener = PatchWhitener(kind="pca", n_components=k).fit(X)
    Z = whitener.transform(X)
    W0 = _random_orthonormal(np.random.default_rng(0), k, k)
    rows = []

    def add(task, impl, seconds, fastest, n_iter, w_whitened, other=None, ratio=float("nan")):
        converged = n_iter < max_iter  # as scikit-learn judges it
        sources = Z @ w_whitened.T
        basis = (whitener.dewhitening_ @ np.linalg.pinv(w_whitened)).T
        rows.append(dict(task=task, implementation=impl, n_samples=n, n_features=patch * patch, n_components=k,
                         tol=tol, reps=reps, median_s=seconds, min_s=fastest, n_iter=n_iter, converged=converged,
                         median_negentropy=float(np.median(negentropy(sources))),
                         median_gabor_r2=gabor_r2(basis, patch),
                         amari_vs_sklearn=np.nan if other is None else amari_index(w_whitened, other.T),
                         sklearn_over_effcode=ratio))

    # --- core: same whitened data, same init, same tolerance
    z_t, w0_t = torch.from_numpy(Z).to(args.device), torch.from_numpy(W0).to(args.device)
    sk = FastICA(None, whiten=False, fun="logcosh", algorithm="parallel", w_init=W0, tol=tol, max_iter=max_iter)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        t_sk, min_sk, _ = timed(lambda: sk.fit(Z), reps)
    t_ef, min_ef, (w_ef, it_ef, _) = timed(lambda: fastica_symmetric(z_t, w0_t, max_iter=max_iter, tol=tol), reps)
    add("core", "sklearn FastICA", t_sk, min_sk, sk.n_iter_, sk.components_)
    add("core", "effcode fastica", t_ef, min_ef, it_ef, w_ef.cpu().numpy(), other=sk.components_, ratio=t_sk / t_ef)

    # --- end to end: raw patches in
    sk_full = FastICA(k, whiten="unit-variance", fun="logcosh", algorithm="parallel", tol=tol, max_iter=max_iter,
                      random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        t_sk2, min_sk2, _ = timed(lambda: sk_full.fit(X), reps)
    w_sk_whitened = sk_full.components_ @ np.linalg.pinv(whitener.whitening_)  # in the shared whitened space
    add("end-to-end", "sklearn FastICA", t_sk2, min_sk2, sk_full.n_iter_, w_sk_whitened)
    for algorithm in ("fastica", "infomax"):
        model = ICA(k, algorithm=algorithm, whiten_components=k, tol=tol, max_iter=max_iter, random_state=0,
                    device=args.device)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # reported in the 'converged' column
            t, fastest, _ = timed(lambda: model.fit(X), reps)
        w_whitened = model.components_ @ np.linalg.pinv(whitener.whitening_)
        add("end-to-end", f"effcode {algorithm}", t, fastest, model.n_iter_, w_whitened, ratio=t_sk2 / t)

    table = {key: [row[key] for row in rows] for key in rows[0]}
    publish("ica", table, title="ICA: effcode against scikit-learn FastICA", folder=args.out, device=args.device,
            notes=f"{n} DC-removed {patch}x{patch} patches of the default images, K = d' = {k}, tol {tol}, {reps} "
                  f"repetitions, effcode on {args.device}, {torch.get_num_threads()} torch thread(s), "
                  f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')} (numpy's BLAS follows it); "
                  "'core' = the same whitened data, start and stopping test; 'end-to-end' = raw patches in, "
                  "filters out; sklearn_over_effcode = the speed ratio.")
    print(f"ICA on {n} DC-removed {patch}x{patch} patches of the default images, K = d' = {k}, tol {tol}, "
          f"{reps} reps, torch threads {torch.get_num_threads()}")
    header = f"{'task':<11} {'implementation':<17} {'median s':>9} {'iters':>6} {'negentropy':>11} " \
             f"{'Gabor R2':>9} {'Amari vs sk':>12} {'sk/effcode':>11} {'converged':>10}"
    print(header)
    for row in rows:
        print(f"{row['task']:<11} {row['implementation']:<17} {row['median_s']:9.3f} {row['n_iter']:6d} "
              f"{row['median_negentropy']:11.5f} {row['median_gabor_r2']:9.3f} {row['amari_vs_sklearn']:12.4f} "
              f"{row['sklearn_over_effcode']:11.2f} {str(row['converged']):>10}")
    print(f"wrote {args.out}/ica.csv and README.md")


if __name__ == "__main__":
    main()
