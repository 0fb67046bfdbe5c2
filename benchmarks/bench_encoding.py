"""Benchmark: effcode's population GLM against glum (or scikit-learn's PoissonRegressor), and effcode's CNN
against the same architecture from neuralpredictors, on the same simulated data in one process.

Data: LN simple cells (Gabor filters, exp output) with Poisson spikes to contrast-normalised whitened
natural 16 x 16 patches (the default images), 5,000 training stimuli (one trial) and 1,000 held-out
stimuli with 10 repeats (known ground truth, as in experiment 08).

GLM.  The same model and regulariser: per cell ``rate = exp(w.x + b)`` minimising the mean Poisson
negative log-likelihood plus ``l2 |w|^2 + s |D w|^2`` (``D``: differences of adjacent pixels).  glum's
objective is ``deviance / (2 n) + alpha/2 w' P2 w``, so ``alpha = 1`` and ``P2 = 2 (l2 I + s D'D)`` give
the same minimiser; scikit-learn's ``PoissonRegressor`` (the fallback without glum) has a ridge penalty
only, so it gets ``alpha = 2 (l2 + s)``: not the same regulariser, and the output says so.  ``s`` is
chosen per cell from the same grid on the same validation split (effcode's own: 20% of the training
stimuli, seeded), by the validation loss, then refitted on all the training data, for both.  Scores:
held-out log-likelihood gain (bits/spike) and correlation with the trial-averaged response, per cell;
reported as the median over cells of the paired difference (peer - effcode) with a 95% bootstrap
interval, and fit time as a ratio (peer / effcode) over repetitions.

CNN.  neuralpredictors (Sinz lab) provides Klindt-style cores and readouts.  Its latest release on PyPI
(0.3.0) installs beside torch 2.13 with ``pip install neuralpredictors --no-deps`` (pip does not touch
torch) but does not import on Python 3.10 or later: ``neuralpredictors/layers/cores/conv2d.py`` does
``from collections import Iterable`` (moved to ``collections.abc`` in Python 3.3, removed in 3.10).  So
the CNN comparison is not run; the script reports the import error it meets.

Measured (one thread, on a 2-core machine shared with other jobs, so times are noisy; 1 repetition):
glum's GLM matches effcode's (paired differences +0.0000 bits/spike [-0.0000, +0.0000] and +0.0000
correlation [-0.0000, +0.0002] over 24 cells) and takes 5.3 times as long to fit.

Writes ``results/benchmarks/encoding.csv`` and ``encoding.json`` and rebuilds that folder's README
(``--out`` elsewhere).  ``--quick`` (4 cells, 1,000 training and 200 held-out stimuli with 5 repeats, one
repetition) is a smoke test of seconds; its numbers are not the benchmark's.

Run with ``OMP_NUM_THREADS=1`` (torch and BLAS are also limited to one thread here):
``python benchmarks/bench_encoding.py [--repeats 3] [--quick]``.  Needs the ``bench`` extra (``glum``).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from effcode.data import load_images
from effcode.encoding import (bits_per_spike_per_cell, correlation_per_cell, fit_encoding_model, make_simple_cell,
                              natural_patches)
from effcode.v1 import bootstrap_median

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import FOLDER, publish  # noqa: E402

P = 16
GRID = (1.0, 0.3, 0.1, 0.03, 0.01, 0.003)
L2 = 1e-4


def simulated(n_cells: int = 24, n_train: int = 5000, n_test: int = 1000, repeats: int = 10, seed: int = 0):
    x = natural_patches(load_images("default"), P, n_train + n_test, random_state=seed)
    x_train, x_test = x[:n_train], x[n_train:]
    rng = np.random.default_rng(seed)
    cells = [make_simple_cell(x_train, theta=rng.uniform(0, np.pi), freq=0.2, sigma=2.5, phase=rng.uniform(0, 2 * np.pi),
                              x0=7.5 + rng.uniform(-2, 2), y0=7.5 + rng.uniform(-2, 2), drive_std=0.6)
             for _ in range(n_cells)]
    rate = lambda xs: np.stack([c.rate(xs) for c in cells], axis=1)  # noqa: E731
    return {"train": x_train.reshape(-1, P, P), "test": x_test.reshape(-1, P, P),
            "y_train": rng.poisson(rate(x_train)).astype(float),
            "trials": rng.poisson(rate(x_test), size=(repeats, n_test, n_cells)).astype(float)}


def difference_matrix() -> np.ndarray:
    """``D`` (rows: pairs of horizontally and vertically adjacent pixels of a P x P image)."""
    rows = []
    for axis in (0, 1):
        for i in range(P - (axis == 0)):
            for j in range(P - (axis == 1)):
                row = np.zeros((P, P))
                row[i, j] = -1.0
                row[i + (axis == 0), j + (axis == 1)] = 1.0
                rows.append(row.ravel())
    return np.asarray(rows)


def peer_glm(data: dict, seed: int = 0):
    """Per cell: the smoothness chosen on effcode's validation split, then a refit on all training data; returns
    a predict function, the peer's name and its fit time."""
    DtD = difference_matrix().T @ difference_matrix()
    try:
        from glum import GeneralizedLinearRegressor

        def make(s):
            return GeneralizedLinearRegressor(family="poisson", alpha=1.0, l1_ratio=0.0, P2=2 * (L2 * np.eye(P * P) + s * DtD),
                                              fit_intercept=True, max_iter=200)
        name = "glum"
    except ImportError:
        from sklearn.linear_model import PoissonRegressor

        def make(s):
            return PoissonRegressor(alpha=2 * (L2 + s), max_iter=300)
        name = "scikit-learn PoissonRegressor (ridge only: no smoothness penalty)"
    train, y = data["train"], data["y_train"]
    start = time.perf_counter()
    n = len(train)
    order = np.random.RandomState(seed).permutation(n)
    n_val = int(round(0.2 * n))
    val, fit = np.sort(order[:n_val]), np.sort(order[n_val:])
    mean, std = train[fit].mean(), train[fit].std()
    X = ((train - mean) / std).reshape(n, -1)
    models = []
    for c in range(y.shape[1]):
        losses = []
        for s in GRID:
            model = make(s).fit(X[fit], y[fit, c])
            rate = model.predict(X[val])
            losses.append(np.mean(rate - y[val, c] * np.log(rate)))
        models.append(make(GRID[int(np.argmin(losses))]).fit(X, y[:, c]))
    elapsed = time.perf_counter() - start

    def predict(images):
        Z = ((images - mean) / std).reshape(len(images), -1)
        return np.stack([m.predict(Z) for m in models], axis=1)
    return predict, name, elapsed


