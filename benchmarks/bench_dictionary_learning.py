"""Benchmark: time for sparse dictionary learning to reach a stated quality on natural-image patches.

The implementations learn 256 atoms from the *same* whitened 16x16 patches (default images,
Olshausen-Field whitening, unit variance per image; the patch set is rescaled to unit RMS pixel
value) with the *same* objective, per patch

    0.5 * ||x - D^T a||^2 + lam * ||a||_1,   lam = 2.0 (effcode's default), unit-norm atoms:

* ``effcode``: ``SparseCoding`` with its defaults (``inference="auto"``, on the CPU compiled coordinate
  descent on a growing active set per patch, the same codes as FISTA, with the dictionary statistics
  summed over the non-zero codes only, at its default tolerance, 1e-2 per sweep; the gradient dictionary
  update; the converging schedule), fed batches of the training set by ``partial_fit`` (epochs in a seeded
  random order); ``effcode-bcd``: the same with Mairal's block-coordinate dictionary update
  (``dictionary_update="bcd"``); ``effcode-fista``: the same with dense FISTA inference;
* ``spams``: SPAMS ``trainDL`` (Mairal et al. 2010) in penalised mode, batch size ``SPAMS_BATCH``,
  fed the same seeded epoch order (optional: ``pip install spams-bin``);
* ``scikit-learn``: ``MiniBatchDictionaryLearning(alpha=lam, fit_algorithm="cd", batch_size=256)``,
  fed by ``partial_fit`` (its own default initialisation, n_jobs=None);
* ``sporco``: SPORCO ``BPDNDictLearn`` (batch ADMM, the settings of SPORCO's example script), if installed.

effcode's compiled kernels are loaded (compiled on first use in an installation, then cached on disk)
before any clock starts, a one-time cost per process like importing a compiled library.  ``--cold``
leaves that out, as a new user would meet it: nothing is warmed up, so the first effcode run's clock
includes loading the cached kernels (about 0.3 s), or compiling them (about 2 s) when the cache is empty
(``NUMBA_CACHE_DIR`` pointing to an empty folder); its records are written under the name
``dictionary_learning_cold``.

By default effcode, effcode-bcd, effcode-fista and SPAMS run (``--methods``; scikit-learn and SPORCO take minutes
per run).  Within each repetition (seed) the methods run one after another, one thread each, and
the table gives each method's time over effcode's per repetition (median, min, max).

At checkpoints (effcode and SPAMS: every 5 batches of 512; scikit-learn: every 1/4 epoch; SPORCO:
every 5 iterations) the clock stops and the dictionary is scored:

* held-out objective: the mean of the objective above over ``n_test`` held-out patches, codes
  from the same FISTA (effcode ``sparse_encode``, 200 iterations, tol 1e-5) for every method;
* median Gabor R^2 of the 256 atoms (``effcode.gabor.fit_gabors``).

Quality targets: median R^2 >= 0.9 and held-out objective within ``--objective-tolerance``
(default 2%) of the best held-out objective reached by any method in this run.  The figure of
merit is the training time (clock stopped during scoring) until both targets are met;
repetitions (``--reps``, different seeds) give the median.  A run ends at its budget
(``--max-seconds`` of training, or 1000 updates / 50 epochs / 200 iterations) or once both
R^2 >= 0.9 and the held-out objective has levelled off (< 0.1% over 5 checkpoints).  Writes every checkpoint to
``results/benchmarks/dictionary_learning_checkpoints.csv`` and the summary to
``results/benchmarks/dictionary_learning.csv``.

Run ``python benchmarks/bench_dictionary_learning.py [--quick] [--device cuda]``.
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

from effcode.data import PatchSampler, load_images, whiten_images  # noqa: E402
from effcode.gabor import fit_gabors  # noqa: E402
from effcode.learners.sparse_coding import SparseCoding, sparse_encode  # noqa: E402
from effcode.runs import write_csv  # noqa: E402

PATCH = 16
#: SPAMS trainDL batch size, tuned on this benchmark (the fastest to quality of 64, 128, 256, 512, 1024)
SPAMS_BATCH = 512
#: the records written to results/benchmarks/ (CSV, JSON and a README section): the comparison with
#: SPAMS, and a second one whenever the slow baselines (scikit-learn, SPORCO) take part
OUTPUT, BASELINES_OUTPUT = "dictionary_learning", "dictionary_learning_baselines"
#: the record of a ``--cold`` run (a fresh process, nothing warmed up)
COLD_OUTPUT = "dictionary_learning_cold"
FAST_METHODS = {"effcode", "effcode-bcd", "effcode-fista", "spams"}
R2_TARGET = 0.9
#: a run stops once R^2 >= R2_TARGET and the held-out objective fell by less than
#: LEVEL_TOLERANCE (relative) over the last LEVEL_CHECKPOINTS checkpoints
LEVEL_CHECKPOINTS = 5
LEVEL_TOLERANCE = 1e-3


def patch_sets(n_train: int, n_test: int) -> tuple[np.ndarray, np.ndarray]:
    """Training and held-out whitened patches (float32), scaled by the training set's RMS."""
    images = whiten_images(load_images("default"))
    train = PatchSampler(images, PATCH, random_state=0).sample(n_train)
    test = PatchSampler(images, PATCH, random_state=1).sample(n_test)
    scale = float(np.sqrt(np.mean(train.astype(np.float64) ** 2)))
    return train / np.float32(scale), test / np.float32(scale)


