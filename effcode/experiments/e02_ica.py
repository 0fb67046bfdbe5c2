"""Experiment 02: ICA filters beside basis functions (van Hateren & van der Schaaf 1998)."""

from __future__ import annotations

import numpy as np

from ..plots import filter_mosaic, r2_ecdf
from ..stats import paired_test
from ..runs.config import Key
from .base import Experiment, Section, register
from ..v1.scorer import r2_summary
from .common import BankSpec, gabor_table, learned_bank, source_images
from .degenerate import check, r2_warning
from .seed_report import (ALPHA, R2_BOUNDS, column, difference_text, interval_text, pooled_note, seed_list,
                          seed_table, seeds_note, seeds_phrase, verdict)

#: the two populations of an ICA bank: FilterBank attribute -> how the report names it
POPULATIONS = {"basis": "basis functions (columns of the mixing matrix, synthesis)",
               "filters": "filters (rows of the unmixing matrix, analysis)"}
COLUMNS = [("median_r2", "median R²", 2, False), ("frac_r2_0.7", "R² ≥ 0.7", 0, True),
           ("frac_r2_0.8", "R² ≥ 0.8", 0, True), ("frac_r2_0.9", "R² ≥ 0.9", 0, True)]


def bank_spec(cfg: dict, seed: int) -> BankSpec:
    """The ICA bank of config ``cfg`` learned with ``seed`` (the standard "ICA")."""
    return BankSpec("ica", patch_size=cfg["patch_size"], n_filters=cfg["n_filters"], n_patches=cfg["n_patches"],
                    params={"algorithm": cfg["algorithm"]}, seed=seed)


def compute(run) -> None:
    cfg = run.config
    images = source_images(run)
    per_seed, r2 = [], {}
    for j, seed in enumerate(seed_list(cfg, run.seed)):
        bank = learned_bank(run, bank_spec(cfg, seed), images)
        fits = {population: gabor_table(run, getattr(bank, population)) for population in POPULATIONS}
        for population, table in fits.items():
            check(run, r2_warning(table["r2"], bank.patch_shape, f"ICA {population}, seed {seed}"))
        if j == 0:
            bank.save(run.path("filter_bank.npz"))
            for population, table in fits.items():
                run.save_csv(f"gabor_fits_{population}.csv", table)
        per_seed.append({"seed": seed, **{population: r2_summary(table["r2"]) for population, table in fits.items()}})
        r2.update({f"r2_{population}_seed{seed}": table["r2"] for population, table in fits.items()})
    run.save_npz("r2_by_seed.npz", **r2)
    run.save_json("metrics.json", {"n_filters": cfg["n_filters"], "patch_size": cfg["patch_size"],
                                   "algorithm": cfg["algorithm"], "seeds": [row["seed"] for row in per_seed],
                                   "per_seed": per_seed})


def population_text(per_seed: list[dict], population: str) -> str:
    return (f"{POPULATIONS[population][0].upper()}{POPULATIONS[population][1:]}: median Gabor R² "
            f"{interval_text(column(per_seed, 'median_r2', population), bounds=R2_BOUNDS)}, "
            f"{interval_text(column(per_seed, 'frac_r2_0.8', population), percent=True)} with R² ≥ 0.8.")


def comparison_text(per_seed: list[dict]) -> str:
    """Basis functions against filters, median R² paired by seed; a claim only where the test shows it."""
    test = paired_test(column(per_seed, "median_r2", "basis"), column(per_seed, "median_r2", "filters"))
    text = f"Median R² of the basis functions minus that of the filters: {difference_text(test)}"
    outcome = verdict(test)
    if outcome == "no test":
        return text + "."
    text += " (paired t-test over seeds)"
    if outcome == "higher":
        return text + ": the basis functions are more Gabor-like than the filters."
    if outcome == "lower":
        return text + ": the filters are more Gabor-like than the basis functions."
    return text + f": no difference shown at the {ALPHA:.0%} level."


def summary_text(metrics: dict) -> str:
    """The section's text from the saved metrics (``metrics.json``)."""
    ps, p = metrics["per_seed"], metrics["patch_size"]
    n = len(ps)
    tables = "\n\n".join(f"{POPULATIONS[population][0].upper()}{POPULATIONS[population][1:]}:\n\n"
                         + seed_table(ps, COLUMNS, population) for population in POPULATIONS)
    return (f"{metrics['n_filters']} independent components ({metrics['algorithm']}) of {p}x{p} patches, learned "
            f"with {seeds_phrase(ps)}. "
            + " ".join(population_text(ps, population) for population in POPULATIONS) + " "
            + comparison_text(ps) + " The filters carry the whitening, so they look sharper and noisier than the "
            f"basis functions that reconstruct the patches. {seeds_note(n)}\n\n" + tables)


def figure_captions(metrics: dict) -> dict[str, str]:
    first, n = metrics["seeds"][0], len(metrics["seeds"])
    return {"filters": f"ICA filters (analysis; rows of the unmixing matrix) of seed {first}, ordered by the "
                       "variance their units explain.",
            "basis": f"ICA basis functions (synthesis; columns of the mixing matrix) of seed {first}, in the same "
                     "order.",
            "r2_ecdf": f"Cumulative distribution of the R² of Gabor fits to the basis functions and to the filters, units {pooled_note(n)}."}


def plot(run) -> Section:
    from ..learners import FilterBank

    bank = FilterBank.load(run.path("filter_bank.npz"))
    metrics = run.load_json("metrics.json")
    r2 = run.load_npz("r2_by_seed.npz")
    captions = figure_captions(metrics)
    paths = {name: run.figure_path(name) for name in captions}
    filter_mosaic(bank.filters, order="index", title="ICA filters (rows of the unmixing matrix), by variance",
                  path=paths["filters"])
    filter_mosaic(bank.basis, order="index", title="ICA basis functions (columns of the mixing matrix)",
                  path=paths["basis"])
    pooled = {label: np.concatenate([r2[f"r2_{population}_seed{s}"] for s in metrics["seeds"]])
              for population, label in (("basis", "basis functions"), ("filters", "filters"))}
    r2_ecdf(pooled, title="Gabor fit of ICA basis functions and filters", path=paths["r2_ecdf"])
    return Section("ICA of natural images", summary_text(metrics),
                   [(f"{paths[name]}.png", caption) for name, caption in captions.items()])


register(Experiment(
    number="02", name="ica", title="ICA: filters and basis functions (van Hateren & van der Schaaf 1998)",
    description=("ICA on PCA-whitened, dimension-reduced patches of natural images finds a linear map whose "
                 "outputs are as independent (as non-Gaussian) as possible: FastICA maximises the log-cosh "
                 "negentropy approximation Σ_k E[G(w_kᵀz)] over orthonormal W. Both populations are fitted with "
                 "Gabors: the basis functions (columns of the mixing matrix) and the filters (rows of the "
                 "unmixing matrix). ICA is run with several seeds (config key n_seeds)."),
    defaults={"n_filters": 64, "patch_size": 16, "n_patches": 50_000, "algorithm": "fastica", "n_seeds": 3},
    quick={"n_filters": 32, "n_patches": 20_000, "n_seeds": 2},
    keys={"algorithm": Key(str, "name", "ICA algorithm: FastICA (log-cosh negentropy) or natural-gradient Infomax",
                           choices=("fastica", "infomax"))},
    compute=compute, plot=plot, bank=bank_spec))
