"""
Learn filters from your own images and compare them with V1
===========================================================

Point effcode at a folder of photographs, learn a sparse code of their patches, and ask
how close its units' receptive fields come to macaque V1 simple cells: the Gabor shape of each unit
against Ringach's (2002) (nx, ny) measurements, and the tuning properties against
Ringach, Shapley & Hawken (2002), De Valois et al. (1982) and Schiller et al. (1976).

Any folder of PNG, JPEG or TIFF files works. So that the example runs anywhere, it first
writes a few of scikit-image's bundled photographs to a temporary folder.
"""

import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
from skimage import color, data, io, util

import effcode

# %%
# A folder of images
# ------------------
# Four grey-level photographs, saved as 8-bit PNG files. ``load_images`` reads every
# PNG, JPEG and TIFF file of the folder as luminance in [0, 1] and names each image by
# its folder and file name.

folder = Path(tempfile.mkdtemp()) / "my_photos"
folder.mkdir()
photos = {"camera": data.camera(), "astronaut": data.astronaut(), "coffee": data.coffee(), "grass": data.grass()}
for name, photo in photos.items():
    grey = color.rgb2gray(photo) if photo.ndim == 3 else util.img_as_float(photo)
    io.imsave(folder / f"{name}.png", util.img_as_ubyte(grey), check_contrast=False)

images = effcode.load_images(folder)
for image in images:
    print(f"{image.id:22s} {image.array.shape}  mean luminance {image.array.mean():.2f}")

# %%
# Learn a sparse code
# -------------------
# ``learn_filters`` whitens the images (Olshausen & Field's filter), streams random patches
# through the learner and returns a :class:`~effcode.learners.FilterBank`. These are quick
# sizes (64 atoms of 10x10 pixels, 50 dictionary updates); experiment 01 learns 256 atoms
# of 16x16 pixels from 300 updates of 512 patches.

bank = effcode.learn_filters("sparse_coding", images, patch_size=10, n_filters=64,
                             n_patches=50 * 256, batch_size=256, random_state=0)
print(bank.basis.shape, "basis functions; final fraction of active codes:",
      round(float(bank.history["sparsity"][-1]), 3))

# %%
# Measure the receptive fields and score them against V1
# -------------------------------------------------------
# V1 receptive fields were measured by reverse correlation, so effcode measures its units the
# same way (:func:`effcode.v1.measure_receptive_fields`: Hartley gratings through the whole
# front end and the sparse inference). :func:`effcode.v1.score_population` fits a Gabor to
# every measured receptive field, compares every unit whose fit explains at least 70% of the
# variance with V1, and counts the units at each stage in ``funnel``. Scoring the bank
# itself, ``score_population(bank)``, measures the same receptive fields first.

rfs = effcode.v1.measure_receptive_fields(bank, 10, random_state=0)
score = effcode.v1.score_population(rfs, name="sparse coding", n_bootstrap=200)
for stage, count in score.funnel.items():
    print(f"{stage:>24s}: {count}")
print(f"median nx {score.median_nx['value']:.2f}, median ny {score.median_ny['value']:.2f}")
print(f"nx-ny distance to Ringach's 79 cells {score.nxny_distance:.2f} (permutation p = {score.nxny_p_value:.3f})")
print(f"mean tuning similarity to V1 {score.mean_similarity:.2f} (1 = as similar as V1 cells are to each other)")

# %%
# Look at the units and where they fall among V1's
# ------------------------------------------------
# Every plot function of :mod:`effcode.plots` draws into an axes you pass and returns it.

units = score.units            # per-unit arrays: the Gabor fit's columns (prefixed fit_) and the stage masks
shown = units["r2_ok"]
fig, (left, right) = plt.subplots(1, 2, figsize=(12, 6.5), width_ratios=[1, 1], layout="constrained")
effcode.plots.filter_mosaic(rfs.scored_array(), r2=units["fit_r2"], max_filters=32, ax=left,
                            title="measured receptive fields (left) and their Gabor fits")
effcode.plots.nxny_scatter(units["fit_nx"][shown], units["fit_ny"][shown], label="sparse coding",
                           resolved=units["resolved"][shown], distance=score.nxny_distance,
                           p_value=score.nxny_p_value, ax=right)
