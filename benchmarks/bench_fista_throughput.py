"""Benchmark: FISTA sparse-inference throughput (patches/s) against the device's matmul rate.

Codes a batch X (B, d) over a dictionary D (K, d), K = d = 256 (16x16 patches, 256 atoms), with
a fixed number of FISTA iterations (no early stop), for B = 256 ... 65,536, using
``effcode.learners.inference.solve``.

FLOP count.  The kernel computes C = X D^T (2 B K d) and G = D D^T (2 K^2 d) once, then each
iteration is one (B, K) x (K, K) matmul (2 B K^2) plus elementwise work (not counted):
``flops = 2 B K d + 2 K^2 d + n_iter * 2 B K^2``.  A textbook FISTA iteration does two
matmuls (D^T a, then D^T r: 4 B K d); ``textbook_gflops_per_s`` counts that work instead, i.e.
the rate a two-matmul implementation would need to match this one.  ``fraction_of_matmul`` is
the achieved (counted) FLOP rate over the fp32 FLOP rate of a large square matmul measured on the
same device in the same process.

Writes ``results/benchmarks/fista_throughput.csv``.
Run ``python benchmarks/bench_fista_throughput.py [--quick] [--device cuda]``.
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

from effcode.learners.inference import lipschitz_constant, solve  # noqa: E402
from effcode.objectives import make_objective  # noqa: E402
from effcode.validation import resolve_device  # noqa: E402


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn, device: torch.device, reps: int) -> float:
    """Median seconds of ``reps`` calls after one warm-up call."""
    fn()
    synchronize(device)
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        synchronize(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def matmul_rate(device: torch.device, n: int, reps: int) -> float:
    """fp32 FLOP/s of an (n, n) x (n, n) matmul."""
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(n, n, generator=generator).to(device)
    b = torch.randn(n, n, generator=generator).to(device)
    return 2 * n ** 3 / timed(lambda: a @ b, device, reps)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="batch sizes up to 4096, few iterations")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--n-iter", type=int, default=None, help="FISTA iterations (default 50, quick 10)")
    parser.add_argument("--reps", type=int, default=None, help="timed repetitions per size (default 5, quick 2)")
    parser.add_argument("--out", type=Path, default=FOLDER)
    args = parser.parse_args(argv)
    device = resolve_device(args.device)
    k = d = 256
    batches = [256, 1024, 4096] if args.quick else [256, 1024, 4096, 16384, 65536]
    n_iter = args.n_iter or (10 if args.quick else 50)
    reps = args.reps or (2 if args.quick else 5)

    peak = matmul_rate(device, 1024 if args.quick else 4096, reps)
    print(f"device {device}, {torch.get_num_threads()} torch threads: fp32 matmul {peak / 1e9:.1f} GFLOP/s")
    rng = np.random.default_rng(0)
    atoms = rng.standard_normal((k, d)).astype(np.float32)
    atoms /= np.linalg.norm(atoms, axis=1, keepdims=True)
    dictionary = torch.from_numpy(atoms).to(device)
    lipschitz = lipschitz_constant(dictionary)
    objective = make_objective("l1", 0.1 * float(np.sqrt(d)))
    table = {key: [] for key in ("device", "batch_size", "n_iter", "seconds", "patches_per_s", "gflops_per_s",
                                 "textbook_gflops_per_s", "matmul_gflops_per_s", "fraction_of_matmul")}
    for batch in batches:
        X = torch.from_numpy(rng.standard_normal((batch, d)).astype(np.float32)).to(device)
        seconds = timed(lambda: solve(X, dictionary, objective, n_iter=n_iter, tol=0.0, lipschitz=lipschitz),
                        device, reps)
        flops = 2 * batch * k * d + 2 * k * k * d + n_iter * 2 * batch * k * k
        textbook = 2 * batch * k * d + n_iter * 4 * batch * k * d
        row = dict(device=str(device), batch_size=batch, n_iter=n_iter, seconds=seconds,
                   patches_per_s=batch / seconds, gflops_per_s=flops / seconds / 1e9,
                   textbook_gflops_per_s=textbook / seconds / 1e9, matmul_gflops_per_s=peak / 1e9,
                   fraction_of_matmul=flops / seconds / peak)
        for key, value in row.items():
            table[key].append(value)
        print(f"B={batch:6d}: {row['patches_per_s']:12.0f} patches/s, {row['gflops_per_s']:7.1f} GFLOP/s "
              f"({100 * row['fraction_of_matmul']:.0f}% of matmul)", flush=True)
    notes = (f"K = d = {k}, {n_iter} FISTA iterations, l1, no early stop; median of {reps} runs; "
             f"{torch.get_num_threads()} torch threads. FLOPs counted: "
             "X D^T and D D^T once, then one (B,K)x(K,K) matmul per iteration; 'textbook' counts two "
             "(B,K)x(K,d) matmuls per iteration.")
    print(publish("fista_throughput", table, title="FISTA inference throughput", notes=notes,
                  device=str(device), folder=args.out))


if __name__ == "__main__":
    main()
