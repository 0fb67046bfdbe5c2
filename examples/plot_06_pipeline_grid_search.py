"""
Choose the sparsity weight with a Pipeline and GridSearchCV
===========================================================

Every effcode learner is a scikit-learn estimator, so whitening and learning chain into one
:class:`~sklearn.pipeline.Pipeline`, and :class:`~sklearn.model_selection.GridSearchCV` tunes
them by cross-validation. Its ``score`` is the description length saved on held-out patches at a
sparsity budget shared by all candidates: each held-out patch keeps only its k largest codes,
refitted by least squares, and the score is the bits per pixel that "k of K atoms plus Gaussian
noise" saves over sending the patches as noise (half the log2 of the energy over the unexplained
energy, less the cost of naming the k atoms; 0 is no better than no model). A sparsity weight
``lam`` that is too small spreads each patch over many codes, so k of them explain little; one
that is too large leaves atoms unused. See ``docs/scikit_learn.md`` for the formula.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

import effcode
from effcode.data import PatchWhitener, sample_patches
from effcode.learners import SparseCoding

# %%
# Patches and the pipeline
# ------------------------
# 8x8 patches of the default images, per-patch mean removed; ZCA whitening keeps them in pixel
# space, so the learned atoms can be shown as images. Quick sizes: 4,000 patches and 48 atoms
# (experiment 01 learns 256 atoms from 16x16 patches).

images = effcode.load_images("default")
patches = sample_patches(images, 8, 4000, random_state=0)
patches -= patches.mean(axis=1, keepdims=True)

pipe = Pipeline([("whiten", PatchWhitener(kind="zca", eps=0.1)),
                 ("code", SparseCoding(n_components=48, n_steps=60, batch_size=256, random_state=0))])

# %%
# Search over lam
# ---------------
# No ``scoring=`` is needed: the pipeline's score is the learner's score on whitened held-out
# patches, with the default budget of k = 7 codes per patch (a tenth of 64, rounded up).

lams = [0.03, 0.1, 0.3, 1.0, 3.0]
search = GridSearchCV(pipe, {"code__lam": lams}, cv=3).fit(patches)
scores = search.cv_results_["mean_test_score"]
spread = search.cv_results_["std_test_score"]
for lam, score in zip(lams, scores):
    print(f"lam = {lam:<5} held-out score {score:.3f} bits per pixel")
print("chosen:", search.best_params_)

fig, ax = plt.subplots(figsize=(5, 3.6), layout="constrained")
ax.errorbar(lams, scores, yerr=spread, marker="o", capsize=3)
ax.set_xscale("log")
ax.set_xlabel("lam (sparsity weight)")
ax.set_ylabel("held-out score, bits per pixel\n(k = 7 codes per patch)")
ax.set_title("GridSearchCV over lam")

# %%
# The chosen dictionary
# ---------------------
# ``best_estimator_`` is the pipeline refitted on all patches with the chosen ``lam``; its
# feature names pass through both steps.

best = search.best_estimator_
print(best.get_feature_names_out()[:4])
atoms = best.named_steps["code"].basis_.reshape(-1, 8, 8)
fig, ax = plt.subplots(figsize=(5, 4.2), layout="constrained")
effcode.plots.filter_mosaic(atoms, order="index", ax=ax, colorbar=False,
                            title=f"atoms at lam = {search.best_params_['code__lam']}")