def unit_rows(dictionary: np.ndarray) -> np.ndarray:
    dictionary = np.asarray(dictionary, dtype=np.float32)
    return dictionary / np.maximum(np.linalg.norm(dictionary, axis=1, keepdims=True), 1e-12)


def held_out_objective(dictionary: np.ndarray, test: np.ndarray, lam: float, device: str) -> float:
    atoms = unit_rows(dictionary)
    codes = sparse_encode(test, atoms, lam=lam, n_iter=200, tol=1e-5, device=device)
    residual = test - codes @ atoms
    return float(np.mean(0.5 * np.sum(residual ** 2, axis=1) + lam * np.sum(np.abs(codes), axis=1)))


def median_r2(dictionary: np.ndarray) -> float:
    return float(np.median(fit_gabors(unit_rows(dictionary).reshape(-1, PATCH, PATCH), dog=False)["r2"]))


# ---------------------------------------------------------------- the three learners, as checkpoint streams
# Each yields (units of work done, dictionary (K, d)) every ``every`` units; the caller times the work.


#: effcode's parameters in this benchmark (none: SparseCoding's defaults), and those of its variants
EFFCODE_PARAMS = {}
VARIANT_PARAMS = {"effcode-bcd": {"dictionary_update": "bcd"}, "effcode-fista": {"inference": "fista"}}


def effcode_stream(train, k, lam, seed, device, every, max_units, params=EFFCODE_PARAMS):
    model = SparseCoding(k, lam=lam, random_state=seed, device=device, **params)
    rng = np.random.default_rng(seed)
    order = np.empty(0, dtype=np.int64)
    for step in range(1, max_units + 1):
        if order.size < model.batch_size:
            order = np.concatenate([order, rng.permutation(len(train))])
        index, order = order[:model.batch_size], order[model.batch_size:]
        model.partial_fit(train[index])
        if step % every == 0:
            yield step, model.components_


def sklearn_stream(train, k, lam, seed, device, every, max_units):
    from sklearn.decomposition import MiniBatchDictionaryLearning

    model = MiniBatchDictionaryLearning(k, alpha=lam, fit_algorithm="cd", batch_size=256, random_state=seed)
    rng = np.random.default_rng(seed)
    n_batches = len(train) // 256
    for epoch in range(max_units):
        order = rng.permutation(len(train))
        for b in range(n_batches):
            model.partial_fit(train[order[b * 256:(b + 1) * 256]])
            done = epoch + (b + 1) / n_batches
            if (b + 1) % max(1, round(every * n_batches)) == 0 or b + 1 == n_batches:
                yield round(done, 3), model.components_


