"""Experiment 01: sparse coding on natural images (the Olshausen & Field 1996 figure).

Its report text is made by the pure functions of :mod:`.seed_report`, shared with 02-04.
"""

from __future__ import annotations

import numpy as np

from ..plots import filter_mosaic, r2_ecdf
from ..plots.figure import new_figure, save_figure
from .base import Experiment, Section, register
from ..v1.scorer import r2_summary
from .common import BankSpec, gabor_table, learned_bank, source_images
from .degenerate import check, r2_warning
from .seed_report import (R2_BOUNDS, column, interval_text, pooled_note, seed_list, seed_table, seeds_note, seeds_phrase,
                          steps_text, summarise)


# ----------------------------------------------------------------- the experiment

#: per-seed metrics of the section, with how the seed table shows them
COLUMNS = [("median_r2", "median R²", 2, False), ("frac_r2_0.8", "R² ≥ 0.8", 0, True),
           ("frac_r2_0.9", "R² ≥ 0.9", 0, True),
           ("final_reconstruction_error", "rel. reconstruction error", 3, False),
           ("final_sparsity", "non-zero coefficients", 3, False)]


def bank_spec(cfg: dict, seed: int) -> BankSpec:
    """The sparse-coding bank of config ``cfg`` learned with ``seed`` (the standard "sparse coding")."""
    return BankSpec("sparse_coding", patch_size=cfg["patch_size"], n_filters=cfg["n_filters"], seed=seed,
                    params={"lam": cfg["lam"], "objective": cfg["objective"], "n_steps": cfg["n_steps"]})


def seed_metrics(seed: int, r2, history: dict) -> dict:
    """The metrics of one seed's bank: the R² summary of its atoms and the end of its training record."""
    return {"seed": int(seed), **r2_summary(r2), "final_loss": float(history["loss"][-1]),
            "final_sparsity": float(history["sparsity"][-1]),
            "final_reconstruction_error": float(history["reconstruction_error"][-1]),
            "n_steps": int(len(history["loss"]))}


def compute(run) -> None:
    cfg = run.config
    images = source_images(run)
    per_seed, r2, histories = [], {}, {}
    for j, seed in enumerate(seed_list(cfg, run.seed)):
        bank = learned_bank(run, bank_spec(cfg, seed), images)
        table = gabor_table(run, bank.basis)
        check(run, r2_warning(table["r2"], bank.patch_shape, f"sparse coding basis functions, seed {seed}"))
        if j == 0:
            bank.save(run.path("filter_bank.npz"))
            run.save_csv("gabor_fits.csv", table)
        per_seed.append(seed_metrics(seed, table["r2"], bank.history))
        r2[f"r2_seed{seed}"] = table["r2"]
        histories.update({f"{key}_seed{seed}": bank.history[key]
                          for key in ("loss", "reconstruction_error", "sparsity")})
    run.save_npz("r2_by_seed.npz", **r2)
    run.save_npz("histories.npz", **histories)
    run.save_json("metrics.json", {"n_filters": cfg["n_filters"], "patch_size": cfg["patch_size"],
                                   "seeds": [row["seed"] for row in per_seed], "per_seed": per_seed,
                                   "summary": summarise(per_seed, [c[0] for c in COLUMNS] + ["final_loss"])})


def summary_text(metrics: dict) -> str:
    """The section's text from the saved metrics (``metrics.json``)."""
    ps = metrics["per_seed"]
    n, p = len(ps), metrics["patch_size"]
    return (f"{metrics['n_filters']} atoms of {p}x{p} pixels after {steps_text(ps)} dictionary updates, learned "
            f"with {seeds_phrase(ps)}: median Gabor R² "
            f"{interval_text(column(ps, 'median_r2'), bounds=R2_BOUNDS)}; atoms with R² ≥ 0.8: "
            f"{interval_text(column(ps, 'frac_r2_0.8'), percent=True)} (R² ≥ 0.9: "
            f"{interval_text(column(ps, 'frac_r2_0.9'), percent=True)}). Final relative reconstruction error "
            f"{interval_text(column(ps, 'final_reconstruction_error'), 3)}, fraction of non-zero coefficients "
            f"{interval_text(column(ps, 'final_sparsity'), 3)}. {seeds_note(n)}\n\n"
            + seed_table(ps, COLUMNS))


