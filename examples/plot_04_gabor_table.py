"""
Fit a Gabor table and read its parameters
=========================================

:func:`effcode.gabor.fit_gabors` fits the Gabor of Ringach (2002) to every filter of a bank
at once and returns a *table*: a dict of length-K numpy arrays, one per column (parameters,
derived shape measures and quality flags). This example fits filters whose true parameters
are known, reads the table, and checks how well the fit recovered them.
"""

import matplotlib.pyplot as plt
import numpy as np

import effcode

# %%
# Filters with a known answer
# ---------------------------
# :func:`~effcode.gabor.synthetic_gabors` draws Gabors over the range of shapes seen in V1
# and in learned filters and adds white noise (here at a signal-to-noise ratio of 10, a
# noisy but typical learned filter). It returns the noisy filters, the clean ones and
# the true parameters under the same column names the fit uses.

shape = (16, 16)
noisy, clean, truth = effcode.gabor.synthetic_gabors(24, shape, snr=10, random_state=0)
table = effcode.gabor.fit_gabors(noisy)
print("columns:", ", ".join(table))

# %%
# Reading the table
# -----------------
# Each column is an array with one entry per filter, in the order of the bank. Units:
# positions and envelope SDs in pixels, ``theta`` (the direction across the bars) and
# ``phase`` in radians, ``freq`` in cycles per pixel, ``nx`` and ``ny`` (envelope SDs in
# cycles of the carrier) dimensionless. ``docs/gabor.md`` defines every column.

print(f"{'unit':>4s} {'R²':>5s} {'θ (deg)':>8s} {'f (c/px)':>9s} {'nx':>5s} {'ny':>5s}  flags")
for k in range(8):
    flags = [name for name in ("failed", "lowpass", "off_patch", "globular") if table[name][k]]
    print(f"{k:4d} {table['r2'][k]:5.2f} {np.degrees(table['theta'][k]):8.1f} {table['freq'][k]:9.3f} "
          f"{table['nx'][k]:5.2f} {table['ny'][k]:5.2f}  {', '.join(flags) or '-'}")

# %%
# Selecting units is plain numpy: for example the well-fitted band-pass units that lie on
# the patch.

keep = (table["r2"] >= 0.7) & ~table["lowpass"] & ~table["off_patch"] & ~table["failed"]
print(f"{keep.sum()} of {keep.size} units kept; their median nx {np.median(table['nx'][keep]):.2f}, "
      f"median ny {np.median(table['ny'][keep]):.2f}")

# %%
# How close are the fitted parameters to the truth?
# -------------------------------------------------
# Orientation is only defined modulo 180 degrees, so its error is the angle between the two
# directions. :func:`~effcode.gabor.gabor_standard_errors` gives the standard error each
# parameter should have at this noise level (from the Fisher information); the errors of
# the fit should be of that size.

theta_error = np.degrees(np.angle(np.exp(2j * (table["theta"] - truth["theta"]))) / 2)
noise_sd = np.sqrt((clean ** 2).mean(axis=(1, 2)) / 10)
expected = effcode.gabor.gabor_standard_errors(table, shape, noise_sd)
print(f"orientation: median |error| {np.median(np.abs(theta_error)):.1f} deg, "
      f"median standard error {np.degrees(np.median(expected['theta'])):.1f} deg")
for name in ("freq", "nx", "ny"):
    error = table[name] - truth[name]
    print(f"{name:>4s}: median |error| {np.median(np.abs(error)):.3f}, "
          f"median standard error {np.median(expected[name]):.3f}")

fig, axes = plt.subplots(1, 3, figsize=(11, 3.6), layout="constrained")
for ax, name in zip(axes, ("freq", "nx", "ny")):
    ax.errorbar(truth[name], table[name], yerr=expected[name], fmt="o", ms=3, lw=0.8)
    top = 1.1 * max(truth[name].max(), table[name].max())
    ax.plot([0, top], [0, top], color="grey", lw=0.8)
    ax.set(xlabel=f"true {name}", ylabel=f"fitted {name}", xlim=(0, top), ylim=(0, top))

# %%
# The fitted Gabors themselves
# ----------------------------
# :func:`~effcode.gabor.render_gabors` evaluates the table's Gabors on the pixel grid;
# :func:`effcode.plots.filter_mosaic` shows each filter next to its fit, labelled with R².

fitted = effcode.gabor.render_gabors(table, shape)
fig, ax = plt.subplots(figsize=(8, 5), layout="constrained")
effcode.plots.filter_mosaic(noisy, fitted=fitted, r2=table["r2"], order="index", max_filters=12, ax=ax,
                            title="noisy filter | fitted Gabor")
