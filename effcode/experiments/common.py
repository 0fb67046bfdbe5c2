"""Steps shared by several experiments: load the source, learn a bank, fit Gabors, summarise.

Each step goes through :meth:`effcode.runs.Run.step`, so it is cached on its parameters
and computed once even when several experiments ask for it.
"""

from __future__ import annotations

import hashlib

import numpy as np

from ..learners import FilterBank, learn_filters, resumable

R2_THRESHOLDS = (0.7, 0.8, 0.9)


def source_images(run):
    """The run's images (config key ``source``), recorded with their hashes in the provenance."""
    from ..data import load_images

    images = load_images(run.config["source"])
    run.record_images(images)
    return images


def learned_bank(run, method: str, images, *, n_filters: int | None, patch_size: int, params: dict | None = None,
                 n_patches: int | None = None) -> FilterBank:
    """A :class:`FilterBank` learned by ``method`` (cached on every parameter, images included; learners
    that can resume save checkpoints in the cache, so a killed run continues mid-training)."""
    params = dict(params or {})
    key = {"method": method, "images": [im.sha256 for im in images], "n_filters": n_filters,
           "patch_size": patch_size, "seed": run.seed, "params": params, "device": run.device,
           "n_patches": n_patches}

    def compute(checkpoint=None):
        bank = learn_filters(method, images, n_filters=n_filters, patch_size=patch_size, seed=run.seed,
                             device=run.device, n_patches=n_patches, progress=run.progress, checkpoint=checkpoint,
                             **params)
        return bank.to_arrays()

    return FilterBank.from_arrays(run.step(f"bank-{method}", key, compute, resumable=resumable(method)))


def gabor_table(run, filters: np.ndarray) -> dict[str, np.ndarray]:
    """The Gabor-fit table of a (K, h, w) array (cached on the array's bytes)."""
    from ..gabor import fit_gabors

    filters = np.ascontiguousarray(filters, dtype=np.float32)
    digest = hashlib.sha256(filters.tobytes() + str(filters.shape).encode()).hexdigest()
    return run.step("gabor", {"filters": digest}, lambda: fit_gabors(filters, device=run.device))


def r2_summary(r2) -> dict[str, float]:
    """Median R² and the fractions of filters at or above 0.7, 0.8 and 0.9."""
    r2 = np.asarray(r2, dtype=float)
    out = {"median_r2": float(np.median(r2)), "n_filters": int(r2.size)}
    out.update({f"frac_r2_{t:.1f}": float(np.mean(r2 >= t)) for t in R2_THRESHOLDS})
    return out


def fmt(value, digits: int = 2) -> str:
    """A number for the report: fixed digits, or an en dash when missing."""
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "–"
    return f"{value:.{digits}f}"


def evaluate_point(point: dict) -> dict:
    """Learn a bank for one sweep point and score it: Gabor-likeness and distance to V1's nx–ny.

    ``point`` keys: ``method``, ``source``, ``n_filters``, ``patch_size``, ``seed``, ``device``,
    ``r2_threshold``, ``n_bootstrap``; every other key is passed to the learner.  Module-level so
    that joblib and dask can send it to worker processes.
    """
    from .. import v1
    from ..data import load_images
    from ..gabor import fit_gabors

    point = dict(point)
    fixed = {k: point.pop(k) for k in ("method", "source", "n_filters", "patch_size", "seed", "device",
                                       "r2_threshold", "n_bootstrap")}
    bank = learn_filters(fixed["method"], load_images(fixed["source"]), n_filters=fixed["n_filters"],
                         patch_size=fixed["patch_size"], seed=fixed["seed"], device=fixed["device"], **point)
    fit = fit_gabors(bank.basis, device=fixed["device"])
    good = (fit["r2"] >= fixed["r2_threshold"]) & (fit["failed"] == 0) & (fit["off_patch"] == 0)
    result = r2_summary(fit["r2"])
    result["n_well_fit"] = int(good.sum())
    result["active_fraction"] = float(bank.history["sparsity"][-1]) if "sparsity" in bank.history else float("nan")
    if good.sum() >= 2:
        distance = v1.nxny_distance(fit["nx"][good], fit["ny"][good], n_bootstrap=fixed["n_bootstrap"],
                                    seed=fixed["seed"])
        result.update(nxny_distance=distance["distance"], nxny_null_95=distance["null_95"],
                      median_nx=float(np.median(fit["nx"][good])), median_ny=float(np.median(fit["ny"][good])))
    else:
        result.update(nxny_distance=float("nan"), nxny_null_95=float("nan"), median_nx=float("nan"),
                      median_ny=float("nan"))
    return result
