"""Experiment 03: a sparsity-penalised convolutional network trained on whole whitened images."""

from __future__ import annotations

import numpy as np
from matplotlib.patches import Rectangle

from ..learners import FilterBank
from ..plots import filter_mosaic, r2_histogram
from ..plots.figure import new_figure, save_figure
from .base import Experiment, Section, register
from .common import fmt, gabor_table, r2_summary, source_images

N_EXAMPLES = 3


def _fit(run, cfg: dict, images) -> dict:
    """Train the CNN (cached) and keep, beside its bank, reconstructions of a few whitened crops."""
    from ..data import whiten_images
    from ..learners import make_learner

    params = {"n_components": cfg["n_filters"], "lam": cfg["lam"], "random_state": run.seed, "device": run.device}
    if cfg["n_steps"] is not None:
        params["n_steps"] = cfg["n_steps"]
    key = {"images": [im.sha256 for im in images], "patch_size": cfg["patch_size"], **params}

    def compute():
        model = make_learner("sparse_cnn", **params)
        model.fit_images(images, patch_size=cfg["patch_size"], progress=run.progress)
        bank = model.filter_bank((cfg["patch_size"],) * 2, method="sparse_cnn", config=model.get_params())
        crop = cfg["example_size"]
        whitened = whiten_images(images[:N_EXAMPLES])
        crops = np.stack([w[:crop, :crop] for w in whitened]).astype(np.float32)
        codes = model.transform(crops)
        return {**bank.to_arrays(), "example_input": crops,
                "example_reconstruction": model.inverse_transform(codes),
                "example_active_fraction": np.array([(c != 0).mean() for c in codes])}

    return run.step("bank-sparse_cnn", key, compute)


def learn(run, cfg: dict, images) -> FilterBank:
    """The CNN's first-layer bank of config ``cfg`` (also used by experiments 04 and 05)."""
    return FilterBank.from_arrays(_fit(run, cfg, images))


def compute(run) -> None:
    images = source_images(run)
    arrays = _fit(run, run.config, images)
    bank = FilterBank.from_arrays(arrays)
    table = gabor_table(run, bank.basis)
    bank.save(run.path("filter_bank.npz"))
    run.save_npz("reconstructions.npz", input=arrays["example_input"],
                 reconstruction=arrays["example_reconstruction"], active_fraction=arrays["example_active_fraction"])
    run.save_csv("gabor_fits.csv", table)
    s = run.config["patch_size"]
    inner = (slice(None), slice(s - 1, 1 - s), slice(s - 1, 1 - s))
    x, r = arrays["example_input"][inner], arrays["example_reconstruction"][inner]
    run.save_json("metrics.json", {**r2_summary(table["r2"]),
                                   "example_relative_error": float(np.sum((x - r) ** 2) / np.sum(x ** 2)),
                                   "example_active_fraction": float(np.mean(arrays["example_active_fraction"])),
                                   "final_loss": float(bank.history["loss"][-1]),
                                   "n_steps": int(len(bank.history["loss"]))})


def reconstruction_figure(data: dict, kernel: int, path) -> None:
    fig = new_figure(7.5, 2.4 * len(data["input"]))
    axes = fig.subplots(len(data["input"]), 2, squeeze=False)
    for row, (x, r, active) in zip(axes, zip(data["input"], data["reconstruction"], data["active_fraction"])):
        lim = np.abs(x).max()
        row[0].imshow(x, cmap="gray", vmin=-lim, vmax=lim)
        row[1].imshow(r, cmap="gray", vmin=-lim, vmax=lim)
        row[0].set_title("whitened crop", fontsize=9)
        row[1].set_title(f"reconstruction ({100 * active:.1f}% of units active)", fontsize=9)
        for ax in row:
            ax.set_xticks([])
            ax.set_yticks([])
            ax.add_patch(Rectangle(
                (kernel - 1.5, kernel - 1.5), x.shape[1] - 2 * kernel + 2, x.shape[0] - 2 * kernel + 2,
                fill=False, ec="tab:red", lw=0.8))
    fig.suptitle("Sparse CNN reconstructions (red: interior where the reconstruction is complete)")
    save_figure(fig, path)


def plot(run) -> Section:
    from ..gabor import render_gabors

    bank = FilterBank.load(run.path("filter_bank.npz"))
    table, metrics = run.load_csv("gabor_fits.csv"), run.load_json("metrics.json")
    paths = {n: run.figure_path(n) for n in ("filters", "reconstructions", "r2_histogram")}
    filter_mosaic(bank.filters, fitted=render_gabors(table, bank.patch_shape), r2=table["r2"],
                  title="First-layer filters (left) and fitted Gabors (right)", path=paths["filters"])
    reconstruction_figure(run.load_npz("reconstructions.npz"), bank.patch_shape[0], paths["reconstructions"])
    r2_histogram({"sparse CNN layer 1": table["r2"]}, title="Gabor fit of the CNN's first layer",
                 path=paths["r2_histogram"])
    text = (f"{metrics['n_filters']} convolutional filters of {bank.patch_shape[0]}x{bank.patch_shape[1]} after "
            f"{metrics['n_steps']} training steps: median Gabor R² {fmt(metrics['median_r2'])}, "
            f"{fmt(100 * metrics['frac_r2_0.8'], 0)}% with R² ≥ 0.8. On the example crops the interior "
            f"reconstruction error is {fmt(100 * metrics['example_relative_error'], 1)}% of the signal energy with "
            f"{fmt(100 * metrics['example_active_fraction'], 1)}% of units active.")
    return Section("Sparsity-penalised CNN", text, [
        (f"{paths['filters']}.png", "The CNN's first-layer filters beside their fitted Gabors, best R² first."),
        (f"{paths['reconstructions']}.png", "Whitened crops and their reconstructions from sparse activation maps."),
        (f"{paths['r2_histogram']}.png", "R² of Gabor fits to the first-layer filters."),
    ])


register(Experiment(
    number="03", name="sparse_cnn", title="Sparsity-penalised CNN: first-layer filters and reconstructions",
    description=("A convolutional sparse autoencoder trained on large crops of whole whitened images: activations "
                 "a = unrolled proximal steps of the encoder convolution, reconstruction x̂ = Σ_k d_k ∗ a_k by the "
                 "transposed convolution, loss = ½‖x − x̂‖² + λ·S(a) per interior pixel, S from the objectives "
                 "registry."),
    defaults={"n_filters": 32, "patch_size": 16, "lam": 1.0, "n_steps": None, "example_size": 96},
    quick={"n_steps": 400},
    compute=compute, plot=plot))