def figure_captions(metrics: dict) -> dict[str, str]:
    """Captions of the section's figures (which seed or seeds each shows)."""
    seeds = metrics["seeds"]
    first, n = seeds[0], len(seeds)
    return {"basis": f"The learned basis functions (dictionary atoms) of seed {first}, as in Olshausen & Field "
                     "(1996).",
            "training": f"Loss, reconstruction error and sparsity over training, one line per seed ({n} "
                        f"seed{'s' if n != 1 else ''}).",
            "basis_vs_gabor": f"Atoms of seed {first} beside their fitted Gabors, ordered by R².",
            "r2_ecdf": f"Cumulative distribution of the R² of the Gabor fits, atoms {pooled_note(n)}; dashed lines at 0.7, 0.8 and 0.9."}


def training_curves(histories: dict, seeds: list[int], path) -> None:
    """Loss, reconstruction error and fraction of active units against the update step, one line per seed."""
    fig = new_figure(9, 2.8)
    axes = fig.subplots(1, 3)
    for ax, key, label in zip(axes, ("loss", "reconstruction_error", "sparsity"),
                              ("energy per patch (unit-RMS units)", "relative reconstruction error",
                               "fraction of non-zero coefficients")):
        for seed in seeds:
            values = histories[f"{key}_seed{seed}"]
            ax.plot(np.arange(1, len(values) + 1), values, lw=1, label=f"seed {seed}")
        ax.set_xlabel("dictionary update")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[0].set_yscale("log")
    axes[0].legend(frameon=False, fontsize=7)
    fig.suptitle("Sparse coding: training record")
    save_figure(fig, path)


def plot(run) -> Section:
    from ..gabor import render_gabors
    from ..learners import FilterBank

    bank = FilterBank.load(run.path("filter_bank.npz"))
    table = run.load_csv("gabor_fits.csv")
    metrics = run.load_json("metrics.json")
    r2 = run.load_npz("r2_by_seed.npz")
    captions = figure_captions(metrics)
    paths = {name: run.figure_path(name) for name in captions}
    filter_mosaic(bank.basis, order="index", title=f"Sparse-coding basis ({bank.n_filters} atoms)",
                  path=paths["basis"])
    filter_mosaic(bank.basis, fitted=render_gabors(table, bank.patch_shape), r2=table["r2"], max_filters=64,
                  title="Atoms (left) and fitted Gabors (right), best R² first", path=paths["basis_vs_gabor"])
    training_curves(run.load_npz("histories.npz"), metrics["seeds"], paths["training"])
    r2_ecdf({"sparse coding": np.concatenate([r2[f"r2_seed{s}"] for s in metrics["seeds"]])},
            title="Gabor fit of the sparse-coding basis", path=paths["r2_ecdf"])
    return Section("Sparse coding on natural images", summary_text(metrics),
                   [(f"{paths[name]}.png", caption) for name, caption in captions.items()])


register(Experiment(
    number="01", name="sparse_coding", title="Sparse coding on natural images (Olshausen & Field 1996)",
    description=("Sparse coding minimises ½‖x − Φa‖² + λ·S(a) over codes a and unit-norm atoms Φ, on "
                 "Olshausen–Field-whitened 16x16 patches of natural images (which ones: the settings line). The learned atoms are fitted "
                 "with Gabors. The dictionary is learned with several seeds (config key n_seeds)."),
    defaults={"n_filters": 256, "patch_size": 16, "lam": 2.0, "objective": "l1", "n_steps": 4800, "n_seeds": 3},
    quick={"n_filters": 64, "n_steps": 150, "n_seeds": 2},
    compute=compute, plot=plot, bank=bank_spec))