def spams_stream(train, k, lam, seed, device, every, max_units, batch_size=SPAMS_BATCH):
    """SPAMS ``trainDL`` (Mairal et al. 2010) in penalised mode (mode=2: 0.5||x - Da||^2 + lam||a||_1), one
    thread, resumed every ``every`` batches from its returned model (the sufficient statistics A, B and the
    iteration count), fed the same seeded epoch order as effcode; initial atoms = random training patches."""
    import spams
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(seed)
    signals = np.asfortranarray(train.T, dtype=np.float64)              # SPAMS takes columns as signals
    atoms = signals[:, rng.choice(signals.shape[1], k, replace=False)]
    atoms = np.asfortranarray(atoms / np.linalg.norm(atoms, axis=0, keepdims=True))
    order, model = np.empty(0, dtype=np.int64), None
    for done in range(every, max_units + 1, every):
        while order.size < every * batch_size:
            order = np.concatenate([order, rng.permutation(signals.shape[1])])
        chunk, order = order[:every * batch_size], order[every * batch_size:]
        with threadpool_limits(1):
            atoms, model = spams.trainDL(np.asfortranarray(signals[:, chunk]), D=atoms, model=model,
                                         return_model=True, numThreads=1, batchsize=batch_size, K=k,
                                         lambda1=lam, mode=2, iter=every, verbose=False)
        yield done, atoms.T


def sporco_stream(train, k, lam, seed, device, every, max_units):
    from sporco.dictlrn import bpdndl

    rng = np.random.default_rng(seed)
    d0 = rng.standard_normal((train.shape[1], k))
    d0 /= np.linalg.norm(d0, axis=0, keepdims=True)
    signals = train.T.astype(np.float64)
    opt = bpdndl.BPDNDictLearn.Options({"Verbose": False, "MaxMainIter": every,
                                        "BPDN": {"rho": 10.0 * lam + 0.1},
                                        "CMOD": {"rho": signals.shape[1] / 1e3}})
    solver = bpdndl.BPDNDictLearn(d0, signals, lam, opt)
    for done in range(every, max_units + 1, every):
        solver.solve()
        yield done, solver.getdict().T


def warm_up(train, lam, device) -> None:
    """Load (or compile, on first use) effcode's numba kernels before any clock starts: a one-time cost per
    process, like importing a compiled library."""
    for params in (EFFCODE_PARAMS, *VARIANT_PARAMS.values()):
        SparseCoding(16, lam=lam, device=device, batch_size=64, n_steps=2, **params).fit(train[:256])


def effcode_variant_stream(name):
    def stream(train, k, lam, seed, device, every, max_units):
        return effcode_stream(train, k, lam, seed, device, every, max_units, params=VARIANT_PARAMS[name])
    return stream


STREAMS = {"effcode": effcode_stream, **{name: effcode_variant_stream(name) for name in VARIANT_PARAMS},
           "spams": spams_stream, "scikit-learn": sklearn_stream, "sporco": sporco_stream}
UNITS = {"effcode": "updates", "effcode-bcd": "updates", "effcode-fista": "updates", "spams": "batches",
         "scikit-learn": "epochs", "sporco": "iterations"}


def run(name, train, test, *, k, lam, seed, device, every, max_units, max_seconds, progress):
    """Checkpoints [(method, seed, units, train_seconds, objective, r2)] of one run."""
    rows, elapsed = [], 0.0
    stream = STREAMS[name](train, k, lam, seed, device, every, max_units)
    while True:
        start = time.perf_counter()
        try:
            units, dictionary = next(stream)
        except StopIteration:
            break
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        elapsed += time.perf_counter() - start
        objective, r2 = held_out_objective(dictionary, test, lam, device), median_r2(dictionary)
        rows.append(dict(method=name, seed=seed, units=units, unit=UNITS[name], train_s=elapsed,
                         heldout_objective=objective, median_r2=r2))
        if progress:
            print(f"  {name} seed {seed}: {units} {UNITS[name]}, {elapsed:.1f} s, objective {objective:.3f}, "
                  f"R2 {r2:.3f}", flush=True)
        if elapsed > max_seconds or (r2 >= R2_TARGET and len(rows) > LEVEL_CHECKPOINTS and
                                     rows[-1 - LEVEL_CHECKPOINTS]["heldout_objective"] - objective
                                     < LEVEL_TOLERANCE * objective):
            break  # out of time, or quality reached and the objective has levelled off
    return rows


BATCH_SIZES = {"effcode": SparseCoding().batch_size, "effcode-bcd": SparseCoding().batch_size,
               "effcode-fista": SparseCoding().batch_size, "spams": SPAMS_BATCH, "scikit-learn": 256, "sporco": "all"}


def times_to_quality(checkpoints, tolerance):
    """{(method, seed): (training seconds, units) at the first checkpoint meeting both targets, or NaNs}."""
    target = (1 + tolerance) * min(row["heldout_objective"] for row in checkpoints)
    reached = {}
    for row in checkpoints:
        key = (row["method"], row["seed"])
        if key not in reached:
            reached[key] = (float("nan"), float("nan"))
        if np.isnan(reached[key][0]) and row["median_r2"] >= R2_TARGET and row["heldout_objective"] <= target:
            reached[key] = (row["train_s"], row["units"])
    return target, reached


