"""Benchmark: effcode ICA against scikit-learn's FastICA and Picard on the same natural-image patches.

Two comparisons, each in one process with several repetitions; within a repetition the
implementations run one after another (interleaved), one thread each (torch threads, and numpy's
BLAS through threadpoolctl), so load on the machine hits them alike.  Times are medians; each
ratio (another implementation's time over effcode's) is taken per repetition and reported as its
median with min and max.

* ``core``: the ICA iteration alone on the *same* PCA-whitened patches, same initial matrix,
  same contrast (logcosh).  scikit-learn ``FastICA(whiten=False)`` and effcode
  :func:`effcode.learners.ica.fastica_symmetric` share the stopping test (``max |1 - |diag(W_new W^T)|| <
  tol``, tol 1e-4); Picard (Ablin, Cardoso & Gramfort 2018, ``picard(ortho=True)``: the FastICA model,
  the same fixed points) stops on its gradient norm, at ``PICARD_TOL``.
* ``end-to-end``: raw DC-removed patches in, filters out: ``ICA(K, whiten_components=K).fit``
  (PCA whitening with dimension reduction to K, FastICA, pixel-space outputs) against
  ``FastICA(K, whiten="unit-variance").fit`` and ``picard(n_components=K, ortho=True)``.
  Natural-gradient Infomax is timed too (its tolerance is on the per-epoch change of W, not
  comparable; ``converged`` says whether it met it).

A converged solution is judged by its Amari distance to a reference: ``amari_vs_sklearn`` (0 = the
same unmixing up to order and sign as scikit-learn's in the same task).  With ``--reference``, the
core task also fits a tightly converged solution (effcode, float64, tol 1e-8: about 1,300
iterations, a minute or two) and reports every method's distance to it (``amari_vs_reference``);
``PICARD_TOL`` is the loosest Picard tolerance whose solution is no farther from that reference
than scikit-learn's at tol 1e-4 (measured: 0.035 against 0.046).

Quality: median logcosh negentropy of the sources and median Gabor R^2 of the basis functions
(:func:`effcode.gabor.fit_gabors`).  Picard is optional (``pip install python-picard``, or the
``bench`` extra) and skipped with a message when absent.

Run ``python benchmarks/bench_ica.py [--quick] [--reference]``; writes ``results/benchmarks/ica.csv``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.decomposition import FastICA
from threadpoolctl import threadpool_limits

from effcode.data import PatchWhitener, load_images
from effcode.gabor import fit_gabors
from effcode.learners.ica import (ICA, SINGLE_PRECISION_TOL, _random_orthonormal, amari_index, fastica_symmetric,
                                  image_patches, negentropy)

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import FOLDER, publish  # noqa: E402

TOL, MAX_ITER, PATCH = 1e-4, 200, 16
#: Picard's stopping tolerance (on its gradient norm): its solution is then as close to the fully
#: converged one as scikit-learn's and effcode's at TOL (see the module docstring)
PICARD_TOL = 1e-3


def gabor_r2(basis: np.ndarray) -> float:
    return float(np.median(fit_gabors(basis.reshape(-1, PATCH, PATCH))["r2"]))


def picard_or_none():
    try:
        from picard import picard
    except ImportError:
        print("python-picard is not installed (pip install python-picard, or pip install -e '.[bench]'): "
              "skipping Picard")
        return None
    return picard


def contenders(Z, X, W0, k, device, picard):
    """{(task, implementation): fn() -> (unmixing matrix, n_iter, converged)}: (K, K) in the shared whitened
    space for ``core``, (K, d) in pixel space for ``end-to-end`` (the caller maps it into the whitened space)."""
    z_t, w0_t = torch.from_numpy(Z).to(device), torch.from_numpy(W0).to(device)

    def sk_core():
        model = FastICA(None, whiten=False, fun="logcosh", algorithm="parallel", w_init=W0, tol=TOL,
                        max_iter=MAX_ITER).fit(Z)
        return model.components_, model.n_iter_, model.n_iter_ < MAX_ITER

    def effcode_core():
        w, n_iter, converged = fastica_symmetric(z_t, w0_t, max_iter=MAX_ITER, tol=TOL,
                                                 single_precision=TOL >= SINGLE_PRECISION_TOL)  # as ICA runs it
        return w.cpu().numpy(), n_iter, converged

    def picard_core():
        _, w, _, n_iter = picard(Z.T, ortho=True, whiten=False, w_init=W0, tol=PICARD_TOL, max_iter=MAX_ITER,
                                 return_n_iter=True)
        return w, n_iter, n_iter < MAX_ITER

    def sk_full():
        model = FastICA(k, whiten="unit-variance", fun="logcosh", algorithm="parallel", tol=TOL, max_iter=MAX_ITER,
                        random_state=0).fit(X)
        return model.components_, model.n_iter_, model.n_iter_ < MAX_ITER

    def effcode_full(algorithm):
        def fit():
            model = ICA(k, algorithm=algorithm, whiten_components=k, tol=TOL, max_iter=MAX_ITER, random_state=0,
                        device=device).fit(X)
            return model.components_, model.n_iter_, model.converged_
        return fit

    def picard_full():
        k_mat, w, _, n_iter = picard(X.T, n_components=k, ortho=True, whiten=True, tol=PICARD_TOL,
                                     max_iter=MAX_ITER, random_state=0, return_n_iter=True)
        return w @ k_mat, n_iter, n_iter < MAX_ITER

    table = {("core", "sklearn FastICA"): sk_core, ("core", "effcode fastica"): effcode_core}
    if picard is not None:
        table[("core", "picard ortho")] = picard_core
    table[("end-to-end", "sklearn FastICA")] = sk_full
    table[("end-to-end", "effcode fastica")] = effcode_full("fastica")
    if picard is not None:
        table[("end-to-end", "picard ortho")] = picard_full
    table[("end-to-end", "effcode infomax")] = effcode_full("infomax")
    return table


def headline_sentence(table) -> str:
    """The speed ratios against effcode's FastICA, per task, in one sentence (for the README)."""
    parts = []
    for task in ("core", "end-to-end"):
        others = [f"{impl.split()[0]} {ratio:.2f}x ({low:.2f}-{high:.2f}x)" for t, impl, ratio, low, high in
                  zip(table["task"], table["implementation"], table["time_over_effcode_fastica"], table["ratio_min"],
                      table["ratio_max"]) if t == task and impl in ("sklearn FastICA", "picard ortho")]
        parts.append(f"{task}: " + ", ".join(others))
    return ("Time of each implementation over effcode FastICA's, median (per-repetition range): "
            + "; ".join(parts) + ".")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small problem, 2 repetitions (smoke test)")
    parser.add_argument("--reps", type=int, default=None, help="repetitions per implementation (default 3, quick 2)")
    parser.add_argument("--reference", action="store_true",
                        help="also fit a tightly converged core solution and report distances to it (+1-2 min)")
    parser.add_argument("--device", default="cpu", help="torch device for effcode (the others run on the CPU)")
    parser.add_argument("--out", type=Path, default=FOLDER, help="folder for the CSV, JSON record and README")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    n, k, reps = (10_000, 32, 2) if args.quick else (50_000, 64, 3)
    reps = args.reps or reps
    picard = picard_or_none()

    X = image_patches(load_images("default"), PATCH, n, log=False, random_state=0)
    whitener = PatchWhitener(kind="pca", n_components=k).fit(X)
    Z = whitener.transform(X)
    W0 = _random_orthonormal(np.random.default_rng(0), k, k)
    to_whitened = np.linalg.pinv(whitener.whitening_)                  # pixel-space unmixing -> whitened space
    runs = contenders(Z, X, W0, k, args.device, picard)
    times = {key: [] for key in runs}
    results = {}
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")      # non-convergence is reported in the 'converged' column
        for rep in range(reps):
            for key, fit in runs.items():   # interleaved: every implementation once per repetition
                start = time.perf_counter()
                results[key] = fit()
                times[key].append(time.perf_counter() - start)
            print(f"repetition {rep + 1}/{reps}: " + ", ".join(f"{task} {impl} {times[(task, impl)][-1]:.2f} s"
                                                               for task, impl in runs), flush=True)
        reference = None
        if args.reference:
            w, n_ref, _ = fastica_symmetric(torch.from_numpy(Z), torch.from_numpy(W0), max_iter=5000, tol=1e-8)
            reference = w.numpy()
            print(f"reference: FastICA float64 tol 1e-8, {n_ref} iterations")

    rows = []
    for (task, impl), (unmixing, n_iter, converged) in results.items():
        w_whitened = unmixing if task == "core" else unmixing @ to_whitened
        w_whitened = np.asarray(w_whitened, dtype=np.float64)
        sources = Z @ w_whitened.T
        basis = (whitener.dewhitening_ @ np.linalg.pinv(w_whitened)).T
        sklearn_w = results[(task, "sklearn FastICA")][0]
        sklearn_w = sklearn_w if task == "core" else sklearn_w @ to_whitened
        ratios = [other / mine for other, mine in zip(times[(task, impl)], times[(task, "effcode fastica")])]
        rows.append(dict(
            task=task, implementation=impl, n_samples=n, n_features=PATCH * PATCH, n_components=k,
            tol=PICARD_TOL if impl.startswith("picard") else TOL, reps=reps,
            median_s=statistics.median(times[(task, impl)]), min_s=min(times[(task, impl)]), n_iter=n_iter,
            converged=bool(converged), median_negentropy=float(np.median(negentropy(sources))),
            median_gabor_r2=gabor_r2(basis),
            amari_vs_sklearn=amari_index(w_whitened, np.asarray(sklearn_w, dtype=np.float64).T),
            amari_vs_reference=(amari_index(w_whitened, reference.T) if reference is not None and task == "core"
                                else float("nan")),
            time_over_effcode_fastica=statistics.median(ratios), ratio_min=min(ratios), ratio_max=max(ratios)))

    table = {key: [row[key] for row in rows] for key in rows[0]}
    publish("ica", table, title="ICA: effcode against scikit-learn FastICA and Picard", folder=args.out,
            device=args.device, headline=headline_sentence(table),
            notes=f"{n} DC-removed {PATCH}x{PATCH} patches of the default images, K = d' = {k}, {reps} repetitions "
                  f"interleaved, effcode on {args.device}, one thread each ({torch.get_num_threads()} torch "
                  "thread, numpy BLAS limited by threadpoolctl); 'core' = the same whitened data and start "
                  f"(FastICA tol {TOL}; Picard ortho=True, tol {PICARD_TOL} on its gradient norm); "
                  "'end-to-end' = raw patches in, filters out; time_over_effcode_fastica = the implementation's "
                  "time over effcode FastICA's in the same repetition, median [ratio_min, ratio_max]; "
                  "amari_vs_sklearn: 0 = scikit-learn's solution up to order and sign; amari_vs_reference: "
                  "distance to a fully converged solution (float64, tol 1e-8; with --reference).")
    print(f"ICA on {n} DC-removed {PATCH}x{PATCH} patches of the default images, K = d' = {k}, {reps} reps")
    print(f"{'task':<11} {'implementation':<17} {'median s':>9} {'iters':>6} {'Gabor R2':>9} {'Amari vs sk':>12} "
          f"{'vs ref':>8} {'time / effcode':>22}")
    for row in rows:
        print(f"{row['task']:<11} {row['implementation']:<17} {row['median_s']:9.3f} {row['n_iter']:6d} "
              f"{row['median_gabor_r2']:9.3f} {row['amari_vs_sklearn']:12.2e} {row['amari_vs_reference']:8.3f} "
              f"{row['time_over_effcode_fastica']:8.2f}x [{row['ratio_min']:.2f}, {row['ratio_max']:.2f}]")
    print(f"wrote {args.out}/ica.csv and README.md")


if __name__ == "__main__":
    main()