def scores(pred, data):
    return {"bits_per_spike": bits_per_spike_per_cell(pred, data["trials"], data["y_train"].mean(axis=0)),
            "correlation": correlation_per_cell(pred, data["trials"])}


#: (cells, training stimuli, held-out stimuli, trials per held-out stimulus) of a full run and of ``--quick``
SIZES = {"full": (24, 5000, 1000, 10), "quick": (4, 1000, 200, 5)}


def cnn_peer_status() -> str:
    """Whether neuralpredictors, the CNN peer, imports here (its import error is the result to report)."""
    try:
        import neuralpredictors.layers.cores  # noqa: F401
        return "neuralpredictors imports; the side-by-side CNN comparison is not implemented in this version"
    except Exception as exc:   # an import failure of the optional peer is the result to report
        return f"neuralpredictors not compared: {type(exc).__name__}: {exc}"


def summary(ours: dict, theirs: dict, own_times: list, peer_times: list) -> dict:
    """The published table: per score, the medians over cells and the paired difference (peer - effcode) with
    its 95% bootstrap interval; for the fit time, the medians over repetitions and the per-repetition ratio."""
    table = {key: [] for key in ("measurement", "effcode", "peer", "peer_minus_effcode", "ci_low", "ci_high",
                                 "peer_over_effcode", "ratio_min", "ratio_max")}
    for metric in ("bits_per_spike", "correlation"):
        median, low, high = bootstrap_median(theirs[metric] - ours[metric], 1000, 0)
        row = {"measurement": f"{metric} (median over cells)", "effcode": float(np.median(ours[metric])),
               "peer": float(np.median(theirs[metric])), "peer_minus_effcode": median, "ci_low": low,
               "ci_high": high, "peer_over_effcode": "", "ratio_min": "", "ratio_max": ""}
        for key in table:
            table[key].append(row[key])
    ratios = [peer / own for own, peer in zip(own_times, peer_times)]
    row = {"measurement": "fit seconds (median over repetitions)", "effcode": statistics.median(own_times),
           "peer": statistics.median(peer_times), "peer_minus_effcode": "", "ci_low": "", "ci_high": "",
           "peer_over_effcode": statistics.median(ratios), "ratio_min": min(ratios), "ratio_max": max(ratios)}
    for key in table:
        table[key].append(row[key])
    return table


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=None,
                        help="timed repetitions of both fits, interleaved (default 3, quick 1)")
    parser.add_argument("--quick", action="store_true", help="4 cells and 1,000 training stimuli (a smoke test)")
    parser.add_argument("--out", type=Path, default=FOLDER, help="folder for the CSV, JSON record and README")
    args = parser.parse_args(argv)
    repeats = args.repeats or (1 if args.quick else 3)
    n_cells, n_train, n_test, trials = SIZES["quick" if args.quick else "full"]
    torch.set_num_threads(1)
    data = simulated(n_cells=n_cells, n_train=n_train, n_test=n_test, repeats=trials)
    own_times, peer_times, ours, theirs = [], [], None, None
    with threadpool_limits(1):
        for _ in range(repeats):   # interleaved: load on the machine hits both alike
            start = time.perf_counter()
            glm = fit_encoding_model(data["train"], data["y_train"], model="glm", smoothness=GRID, random_state=0)
            own_times.append(time.perf_counter() - start)
            predict, name, peer_time = peer_glm(data)
            peer_times.append(peer_time)
            ours, theirs = scores(glm.predict(data["test"]), data), scores(predict(data["test"]), data)
    table = summary(ours, theirs, own_times, peer_times)
    cnn = cnn_peer_status()
    difference = dict(zip(table["measurement"], zip(table["peer_minus_effcode"], table["ci_low"], table["ci_high"])))
    bits, low, high = difference["bits_per_spike (median over cells)"]
    ratio = table["peer_over_effcode"][-1]
    peer = name.split(" (")[0]
    headline = (f"{peer} takes {ratio:.2f}x as long as effcode to fit the same Poisson GLM "
                f"(per repetition {table['ratio_min'][-1]:.2f}-{table['ratio_max'][-1]:.2f}x); held-out bits/spike "
                f"differ by {bits:+.4f} [95% CI {low:+.4f}, {high:+.4f}] (peer - effcode, median over cells).")
    notes = (f"GLM: effcode vs {name}. {n_cells} simulated LN simple cells (Gabor filter, exp output, Poisson "
             f"spikes) on contrast-normalised whitened {P}x{P} natural patches; {n_train} training stimuli "
             f"(one trial), {n_test} held-out stimuli with {trials} trials each. Same objective: mean Poisson "
             f"negative log-likelihood + {L2:g} |w|^2 + s |D w|^2 (D: differences of adjacent pixels), s chosen "
             f"per cell from {list(GRID)} on the same 20% validation split, then refitted on all training data. "
             "Scores per cell: held-out log-likelihood gain over the training mean rate (bits per spike) and "
             "correlation with the trial-averaged response; peer_minus_effcode = median over cells of the "
             "paired difference, with a 95% bootstrap interval. Fit time: peer_over_effcode = the peer's time "
             f"over effcode's in the same repetition, median over {repeats} interleaved repetition(s), one thread "
             f"each{' (--quick: a smoke test, not the benchmark)' if args.quick else ''}. CNN: {cnn}.")
    text = publish("encoding", table, title=f"Encoding models: effcode's Poisson GLM against {peer}",
                   headline=headline, notes=notes, folder=args.out)
    print(text)
    print(headline)
    print(f"CNN: {cnn}")


if __name__ == "__main__":
    main()
