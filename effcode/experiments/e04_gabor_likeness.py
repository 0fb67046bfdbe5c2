"""Experiment 04: how Gabor-like are the learned filters, against controls."""

from __future__ import annotations

import numpy as np

from ..plots import r2_histogram
from ..plots.figure import new_figure, save_figure
from .base import Experiment, Section, get_experiment, register
from .common import R2_THRESHOLDS, fmt, gabor_table, r2_summary, source_images

LEARNED = {"sparse coding": "01", "ICA": "02", "sparse CNN": "03"}


def learned_banks(run, images) -> dict:
    """The banks of experiments 01-03 at their own default (or quick) settings, shared through the cache."""
    import importlib

    banks = {}
    for label, number in LEARNED.items():
        exp = get_experiment(number)
        module = importlib.import_module(f"effcode.experiments.e{exp.slug}")
        banks[label] = module.learn(run, exp.config(quick=run.config["quick"]), images)
    return banks


def pca_components(run, images, n_components: int, patch_size: int, n_patches: int) -> np.ndarray:
    """Principal components of DC-removed raw patches (global, Fourier-like), (K, p, p)."""
    from ..data import PatchWhitener, remove_dc, sample_patches

    def compute():
        patches = remove_dc(sample_patches([im.array for im in images], patch_size, n_patches, seed=run.seed))
        pca = PatchWhitener(kind="pca", n_components=n_components).fit(patches)
        return {"components": pca.components_.reshape(-1, patch_size, patch_size)}

    key = {"images": [im.sha256 for im in images], "k": n_components, "p": patch_size, "n": n_patches,
           "seed": run.seed}
    return run.step("pca", key, compute)["components"]


def white_noise_images(images, seed: int):
    """Gaussian white-noise images with the sizes of ``images`` (a control without natural structure)."""
    from ..data import make_image

    rng = np.random.default_rng(seed)
    return [make_image(rng.standard_normal(im.array.shape), f"white-noise/{im.id}", "white-noise") for im in images]


def compute(run) -> None:
    from . import e01_sparse_coding

    cfg = run.config
    images = source_images(run)
    banks = learned_banks(run, images)
    sc_cfg = get_experiment("01").config(quick=cfg["quick"])
    k, p = sc_cfg["n_filters"], sc_cfg["patch_size"]
    populations = {label: bank.basis for label, bank in banks.items()}
    populations["PCA components"] = pca_components(run, images, k, p, cfg["n_patches"])
    populations["random filters"] = np.random.default_rng(run.seed).standard_normal((k, p, p))
    populations["sparse coding on white noise"] = e01_sparse_coding.learn(
        run, sc_cfg, white_noise_images(images, run.seed)).basis
    r2 = {label: gabor_table(run, filters)["r2"] for label, filters in populations.items()}
    run.save_npz("r2.npz", **{f"r2_{i}": v for i, v in enumerate(r2.values())},
                 labels=np.array(list(r2)))
    run.save_json("metrics.json", {label: r2_summary(values) for label, values in r2.items()})


def threshold_bars(metrics: dict, labels: list, path) -> None:
    fig = new_figure(8, 3.2)
    ax = fig.subplots()
    width = 0.8 / len(R2_THRESHOLDS)
    for j, t in enumerate(R2_THRESHOLDS):
        values = [metrics[label][f"frac_r2_{t:.1f}"] for label in labels]
        ax.bar(np.arange(len(labels)) + (j - 1) * width, values, width, label=f"R² ≥ {t}")
    ax.set_xticks(np.arange(len(labels)), labels, rotation=15, ha="right")
    ax.set_ylabel("fraction of filters")
    ax.set_ylim(0, 1)
    ax.legend(frameon=False)
    ax.set_title("Gabor-likeness: learned filters against controls")
    save_figure(fig, path)


def plot(run) -> Section:
    data = run.load_npz("r2.npz")
    labels = [str(x) for x in data["labels"]]
    r2 = {label: data[f"r2_{i}"] for i, label in enumerate(labels)}
    metrics = run.load_json("metrics.json")
    hist_path, bars_path = run.figure_path("r2_histograms"), run.figure_path("r2_fractions")
    r2_histogram(r2, title="Gabor-fit R²: learned filters and controls", path=hist_path)
    threshold_bars(metrics, labels, bars_path)
    rows = ["| population | filters | median R² | R² ≥ 0.7 | R² ≥ 0.8 | R² ≥ 0.9 |", "|---|---|---|---|---|---|"]
    for label in labels:
        m = metrics[label]
        rows.append(f"| {label} | {m['n_filters']} | {fmt(m['median_r2'])} | {fmt(m['frac_r2_0.7'])} | "
                    f"{fmt(m['frac_r2_0.8'])} | {fmt(m['frac_r2_0.9'])} |")
    return Section("Gabor-likeness across learners, with controls", "\n".join(rows), [
        (f"{hist_path}.png", "R² distributions of Gabor fits for each learner and each control."),
        (f"{bars_path}.png", "Fractions of filters with R² at or above 0.7, 0.8 and 0.9."),
    ])


register(Experiment(
    number="04", name="gabor_likeness", title="Gabor-likeness across learners, with controls",
    description=("Every learner's basis functions (experiments 01-03, at their own settings) are fitted with "
                 "Gabors and compared with three controls that should not be Gabor-like: the principal "
                 "components of raw patches (global, Fourier-like), Gaussian random filters, and a sparse-coding "
                 "dictionary learned from white noise instead of natural images."),
    defaults={"n_patches": 50_000},
    quick={"n_patches": 10_000},
    compute=compute, plot=plot))
