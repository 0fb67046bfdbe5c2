"""Benchmark: how time to quality grows with the number of atoms K and the patch size, effcode and SPAMS.

Two sweeps around the main benchmark's setting (``bench_dictionary_learning.py``: 16x16 patches,
K = 256, lam = 2 on unit-RMS whitened patches of the default images):

* K in {128, 256, 512, 1024} at 16x16 patches;
* patch size in {8, 12, 16, 24} at K = 256.

In each cell effcode ``SparseCoding`` (the main benchmark's parameters: the defaults with
``inference="auto"``, compiled coordinate-descent inference) and SPAMS ``trainDL`` (penalised mode,
the main benchmark's batch size) learn from the same training patches, interleaved, one thread
each, with checkpoints every ``CHECKPOINT_PATCHES`` patches.  Quality = held-out objective within 2%
of the best either method reached in that cell; the median Gabor R^2 at that point is reported
beside it.  To keep the run bounded, the held-out codes come from effcode's coordinate-descent solver
(the same minimiser as FISTA, to tolerance 1e-5, far cheaper at K = 1024), on ``N_TEST`` patches, and
each run stops at ``--max-seconds`` of training (default 20 s), at ``MAX_PATCHES`` patches, or once
its objective has levelled off (less than 0.2% lower over 3 checkpoints).  NaN = not reached
within that budget.  One repetition per cell by default (``--reps``).

Writes ``results/benchmarks/scaling.csv`` (and its README section) and ``scaling.png``.
Run ``python benchmarks/bench_scaling.py [--quick]``; about 4 minutes on 2 quiet cores.
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

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import FOLDER, publish  # noqa: E402
from bench_dictionary_learning import EFFCODE_PARAMS, SPAMS_BATCH, spams_stream, unit_rows, warm_up  # noqa: E402

from effcode.data import PatchSampler, load_images, whiten_images  # noqa: E402
from effcode.gabor import fit_gabors  # noqa: E402
from effcode.learners.sparse_coding import SparseCoding, sparse_encode  # noqa: E402
from effcode.storage.atomic import atomic_path  # noqa: E402

LAM = 2.0
N_TRAIN, N_TEST = 50_000, 1024
CHECKPOINT_PATCHES = 5120
MAX_PATCHES = 200_000
OBJECTIVE_TOLERANCE = 0.02
LEVEL_CHECKPOINTS, LEVEL_TOLERANCE = 3, 2e-3
K_SWEEP, PATCH_SWEEP = (128, 256, 512, 1024), (8, 12, 16, 24)
K_FIXED, PATCH_FIXED = 256, 16


def patch_sets(images, patch: int, n_train: int, n_test: int):
    train = PatchSampler(images, patch, random_state=0).sample(n_train)
    test = PatchSampler(images, patch, random_state=1).sample(n_test)
    scale = np.float32(np.sqrt(np.mean(train.astype(np.float64) ** 2)))
    return train / scale, test / scale


def held_out_objective(dictionary, test) -> float:
    atoms = unit_rows(dictionary)
    codes = sparse_encode(test, atoms, lam=LAM, inference_method="cd", n_iter=200, tol=1e-5)
    residual = test - codes @ atoms
    return float(np.mean(0.5 * np.sum(residual ** 2, axis=1) + LAM * np.sum(np.abs(codes), axis=1)))


def effcode_stream(train, k, seed):
    model = SparseCoding(k, lam=LAM, random_state=seed, **EFFCODE_PARAMS)
    rng = np.random.default_rng(seed)
    order = np.empty(0, dtype=np.int64)
    every = CHECKPOINT_PATCHES // model.batch_size
    for step in range(1, MAX_PATCHES // model.batch_size + 1):
        if order.size < model.batch_size:
            order = np.concatenate([order, rng.permutation(len(train))])
        index, order = order[:model.batch_size], order[model.batch_size:]
        model.partial_fit(train[index])
        if step % every == 0:
            yield step * model.batch_size, model.components_


def spams_patches_stream(train, k, seed):
    every = CHECKPOINT_PATCHES // SPAMS_BATCH
    for batches, dictionary in spams_stream(train, k, LAM, seed, "cpu", every, MAX_PATCHES // SPAMS_BATCH):
        yield batches * SPAMS_BATCH, dictionary


STREAMS = {"effcode": effcode_stream, "spams": spams_patches_stream}


def run(name, train, test, k, seed, max_seconds):
    """Checkpoints [(patches, train_s, objective, dictionary)] of one run (dictionaries kept for R^2)."""
    rows, elapsed = [], 0.0
    stream = STREAMS[name](train, k, seed)
    while elapsed < max_seconds:
        start = time.perf_counter()
        try:
            patches, dictionary = next(stream)
        except StopIteration:
            break
        elapsed += time.perf_counter() - start
        rows.append((patches, elapsed, held_out_objective(dictionary, test), np.array(dictionary)))
        if len(rows) > LEVEL_CHECKPOINTS:
            recent_gain = rows[-1 - LEVEL_CHECKPOINTS][2] - rows[-1][2]
            if recent_gain < LEVEL_TOLERANCE * rows[-1][2]:
                break     # levelled off
    return rows


def cells(k_sweep, patch_sweep, k_fixed, patch_fixed):
    """(sweep, K, patch size) of every cell; the shared setting appears in both sweeps, measured once."""
    return [("K", k, patch_fixed) for k in k_sweep] + [("patch", k_fixed, p) for p in patch_sweep]


def headline_sentence(table) -> str:
    """SPAMS's time over effcode's per cell, in one sentence (for the README)."""
    cells_text = [f"{sweep} = {int(k if sweep == 'K' else patch)}: {ratio:.2f}x" for sweep, k, patch, method, ratio in
                  zip(table["sweep"], table["n_components"], table["patch_size"], table["method"],
                      table["time_over_effcode"]) if method == "spams"]
    return "SPAMS time to quality over effcode's (above 1: effcode sooner): " + ", ".join(cells_text) + "." \
        if cells_text else ""


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="K in {64, 128}, patch 8, 2 s per run (smoke test)")
    parser.add_argument("--reps", type=int, default=1, help="repetitions (seeds) per cell and method")
    parser.add_argument("--max-seconds", type=float, default=None, help="training-time cap per run (default 20)")
    parser.add_argument("--out", type=Path, default=FOLDER)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    try:
        import spams  # noqa: F401
        methods = ["effcode", "spams"]
    except ImportError:
        print("spams is not installed (pip install spams-bin, or pip install -e '.[bench]'): effcode alone")
        methods = ["effcode"]
    grid = ((64, 128), (8,), 64, 8) if args.quick else (K_SWEEP, PATCH_SWEEP, K_FIXED, PATCH_FIXED)
    max_seconds = args.max_seconds or (2.0 if args.quick else 20.0)
    n_train, n_test = (8000, 256) if args.quick else (N_TRAIN, N_TEST)
    images = whiten_images(load_images("default"))
    data, measured = {}, {}
    table = {key: [] for key in ("sweep", "n_components", "patch_size", "method", "reps", "median_time_to_quality_s",
                                 "median_patches_to_quality", "median_r2_at_quality", "objective_target",
                                 "reps_reaching_quality", "time_over_effcode")}
    for sweep, k, patch in cells(*grid):
        if (k, patch) not in measured:
            if patch not in data:
                data[patch] = patch_sets(images, patch, n_train, n_test)
            train, test = data[patch]
            warm_up(train, LAM, "cpu")
            runs = {}
            for seed in range(args.reps):
                for name in methods:                      # interleaved within each repetition
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        runs[(name, seed)] = run(name, train, test, k, seed, max_seconds)
                    last = runs[(name, seed)][-1]
                    print(f"K={k} patch={patch} {name} seed {seed}: {last[0]} patches, {last[1]:.1f} s, "
                          f"objective {last[2]:.3f}", flush=True)
            measured[(k, patch)] = runs
        runs = measured[(k, patch)]
        target = (1 + OBJECTIVE_TOLERANCE) * min(row[2] for rows in runs.values() for row in rows)
        hits = {key: next((row for row in rows if row[2] <= target), None) for key, rows in runs.items()}
        seconds = {key: (hit[1] if hit else float("nan")) for key, hit in hits.items()}
        for name in methods:
            keys = [(name, seed) for seed in range(args.reps)]
            reached = [hits[key] for key in keys if hits[key] is not None]
            all_reached = len(reached) == len(keys)
            ratios = [seconds[key] / seconds[("effcode", key[1])] for key in keys]
            table["sweep"].append(sweep)
            table["n_components"].append(k)
            table["patch_size"].append(patch)
            table["method"].append(name)
            table["reps"].append(args.reps)
            table["median_time_to_quality_s"].append(statistics.median(seconds[key] for key in keys)
                                                     if all_reached else float("nan"))
            table["median_patches_to_quality"].append(statistics.median(hit[0] for hit in reached)
                                                      if all_reached else float("nan"))
            table["median_r2_at_quality"].append(
                statistics.median(float(np.median(fit_gabors(unit_rows(hit[3]).reshape(-1, patch, patch),
                                                             dog=False)["r2"])) for hit in reached)
                if reached else float("nan"))
            table["objective_target"].append(target)
            table["reps_reaching_quality"].append(len(reached))
            table["time_over_effcode"].append(statistics.median(ratios) if all(np.isfinite(ratios)) else float("nan"))

    notes = (f"Time to quality = training time (scoring excluded) until the held-out objective (0.5||x - Da||^2 + "
             f"{LAM:g}||a||_1 per unit-RMS patch, {n_test} held-out patches) is within "
             f"{100 * OBJECTIVE_TOLERANCE:g}% of the best either method reached in the cell; runs capped at "
             f"{max_seconds:g} s of training (NaN = not reached). effcode SparseCoding defaults "
             f"(with {EFFCODE_PARAMS or 'no changes'}); "
             f"SPAMS trainDL "
             f"mode=2, batch {SPAMS_BATCH}; one thread each, interleaved; {n_train} training patches per cell; "
             f"{args.reps} repetition(s). time_over_effcode = SPAMS's time over effcode's in the same cell and seed.")
    text = publish("scaling", table, title="Dictionary learning: scaling of time to quality with K and patch size",
                   notes=notes, headline=headline_sentence(table), folder=args.out)
    print(text)
    figure(table, args.out / "scaling.png", methods, k_fixed=grid[2], patch_fixed=grid[3])


def figure(table, path: Path, methods, *, k_fixed: int, patch_fixed: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), sharey=True)
    for ax, sweep, column, label in ((axes[0], "K", "n_components", f"atoms K ({patch_fixed}x{patch_fixed} patches)"),
                                     (axes[1], "patch", "patch_size", f"patch size (K = {k_fixed})")):
        for name, marker in zip(methods, "os"):
            rows = [i for i, (s, m) in enumerate(zip(table["sweep"], table["method"])) if s == sweep and m == name]
            ax.plot([table[column][i] for i in rows], [table["median_time_to_quality_s"][i] for i in rows],
                    marker=marker, label=name)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel(label)
        ax.set_xticks([table[column][i] for i, s in enumerate(table["sweep"]) if s == sweep])
        ax.get_xaxis().set_major_formatter(matplotlib.ticker.ScalarFormatter())
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("time to quality (s, one thread)")
    axes[0].legend()
    fig.suptitle("Sparse dictionary learning: time to within 2% of the best held-out objective")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
