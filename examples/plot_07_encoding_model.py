"""
Fit an encoding model to simulated cells
========================================

:func:`effcode.encoding.fit_encoding_model` fits one model of a whole recorded population:
stimuli (n, H, W) in, responses (n, cells) out. Here the cells are simulated, so the answer is
known: two simple cells (linear Gabor filter, exponential nonlinearity, Poisson spikes) and one
energy-model complex cell. A Poisson GLM, one linear filter per cell, should recover the simple
cells' filters and fail on the complex cell, whose response does not depend on the sign of the
stimulus.
"""

import matplotlib.pyplot as plt
import numpy as np

import effcode
from effcode.encoding import fit_encoding_model, make_complex_cell, make_simple_cell, natural_patches

# %%
# Simulated cells and their spikes
# --------------------------------
# 12x12 contrast-normalised patches of whitened natural images are the stimuli; each cell's
# Poisson spike counts are drawn from its rate. Quick sizes: 1,600 stimuli, 1,200 to fit.

x = natural_patches(effcode.load_images("default"), 12, 1600, random_state=0)
cells = [make_simple_cell(x, theta=0.5, freq=0.2, sigma=2.0, drive_std=0.6),
         make_simple_cell(x, theta=2.0, freq=0.15, sigma=2.5, phase=np.pi / 2, drive_std=0.6),
         make_complex_cell(x, theta=1.5, freq=0.2, sigma=2.0)]
rates = np.stack([cell.rate(x) for cell in cells], axis=1)
counts = np.random.default_rng(0).poisson(rates)
stimuli = x.reshape(-1, 12, 12)
fit, held_out = slice(0, 1200), slice(1200, None)

# %%
# Fit and score
# -------------
# ``score`` is one number, the mean held-out correlation over cells (what ``cross_val_score``
# and ``GridSearchCV`` use); ``score_table`` has every cell's correlation and bits per spike.

glm = fit_encoding_model(stimuli[fit], counts[fit], model="glm", random_state=0)
print("noise model:", glm.noise_)
print(f"mean held-out correlation: {glm.score(stimuli[held_out], counts[held_out]):.2f}")
table = glm.score_table(stimuli[held_out], counts[held_out])
for name, r, bits in zip(["simple 1", "simple 2", "complex"], table.correlation, table.bits_per_spike):
    print(f"{name:9} correlation {r:.2f}   {bits:.2f} bits/spike")

# %%
# True and recovered filters
# --------------------------
# Top row: each simple cell's filter and the complex cell's even filter; bottom row: the GLM's
# filter of each cell. The simple cells' filters are recovered; the complex cell's is not.

truth = [cells[0].filter, cells[1].filter, cells[2].even]
fig, axes = plt.subplots(2, 3, figsize=(6.4, 4.4), layout="constrained")
for column, (true, fitted) in enumerate(zip(truth, glm.filters_)):
    for row, image in enumerate((true, fitted)):
        limit = np.abs(image).max()
        axes[row, column].imshow(image, cmap="RdBu_r", vmin=-limit, vmax=limit)
        axes[row, column].set_xticks([])
        axes[row, column].set_yticks([])
axes[0, 0].set_ylabel("true")
axes[1, 0].set_ylabel("GLM")
for column, name in enumerate(["simple 1", "simple 2", "complex"]):
    axes[0, column].set_title(name)
