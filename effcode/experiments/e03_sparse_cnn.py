"""Experiment 03: a sparsity-penalised convolutional network trained on whole whitened images."""

from __future__ import annotations

import numpy as np
from matplotlib.patches import Rectangle

from ..learners import FilterBank
from ..plots import filter_mosaic, r2_ecdf
from ..plots.figure import new_figure, save_figure
from ..runs.config import Key
from .base import Experiment, Section, register
from ..v1.scorer import r2_summary
from .common import BankSpec, filters_digest, gabor_table, learned_bank, source_images
from .degenerate import check, r2_warning
from .seed_report import (R2_BOUNDS, column, interval_text, pooled_note, seed_list, seed_table, seeds_note,
                          seeds_phrase, steps_text, summarise)

N_EXAMPLES = 3
COLUMNS = [("median_r2", "median R²", 2, False), ("frac_r2_0.8", "R² ≥ 0.8", 0, True),
           ("frac_r2_0.9", "R² ≥ 0.9", 0, True), ("example_relative_error", "example reconstruction error", 1, True),
           ("example_active_fraction", "units active", 1, True)]


def default_n_steps() -> int:
    """The training steps of :class:`~effcode.learners.sparse_cnn.SparseCNN` when the config says None."""
    from ..learners.sparse_cnn import SparseCNN

    return int(SparseCNN().n_steps)


def bank_spec(cfg: dict, seed: int) -> BankSpec:
    """The CNN's first-layer bank of config ``cfg`` trained with ``seed`` (the standard "sparse CNN");
    ``n_steps`` None is resolved to the learner's default, so the spec says how long it trained."""
    n_steps = default_n_steps() if cfg["n_steps"] is None else cfg["n_steps"]
    return BankSpec("sparse_cnn", patch_size=cfg["patch_size"], n_filters=cfg["n_filters"], seed=seed,
                    params={"lam": cfg["lam"], "n_steps": n_steps})


def reconstruction_examples(run, bank: FilterBank, images, example_size: int) -> dict:
    """Reconstructions of the top-left ``example_size`` square of the first whitened images by the
    trained model, rebuilt from the bank (cached on the atoms and the images; no retraining)."""
    from ..data import whiten_images
    from ..learners import make_learner
    from ..learners.sparse_cnn import rms_scale

    def compute():
        model = make_learner("sparse_cnn")
        model.set_params(**{k: v for k, v in bank.config.items()
                            if k in model.get_params() and k not in ("device", "progress")})
        model.set_params(device=run.device)
        whitened = whiten_images(images)
        model.set_atoms(bank.basis, scale=rms_scale(whitened))
        crops = np.stack([w[:example_size, :example_size] for w in whitened[:N_EXAMPLES]]).astype(np.float32)
        codes = model.transform(crops)
        return {"input": crops, "reconstruction": model.inverse_transform(codes),
                "active_fraction": np.array([(c != 0).mean() for c in codes])}

    key = {"atoms": filters_digest(bank.basis), "config": bank.config, "images": [im.sha256 for im in images],
           "example_size": example_size, "n_examples": N_EXAMPLES, "device": run.device}
    return run.step("sparse_cnn-examples", key, compute)


def interior_error(examples: dict, kernel: int) -> float:
    """Reconstruction error on the interior of the examples, relative to their energy."""
    inner = (slice(None), slice(kernel - 1, 1 - kernel), slice(kernel - 1, 1 - kernel))
    x, r = examples["input"][inner], examples["reconstruction"][inner]
    return float(np.sum((x - r) ** 2) / np.sum(x ** 2))


def compute(run) -> None:
    cfg = run.config
    images = source_images(run)
    per_seed, r2 = [], {}
    for j, seed in enumerate(seed_list(cfg, run.seed)):
        bank = learned_bank(run, bank_spec(cfg, seed), images)
        table = gabor_table(run, bank.basis)
        check(run, r2_warning(table["r2"], bank.patch_shape, f"sparse CNN basis functions, seed {seed}"))
        examples = reconstruction_examples(run, bank, images, cfg["example_size"])
        if j == 0:
            bank.save(run.path("filter_bank.npz"))
            run.save_csv("gabor_fits.csv", table)
            run.save_npz("reconstructions.npz", **examples)
        per_seed.append({"seed": seed, **r2_summary(table["r2"]),
                         "example_relative_error": interior_error(examples, cfg["patch_size"]),
                         "example_active_fraction": float(np.mean(examples["active_fraction"])),
                         "final_loss": float(bank.history["loss"][-1]), "n_steps": int(len(bank.history["loss"]))})
        r2[f"r2_seed{seed}"] = table["r2"]
    run.save_npz("r2_by_seed.npz", **r2)
    run.save_json("metrics.json", {"n_filters": cfg["n_filters"], "patch_size": cfg["patch_size"],
                                   "seeds": [row["seed"] for row in per_seed], "per_seed": per_seed,
                                   "summary": summarise(per_seed, [c[0] for c in COLUMNS] + ["final_loss"])})


