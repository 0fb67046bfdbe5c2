"""Benchmark: the Cauchy prox on the CPU, compiled numba kernel against the torch path.

Two measurements, in one process on one thread, the two paths interleaved within each repetition
and the time the median:

* ``prox``: one call of ``Cauchy.prox`` on a (512, 256) float32 matrix of FISTA-like inputs
  (v ~ N(0, 1) * 0.5, lam = 0.3, sigma = 1, step = 1/L with L = 5), the compiled path
  (:mod:`effcode.prox_kernels`) against ``Cauchy._prox_torch`` (12 Newton steps from two starts);
* ``fit``: a short ``SparseCoding(objective="cauchy")`` fit (FISTA inference, 256 atoms, 16x16
  whitened patches of the default images, ``FIT_STEPS`` updates) with the compiled prox against the
  same fit with ``Cauchy.prox`` replaced by the torch path (monkeypatched here, in this script only).

``torch_over_compiled`` is the torch time over the compiled one.  The compiled kernel is loaded
and every path warmed before any clock starts.  Writes ``results/benchmarks/cauchy_prox.csv`` and its
README section (``--out`` elsewhere).  Run ``python benchmarks/bench_cauchy_prox.py [--quick]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import FOLDER, publish  # noqa: E402
from bench_dictionary_learning import patch_sets  # noqa: E402

from effcode import prox_kernels  # noqa: E402
from effcode.learners.sparse_coding import SparseCoding  # noqa: E402
from effcode.objectives import Cauchy, make_objective  # noqa: E402

LAM, SIGMA, LIPSCHITZ = 0.3, 1.0, 5.0
SHAPE = (512, 256)
FIT_STEPS = 20
FIT_LAM = 0.3


@contextmanager
def torch_prox():
    """Cauchy.prox runs the torch path (the baseline) inside the block."""
    compiled = Cauchy.prox
    Cauchy.prox = lambda self, v, step, dim=-1: self._prox_torch(v, step)
    try:
        yield
    finally:
        Cauchy.prox = compiled


def fit(train: np.ndarray) -> np.ndarray:
    model = SparseCoding(256, lam=FIT_LAM, objective="cauchy", objective_params={"sigma": SIGMA}, inference="fista",
                         n_steps=FIT_STEPS, random_state=0)
    return model.fit(train).components_


def interleaved(runs: dict, reps: int) -> dict:
    times = {name: [] for name in runs}
    for _ in range(reps):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (seconds)")
    parser.add_argument("--reps", type=int, default=None, help="repetitions of the fit (default 3, quick 1)")
    parser.add_argument("--out", type=Path, default=FOLDER)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    prox_reps, fit_reps = (20, 1) if args.quick else (100, 3)
    fit_reps = args.reps or fit_reps
    prox_kernels.compile_kernels()

    objective = make_objective("cauchy", LAM, sigma=SIGMA)
    v = torch.randn(*SHAPE, generator=torch.Generator().manual_seed(0)) * 0.5
    step = 1.0 / LIPSCHITZ
    compiled_codes, torch_codes = objective.prox(v, step), objective._prox_torch(v, step)
    max_difference = float((compiled_codes - torch_codes).abs().max())
    prox_times = interleaved({"compiled": lambda: objective.prox(v, step),
                              "torch": lambda: objective._prox_torch(v, step)}, prox_reps)

    train, _ = patch_sets(FIT_STEPS * 512, 1)
    fit(train[:1024])                  # warm both paths
    with torch_prox():
        fit(train[:1024])

    def torch_fit():
        with torch_prox():
            return fit(train)

    fit_times = interleaved({"compiled": lambda: fit(train), "torch": torch_fit}, fit_reps)

    table = {"measurement": [], "compiled_s": [], "torch_s": [], "torch_over_compiled": []}
    for name, times in (("prox (512x256 float32)", prox_times), (f"SparseCoding cauchy fit ({FIT_STEPS} updates)",
                                                                   fit_times)):
        table["measurement"].append(name)
        table["compiled_s"].append(times["compiled"])
        table["torch_s"].append(times["torch"])
        table["torch_over_compiled"].append(times["torch"] / times["compiled"])
    headline = (f"The compiled Cauchy prox is {table['torch_over_compiled'][0]:.1f}x faster than the torch path on "
                f"one CPU thread; a {FIT_STEPS}-update cauchy SparseCoding fit is "
                f"{table['torch_over_compiled'][1]:.1f}x faster.")
    notes = (f"prox: v ~ N(0,1)*0.5 of shape {SHAPE}, lam={LAM}, sigma={SIGMA}, step=1/{LIPSCHITZ:g}, median of "
             f"{prox_reps} interleaved calls; largest difference from the torch path {max_difference:.2g}. "
             f"fit: SparseCoding(256, lam={FIT_LAM}, objective='cauchy', inference='fista', n_steps={FIT_STEPS}) "
             f"on {FIT_STEPS * 512} whitened 16x16 patches of the default images, median of {fit_reps} interleaved "
             "fits; the torch baseline monkeypatches Cauchy.prox to Cauchy._prox_torch in this script.")
    text = publish("cauchy_prox", table, title="Cauchy prox: compiled CPU kernel against torch", headline=headline,
                   notes=notes, folder=args.out)
    print(text)
    print(headline)


if __name__ == "__main__":
    main()
