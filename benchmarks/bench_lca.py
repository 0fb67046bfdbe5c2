"""Benchmark: LCA inference for the l0 and topk penalties, compiled kernel against the torch kernel, on the CPU.

``inference="auto"`` codes the hard-threshold penalties ``l0`` and ``topk`` with LCA
(:mod:`effcode.learners.inference`).  On CPU tensors LCA runs the compiled kernel of
:mod:`effcode.learners.lca_kernel`, which forms each row's inhibition from its active atoms only
(K operations per active atom instead of a dense K x K product per row); the torch kernel
(``inference._lca``, forced here by emptying ``inference.COMPILED_LCA_OBJECTIVES``) is the baseline.

1. Inference alone: ``ROWS`` = 512 whitened 12x12 patches (d = 144, unit RMS) over a learned-ish
   dictionary (``SparseCoding`` with topk k = 8 trained for ``TRAIN_STEPS`` updates) of K = 144, 288
   and 576 atoms; ``l0`` with lam set so that about 10 atoms per row are active, and ``topk`` with
   k = 8; 80 iterations at most, tolerance 1e-3 (``DEFAULT_TOLERANCES["lca"]``, what the learner uses)
   and tolerance 0 (all 80 iterations).  ``energy_ratio`` = mean sparse-coding energy of the compiled
   codes over that of the torch codes.
2. A short fit: ``SparseCoding(n_components=576, objective="topk", objective_params={"k": 8},
   n_iter=80)`` (experiment 13's 4x code: 20 iterations per 1x of overcompleteness), ``FIT_STEPS``
   updates of 512 patches, 12x12, both ways.

One process, one thread; warm-up runs (which also load the numba cache) before any clock starts,
the two kernels interleaved in each of ``--reps`` repetitions, medians reported, and ``speedup`` =
torch time / compiled time.  Writes ``results/benchmarks/lca.csv`` and its README section.
Run ``OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 python benchmarks/bench_lca.py [--quick]``.
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

from effcode.data import PatchSampler, load_images, whiten_images  # noqa: E402
from effcode.learners import inference  # noqa: E402
from effcode.learners.sparse_coding import DEFAULT_TOLERANCES, SparseCoding  # noqa: E402
from effcode.objectives import make_objective  # noqa: E402

PATCH = 12
ROWS = 512
N_ITER = 80
TOL = DEFAULT_TOLERANCES["lca"]
TRAIN_STEPS = 30
FIT_STEPS = 20
ATOMS = (144, 288, 576)
TARGET_ACTIVE = 10.0


def patches(n: int, seed: int) -> np.ndarray:
    images = whiten_images(load_images("default"))
    X = PatchSampler(images, PATCH, random_state=seed).sample(n).astype(np.float32)
    return X / np.float32(np.sqrt(np.mean(X.astype(np.float64) ** 2)))


class torch_lca:
    """Context: LCA runs the torch kernel for every penalty (the baseline)."""

    def __enter__(self):
        self.saved = inference.COMPILED_LCA_OBJECTIVES
        inference.COMPILED_LCA_OBJECTIVES = ()

    def __exit__(self, *exc):
        inference.COMPILED_LCA_OBJECTIVES = self.saved


def l0_lam(X, atoms) -> float:
    """lam of the l0 penalty at which LCA keeps about TARGET_ACTIVE atoms per row (bisection in log lam)."""
    low, high = -6.0, 2.0
    for _ in range(14):
        middle = 0.5 * (low + high)
        codes, _ = inference.solve(X, atoms, make_objective("l0", 10 ** middle), method="lca", n_iter=N_ITER, tol=TOL)
        active = float((codes != 0).sum(dim=1).float().mean())
        low, high = (middle, high) if active > TARGET_ACTIVE else (low, middle)
    return 10 ** (0.5 * (low + high))


def energy(codes, X, atoms, objective) -> float:
    residual = (X - codes @ atoms).double()
    penalty = objective.lam * (codes != 0).sum(dim=1) if objective.name == "l0" else 0.0
    return float((0.5 * residual.pow(2).sum(dim=1) + penalty).mean())


def timed(run, reps_times):
    start = time.perf_counter()
    result = run()
    reps_times.append(time.perf_counter() - start)
    return result


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one repetition of everything")
    parser.add_argument("--reps", type=int, default=None, help="repetitions (default 3, quick 1)")
    parser.add_argument("--out", type=Path, default=FOLDER)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    reps = args.reps or (1 if args.quick else 3)
    train = patches(max(TRAIN_STEPS, FIT_STEPS) * 512, seed=0)
    test = torch.from_numpy(patches(ROWS, seed=1))
    table = {"case": [], "K": [], "tol": [], "torch_s": [], "compiled_s": [], "speedup": [], "energy_ratio": [],
             "active_per_row": [], "iterations_torch": [], "iterations_compiled": []}
    for n_atoms in ATOMS:
        model = SparseCoding(n_atoms, objective="topk", objective_params={"k": 8}, n_steps=TRAIN_STEPS,
                             resample_after=None, random_state=0).fit(train)
        atoms = torch.from_numpy(np.ascontiguousarray(model.components_, dtype=np.float32))
        atoms = atoms / atoms.norm(dim=1, keepdim=True)
        lipschitz = inference.lipschitz_constant(atoms)
        objectives = {"l0": make_objective("l0", l0_lam(test, atoms)), "topk k=8": make_objective("topk", 0.0, k=8)}
        for case, objective in objectives.items():
            for tol in (TOL, 0.0):
                def code(objective=objective, tol=tol):
                    return inference.solve(test, atoms, objective, method="lca", n_iter=N_ITER, tol=tol,
                                           lipschitz=lipschitz)
                code()                                   # warm-up: both paths, numba cache loaded
                with torch_lca():
                    code()
                times = {"torch": [], "compiled": []}
                for _ in range(reps):
                    with torch_lca():
                        dense, n_dense = timed(code, times["torch"])
                    compiled, n_compiled = timed(code, times["compiled"])
                torch_s, compiled_s = statistics.median(times["torch"]), statistics.median(times["compiled"])
                table["case"].append(case)
                table["K"].append(n_atoms)
                table["tol"].append(tol)
                table["torch_s"].append(torch_s)
                table["compiled_s"].append(compiled_s)
                table["speedup"].append(torch_s / compiled_s)
                table["energy_ratio"].append(energy(compiled, test, atoms, objective) /
                                             energy(dense, test, atoms, objective))
                table["active_per_row"].append(float((compiled != 0).sum(dim=1).float().mean()))
                table["iterations_torch"].append(n_dense)
                table["iterations_compiled"].append(n_compiled)
                print(f"{case:9s} K={n_atoms:4d} tol={tol:g}: torch {torch_s:.3f}s compiled {compiled_s:.3f}s "
                      f"speedup {torch_s / compiled_s:.1f}x", flush=True)

    def fit():
        return SparseCoding(n_components=576, objective="topk", objective_params={"k": 8}, n_steps=FIT_STEPS,
                            n_iter=N_ITER, batch_size=512, random_state=0).fit(train[:FIT_STEPS * 512])

    fit_times = {"torch": [], "compiled": []}
    fit_reps = 1 if args.quick else reps
    for _ in range(fit_reps):
        with torch_lca():
            timed(fit, fit_times["torch"])
        timed(fit, fit_times["compiled"])
    torch_s, compiled_s = statistics.median(fit_times["torch"]), statistics.median(fit_times["compiled"])
    table["case"].append(f"fit topk k=8, {FIT_STEPS} updates")
    table["K"].append(576)
    table["tol"].append(TOL)
    table["torch_s"].append(torch_s)
    table["compiled_s"].append(compiled_s)
    table["speedup"].append(torch_s / compiled_s)
    for column in ("energy_ratio", "active_per_row", "iterations_torch", "iterations_compiled"):
        table[column].append("")
    print(f"fit K=576 topk, {FIT_STEPS} updates: torch {torch_s:.2f}s compiled {compiled_s:.2f}s "
          f"speedup {torch_s / compiled_s:.1f}x", flush=True)

    at_576 = [s for s, k, t, c in zip(table["speedup"], table["K"], table["tol"], table["case"])
              if k == 576 and t == TOL and not c.startswith("fit")]
    headline = (f"The compiled LCA kernel codes 512 patches over 576 atoms {min(at_576):.1f}-{max(at_576):.1f}x "
                f"faster than the torch kernel (l0, topk; tol {TOL:g}), and a {FIT_STEPS}-update topk fit of 576 "
                f"atoms runs {torch_s / compiled_s:.1f}x faster.")
    notes = (f"{ROWS} held-out whitened {PATCH}x{PATCH} patches, dictionaries from SparseCoding(topk k=8) after "
             f"{TRAIN_STEPS} updates, at most {N_ITER} iterations, one thread, median of {reps} interleaved "
             "repetitions. Times include X D^T and D D^T. energy_ratio = mean energy of the compiled codes / that of "
             "the torch codes (the compiled kernel stops each row on its own, torch each chunk of rows).")
    text = publish("lca", table, title="LCA inference for l0 and topk: compiled kernel against torch",
                   headline=headline, notes=notes, folder=args.out)
    print(text)
    print(headline)


if __name__ == "__main__":
    main()