def summarise(checkpoints, tolerance):
    """Per method: median over seeds of the time to reach both targets (NaN if any seed never did), and
    the per-seed ratio of each method's time to effcode's (median [min, max]; runs interleaved per seed)."""
    target, reached = times_to_quality(checkpoints, tolerance)
    table = {key: [] for key in ("method", "batch_size", "reps", "objective_target", "median_time_to_quality_s",
                                 "median_units_to_quality", "unit", "time_over_effcode", "ratio_min",
                                 "ratio_max", "median_r2_at_stop", "median_objective_at_stop",
                                 "reps_reaching_quality")}
    for method in dict.fromkeys(row["method"] for row in checkpoints):
        seeds = list(dict.fromkeys(row["seed"] for row in checkpoints if row["method"] == method))
        times = [reached[(method, seed)][0] for seed in seeds]
        units = [reached[(method, seed)][1] for seed in seeds]
        ratios = [reached[(method, seed)][0] / reached[("effcode", seed)][0] for seed in seeds
                  if ("effcode", seed) in reached]
        last = [[r for r in checkpoints if r["method"] == method and r["seed"] == seed][-1] for seed in seeds]
        all_reached = bool(np.all(np.isfinite(times)))
        table["method"].append(method)
        table["batch_size"].append(BATCH_SIZES[method])
        table["reps"].append(len(seeds))
        table["objective_target"].append(target)
        table["median_time_to_quality_s"].append(statistics.median(times) if all_reached else float("nan"))
        table["median_units_to_quality"].append(statistics.median(units) if all_reached else float("nan"))
        table["unit"].append(UNITS[method])
        finite = all_reached and ratios and np.all(np.isfinite(ratios))
        table["time_over_effcode"].append(statistics.median(ratios) if finite else float("nan"))
        table["ratio_min"].append(min(ratios) if finite else float("nan"))
        table["ratio_max"].append(max(ratios) if finite else float("nan"))
        table["median_r2_at_stop"].append(statistics.median(r["median_r2"] for r in last))
        table["median_objective_at_stop"].append(statistics.median(r["heldout_objective"] for r in last))
        table["reps_reaching_quality"].append(int(np.isfinite(times).sum()))
    return table


