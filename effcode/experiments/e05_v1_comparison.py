"""Experiment 05: compare each learner's population with V1 (Ringach 2002, De Valois 1982, Schiller 1976)."""

from __future__ import annotations

import numpy as np

from ..plots import nxny_scatter, property_distributions, similarity_table
from .base import Experiment, Section, register
from .common import fmt, gabor_table, source_images


#: fewest well-fit units for which population statistics are computed
MIN_UNITS = 5


def well_fit(fit: dict, threshold: float) -> np.ndarray:
    """Units whose Gabor fit explains at least ``threshold`` of the variance, succeeded and lies on the patch."""
    return (fit["r2"] >= threshold) & (fit["failed"] == 0) & (fit["off_patch"] == 0)


def compare(run, filters: np.ndarray) -> dict:
    """nx–ny distance, bootstrap medians and Brain-Score similarities of one filter population."""
    from .. import v1
    from ..gabor import grating_tuning

    cfg = run.config
    fit = gabor_table(run, filters)
    ppd = cfg["pixels_per_degree"]
    tuning = run.step("tuning", {"filters": fit_key(filters), "ppd": ppd},
                      lambda: grating_tuning(filters, pixels_per_degree=ppd))
    good = well_fit(fit, cfg["r2_threshold"])
    table = {**{k: np.asarray(v)[good] for k, v in tuning.items()}, "theta": fit["theta"][good]}
    nx, ny = fit["nx"][good], fit["ny"][good]
    result = {"n_units": int(filters.shape[0]), "n_well_fit": int(good.sum()), "nxny": {}, "scores": {},
              "median_nx": [float("nan")] * 3, "median_ny": [float("nan")] * 3}
    if good.sum() >= MIN_UNITS:
        n_boot = cfg["n_bootstrap"]
        result["nxny"] = {k: v for k, v in v1.nxny_distance(nx, ny, n_bootstrap=n_boot, seed=run.seed).items()
                          if np.ndim(v) == 0}
        result["median_nx"] = v1.bootstrap_median(nx, n_boot, run.seed)
        result["median_ny"] = v1.bootstrap_median(ny, n_boot, run.seed)
        result["scores"] = {name: {k: v for k, v in s.items() if np.ndim(v) == 0}
                            for name, s in v1.similarity_scores(table, n_bootstrap=n_boot, seed=run.seed).items()}
    return result, {**{f"fit_{k}": v for k, v in fit.items()}, **{f"tuning_{k}": v for k, v in tuning.items()},
                    "well_fit": good}


def slug(label: str) -> str:
    return label.replace(" ", "_").lower()


def fit_key(filters: np.ndarray) -> str:
    import hashlib

    return hashlib.sha256(np.ascontiguousarray(filters, dtype=np.float32).tobytes()).hexdigest()


def compute(run) -> None:
    from .e04_gabor_likeness import learned_banks

    images = source_images(run)
    metrics = {}
    for label, bank in learned_banks(run, images).items():
        metrics[label], arrays = compare(run, bank.filters)
        run.save_npz(f"population_{slug(label)}.npz", **arrays)
    run.save_json("metrics.json", metrics)


def plot(run) -> Section:
    metrics = run.load_json("metrics.json")
    figures, scores = [], {}
    for label in metrics:
        if metrics[label]["n_well_fit"] < MIN_UNITS:
            continue
        data = run.load_npz(f"population_{slug(label)}.npz")
        good = data["well_fit"].astype(bool)
        path = run.figure_path(f"nxny_{slug(label)}")
        nxny_scatter(data["fit_nx"][good], data["fit_ny"][good], label=label, seed=run.seed,
                     title=f"{label}: nx–ny against Ringach (2002)", path=path)
        figures.append((f"{path}.png", f"{label}: (nx, ny) of well-fit units over the Ringach (2002) histogram."))
        table = {k[len("tuning_"):]: v[good] for k, v in data.items() if k.startswith("tuning_")}
        table["theta"] = data["fit_theta"][good]
        path = run.figure_path(f"properties_{slug(label)}")
        property_distributions(table, label=label, seed=run.seed, n_bootstrap=run.config["n_bootstrap"],
                               title=f"{label}: tuning properties against V1", path=path)
        figures.append((f"{path}.png", f"{label}: grating-tuning properties against the V1 histograms."))
        scores[label] = {name: s["score"] for name, s in metrics[label]["scores"].items()}
    path = run.figure_path("similarity_table")
    if not scores:
        return Section("Comparison with V1", f"No learner had {MIN_UNITS} or more units with R² ≥ "
                       f"{run.config['r2_threshold']}; nothing to compare.", figures)
    similarity_table(scores, title="Brain-Score-style similarity to V1 (1 = as close as V1 resamples)", path=path)
    figures.append((f"{path}.png", "Similarity scores per learner and property, with the ceilings."))
    rows = ["| learner | well-fit units | median nx [95% CI] | median ny [95% CI] | nx–ny TV distance "
            "(79-cell draws) | null median / 95% | mean similarity |", "|---|---|---|---|---|---|---|"]
    for label, m in metrics.items():
        nx, ny, d = m["median_nx"], m["median_ny"], m["nxny"]
        if not d:
            rows.append(f"| {label} | {m['n_well_fit']}/{m['n_units']} | – | – | – | – | – |")
            continue
        mean_score = np.mean([s["score"] for s in m["scores"].values()])
        rows.append(f"| {label} | {m['n_well_fit']}/{m['n_units']} | {fmt(nx[0])} [{fmt(nx[1])}, {fmt(nx[2])}] | "
                    f"{fmt(ny[0])} [{fmt(ny[1])}, {fmt(ny[2])}] | {fmt(d['distance'])} ({fmt(d['model_79_median'])}) | "
                    f"{fmt(d['null_median'])} / {fmt(d['null_95'])} | {fmt(mean_score)} |")
    from .. import v1

    ref = v1.ringach2002_nxny_histogram()
    text = "\n".join(rows) + (f"\n\nFor reference, Ringach's (2002) {ref.n_cells} simple cells have median nx "
                              f"{fmt(ref.median('nx'))} and ny {fmt(ref.median('ny'))} (from the packaged histogram).")
    return Section("Comparison with V1", text, figures)


register(Experiment(
    number="05", name="v1_comparison", title="Learned populations against V1 statistics",
    description=("Each learner's filters (experiments 01-03) are fitted with Gabors; units with R² ≥ r2_threshold "
                 "enter the comparison. Their (nx, ny) = (σx·f, σy·f) are compared with Ringach (2002) by the "
                 "total-variation distance between 5x5 log-binned histograms, against a null of 79-cell draws from "
                 "V1 itself; their tuning to simulated gratings (half-wave rectified responses) is compared with "
                 "De Valois 1982, Schiller 1976 and Ringach, Shapley & Hawken 2002 by the Brain-Score similarity "
                 "1 − KS/KS_max over bootstrap draws, divided by the V1 data's own ceiling."),
    defaults={"r2_threshold": 0.7, "n_bootstrap": 1000, "pixels_per_degree": 20.0},
    quick={"n_bootstrap": 200},
    compute=compute, plot=plot))
