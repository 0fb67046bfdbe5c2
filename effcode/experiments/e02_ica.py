"""Experiment 02: ICA filters beside basis functions (van Hateren & van der Schaaf 1998)."""

from __future__ import annotations

from ..plots import filter_mosaic, r2_histogram
from .base import Experiment, Section, register
from .common import fmt, gabor_table, learned_bank, r2_summary, source_images


def learn(run, cfg: dict, images):
    """The ICA bank of config ``cfg`` (also used by experiments 04, 05 and 11)."""
    return learned_bank(run, "ica", images, n_filters=cfg["n_filters"], patch_size=cfg["patch_size"],
                        n_patches=cfg["n_patches"], params={"algorithm": cfg["algorithm"]})


def compute(run) -> None:
    images = source_images(run)
    bank = learn(run, run.config, images)
    bank.save(run.path("filter_bank.npz"))
    basis_fit, filter_fit = gabor_table(run, bank.basis), gabor_table(run, bank.filters)
    run.save_csv("gabor_fits_basis.csv", basis_fit)
    run.save_csv("gabor_fits_filters.csv", filter_fit)
    run.save_json("metrics.json", {"basis": r2_summary(basis_fit["r2"]), "filters": r2_summary(filter_fit["r2"])})


def plot(run) -> Section:
    from ..learners import FilterBank

    bank = FilterBank.load(run.path("filter_bank.npz"))
    metrics = run.load_json("metrics.json")
    basis_fit, filter_fit = run.load_csv("gabor_fits_basis.csv"), run.load_csv("gabor_fits_filters.csv")
    paths = {n: run.figure_path(n) for n in ("filters", "basis", "r2_histogram")}
    filter_mosaic(bank.filters, order="index", title="ICA filters (rows of the unmixing matrix), by variance",
                  path=paths["filters"])
    filter_mosaic(bank.basis, order="index", title="ICA basis functions (columns of the mixing matrix)",
                  path=paths["basis"])
    r2_histogram({"basis functions": basis_fit["r2"], "filters": filter_fit["r2"]},
                 title="Gabor fit of ICA basis functions and filters", path=paths["r2_histogram"])
    b, f = metrics["basis"], metrics["filters"]
    text = (f"{b['n_filters']} independent components ({run.config['algorithm']}) of "
            f"{bank.patch_shape[0]}x{bank.patch_shape[1]} patches. Basis functions: median Gabor R² "
            f"{fmt(b['median_r2'])}, {fmt(100 * b['frac_r2_0.8'], 0)}% with R² ≥ 0.8. Filters: median R² "
            f"{fmt(f['median_r2'])}, {fmt(100 * f['frac_r2_0.8'], 0)}% with R² ≥ 0.8. The filters carry the "
            "whitening, so they are sharper and noisier than the basis functions that reconstruct the patches.")
    return Section("ICA of natural images", text, [
        (f"{paths['filters']}.png", "ICA filters (analysis), ordered by the variance their units explain."),
        (f"{paths['basis']}.png", "ICA basis functions (synthesis), in the same order."),
        (f"{paths['r2_histogram']}.png", "R² of Gabor fits to basis functions and to filters."),
    ])


register(Experiment(
    number="02", name="ica", title="ICA: filters and basis functions (van Hateren & van der Schaaf 1998)",
    description=("ICA on PCA-whitened, dimension-reduced patches of the default images finds a linear map whose "
                 "outputs are as independent (as non-Gaussian) as possible: FastICA maximises the log-cosh "
                 "negentropy approximation Σ_k E[G(w_kᵀz)] over orthonormal W."),
    defaults={"n_filters": 64, "patch_size": 16, "n_patches": 50_000, "algorithm": "fastica"},
    quick={"n_filters": 32, "n_patches": 20_000},
    compute=compute, plot=plot))