def summary_text(metrics: dict) -> str:
    """The section's text from the saved metrics (``metrics.json``)."""
    ps, p = metrics["per_seed"], metrics["patch_size"]
    n = len(ps)
    return (f"{metrics['n_filters']} convolutional filters of {p}x{p} after {steps_text(ps)} training steps, trained "
            f"with {seeds_phrase(ps)}: median Gabor R² {interval_text(column(ps, 'median_r2'), bounds=R2_BOUNDS)}, "
            f"{interval_text(column(ps, 'frac_r2_0.8'), percent=True)} with R² ≥ 0.8. On the {N_EXAMPLES} example crops the interior reconstruction error is "
            f"{interval_text(column(ps, 'example_relative_error'), 1, percent=True)} of the signal energy with "
            f"{interval_text(column(ps, 'example_active_fraction'), 1, percent=True)} of units active. "
            f"{seeds_note(n)}\n\n" + seed_table(ps, COLUMNS))


def figure_captions(metrics: dict) -> dict[str, str]:
    first, n = metrics["seeds"][0], len(metrics["seeds"])
    return {"filters": f"The CNN's first-layer filters (seed {first}) beside their fitted Gabors, best R² first.",
            "reconstructions": f"Whitened crops and their reconstructions from sparse activation maps (seed {first}).",
            "r2_ecdf": f"Cumulative distribution of the R² of Gabor fits to the first-layer filters, filters {pooled_note(n)}."}


def reconstruction_figure(data: dict, kernel: int, path) -> None:
    fig = new_figure(7.5, 2.4 * len(data["input"]))
    axes = fig.subplots(len(data["input"]), 2, squeeze=False)
    for row, (x, r, active) in zip(axes, zip(data["input"], data["reconstruction"], data["active_fraction"])):
        lim = np.abs(x).max()
        row[0].imshow(x, cmap="gray", vmin=-lim, vmax=lim)
        image = row[1].imshow(r, cmap="gray", vmin=-lim, vmax=lim)
        fig.colorbar(image, ax=list(row), shrink=0.9, label="whitened pixel value (SD units)")
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
    r2 = run.load_npz("r2_by_seed.npz")
    captions = figure_captions(metrics)
    paths = {name: run.figure_path(name) for name in captions}
    filter_mosaic(bank.filters, fitted=render_gabors(table, bank.patch_shape), r2=table["r2"],
                  title="First-layer filters (left) and fitted Gabors (right)", path=paths["filters"])
    reconstruction_figure(run.load_npz("reconstructions.npz"), bank.patch_shape[0], paths["reconstructions"])
    r2_ecdf({"sparse CNN layer 1": np.concatenate([r2[f"r2_seed{s}"] for s in metrics["seeds"]])},
            title="Gabor fit of the CNN's first layer", path=paths["r2_ecdf"])
    return Section("Sparsity-penalised CNN", summary_text(metrics),
                   [(f"{paths[name]}.png", caption) for name, caption in captions.items()])


register(Experiment(
    number="03", name="sparse_cnn", title="Sparsity-penalised CNN: first-layer filters and reconstructions",
    description=("A convolutional sparse autoencoder trained on large crops of whole whitened images: activations "
                 "a = unrolled proximal steps of the encoder convolution, reconstruction x̂ = Σ_k d_k ∗ a_k by the "
                 "transposed convolution, loss = ½‖x − x̂‖² + λ·S(a) per interior pixel, S from the objectives "
                 "registry. The network is trained with several seeds (config key n_seeds); n_steps None means "
                 "the learner's default number of training steps."),
    defaults={"n_filters": 32, "patch_size": 16, "lam": 2.0, "n_steps": None, "example_size": 96, "n_seeds": 3},
    quick={"n_steps": 100, "n_seeds": 2},
    keys={"patch_size": Key(int, "pixels", "side of the convolution kernels (the learned filters)", low=2),
          "lam": Key(float, "dimensionless", "weight λ of the sparsity penalty S(a) against the squared "
                     "reconstruction error per interior pixel of unit-variance whitened images", low=0.0),
          "n_steps": Key(int, "count", "training steps (one batch of whitened image crops each)", low=1,
                         none_means="the learner's default length"),
          "example_size": Key(int, "pixels", "side of the whitened image crops reconstructed in the example figure",
                              low=8)},
    compute=compute, plot=plot, bank=bank_spec))