def headline_sentence(table) -> str:
    """The ratios of the table in one sentence (for the README)."""
    ratios = {method: (ratio, low, high) for method, ratio, low, high in
              zip(table["method"], table["time_over_effcode"], table["ratio_min"], table["ratio_max"])}
    names = {"spams": "SPAMS trainDL", "effcode-fista": "effcode with dense FISTA inference",
             "effcode-bcd": "effcode with the block-coordinate dictionary update",
             "scikit-learn": "scikit-learn", "sporco": "SPORCO"}
    parts = [f"{ratio:.2f}x sooner than {names[method]} (per repetition {low:.2f}-{high:.2f}x)"
             for method, (ratio, low, high) in ratios.items() if method != "effcode"]
    return f"effcode reaches quality {'; '.join(parts)}." if "effcode" in ratios and parts else ""


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes and budgets (runs in under a minute)")
    parser.add_argument("--device", default="cpu", help="torch device for effcode and the held-out FISTA")
    parser.add_argument("--reps", type=int, default=None, help="repetitions per method (default 3, quick 1)")
    parser.add_argument("--methods", default="effcode,effcode-bcd,effcode-fista,spams",
                        help="comma-separated, from effcode, effcode-bcd, effcode-fista, spams, scikit-learn, sporco "
                             "(default effcode,effcode-bcd,effcode-fista,spams; the others take minutes per run)")
    parser.add_argument("--max-seconds", type=float, default=None,
                        help="training-time budget per run (default 600, quick 10)")
    parser.add_argument("--objective-tolerance", type=float, default=0.02)
    parser.add_argument("--n-train", type=int, default=None,
                        help="training patches (default 50,000, quick 4,000); SPORCO's cost per iteration grows "
                             "with it, the others' cost per patch does not")
    parser.add_argument("--cold", action="store_true",
                        help="no warm-up: the first effcode run's clock includes loading (or compiling) the kernels")
    parser.add_argument("--out", type=Path, default=FOLDER)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    lam = 2.0
    if args.quick:
        k, n_train, n_test, reps, budget = 64, 4000, 500, 1, 10.0
        plan = {"effcode": (10, 150), "effcode-bcd": (10, 150), "effcode-fista": (10, 150), "spams": (5, 150),
                "scikit-learn": (0.5, 2), "sporco": (5, 10)}
    else:
        k, n_train, n_test, reps, budget = 256, 50_000, 4096, 3, 600.0
        plan = {"effcode": (5, 1000), "effcode-bcd": (5, 1000), "effcode-fista": (5, 1000), "spams": (5, 1000),
                "scikit-learn": (0.25, 50), "sporco": (5, 200)}
    reps = args.reps or reps
    n_train = args.n_train or n_train
    budget = args.max_seconds or budget
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    for name, module, install in (("spams", "spams", "pip install spams-bin"),
                                  ("sporco", "sporco", "pip install sporco")):
        if name in methods:
            try:
                __import__(module)
            except ImportError:
                print(f"{name} is not installed ({install}, or pip install -e '.[bench]'): skipping it")
                methods.remove(name)

    train, test = patch_sets(n_train, n_test)
    if not args.cold:
        warm_up(train, lam, args.device)
    print(f"{n_train} training / {n_test} held-out whitened {PATCH}x{PATCH} patches, K={k}, lam={lam}, "
          f"{torch.get_num_threads()} torch threads, device {args.device}")
    checkpoints = []
    for seed in range(reps):          # interleaved: every method runs once per seed before the next seed
        for name in methods:
            every, max_units = plan[name]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                checkpoints += run(name, train, test, k=k, lam=lam, seed=seed, device=args.device, every=every,
                                   max_units=max_units, max_seconds=budget, progress=True)

    output = COLD_OUTPUT if args.cold else OUTPUT if set(methods) <= FAST_METHODS else BASELINES_OUTPUT
    write_csv(args.out / f"{output}_checkpoints.csv",
              {key: [row[key] for row in checkpoints] for key in checkpoints[0]})
    table = summarise(checkpoints, args.objective_tolerance)
    notes = (f"Targets: median Gabor R^2 >= {R2_TARGET} and held-out objective within "
             f"{100 * args.objective_tolerance:g}% of the best value any method reached. Time = training time "
             f"only (scoring excluded); NaN = not reached within the budget ({budget:g} s) by every repetition. "
             "time_over_effcode = the method's time to quality over effcode's in the same repetition (seed), "
             "median over repetitions, with its min and max; the methods run interleaved, one after another "
             "within each repetition, one thread each. "
             "'at stop' = the last checkpoint of a run (budget reached, or R^2 >= 0.9 and the objective "
             "levelled off: < 0.1% lower over 5 checkpoints). SPAMS trainDL: penalised mode (mode=2), "
             f"batch size {SPAMS_BATCH} (the fastest to quality of 64-1024 here), initial atoms = random training "
             "patches. effcode = SparseCoding's defaults (inference='auto': compiled coordinate-descent "
             "inference, statistics from the codes' supports; gradient dictionary update; "
             + ("nothing warmed up: the first effcode run's time includes loading or compiling the kernels"
                if args.cold else "kernels loaded before timing")
             + f"); effcode-bcd and effcode-fista = those with {VARIANT_PARAMS['effcode-bcd']} and "
             f"{VARIANT_PARAMS['effcode-fista']}. "
             f"{n_train} training patches, K={k}, lam={lam}, {torch.get_num_threads()} torch threads, "
             f"device {args.device}.")
    headline = headline_sentence(table)
    title = {OUTPUT: "Dictionary learning: time to quality",
             COLD_OUTPUT: "Dictionary learning: time to quality in a fresh process, nothing warmed up",
             BASELINES_OUTPUT: "Dictionary learning: time to quality against scikit-learn and SPORCO"}[output]
    text = publish(output, table, title=title, headline=headline,
                   notes=notes, device=args.device, folder=args.out)
    print(text)
    for method, ratio, low, high in zip(table["method"], table["time_over_effcode"], table["ratio_min"],
                                        table["ratio_max"]):
        if method != "effcode":
            print(f"{method} / effcode time to quality: {ratio:.2f}x (per repetition {low:.2f}-{high:.2f}x)")


if __name__ == "__main__":
    main()
