"""Benchmark: memory while millions of patches stream through ``SparseCoding.partial_fit``.

The default images are whitened (``effcode.data.whiten_images``), a ``PatchSampler`` streams
16x16 patches in batches of the model's ``batch_size`` (512), and each batch is one
``SparseCoding.partial_fit`` step (256 atoms, default parameters) - the path ``fit_images``
takes.  Every ``--every`` patches the script records:

* ``rss_mb``: current resident set size (``/proc/self/statm``), MiB;
* ``peak_rss_mb``: peak resident set size so far (``resource.getrusage``), MiB;
* with ``--tracemalloc``, ``traced_mb`` / ``traced_peak_mb``: Python and NumPy allocations, MiB
  (off by default: tracemalloc's own bookkeeping makes the RSS creep, by ~35 MiB over 4 million
  patches in our runs, while the traced memory itself stays flat);
* ``cuda_peak_mb``: ``torch.cuda.max_memory_allocated`` when ``--device cuda``.

Memory is flat if RSS stops growing once the first batches have run: the script fits a line
to RSS against patches seen over the second half of the run and extrapolates it to 10 million
patches (the default ``--n-patches``; on 2 cores that takes long, so a smaller ``--n-patches``
with the extrapolation is the practical option - the CSV says which was measured).
Target: peak RSS < 2 GB.  Writes ``results/benchmarks/streaming_memory.csv``.

Run ``python benchmarks/bench_streaming_memory.py [--quick] [--n-patches N] [--device cuda]``.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import FOLDER, publish  # noqa: E402

from effcode.data import PatchSampler, load_images, whiten_images  # noqa: E402
from effcode.learners.sparse_coding import SparseCoding  # noqa: E402

MIB = 2 ** 20
FULL = 10_000_000


def rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        resident_pages = int(handle.read().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE") / MIB


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / MIB  # ru_maxrss is KiB on Linux


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100,000 patches (a smoke test)")
    parser.add_argument("--n-patches", type=int, default=None, help=f"patches to stream (default {FULL:,})")
    parser.add_argument("--every", type=int, default=None, help="patches between measurements")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--tracemalloc", action="store_true", help="also trace Python/NumPy allocations")
    parser.add_argument("--out", type=Path, default=FOLDER)
    args = parser.parse_args(argv)
    n_patches = args.n_patches or (100_000 if args.quick else FULL)
    every = args.every or max(n_patches // 50, 512)

    if args.tracemalloc:
        tracemalloc.start()
    model = SparseCoding(256, device=args.device)
    images = whiten_images(load_images("default"))
    sampler = PatchSampler(images, 16, batch_size=model.batch_size, random_state=0)
    table = {key: [] for key in ("patches", "seconds", "rss_mb", "peak_rss_mb", "traced_mb", "traced_peak_mb",
                                 "cuda_peak_mb")}
    print(f"streaming {n_patches:,} patches, start RSS {rss_mb():.0f} MiB", flush=True)
    start, seen, next_mark = time.perf_counter(), 0, every
    for batch in sampler.batches(n_patches):
        model.partial_fit(batch)
        seen += len(batch)
        if seen >= next_mark or seen == n_patches:
            next_mark += every
            traced, traced_peak = tracemalloc.get_traced_memory() if args.tracemalloc else (np.nan, np.nan)
            cuda = torch.cuda.max_memory_allocated() / MIB if args.device.startswith("cuda") else float("nan")
            row = dict(patches=seen, seconds=time.perf_counter() - start, rss_mb=rss_mb(), peak_rss_mb=peak_rss_mb(),
                       traced_mb=traced / MIB, traced_peak_mb=traced_peak / MIB, cuda_peak_mb=cuda)
            for key, value in row.items():
                table[key].append(value)
            print(f"{seen:>11,} patches  {row['seconds']:8.1f} s  RSS {row['rss_mb']:7.1f} MiB  "
                  f"peak {row['peak_rss_mb']:7.1f} MiB  traced {row['traced_mb']:6.1f} MiB", flush=True)
    tracemalloc.stop()

    second_half = np.asarray(table["patches"]) >= n_patches / 2
    slope, intercept = np.polyfit(np.asarray(table["patches"])[second_half],
                                  np.asarray(table["rss_mb"])[second_half], 1)
    extrapolated = intercept + slope * FULL
    rate = seen / (time.perf_counter() - start)
    threads = torch.get_num_threads()
    extrapolation = "" if seen >= FULL else (
        f" 10M patches would take {FULL / rate / 3600:.1f} h at this rate; extrapolated RSS at 10M patches: "
        f"{extrapolated:.0f} MiB.")
    notes = (f"Measured {seen:,} patches in {time.perf_counter() - start:.0f} s ({rate:,.0f} patches/s, {threads} "
             f"torch threads, device {args.device}). RSS slope over the second half: {slope * 1e6:.3f} MiB per "
             f"million patches; peak RSS {max(table['peak_rss_mb']):.0f} MiB (target < 2048 MiB).{extrapolation}")
    print(notes)
    print(publish("streaming_memory", table, title="Streaming memory of SparseCoding.partial_fit", notes=notes,
                  device=args.device, folder=args.out))


if __name__ == "__main__":
    main()
