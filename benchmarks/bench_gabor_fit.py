"""Benchmark: batched Gabor fits (effcode.gabor.fit_gabors) against a per-filter scipy fit.

Both fit the same filters from the same starting points (effcode.gabor.gabor_starts) under
the same bounds (effcode.gabor.gabor_bounds), minimising the same objective, the sum of
squared pixel residuals.  The baseline runs ``scipy.optimize.least_squares`` (trust-region
reflective, analytic Jacobian: the same model function evaluated with numpy) once per start
and filter, keeping the best start; effcode runs all filters and starts together in torch.

Filters: ``--n-filters`` synthetic 16x16 Gabors (nx, ny in [0.1, 1.5], freq in [0.05, 0.4]
c/px, any orientation, phase and position, white noise at SNR 10), or the filters of a saved
FilterBank (``--filter-bank path.npz``).  Prints a markdown table and writes
results/benchmarks/gabor_fit.csv.

    python benchmarks/bench_gabor_fit.py --n-filters 1024 --repeats 3
"""

from __future__ import annotations

import argparse
import sys
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from scipy.optimize import least_squares

from effcode.gabor import fit_gabors, gabor_bounds, gabor_starts, render_gabors, synthetic_gabors
from effcode.gabor.common import r_squared, unit_rms
from effcode.gabor.fit import gabor_table
from effcode.gabor.model import gabor, pixel_grid
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import FOLDER, publish  # noqa: E402


def scipy_fit(filters: np.ndarray, n_starts: int) -> np.ndarray:
    """Per-filter least-squares Gabor fit from the effcode starts; returns r2 (K,)."""
    k, h, w = filters.shape
    unit, _ = unit_rms(filters)
    lo, hi = gabor_bounds((h, w))
    starts = gabor_starts(unit, n_starts, (lo, hi))
    x, y = (v.numpy() for v in pixel_grid((h, w)))

    def residual(p, target):
        return gabor(p[None], x, y, xp=np)[0] - target

    def jacobian(p, target):
        return np.stack(gabor(p[None], x, y, jacobian=True, xp=np)[1], axis=-1)[0]

    best = np.empty((k, 8))
    for i in range(k):
        target = unit[i].reshape(-1)
        fits = [least_squares(residual, s, jac=jacobian, bounds=(lo, hi), method="trf", x_scale="jac",
                              args=(target,)) for s in starts[i]]
        best[i] = min(fits, key=lambda r: r.cost).x
    return r_squared(unit, render_gabors(gabor_table(best, (h, w)), (h, w)))


def timed(fn, repeats: int):
    """Wall-clock and CPU times (s) of ``repeats`` calls, and the last result."""
    times, cpu, result = [], [], None
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = fn()
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return times, cpu, result


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-filters", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--baseline-repeats", type=int, default=None,
                        help="repetitions of the (slow) scipy baseline; default: --repeats")
    parser.add_argument("--baseline-filters", type=int, default=None,
                        help="fit only the first N filters with scipy and scale its time to all of them "
                             "(for large --n-filters, e.g. 100000 on a GPU); default: all")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--n-starts", type=int, default=4)
    parser.add_argument("--filter-bank", default=None, help="a saved effcode FilterBank (.npz) to fit instead")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=FOLDER, help="folder for the CSV, JSON record and README")
    args = parser.parse_args(argv)

    if args.filter_bank:
        from effcode.learners import FilterBank

        filters = FilterBank.load(args.filter_bank).filters.astype(np.float64)[:args.n_filters]
        source = f"filter bank {args.filter_bank}"
    else:
        filters, _, _ = synthetic_gabors(args.n_filters, (16, 16), snr=10.0, random_state=args.seed)
        source = "synthetic Gabors, SNR 10"
    n, h, w = filters.shape
    n_base = min(args.baseline_filters or n, n)

    fit_gabors(filters[:8], device=args.device, n_starts=args.n_starts)        # warm-up
    runs = {
        "effcode fit_gabors (Gabor only)": timed(
            lambda: fit_gabors(filters, device=args.device, n_starts=args.n_starts, dog=False)["r2"], args.repeats),
        "effcode fit_gabors (with DoG)": timed(
            lambda: fit_gabors(filters, device=args.device, n_starts=args.n_starts)["r2"], args.repeats),
        "scipy least_squares per filter": timed(
            lambda: scipy_fit(filters[:n_base], args.n_starts), args.baseline_repeats or args.repeats),
    }
    base_times, base_cpu, base_r2 = runs["scipy least_squares per filter"]
    scale = n / n_base                                  # per-filter fits: time grows linearly with the count
    runs["scipy least_squares per filter"] = ([t * scale for t in base_times], [t * scale for t in base_cpu], base_r2)
    base_time = statistics.median(base_times) * scale
    rows = []
    for method, (times, cpu, r2) in runs.items():
        r2 = r2[:n_base]                                # R² compared on the filters both methods fitted
        rows.append({
            "method": method, "device": args.device if method.startswith("effcode") else "cpu",
            "filters": source, "n_filters": n, "shape": f"{h}x{w}", "n_starts": args.n_starts,
            "repeats": len(times), "median_time_s": statistics.median(times), "min_time_s": min(times),
            "median_cpu_s": statistics.median(cpu),
            "speedup_vs_scipy": base_time / statistics.median(times), "median_r2": float(np.nanmedian(r2)),
            "median_r2_scipy_minus_this": float(np.nanmedian(base_r2 - r2)),
            "frac_scipy_better_by_0.01": float(np.mean(base_r2 - r2 > 0.01)),
            "torch_threads": torch.get_num_threads(), "cpu_count": os.cpu_count(), "platform": platform.platform(),
        })

    print(f"\n{n} filters ({source}), {h}x{w}, {args.n_starts} starts each\n")
    print("| method | device | median time (s) | CPU time (s) | speedup vs scipy | median R² "
          "| median R² (scipy − this) |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['method']} | {r['device']} | {r['median_time_s']:.3f} | {r['median_cpu_s']:.3f} | "
              f"{r['speedup_vs_scipy']:.1f}x | {r['median_r2']:.4f} | {r['median_r2_scipy_minus_this']:+.2e} |")
    publish("gabor_fit", {key: [r[key] for r in rows] for key in rows[0] if key != "platform"},
            title="Gabor fitting: batched fit against a per-filter scipy fit", device=args.device,
            notes=f"{n} filters ({source}), {h}x{w}, {args.n_starts} starts each; same starts, bounds and objective "
                  "for both; speedup = scipy median time / effcode median time."
                  + (f" scipy fitted the first {n_base} filters; its times are scaled by {scale:g} and the R² "
                     f"columns compare those {n_base}." if n_base < n else ""), folder=args.out)
    print(f"\nwrote {args.out}/gabor_fit.csv and README.md")
    return rows


if __name__ == "__main__":
    main()
