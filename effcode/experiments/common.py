"""Steps shared by the experiments: load the source, learn a bank from its spec, fit Gabors, and
score a population with the one scorer (:func:`effcode.v1.score_population`).

Each step goes through :meth:`effcode.runs.Run.step`, so it is cached on its parameters
and computed once even when several experiments ask for it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ..learners import LEARNERS, FilterBank, learn_filters, resumable
from ..runs.codehash import code_hash
from ..runs.config import config_hash
from ..storage.atomic import write_bytes
from ..v1.physiology import ReceptiveFields, measure_receptive_fields
from ..v1.scorer import DEFAULT_PERMUTATIONS, R2_LEVELS
from .base import get_experiment
from .degenerate import check, code_warning, dead_units_warning, r2_warning

#: the scorer's settings, declared once: every experiment that compares with V1 has these keys.  The
#: population scored by default is the units' receptive fields measured by reverse correlation with Hartley
#: gratings in stimulus space (:func:`effcode.v1.measure_receptive_fields`), as Ringach (2002) measured V1
SCORER_DEFAULTS = {"population": "measured_rf", "rf_stimulus": "hartley", "rf_n_stimuli": None, "r2_threshold": 0.7,
                   "interval_level": 0.95, "pixels_per_degree": 20.0, "n_bootstrap": 1000,
                   "n_permutations": DEFAULT_PERMUTATIONS}

#: the keys of :data:`SCORER_DEFAULTS` that choose the scored array rather than set the scorer
POPULATION_KEYS = ("population", "rf_stimulus", "rf_n_stimuli")

#: quick settings of the measurement and its statistics: fewer stimuli (wider standard errors), fewer
#: bootstrap draws and permutations (coarser intervals and p-values, p >= 0.005), same code path
QUICK_MEASUREMENT = {"rf_n_stimuli": 512, "n_bootstrap": 200, "n_permutations": 199}


@dataclass(frozen=True)
class BankSpec:
    """What a learned bank is: the method, its sizes and parameters, and the seed.

    Experiments ask for banks through a spec (never through another experiment's internals);
    two experiments asking for the same spec share one cached bank.
    """

    method: str
    patch_size: int
    n_filters: int | None = None
    params: dict = field(default_factory=dict)
    n_patches: int | None = None
    seed: int = 0

    def with_seed(self, seed: int) -> "BankSpec":
        return replace(self, seed=int(seed))

    def with_params(self, **params) -> "BankSpec":
        return replace(self, params={**self.params, **params})


def source_images(run):
    """All the run's images (config key ``source``), recorded with their hashes in the provenance; each
    bank learns from its seed's subset of them (:func:`learned_bank`)."""
    from ..data import load_images

    images = load_images(run.config["source"])
    run.record_images(images)
    return images


def learned_bank(run, spec: BankSpec, images, *, continues: BankSpec | None = None) -> FilterBank:
    """The :class:`FilterBank` of ``spec``, learned from the subset of ``images`` that its seed draws
    (:func:`effcode.data.seed_images` with the run's config key ``image_fraction``, or
    :data:`effcode.data.IMAGE_FRACTION` where the config has none); the provenance records which.

    Cached on every field of the spec and the hashes of the images used; learners that can resume save
    checkpoints in the cache, so a killed run continues mid-training.  A learner whose schedule depends on
    the step alone (``length_free_schedule``: sparse coding, the sparse CNN) also keeps its final training
    state in the cache (:func:`final_state_path`), and with ``continues`` (the spec of a shorter training
    of the same learner, differing in its length parameter only) a longer training starts from that
    shorter training's final state when this run or another experiment of its results folder kept it
    (:func:`kept_final_state`): the same bank, bit for bit, as training from the start (the checkpoints'
    fingerprint and resume guarantee it), for the cost of the extra steps only."""
    key = _bank_key(run, spec, images)
    shorter = _bank_key(run, continues, images) if continues is not None and length_free(spec.method) else None

    def compute(checkpoint=None):
        start = kept_final_state(run, shorter) if shorter is not None else None
        if checkpoint is not None and start is not None and not Path(checkpoint).exists():
            Path(checkpoint).parent.mkdir(parents=True, exist_ok=True)
            write_bytes(checkpoint, start.read_bytes())     # atomic copies: a killed copy leaves no torn file
        bank = learn_filters(spec.method, key["subset"], n_filters=spec.n_filters, patch_size=spec.patch_size,
                             random_state=spec.seed, device=run.device, n_patches=spec.n_patches,
                             progress=run.progress, checkpoint=checkpoint, **spec.params)
        if checkpoint is not None and Path(checkpoint).exists() and length_free(spec.method):
            write_bytes(final_state_path(run, key), Path(checkpoint).read_bytes())
        return bank.to_arrays()

    run.record_image_subset(spec.seed, key["subset"])
    bank = FilterBank.from_arrays(run.step(f"bank-{spec.method}", key["params"], compute,
                                           resumable=resumable(spec.method)))
    check(run, code_warning(bank, f"{spec.method}, seed {spec.seed}"))
    return bank


def _bank_key(run, spec: BankSpec, images) -> dict:
    """The images ``spec``'s seed learns from (``subset``) and the cache key of its bank (``params``)."""
    from ..data import IMAGE_FRACTION, seed_images

    fraction = run.config.get("image_fraction", IMAGE_FRACTION)
    subset = seed_images(images, random_state=spec.seed, fraction=fraction)
    params = {"method": spec.method, "images": [im.sha256 for im in subset], "image_fraction": fraction,
              "n_filters": spec.n_filters, "patch_size": spec.patch_size, "seed": spec.seed,
              "params": dict(spec.params), "device": run.device, "n_patches": spec.n_patches}
    return {"subset": subset, "params": params}


def length_free(method: str) -> bool:
    """Whether ``method``'s training schedule depends on the step alone, so that its final state continues
    a longer training (:class:`~effcode.learners.training.IterativeLearner`)."""
    return bool(getattr(LEARNERS.get(method), "length_free_schedule", False))


def final_state_path(run, key: dict) -> Path:
    """Where the final training state of the bank with cache key ``key`` (:func:`_bank_key`) is kept: in the
    run's cache, named by the key and the code of the learners."""
    digest = config_hash({"bank": key["params"], "code": code_hash(learn_filters)})[:16]
    return run.dir / "cache" / f"final-state-{key['params']['method']}-{digest}.pt"


def kept_final_state(run, key: dict) -> Path | None:
    """The final training state of the bank with cache key ``key`` kept by this run or by another experiment
    of the same results folder (:func:`final_state_path`), or None when none kept it."""
    own = final_state_path(run, key)
    found = [path for path in (own, *sorted(run.dir.parent.glob(f"*/cache/{own.name}"))) if path.is_file()]
    return found[0] if found else None


def standard_spec(label: str, *, quick: bool, seed: int) -> BankSpec:
    """The bank spec of a standard learner ("sparse coding", "ICA", "sparse CNN"): the one its own
    experiment (01, 02, 03) learns at its default (or quick) settings, with ``seed``."""
    exp = get_experiment(STANDARD_LEARNERS[label])
    spec = exp.bank(exp.config(quick=quick), seed) if exp.bank is not None else None
    if not isinstance(spec, BankSpec):
        raise TypeError(f"experiment {exp.slug} declares no filter bank")
    return spec


#: the standard learners and the experiment that defines each one's bank
STANDARD_LEARNERS = {"sparse coding": "01", "ICA": "02", "sparse CNN": "03"}


def filters_digest(filters: np.ndarray) -> str:
    """The hash that identifies a (K, h, w) filter array in the cache."""
    filters = np.ascontiguousarray(filters, dtype=np.float32)
    return hashlib.sha256(filters.tobytes() + str(filters.shape).encode()).hexdigest()


def gabor_table(run, filters: np.ndarray) -> dict[str, np.ndarray]:
    """The Gabor-fit table of a (K, h, w) array (cached on the array's bytes)."""
    from ..gabor import fit_gabors

    filters = np.ascontiguousarray(filters, dtype=np.float32)
    return run.step("gabor", {"filters": filters_digest(filters)},
                    lambda: fit_gabors(filters, device=run.device, progress=run.progress))


def tuning_table(run, filters: np.ndarray, pixels_per_degree: float) -> dict[str, np.ndarray]:
    """Grating tuning of every filter of a (K, h, w) array (cached on the array's bytes)."""
    from ..gabor import grating_tuning

    filters = np.ascontiguousarray(filters, dtype=np.float32)
    return run.step("tuning", {"filters": filters_digest(filters), "ppd": pixels_per_degree},
                    lambda: grating_tuning(filters, pixels_per_degree=pixels_per_degree))


def measured_receptive_fields(bank: FilterBank, *, stimulus: str, n_stimuli: int | None, seed: int) -> ReceptiveFields:
    """The receptive fields of a bank's units measured by in-silico physiology
    (:func:`effcode.v1.measure_receptive_fields`: ``stimulus`` ensemble in raw stimulus space, through the
    learner's whole front end and inference, ``n_stimuli`` stimuli (None: the measurement's default) at the
    training contrast)."""
    return measure_receptive_fields(bank, bank.patch_shape[0], stimulus=stimulus, n_stimuli=n_stimuli,
                                    random_state=seed)


def population_array(run, bank: FilterBank, population: str, *, stimulus: str, n_stimuli: int | None,
                     seed: int) -> np.ndarray:
    """The (K, p, p) array of ``population``: ``"measured_rf"`` (cached in the run on the bank's arrays,
    config and the measurement's settings), or the bank's ``"filters"`` or ``"basis"``."""
    if population != "measured_rf":
        return getattr(bank, population)
    key = {"method": bank.method, "filters": filters_digest(bank.filters), "basis": filters_digest(bank.basis),
           "config": bank.config, "state": {k: filters_digest(v) for k, v in sorted(bank.state.items())},
           "stimulus": stimulus, "n_stimuli": n_stimuli, "seed": seed}
    arrays = run.step("receptive-fields", key, lambda: measured_receptive_fields(
        bank, stimulus=stimulus, n_stimuli=n_stimuli, seed=seed).to_arrays())
    rfs = ReceptiveFields.from_arrays(arrays)
    check(run, dead_units_warning(rfs, f"{bank.method} (measured receptive fields, seed {seed})"))
    return rfs.scored_array()


def scorer_config(cfg: dict) -> dict:
    """The scorer's keys of a config (:data:`SCORER_DEFAULTS`), passed with every point."""
    return {k: cfg[k] for k in SCORER_DEFAULTS}


def scorer_settings(cfg: dict) -> dict:
    """The scorer's keyword arguments from an experiment config (:func:`scorer_config` less the keys that choose
    the population, :data:`POPULATION_KEYS`)."""
    return {k: v for k, v in scorer_config(cfg).items() if k not in POPULATION_KEYS}


def score(run, bank: FilterBank, *, name: str, cfg: dict, population: str | None = None, seed: int | None = None,
          stimulus: str | None = None):
    """:func:`effcode.v1.score_population` of one bank's ``population`` (default: the config's; measured
    receptive fields with the config's ``rf_stimulus`` unless ``stimulus`` is given), with the measurement,
    Gabor fit and grating tuning cached in the run."""
    from ..v1 import score_population

    population = population or cfg["population"]
    seed = run.seed if seed is None else seed
    filters = population_array(run, bank, population, stimulus=stimulus or cfg["rf_stimulus"],
                               n_stimuli=cfg["rf_n_stimuli"], seed=seed)
    settings = scorer_settings(cfg)
    fit = gabor_table(run, filters)
    check(run, r2_warning(fit["r2"], filters.shape[1:], f"{name} ({population}, seed {seed})"))
    return score_population(filters, population=population, name=name, random_state=seed,
                            device=run.device, progress=run.progress, fit=fit,
                            tuning=tuning_table(run, filters, settings["pixels_per_degree"]), **settings)


def fmt(value, digits: int = 2) -> str:
    """A number for the report: fixed digits, or an en dash when missing."""
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "–"
    return f"{value:.{digits}f}"


#: the scalar metrics a sweep point reports (flattened from the scorer's result).  Every unit with R² ≥ the
#: threshold is compared; ``n_resolved`` counts those placed in one Ringach bin by their intervals and
#: ``n_unresolved`` the undetermined ones.  ``_least`` / ``_most`` are the ends of the bracket (undetermined
#: units at the ends of their intervals that make the population least / most V1-like), beside the point value
POINT_METRICS = ("median_r2", "frac_r2_0.7", "frac_r2_0.8", "frac_r2_0.9", "n_compared", "n_resolved", "n_unresolved",
                 "n_in_grid", "nxny_distance", "nxny_p_value", "nxny_null_95", "nxny_distance_least",
                 "nxny_p_value_least", "nxny_distance_most", "nxny_p_value_most", "nxny_distance_in_grid",
                 "median_nx", "median_ny", "blob_fraction", "blob_fraction_least", "blob_fraction_most",
                 "fewer_blobs_p_value", "fewer_blobs_p_value_least", "fewer_blobs_p_value_most",
                 "mean_similarity", "active_fraction")


def point_metrics(scored, bank: FilterBank) -> dict:
    """The flat row of :data:`POINT_METRICS` for one scored bank."""
    m = scored.metrics()
    nan = float("nan")
    bracket, blobs = m["nxny_bracket"], m["blob_fraction"]
    fewer_blobs = m["findings"]["fewer_blobs"]
    return {"median_r2": m["r2"]["median_r2"], **{f"frac_r2_{t:.1f}": m["r2"][f"frac_r2_{t:.1f}"]
                                                   for t in R2_LEVELS},
            "n_compared": m["funnel"]["R² ≥ threshold"], "n_resolved": m["funnel"]["nx and ny resolved"],
            "n_unresolved": m["n_unresolved"], "n_in_grid": m["funnel"]["inside the reference grid"],
            "nxny_distance": m["nxny_distance"], "nxny_p_value": m["nxny_p_value"],
            "nxny_null_95": m["nxny"].get("null_95", nan),
            **{f"nxny_{stat}_{end}": bracket.get(end, {}).get(stat, nan)
               for end in ("least", "most") for stat in ("distance", "p_value")},
            "nxny_distance_in_grid": m["nxny_in_grid"].get("distance", nan),
            "median_nx": m["median_nx"]["value"], "median_ny": m["median_ny"]["value"],
            "blob_fraction": blobs.get("point", nan), "blob_fraction_least": blobs.get("lo", nan),
            "blob_fraction_most": blobs.get("hi", nan),
            **{f"fewer_blobs_p_value{suffix}": fewer_blobs.get(end, {}).get("p_value", nan)
               for end, suffix in (("point", ""), ("least", "_least"), ("most", "_most"))},
            "mean_similarity": m["mean_similarity"],
            "active_fraction": float(bank.history["sparsity"][-1]) if "sparsity" in bank.history else nan}


def learn_and_score(point: dict, checkpoint=None):
    """Learn a bank for one sweep point and score it with the one scorer; returns ``(scored, bank)``.

    ``point`` keys: ``method``, ``source``, ``n_filters``, ``patch_size``, ``seed``, ``device``, optionally
    ``image_fraction`` (the bank learns from its seed's subset of the images, as :func:`learned_bank`'s
    do; default :data:`effcode.data.IMAGE_FRACTION`), and the scorer's keys (:data:`SCORER_DEFAULTS`;
    missing ones take their defaults); every other key is passed to the learner.  Runs on one torch
    thread: joblib's and dask's workers would otherwise get cores / n_jobs each.  ``checkpoint`` (a file
    path, :func:`effcode.runs.run_sweep`'s) is where a learner that can resume
    (:func:`effcode.learners.resumable`) saves its training as it goes, and continues from; other
    learners train without one.  The finished bank is kept beside it until the point is saved
    (:func:`effcode.runs.sweep.finished_training`), so a point killed while it is scored is not
    trained again.
    """
    import torch

    from ..data import IMAGE_FRACTION, load_images, seed_images
    from ..gabor.lm import single_threaded
    from ..runs.sweep import finished_training
    from ..v1 import score_population

    point = dict(point)
    fixed = {k: point.pop(k) for k in ("method", "source", "n_filters", "patch_size", "seed", "device")}
    fraction = point.pop("image_fraction", IMAGE_FRACTION)
    settings = {k: point.pop(k, default) for k, default in SCORER_DEFAULTS.items()}

    def train() -> dict[str, np.ndarray]:
        images = seed_images(load_images(fixed["source"]), random_state=fixed["seed"], fraction=fraction)
        return learn_filters(fixed["method"], images, n_filters=fixed["n_filters"], patch_size=fixed["patch_size"],
                             random_state=fixed["seed"], device=fixed["device"],
                             checkpoint=checkpoint if resumable(fixed["method"]) else None, **point).to_arrays()

    with single_threaded(torch.device("cpu")):
        bank = FilterBank.from_arrays(finished_training(checkpoint, train))
        population, stimulus, n_stimuli = (settings.pop(k) for k in POPULATION_KEYS)
        filters = (measured_receptive_fields(bank, stimulus=stimulus, n_stimuli=n_stimuli,
                                             seed=fixed["seed"]).scored_array()
                   if population == "measured_rf" else getattr(bank, population))
        scored = score_population(filters, population=population, name=fixed["method"], random_state=fixed["seed"],
                                  device=fixed["device"], progress=False, **settings)
    return scored, bank


def evaluate_point(point: dict, checkpoint=None) -> dict:
    """:func:`point_metrics` of one sweep point (:func:`learn_and_score`, training checkpointed to
    ``checkpoint``).  Module-level so that joblib and dask can send it to worker processes."""
    return point_metrics(*learn_and_score(point, checkpoint))
