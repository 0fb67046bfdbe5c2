"""Experiment 01: sparse coding on natural images (the Olshausen & Field 1996 figure)."""

from __future__ import annotations

import numpy as np

from ..plots import filter_mosaic, r2_histogram
from ..plots.figure import new_figure, save_figure
from .base import Experiment, Section, register
from .common import fmt, gabor_table, learned_bank, r2_summary, source_images


def learn(run, cfg: dict, images):
    """The sparse-coding bank of config ``cfg`` (also used by experiments 04, 05 and 11)."""
    return learned_bank(run, "sparse_coding", images, n_filters=cfg["n_filters"], patch_size=cfg["patch_size"],
                        params={"lam": cfg["lam"], "objective": cfg["objective"], "n_steps": cfg["n_steps"]})


def compute(run) -> None:
    images = source_images(run)
    bank = learn(run, run.config, images)
    table = gabor_table(run, bank.basis)
    bank.save(run.path("filter_bank.npz"))
    run.save_csv("gabor_fits.csv", table)
    history = bank.history
    run.save_json("metrics.json", {**r2_summary(table["r2"]), "final_loss": float(history["loss"][-1]),
                                   "final_sparsity": float(history["sparsity"][-1]),
                                   "final_reconstruction_error": float(history["reconstruction_error"][-1]),
                                   "n_steps": int(len(history["loss"]))})


def training_curves(history: dict, path) -> None:
    """Loss, reconstruction error and fraction of active units against the update step."""
    fig = new_figure(9, 2.8)
    axes = fig.subplots(1, 3)
    steps = np.arange(1, len(history["loss"]) + 1)
    for ax, key, label in zip(axes, ("loss", "reconstruction_error", "sparsity"),
                              ("energy per patch (unit-RMS units)", "relative reconstruction error",
                               "fraction of non-zero coefficients")):
        ax.plot(steps, history[key], lw=1)
        ax.set_xlabel("dictionary update")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[0].set_yscale("log")
    fig.suptitle("Sparse coding: training record")
    save_figure(fig, path)


def plot(run) -> Section:
    from ..gabor import render_gabors
    from ..learners import FilterBank

    bank = FilterBank.load(run.path("filter_bank.npz"))
    table = run.load_csv("gabor_fits.csv")
    metrics = run.load_json("metrics.json")
    basis_path, pairs_path, curves_path, hist_path = (run.figure_path(n) for n in (
        "basis", "basis_vs_gabor", "training", "r2_histogram"))
    filter_mosaic(bank.basis, order="index", title=f"Sparse-coding basis ({bank.n_filters} atoms)", path=basis_path)
    filter_mosaic(bank.basis, fitted=render_gabors(table, bank.patch_shape), r2=table["r2"], max_filters=64,
                  title="Atoms (left) and fitted Gabors (right), best R² first", path=pairs_path)
    training_curves(bank.history, curves_path)
    r2_histogram({"sparse coding": table["r2"]}, title="Gabor fit of the sparse-coding basis", path=hist_path)
    text = (f"{metrics['n_filters']} atoms of {bank.patch_shape[0]}x{bank.patch_shape[1]} pixels after "
            f"{metrics['n_steps']} dictionary updates: median Gabor R² {fmt(metrics['median_r2'])}, "
            f"{fmt(100 * metrics['frac_r2_0.8'], 0)}% of atoms with R² ≥ 0.8 "
            f"({fmt(100 * metrics['frac_r2_0.9'], 0)}% ≥ 0.9). Final relative reconstruction error "
            f"{fmt(metrics['final_reconstruction_error'], 3)}, fraction of non-zero coefficients "
            f"{fmt(metrics['final_sparsity'], 3)}.")
    return Section("Sparse coding on natural images", text, [
        (f"{basis_path}.png", "The learned basis functions (dictionary atoms), as in Olshausen & Field (1996)."),
        (f"{curves_path}.png", "Loss, reconstruction error and sparsity over training."),
        (f"{pairs_path}.png", "Each atom beside its fitted Gabor, ordered by R²."),
        (f"{hist_path}.png", "R² of the Gabor fits; dashed lines at 0.7, 0.8 and 0.9."),
    ])


register(Experiment(
    number="01", name="sparse_coding", title="Sparse coding on natural images (Olshausen & Field 1996)",
    description=("Sparse coding minimises ½‖x − Φa‖² + λ·S(a) over codes a and unit-norm atoms Φ, on "
                 "Olshausen–Field-whitened 16x16 patches of the default images. The learned atoms are fitted "
                 "with Gabors."),
    defaults={"n_filters": 256, "patch_size": 16, "lam": 2.0, "objective": "l1", "n_steps": 300},
    quick={"n_filters": 64, "n_steps": 150},
    compute=compute, plot=plot))
