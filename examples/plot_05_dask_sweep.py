"""
Run a parameter sweep on a dask cluster
=======================================

:func:`effcode.runs.run_sweep` evaluates a function at every point of a grid and saves each
result as its own file as soon as it is computed, keyed by the point and by the code that
computed it. Run it again and only missing points are computed; change the code and they
are computed anew. With ``backend="dask"`` the points run on a dask.distributed cluster
(``pip install "effcode[dask]"``); the results are the same as with the local joblib
backend, because every point carries its own seed.

Here the cluster is a ``LocalCluster`` inside this process. On a real cluster, start
``dask scheduler`` and ``dask worker`` processes and pass the scheduler's address, e.g.
``scheduler="tcp://10.0.0.5:8786"`` (or ``effcode sweep --backend dask --scheduler ...``
on the command line).
"""

import tempfile
import time

import matplotlib.pyplot as plt
import numpy as np
from distributed import LocalCluster

import effcode
from effcode.runs import expand_grid, run_sweep

# %%
# What one point computes
# -----------------------
# The function takes a point (a dict of parameters) and returns a dict of numbers. It
# must be defined at the top level of a module or script, so that dask can send it to the
# workers. This one learns a small sparse code at the point's sparsity weight ``lam`` and
# measures how sparse, how faithful and how Gabor-like it is.


def evaluate(point):
    bank = effcode.learn_filters("sparse_coding", "default", patch_size=8, n_filters=32, n_patches=40 * 256,
                                 batch_size=256, lam=point["lam"], random_state=point["seed"])
    table = effcode.gabor.fit_gabors(bank.basis)
    return {"active_fraction": float(bank.history["sparsity"][-1]),
            "unexplained_energy": float(bank.history["reconstruction_error"][-1]),
            "median_r2": float(np.nanmedian(table["r2"]))}


points = expand_grid({"lam": [0.25, 0.5, 1.0, 2.0, 4.0]}, fixed={"seed": 0})
print(points[:2], "...")

# %%
# Run it on the cluster
# ---------------------
# One in-process worker with one thread keeps this example light; ``n_workers`` and
# ``processes=True`` (or a real cluster) spread the points over cores and machines.

folder = tempfile.mkdtemp()
with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
    started = time.perf_counter()
    rows = run_sweep(evaluate, points, folder, backend="dask", scheduler=cluster.scheduler_address)
    print(f"first run: {len(rows)} points in {time.perf_counter() - started:.1f} s")

    records = []
    started = time.perf_counter()
    again = run_sweep(evaluate, points, folder, backend="dask", scheduler=cluster.scheduler_address,
                      records=records)
    print(f"second run: {time.perf_counter() - started:.2f} s, "
          f"{sum(record['from_cache'] for record in records)} of {len(records)} points read from the sweep folder")

assert again == rows
for row in rows:
    print(f"lam {row['lam']:4.2f}: {row['active_fraction']:6.1%} active, "
          f"{row['unexplained_energy']:6.1%} of the energy unexplained, median Gabor R² {row['median_r2']:.2f}")

# %%
# The trade-off the sweep measured
# --------------------------------
# A larger ``lam`` buys sparser codes at the price of a worse reconstruction; at these quick
# sizes the basis functions also become more Gabor-like as the code gets sparser.

lam = [row["lam"] for row in rows]
fig, axes = plt.subplots(1, 3, figsize=(11, 3.4), sharex=True, layout="constrained")
for ax, key, label in zip(axes, ("active_fraction", "unexplained_energy", "median_r2"),
                          ("fraction of codes active", "fraction of energy unexplained", "median Gabor R²")):
    ax.plot(lam, [row[key] for row in rows], "o-")
    ax.set(xscale="log", xlabel="sparsity weight lam", ylabel=label)
    ax.set_xticks(lam, [f"{value:g}" for value in lam], minor=False)
    ax.minorticks_off()
