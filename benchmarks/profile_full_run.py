"""Profile of the full experiment suite: the time of one unit of work of each kind, on one thread.

``effcode run all`` at full settings is too long to profile whole on a shared machine, so this script
times one representative unit of each kind of work the expensive experiments repeat (a bank of each
learner, one scoring of a population) and ``benchmarks/profile_full_run.md`` multiplies them by the
counts each experiment's config implies.

Times are CPU seconds of this process (``time.process_time``) on one torch thread, which a busy
machine inflates far less than wall time.  SAILnet and the sparse CNN cost the same per step
throughout training, and FISTA at most its first steps' cost (it stops at its tolerance once the
dictionary has learned), so those are timed over ``--steps`` steps and scaled to the full length (the
setup, whitening and patch sampling, is timed apart as the cost of a one-step fit).  Compiled coordinate
descent (``inference="auto"`` for l1) costs more per step while the dictionary is still random, so it
is timed over the full length.

    OMP_NUM_THREADS=1 python benchmarks/profile_full_run.py --steps 40
    OMP_NUM_THREADS=1 python benchmarks/profile_full_run.py --only sailnet cnn
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import time

import numpy as np
import torch

import effcode
from effcode.data import load_images
from effcode.learners.inference import fastest_method


def timed(fn) -> float:
    """CPU seconds of ``fn()`` in this process (on one thread, its compute time even on a busy machine)."""
    started = time.process_time()
    fn()
    return time.process_time() - started


def per_step(method: str, images, steps: int, **params) -> tuple[float, float]:
    """(seconds per training step, seconds of the rest of one fit) of ``learn_filters(method, ...)``,
    from fits of 1 and 1 + ``steps`` steps (after a fit of 1 step that pays the first-call costs)."""
    effcode.learn_filters(method, images, n_steps=1, **params)
    one = timed(lambda: effcode.learn_filters(method, images, n_steps=1, **params))
    more = timed(lambda: effcode.learn_filters(method, images, n_steps=1 + steps, **params))
    rate = max(more - one, 0.0) / steps
    return rate, max(one - rate, 0.0)


def whole(method: str, images, **params) -> float:
    return timed(lambda: effcode.learn_filters(method, images, **params))


def scoring(images, n_bootstrap: int, top: int) -> str:
    """CPU seconds of each step of scoring a 256-unit 16x16 sparse-coding population (Gabor fit, grating
    tuning, Hartley receptive-field measurement), then the cProfile of :func:`effcode.v1.score_population`
    given the fit and the tuning (the per-unit intervals, bootstrap and tests), ``top`` functions by
    cumulative time."""
    from effcode.gabor import fit_gabors, grating_tuning
    from effcode.v1 import measure_receptive_fields, score_population

    bank = effcode.learn_filters("sparse_coding", images, n_filters=256, patch_size=16, n_steps=400, random_state=0,
                                 inference="auto")
    lines = []
    for name, step in (("Gabor fit", lambda: fit_gabors(bank.basis)),
                       ("grating tuning", lambda: grating_tuning(bank.basis)),
                       ("RF measurement", lambda: measure_receptive_fields(bank, 16, stimulus="hartley", random_state=0))):
        lines.append(f"{name}, 256 units: {timed(step):.2f} s")
    fit, tuning = fit_gabors(bank.basis), grating_tuning(bank.basis)
    profile = cProfile.Profile()
    started = time.process_time()
    profile.enable()
    score_population(bank, population="basis", n_bootstrap=n_bootstrap, random_state=0, fit=fit, tuning=tuning)
    profile.disable()
    seconds = time.process_time() - started
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(top)
    lines.append(f"score_population, 256 units, fit and tuning given, n_bootstrap={n_bootstrap}: {seconds:.2f} s")
    return "\n".join(lines) + "\n" + out.getvalue()


UNITS = ("sparse_coding", "sailnet", "cnn", "ica", "scoring")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=40, help="training steps timed per FISTA/SAILnet/CNN unit")
    parser.add_argument("--only", nargs="*", choices=UNITS, default=list(UNITS))
    parser.add_argument("--objectives", nargs="*", default=["l1", "l0", "cauchy", "topk"],
                        help="sparse-coding penalties timed")
    parser.add_argument("--top", type=int, default=25, help="functions listed by the scoring profile")
    args = parser.parse_args()
    torch.set_num_threads(1)
    images = load_images("default")
    rows = []
    if "sparse_coding" in args.only:
        # (label, patch, K, n_iter, objective, full length)
        for label, p, k, n_iter, objective, n_steps in (
                ("01/04/05/12 bank", 16, 256, 20, "l1", 2400), ("06 l0", 16, 256, 20, "l0", 1200),
                ("06 cauchy", 16, 256, 20, "cauchy", 1200), ("06 topk", 16, 256, 20, "topk", 1200),
                ("07 16px 2x", 16, 512, 40, "l1", 300), ("07 16px 4x", 16, 1024, 80, "l1", 300),
                ("13 12px 1x", 12, 144, 20, "l1", 800), ("13 12px 2x", 12, 288, 40, "l1", 800),
                ("13 12px 4x", 12, 576, 80, "l1", 800), ("13 12px 4x l0", 12, 576, 80, "l0", 800),
                ("13 12px 4x topk", 12, 576, 80, "topk", 800)):
            if objective not in args.objectives:
                continue
            top_k = {"objective_params": {"k": 12 if p == 16 else 8}} if objective == "topk" else {}  # 06's, 13's k
            params = {"objective": objective, **top_k}
            rate, rest = per_step("sparse_coding", images, args.steps, patch_size=p, n_filters=k, n_iter=n_iter,
                                  inference="fista", **params)
            rows.append((f"sparse coding FISTA {label} ({objective}, K={k}, {p}px, n_iter {n_iter})", n_steps,
                         rate, rest, rest + rate * n_steps))
            if objective == "l1":
                total = whole("sparse_coding", images, patch_size=p, n_filters=k, n_iter=n_iter, n_steps=n_steps,
                              inference="auto", **params)
                rows.append((f"sparse coding auto {label} (l1, K={k}, {p}px)", n_steps, total / n_steps, 0.0, total))
            elif fastest_method(objective, torch.device("cpu")) != "fista":
                rate, rest = per_step("sparse_coding", images, args.steps, patch_size=p, n_filters=k, n_iter=n_iter,
                                      inference="auto", **params)
                rows.append((f"sparse coding auto {label} ({objective}, K={k}, {p}px, n_iter {n_iter})", n_steps,
                             rate, rest, rest + rate * n_steps))
    if "sailnet" in args.only:
        for k in (144, 576):
            rate, rest = per_step("sailnet", images, args.steps, patch_size=12, n_filters=k)
            rows.append((f"SAILnet 13 (K={k}, 12px)", 3000, rate, rest, rest + rate * 3000))
    if "cnn" in args.only:
        rate, rest = per_step("sparse_cnn", images, args.steps, patch_size=16, n_filters=32)
        rows.append(("sparse CNN 03/12 (K=32, 16px, 64px crops)", 1500, rate, rest, rest + rate * 1500))
    if "ica" in args.only:
        total = whole("ica", images, patch_size=16, n_filters=64, n_patches=50_000)
        rows.append(("ICA 02 (64, 16px, 50,000 patches)", 1, total, 0.0, total))
    print("| unit | full length | s per step | s setup | s per unit |\n|---|---|---|---|---|")
    for label, n, rate, rest, total in rows:
        print(f"| {label} | {n} | {rate:.4f} | {rest:.2f} | {total:.1f} |")
    if "scoring" in args.only:
        for n_bootstrap in (200, 1000):
            print(scoring(images, n_bootstrap, args.top))


if __name__ == "__main__":
    main()
