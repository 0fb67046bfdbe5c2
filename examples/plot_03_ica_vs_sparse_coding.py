"""
ICA against sparse coding
=========================

Both ICA (Bell & Sejnowski 1997; van Hateren & van der Schaaf 1998) and sparse coding
(Olshausen & Field 1996) learn localised, oriented, band-pass filters from natural images,
but from different objectives: ICA finds a *square* (or undercomplete) linear transform whose
outputs are as non-Gaussian as possible, sparse coding a dictionary whose codes are
inferred by minimising reconstruction error plus a sparsity penalty. Here both learn 64
units from the same images and patch size, and we compare how Gabor-like their basis
functions are and what shapes they take.
"""

import matplotlib.pyplot as plt
import numpy as np

import effcode

# %%
# Learn both on the same images
# -----------------------------
# Each learner brings its own preprocessing: ICA samples raw luminance patches, removes
# each patch's mean and PCA-whitens them; sparse coding whitens whole images with
# Olshausen & Field's filter first. Quick sizes (10x10 patches, 64 units); experiments 01
# and 02 use 16x16 patches.

images = effcode.load_images("default")
banks = {
    "ICA": effcode.learn_filters("ica", images, patch_size=10, n_filters=64, n_patches=10_000, random_state=0),
    "sparse coding": effcode.learn_filters("sparse_coding", images, patch_size=10, n_filters=64,
                                           n_patches=60 * 256, batch_size=256, random_state=0),
}

fig, axes = plt.subplots(1, 2, figsize=(10, 4.8), layout="constrained")
for ax, (name, bank) in zip(axes, banks.items()):
    effcode.plots.filter_mosaic(bank.basis, order="index", ax=ax, colorbar=False, title=f"{name}: basis functions")

# %%
# How Gabor-like are they?
# ------------------------
# :func:`effcode.gabor.fit_gabors` fits a Gabor to every basis function at once; ``r2`` is
# the fraction of each filter's variance the fit explains. The empirical distribution
# functions show the whole population: a curve further right is more Gabor-like.

tables = {name: effcode.gabor.fit_gabors(bank.basis) for name, bank in banks.items()}
fig, ax = plt.subplots(figsize=(6.4, 4.8), layout="constrained")
effcode.plots.r2_ecdf({name: table["r2"] for name, table in tables.items()},
                      title="Gabor fit R² of the basis functions", ax=ax)

# %%
# Shapes: subfields and elongation
# --------------------------------
# ``nx`` and ``ny`` are the envelope's widths across and along the bars in cycles of the
# carrier (Ringach 2002): nx counts subfields, ny measures elongation. V1 simple cells
# have median nx 0.37 and ny 0.45 (Ringach's histogram of 79 cells).

print(f"{'':14s}{'median R²':>10s}{'median nx':>11s}{'median ny':>11s}{'frequency (c/px)':>18s}")
for name, table in tables.items():
    good = table["r2"] >= 0.7
    print(f"{name:14s}{np.nanmedian(table['r2']):10.2f}{np.median(table['nx'][good]):11.2f}"
          f"{np.median(table['ny'][good]):11.2f}{np.median(table['freq'][good]):18.3f}")

fig, axes = plt.subplots(1, 2, figsize=(12, 6.5), sharex=True, sharey=True, layout="constrained")
for ax, (name, table) in zip(axes, tables.items()):
    good = table["r2"] >= 0.7
    effcode.plots.nxny_scatter(table["nx"][good], table["ny"][good], label=name, ax=ax,
                               colorbar=ax is axes[-1], title=name)
