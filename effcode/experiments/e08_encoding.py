"""Experiment 08: population encoding models (GLM, CNN, efficient-coding front end) of V1 cells.

On a simulated population (LN simple cells and energy-model complex cells with Poisson spikes,
known ground truth), or on recordings (``recordings=antolik2016`` or a user's npz/folder), the
three models of :func:`effcode.encoding.fit_encoding_model` are fitted to every cell at once and
scored on held-out stimuli.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..plots.figure import new_figure, save_figure
from ..runs.config import Key, front_end_names, learner_names
from .base import Experiment, Section, register
from .common import BankSpec, fmt, learned_bank, source_images

MODELS = ("glm", "cnn", "efficient")
MODEL_LABELS = {"glm": "GLM", "cnn": "CNN", "efficient": "efficient (learned filters)"}
CELL_TYPES = ("simple", "complex")
#: scores against the recorded (here: simulated) trials, as for real data
METRICS = ("correlation", "feve", "bits_per_spike")
METRIC_LABELS = {"correlation": "held-out correlation", "feve": "FEVE", "bits_per_spike": "bits/spike",
                 "true_correlation": "correlation with the true rate", "filter_r2": "GLM filter R²"}
COLOURS = {"glm": "tab:orange", "cnn": "tab:blue", "efficient": "tab:green"}


# ----------------------------------------------------------------------------- the simulated population


def cell_specs(cfg: dict, seed: int) -> list[dict]:
    """``n_simple`` simple and ``n_complex`` complex cells: random orientation, phase and centre."""
    rng = np.random.default_rng([seed, 8])
    centre = (cfg["patch_size"] - 1) / 2
    specs = []
    for kind in CELL_TYPES:
        for _ in range(cfg[f"n_{kind}"]):
            x0, y0 = centre + rng.uniform(-cfg["position_jitter"], cfg["position_jitter"], 2)
            specs.append({"kind": kind, "theta_deg": float(rng.uniform(0, 180)), "phase": float(rng.uniform(0, 2 * np.pi)),
                          "x0": float(x0), "y0": float(y0)})
    return specs


def make_cell(spec: dict, cfg: dict, x_train: np.ndarray):
    """The ground-truth neuron of ``spec``, calibrated to ``mean_rate`` on the training stimuli."""
    from ..encoding import make_complex_cell, make_simple_cell

    gabor = dict(theta=np.radians(spec["theta_deg"]), freq=cfg["freq"], sigma=cfg["sigma"], x0=spec["x0"],
                 y0=spec["y0"])
    if spec["kind"] == "simple":
        return make_simple_cell(x_train, **gabor, phase=spec["phase"], mean_rate=cfg["mean_rate"],
                                drive_std=cfg["drive_std"])
    return make_complex_cell(x_train, **gabor, mean_rate=cfg["mean_rate"])


def true_filters(cell) -> np.ndarray:
    """The ground-truth receptive field(s): (1, p, p) for a simple cell, the (2, p, p) quadrature pair."""
    return cell.filter[None] if hasattr(cell, "filter") else np.stack([cell.even, cell.odd])


def simulated_data(run, cfg: dict, images) -> dict:
    """Stimuli (flattened and as images), cells, true rates, training counts and test trials."""
    from ..encoding import natural_patches

    p = cfg["patch_size"]
    x = natural_patches(images, p, cfg["n_train"] + cfg["n_test"], random_state=run.seed)
    x_train, x_test = x[:cfg["n_train"]], x[cfg["n_train"]:]
    specs = cell_specs(cfg, run.seed)
    cells = [make_cell(spec, cfg, x_train) for spec in specs]
    rng = np.random.default_rng([run.seed, 8, 1])
    train_rate = np.stack([c.rate(x_train) for c in cells], axis=1)
    test_rate = np.stack([c.rate(x_test) for c in cells], axis=1)
    return {"x_train": x_train, "x_test": x_test, "train_images": x_train.reshape(-1, p, p),
            "test_images": x_test.reshape(-1, p, p), "specs": specs, "cells": cells, "test_rate": test_rate,
            "y_train": rng.poisson(train_rate).astype(np.float64),
            "test_trials": rng.poisson(test_rate, size=(cfg["n_repeats"], *test_rate.shape)).astype(np.float64)}


def true_response(cells):
    """The ground-truth population as a model: images (n, p, p) -> rates (n, cells)."""
    return lambda images: np.stack([c.rate(np.asarray(images).reshape(len(images), -1)) for c in cells], axis=1)


# ------------------------------------------------------------------------------------- fitting


def efficient_spec(cfg: dict, seed: int) -> BankSpec:
    """The filter bank of the efficient model's front end, learned from the natural images."""
    return BankSpec(cfg["efficient_method"], patch_size=cfg["efficient_patch_size"],
                    n_filters=cfg["efficient_n_filters"], n_patches=cfg["efficient_n_patches"], seed=seed)


def model_params(name: str, cfg: dict) -> dict:
    """The keyword arguments of ``fit_encoding_model`` for model ``name`` (the bank excluded)."""
    if name == "glm":
        return {"smoothness": cfg["glm_smoothness"]}
    if name == "cnn":
        return {"n_channels": cfg["cnn_channels"], "kernel_size": cfg["cnn_kernel"],
                "hidden_channels": cfg["cnn_hidden"], "n_epochs": cfg["cnn_epochs"],
                "readout_l1": cfg["cnn_readout_l1"]}
    return {"front_end": cfg["efficient_front_end"], "readout_l1": cfg["efficient_readout_l1"],
            "n_epochs": cfg["efficient_epochs"]}


def fitted_model(run, cfg: dict, name: str, images, train_images, train_responses, data_key, *,
                 params: dict | None = None, bank_spec: BankSpec | None = None):
    """Model ``name`` fitted to the population (cached on everything it depends on); ``params`` and
    ``bank_spec`` replace :func:`model_params` and :func:`efficient_spec` where given."""
    from ..encoding import fit_encoding_model, load_encoding_model

    params = model_params(name, cfg) if params is None else params
    bank_spec = efficient_spec(cfg, run.seed) if bank_spec is None else bank_spec
    bank = learned_bank(run, bank_spec, images) if name == "efficient" else None
    key = {"model": name, "data": data_key, "params": params, "noise": cfg["noise"], "seed": run.seed,
           "device": run.device, "validation_fraction": cfg["validation_fraction"],
           "bank": None if bank is None else {"spec": str(bank_spec), "images": [im.sha256 for im in images]}}

    def compute():
        extra = {"bank": bank.filters} if bank is not None else {}
        model = fit_encoding_model(train_images, train_responses, model=name, noise=cfg["noise"], random_state=run.seed,
                                   device=run.device, validation_fraction=cfg["validation_fraction"], **params,
                                   **extra)
        return model.to_arrays()

    return load_encoding_model(run.step(f"encoding-{name}", key, compute), device=run.device)


def simulated_key(run, cfg: dict, images) -> dict:
    keys = ("patch_size", "n_train", "n_test", "n_repeats", "n_simple", "n_complex", "position_jitter", "freq",
            "sigma", "mean_rate", "drive_std")
    return {"images": [im.sha256 for im in images], "seed": run.seed, **{k: cfg[k] for k in keys}}


def population(run, cfg: dict, images) -> dict:
    """The simulated population and the three models fitted to it (used by experiments 09 and 11).

    ``cells`` lists, per cell, its ``spec``, ground-truth ``cell`` and the population ``cnn``
    (shared by all cells)."""
    data = simulated_data(run, cfg, images)
    key = simulated_key(run, cfg, images)
    models = {name: fitted_model(run, cfg, name, images, data["train_images"], data["y_train"], key)
              for name in MODELS}
    data["models"] = models
    data["cells"] = [{"spec": spec, "cell": cell, "cnn": models["cnn"]} for spec, cell in zip(data["specs"],
                                                                                            data["cells"])]
    return data


def recordings_models(run, cfg: dict, images) -> list[dict]:
    """Per recorded population of ``cfg["recordings"]``: its data and the three fitted models."""
    from ..encoding import load_recordings

    out = []
    for rec in load_recordings(cfg["recordings"]):
        import hashlib

        digest = hashlib.sha256()
        for array in (rec.train_stimuli, rec.train_responses):
            digest.update(np.ascontiguousarray(array).tobytes())
        key = {"recordings": rec.name, "sha256": digest.hexdigest()}
        models = {name: fitted_model(run, cfg, name, images, rec.train_stimuli, rec.train_responses, key)
                  for name in MODELS}
        out.append({"recordings": rec, "models": models})
    return out


# ------------------------------------------------------------------- the Antolík-shaped population


def antolik_params(name: str, cfg: dict) -> dict:
    """Model ``name``'s keyword arguments on the Antolík-shaped recordings: inferred rates are not counts, so
    the Gaussian likelihood; the readout models end in a softplus (rates are non-negative)."""
    if name == "glm":
        return {"smoothness": cfg["antolik_glm_smoothness"]}
    epochs = {"cnn_epochs": cfg["antolik_epochs"], "efficient_epochs": cfg["antolik_epochs"]}
    return {**model_params(name, {**cfg, **epochs}), "output": "softplus"}


def antolik_population(run, cfg: dict, images, seed: int) -> list[dict]:
    """Per simulated region of seed ``seed``: the region (:class:`effcode.encoding.simulation.SimulatedRegion`,
    at most ``antolik_max_cells`` cells when that is positive) and the three models fitted to it."""
    from ..encoding import simulate_antolik2016

    spec = BankSpec(cfg["efficient_method"], patch_size=cfg["efficient_patch_size"],
                    n_filters=cfg["antolik_n_filters"], n_patches=cfg["efficient_n_patches"], seed=run.seed)
    out = []
    for region in simulate_antolik2016(images, random_state=seed, regions=cfg["antolik_regions"]):
        if cfg["antolik_max_cells"] > 0:
            region = region.subset(cfg["antolik_max_cells"])
        rec = region.recordings
        key = {"antolik2016_sim": rec.name, "seed": seed, "cells": rec.n_cells,
               "images": [im.sha256 for im in images]}
        models = {name: fitted_model(run, {**cfg, "noise": "gaussian"}, name, images, rec.train_stimuli,
                                     rec.train_responses, key, params=antolik_params(name, cfg), bank_spec=spec)
                  for name in MODELS}
        out.append({"region": region, "models": models, "seed": seed})
    return out


ANTOLIK_METRICS = ("feve", "oracle", "fraction_of_oracle", "log_likelihood", "true_correlation")
ANTOLIK_LABELS = {"feve": "FEVE", "oracle": "oracle correlation", "fraction_of_oracle": "fraction of oracle",
                  "log_likelihood": "held-out log-likelihood gain (nats/trial)",
                  "true_correlation": "correlation with the true rate"}


def antolik_scores(model, region) -> dict:
    """Per cell of one simulated region: the metrics of :data:`ANTOLIK_METRICS`."""
    from ..encoding import (correlation_per_cell, feve_per_cell, fraction_of_oracle_per_cell,
                            gaussian_log_likelihood_gain_per_cell, oracle_correlation_per_cell)

    rec = region.recordings
    pred = model.predict(rec.test_stimuli)
    return {"feve": feve_per_cell(pred, rec.test_responses), "oracle": oracle_correlation_per_cell(rec.test_responses),
            "fraction_of_oracle": fraction_of_oracle_per_cell(pred, rec.test_responses),
            "log_likelihood": gaussian_log_likelihood_gain_per_cell(pred, rec.test_responses,
                                                                    rec.train_responses.mean(axis=0)),
            "true_correlation": correlation_per_cell(pred, region.test_rate)}


def seeds_and_cells_summary(values: np.ndarray, seeds: np.ndarray, n_bootstrap: int, seed: int) -> dict:
    """Median of the finite ``values`` with a 95% interval from a two-level bootstrap: the seeds drawn with
    replacement, then the cells within each drawn seed (one level, over cells, when there is one seed)."""
    keep = np.isfinite(values)
    values, seeds = np.asarray(values, dtype=float)[keep], np.asarray(seeds)[keep]
    if not values.size:
        return {"median": float("nan"), "lo": float("nan"), "hi": float("nan"), "n_cells": 0, "n_seeds": 0}
    groups = [values[seeds == s] for s in np.unique(seeds)]
    rng = np.random.default_rng(seed)
    medians = np.empty(n_bootstrap)
    for b in range(n_bootstrap):
        drawn = [groups[i] for i in rng.integers(len(groups), size=len(groups))]
        medians[b] = np.median(np.concatenate([g[rng.integers(len(g), size=len(g))] for g in drawn]))
    lo, hi = np.percentile(medians, [2.5, 97.5])
    return {"median": float(np.median(values)), "lo": float(lo), "hi": float(hi), "n_cells": int(values.size),
            "n_seeds": len(groups)}


def compute_antolik(run, cfg: dict, images) -> dict:
    """Experiment 08 on the Antolík-shaped simulation: per-cell scores (``cells_antolik.csv``) and the
    summaries by model and cell type over cells and seeds."""
    table: dict[str, Any] = {"seed": [], "region": [], "cell": [], "kind": []}
    values: dict[str, dict[str, list]] = {name: {m: [] for m in ANTOLIK_METRICS} for name in MODELS}
    shapes = {}
    for seed in cfg["antolik_seeds"]:
        for entry in antolik_population(run, cfg, images, seed):
            region, rec = entry["region"], entry["region"].recordings
            shapes[rec.name] = {"n_train": int(len(rec.train_stimuli)), "n_cells": rec.n_cells,
                                "n_test": int(len(rec.test_stimuli)), "n_repeats": int(rec.test_responses.shape[0])}
            table["seed"] += [seed] * rec.n_cells
            table["region"] += [rec.name] * rec.n_cells
            table["cell"] += list(range(rec.n_cells))
            table["kind"] += list(region.kinds)
            for name, model in entry["models"].items():
                for metric, v in antolik_scores(model, region).items():
                    values[name][metric].append(v)
    flat = {name: {m: np.concatenate(v) for m, v in metrics.items()} for name, metrics in values.items()}
    for name in MODELS:
        for m in ANTOLIK_METRICS:
            table[f"{name}_{m}"] = flat[name][m]
    run.save_csv("cells_antolik.csv", {k: np.asarray(v) for k, v in table.items()})
    kinds, seeds = np.asarray(table["kind"]), np.asarray(table["seed"])
    groups = {"all": np.ones(kinds.size, bool), **{kind: kinds == kind for kind in CELL_TYPES}}
    summary = {name: {group: {m: seeds_and_cells_summary(flat[name][m][sel], seeds[sel], cfg["n_bootstrap"], run.seed)
                              for m in ANTOLIK_METRICS} for group, sel in groups.items()} for name in MODELS}
    bridge = {group: seeds_and_cells_summary(flat["efficient"]["feve"][sel] - flat["cnn"]["feve"][sel], seeds[sel],
                                             cfg["n_bootstrap"], run.seed) for group, sel in groups.items()}
    return {"table": summary, "bridge": bridge, "shapes": shapes, "seeds": list(cfg["antolik_seeds"]),
            "n_cells": {group: int(sel.sum()) for group, sel in groups.items()}}


# ------------------------------------------------------------------------------------- compute


def paired_difference(a: np.ndarray, b: np.ndarray, n_bootstrap: int, seed: int) -> dict:
    """Median over cells of ``a - b`` with a 95% bootstrap interval (cells with both values)."""
    return median_summary(np.asarray(a, dtype=float) - np.asarray(b, dtype=float), n_bootstrap, seed)


def median_summary(values, n_bootstrap: int, seed: int) -> dict:
    """Median of the finite ``values`` with a 95% bootstrap interval and the number of cells (NaN when none)."""
    from ..v1 import bootstrap_median

    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if not values.size:
        return {"median": float("nan"), "lo": float("nan"), "hi": float("nan"), "n_cells": 0}
    median, lo, hi = bootstrap_median(values, n_bootstrap, seed)
    return {"median": median, "lo": lo, "hi": hi, "n_cells": int(values.size)}


def summaries(values: dict, groups: dict, n_bootstrap: int, seed: int) -> dict:
    """``{model: {group: {metric: median/lo/hi/n_cells}}}`` from per-cell ``values[model][metric]``."""
    return {name: {group: {metric: median_summary(np.asarray(v)[selection], n_bootstrap, seed)
                           for metric, v in metrics.items()}
                   for group, selection in groups.items()}
            for name, metrics in values.items()}


def compute_simulated(run, cfg: dict, images) -> None:
    from ..encoding import correlation_per_cell, filter_r2

    pop = population(run, cfg, images)
    kinds = np.array([s["kind"] for s in pop["specs"]])
    table = {"cell": np.arange(len(kinds)), "kind": kinds,
             **{k: np.array([s[k] for s in pop["specs"]]) for k in ("theta_deg", "phase", "x0", "y0")}}
    values, predictions = {}, {"true_rate": pop["test_rate"][:cfg["n_plot"]]}
    for name, model in pop["models"].items():
        scores = model.score_table(pop["test_images"], pop["test_trials"])
        pred = model.predict(pop["test_images"])
        values[name] = {"correlation": scores.correlation, "feve": scores.feve, "bits_per_spike": scores.bits_per_spike,
                        "true_correlation": correlation_per_cell(pred, pop["test_rate"])}
        predictions[name] = pred[:cfg["n_plot"]]
    glm = pop["models"]["glm"]
    values["glm"]["filter_r2"] = np.array([filter_r2(glm.filters_[i], true_filters(entry["cell"]))
                                           for i, entry in enumerate(pop["cells"])])
    for name, metrics in values.items():
        for metric, v in metrics.items():
            table[f"{name}_{metric}"] = v
    run.save_csv("cells.csv", table)
    run.save_npz("predictions.npz", **predictions)
    run.save_npz("filters.npz", true=np.stack([true_filters(e["cell"])[0] for e in pop["cells"]]),
                 glm=glm.filters_, cnn=pop["models"]["cnn"].conv_filters_,
                 efficient=pop["models"]["efficient"].bank_filters_,
                 cnn_masks=pop["models"]["cnn"].spatial_masks_, kinds=kinds)
    groups = {kind: kinds == kind for kind in CELL_TYPES}
    bridge = {kind: {metric: paired_difference(values["efficient"][metric][groups[kind]],
                                               values["cnn"][metric][groups[kind]], cfg["n_bootstrap"], run.seed)
                     for metric in ("feve", "true_correlation")} for kind in CELL_TYPES}
    run.save_json("metrics.json", {
        "recordings": "simulated", "table": summaries(values, groups, cfg["n_bootstrap"], run.seed), "bridge": bridge,
        "n_cells": {kind: int(groups[kind].sum()) for kind in CELL_TYPES}, "n_train": cfg["n_train"],
        "n_test": cfg["n_test"], "n_repeats": cfg["n_repeats"],
        "chosen": {"glm_smoothness_median": float(np.median(glm.smoothness_)),
                   "cnn_readout_l1": pop["models"]["cnn"].readout_l1_,
                   "cnn_best_epoch": pop["models"]["cnn"].best_epoch_,
                   "efficient_readout_l1": pop["models"]["efficient"].readout_l1_,
                   "efficient_best_epoch": pop["models"]["efficient"].best_epoch_},
        "efficient_bank": {"method": cfg["efficient_method"], "n_filters": cfg["efficient_n_filters"],
                           "patch_size": cfg["efficient_patch_size"], "front_end": cfg["efficient_front_end"]},
        "antolik": compute_antolik(run, cfg, images) if cfg["antolik_seeds"] else None})


def compute_recordings(run, cfg: dict, images) -> None:
    results: dict[str, dict] = {}
    table: dict[str, Any] = {"recordings": [], "cell": []}
    values: dict[str, dict[str, list]] = {name: {m: [] for m in METRICS} for name in MODELS}
    for entry in recordings_models(run, cfg, images):
        rec = entry["recordings"]
        table["recordings"] += [rec.name] * rec.n_cells
        table["cell"] += list(range(rec.n_cells))
        per_model = {}
        for name, model in entry["models"].items():
            scores = model.score_table(rec.test_stimuli, rec.test_responses)
            per_model[name] = {m: getattr(scores, m) for m in METRICS}
            for m in METRICS:
                values[name][m].append(per_model[name][m])
        results[rec.name] = {name: {m: np.asarray(v) for m, v in per_model[name].items()} for name in MODELS}
        results[rec.name]["noise"] = entry["models"]["glm"].noise_
    flat = {name: {m: np.concatenate(v) for m, v in metrics.items()} for name, metrics in values.items()}
    for name in MODELS:
        for m in METRICS:
            table[f"{name}_{m}"] = flat[name][m]
    run.save_csv("cells.csv", {k: np.asarray(v) for k, v in table.items()})
    names = np.asarray(table["recordings"])
    groups = {rec: names == rec for rec in results}
    run.save_json("metrics.json", {
        "recordings": cfg["recordings"], "table": summaries(flat, groups, cfg["n_bootstrap"], run.seed),
        "noise": {rec: r["noise"] for rec, r in results.items()},
        "n_cells": {rec: int(sel.sum()) for rec, sel in groups.items()}})


def compute(run) -> None:
    cfg = run.config
    if cfg["recordings"] != "simulated":
        from ..encoding import load_recordings

        load_recordings(cfg["recordings"])   # a one-line error now if the data are not there
    images = source_images(run)
    if cfg["recordings"] == "simulated":
        compute_simulated(run, cfg, images)
    else:
        compute_recordings(run, cfg, images)


# ------------------------------------------------------------------------------------- report


def _cell(summary: dict, digits: int = 2) -> str:
    if summary["n_cells"] == 0 or not np.isfinite(summary["median"]):
        return "–"
    return f"{fmt(summary['median'], digits)} [{fmt(summary['lo'], digits)}, {fmt(summary['hi'], digits)}]"


def table_text(metrics: dict) -> str:
    """The markdown table: a row per model and group (cell type or recording), a column per metric."""
    simulated = metrics["recordings"] == "simulated"
    columns = list(METRICS) + (["true_correlation", "filter_r2"] if simulated else [])
    group_label = "cell type" if simulated else "recordings"
    rows = [f"| model | {group_label} | cells | " + " | ".join(METRIC_LABELS[c] for c in columns) + " |",
            "|" + "---|" * (3 + len(columns))]
    for name in MODELS:
        groups = CELL_TYPES if simulated else list(metrics["table"][name])
        for group in groups:
            table = metrics["table"][name][group]
            cells = [_cell(table[c], 3 if c == "bits_per_spike" else 2) if c in table else "–" for c in columns]
            rows.append(f"| {MODEL_LABELS[name]} | {group} | {metrics['n_cells'][group]} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def _compare(d: dict, a: str, b: str, what: str) -> str:
    interval = f"(median difference {fmt(d['median'])} [95% CI {fmt(d['lo'])}, {fmt(d['hi'])}], {d['n_cells']} cells)"
    if d["hi"] < 0:
        return f"{a} predicts {what} worse than {b} {interval}"
    if d["lo"] > 0:
        return f"{a} predicts {what} better than {b} {interval}"
    return f"{a} predicts {what} as well as {b}: no difference resolved {interval}"


def bridge_text(metrics: dict) -> str:
    """The answer to "do filters learned from natural images predict V1 responses as well as a network
    trained on the responses?" on the simulated population, per cell type."""
    b = metrics["efficient_bank"]
    parts = []
    for kind in CELL_TYPES:
        d = metrics["bridge"][kind]["feve"]
        parts.append(_compare(d, "the efficient model", "the CNN", f"{kind} cells (FEVE)"))
    return (f"Do filters learned from natural images predict V1 responses as well as a network trained on the "
            f"responses? On this simulated population, with {b['n_filters']} {b['method']} filters of "
            f"{b['patch_size']} x {b['patch_size']} pixels and a{'n' if b['front_end'][0] in 'ae' else ''} "
            f"{b['front_end']} front end (paired over cells, efficient − CNN): " + "; ".join(parts) + ".")


def antolik_text(antolik: dict) -> str:
    """The table of the Antolík-shaped simulation: a row per model and cell group, a column per metric."""
    rows = ["| model | cells | n | " + " | ".join(ANTOLIK_LABELS[m] for m in ANTOLIK_METRICS) + " |",
            "|---|---|---|" + "---|" * len(ANTOLIK_METRICS)]
    for name in MODELS:
        for group, by_metric in antolik["table"][name].items():
            rows.append(f"| {MODEL_LABELS[name]} | {group} | {antolik['n_cells'][group]} | "
                        + " | ".join(_cell(by_metric[m]) for m in ANTOLIK_METRICS) + " |")
    shapes = "; ".join(f"{name}: {v['n_train']} training images, {v['n_cells']} cells, {v['n_test']} test images x "
                       f"{v['n_repeats']} repeats" for name, v in antolik["shapes"].items())
    parts = [_compare(antolik["bridge"][group], "the efficient model", "the CNN", f"{group} cells (FEVE)")
             for group in ("simple", "complex")]
    return ("**Antolík-shaped simulation** (`antolik2016_sim`: 31 x 31 natural-image crops, 60% threshold-linear LN "
            "simple and 40% energy complex cells, calcium-like noise: Poisson spikes times Gamma(4, mean 1) "
            "amplitudes plus N(0, 0.2²), clipped at 0; Gaussian likelihood; see docs/encoding.md). "
            f"Seeds {antolik['seeds']}; {shapes}.\n\n" + "\n".join(rows) +
            "\n\nMedians over cells [95% interval from a bootstrap over seeds, then cells]. Oracle: the correlation "
            "of each test trial with the mean of the other trials of its image; fraction of oracle: the correlation "
            "of the prediction with single trials over the oracle, per cell (Klindt et al. 2017). Log-likelihood: the "
            "Gaussian gain over the training mean, nats per test trial, with the cell's trial-to-trial variance. "
            "Paired over cells (efficient − CNN): " + "; ".join(parts) + ".")


def _where_each_succeeds(metrics: dict) -> str:
    t = metrics["table"]
    best = {kind: max(MODELS, key=lambda m: t[m][kind]["feve"]["median"]) for kind in CELL_TYPES}
    return ("Highest median FEVE: " + "; ".join(f"{kind} cells: {MODEL_LABELS[best[kind]]} "
                                                  f"({fmt(t[best[kind]][kind]['feve']['median'])})"
                                                  for kind in CELL_TYPES) + ".")


def plot_scores(cells: dict, metrics: dict, group_key: str, path) -> None:
    """Per metric, every cell's score by model and group (dots), with the median and its interval."""
    groups = [g for g in CELL_TYPES if g in metrics["table"]["glm"]] or list(metrics["table"]["glm"])
    fig = new_figure(3.2 * len(METRICS), 3.2)
    axes = fig.subplots(1, len(METRICS), squeeze=False)[0]
    labels = np.asarray(cells[group_key]).astype(str)
    for ax, metric in zip(axes, METRICS):
        for g, group in enumerate(groups):
            for m, name in enumerate(MODELS):
                v = np.asarray(cells[f"{name}_{metric}"], dtype=float)[labels == group]
                x = g + (m - 1) * 0.25
                ax.scatter(np.full(v.size, x) + np.linspace(-0.06, 0.06, v.size), v, s=4, alpha=0.4,
                           color=COLOURS[name], label=MODEL_LABELS[name] if g == 0 else None, rasterized=True)
                s = metrics["table"][name][group][metric]
                if s["n_cells"]:
                    ax.errorbar(x, s["median"], yerr=[[s["median"] - s["lo"]], [s["hi"] - s["median"]]], fmt="_",
                                color="k", ms=12, capsize=2)
        ax.set_xticks(range(len(groups)), groups, fontsize=7, rotation=20 if len(groups) > 2 else 0)
        ax.set_title(METRIC_LABELS[metric], fontsize=9)
        ax.axhline(0, color="k", lw=0.5)
        ax.grid(alpha=0.3, axis="y")
    axes[0].legend(fontsize=6, markerscale=2, loc="lower left")
    save_figure(fig, path)


def plot_predictions(cells: dict, predictions: dict, path) -> None:
    """Predicted against true rate on held-out stimuli, for the best-driven cell of each type."""
    kinds = np.asarray(cells["kind"]).astype(str)
    fig = new_figure(3.0 * len(CELL_TYPES), 3.0)
    axes = fig.subplots(1, len(CELL_TYPES), squeeze=False)[0]
    true = predictions["true_rate"]
    for ax, kind in zip(axes, CELL_TYPES):
        i = int(np.flatnonzero(kinds == kind)[0])
        top = np.percentile(true[:, i], 99.5)
        for name in MODELS:
            r = cells[f"{name}_true_correlation"][i]
            ax.scatter(true[:, i], predictions[name][:, i], s=2, alpha=0.3, color=COLOURS[name], rasterized=True,
                       label=f"{MODEL_LABELS[name]} (r = {r:.2f})")
        ax.plot([0, top], [0, top], color="k", lw=0.8)
        ax.set_xlim(0, top)
        ax.set_ylim(0, top * 1.3)
        ax.set_xlabel("true rate (spikes/bin)")
        ax.set_ylabel("predicted rate (spikes/bin)")
        ax.set_title(f"{kind} cell {i}", fontsize=9)
        ax.legend(fontsize=6, markerscale=4, loc="upper left")
    save_figure(fig, path)


def _tile(ax, image, title=""):
    lim = np.abs(image).max() or 1.0
    ax.imshow(image, cmap="gray", vmin=-lim, vmax=lim, interpolation="nearest")
    ax.set_title(title, fontsize=6)
    ax.set_axis_off()


def plot_filters(cells: dict, filters: dict, path, n: int = 6) -> None:
    """Top: true receptive fields and GLM filters of ``n`` simple cells; bottom: CNN first-layer kernels
    and filters of the efficient model's bank."""
    kinds = filters["kinds"].astype(str)
    simple = np.flatnonzero(kinds == "simple")[:n]
    fig = new_figure(1.1 * 2 * n, 4.6)
    axes = fig.subplots(4, 2 * n, squeeze=False)
    for j, i in enumerate(simple):
        _tile(axes[0, j], filters["true"][i], f"true RF {i}")
        _tile(axes[1, j], filters["glm"][i], f"GLM, R²={cells['glm_filter_r2'][i]:.2f}")
    for j in range(len(simple), 2 * n):
        axes[0, j].set_axis_off()
        axes[1, j].set_axis_off()
    for row, (name, label) in enumerate((("cnn", "CNN conv"), ("efficient", "bank")), start=2):
        for j in range(2 * n):
            if j < len(filters[name]):
                _tile(axes[row, j], filters[name][j], f"{label} {j}")
            else:
                axes[row, j].set_axis_off()
    fig.suptitle("Simple cells' true receptive fields and GLM filters; CNN kernels; the efficient model's filters "
                 "(shapes compared: each tile scaled to its own ±max, mid-grey = 0)", fontsize=8)
    save_figure(fig, path)


def plot(run) -> Section:
    cells = run.load_csv("cells.csv")
    metrics = run.load_json("metrics.json")
    paths = {n: run.figure_path(n) for n in ("scores", "predictions", "filters")}
    simulated = metrics["recordings"] == "simulated"
    plot_scores(cells, metrics, "kind" if simulated else "recordings", paths["scores"])
    figures = [(f"{paths['scores']}.png", "Held-out scores of every cell, by model and "
                f"{'cell type' if simulated else 'recording'}; black: median with its 95% bootstrap interval.")]
    estimator = ("FEVE = 1 − (mean((prediction − m)²) − σ²/R) / (var(m) − σ²/R), with m the trial-averaged test "
                 "response, σ² the across-trial variance (ddof 1) averaged over stimuli, and R the number of "
                 "repeats; cells with var(m) ≤ σ²/R have no explainable variance and are left out")
    if simulated:
        plot_predictions(cells, run.load_npz("predictions.npz"), paths["predictions"])
        plot_filters(cells, run.load_npz("filters.npz"), paths["filters"])
        figures += [(f"{paths['predictions']}.png", "Predicted vs true rate on held-out stimuli, one cell of each "
                                                     "type."),
                    (f"{paths['filters']}.png", "True receptive fields and recovered GLM filters; CNN kernels; "
                                                 "filters of the efficient model's front end.")]
        c = metrics["chosen"]
        text = (table_text(metrics) + f"\n\nMedians over cells [95% bootstrap interval over cells]; "
                f"{metrics['n_cells']['simple']} simple and {metrics['n_cells']['complex']} complex cells, "
                f"{metrics['n_train']} training stimuli (one trial) and {metrics['n_test']} held-out stimuli "
                f"({metrics['n_repeats']} repeats). Held-out correlation: with the trial-averaged response. "
                f"{estimator}. Bits/spike: log-likelihood gain over the training mean rate on every held-out trial. "
                "Correlation with the true rate and the GLM filter R² (the fraction of the fitted filter explained by "
                "the true receptive field, or for a complex cell its quadrature pair) use the known ground truth. "
                + _where_each_succeeds(metrics) + " " + bridge_text(metrics) +
                f" Chosen on the validation split: GLM smoothness median {fmt(c['glm_smoothness_median'], 3)}; CNN "
                f"readout L1 {c['cnn_readout_l1']:g} (best epoch {c['cnn_best_epoch']}); efficient readout L1 "
                f"{c['efficient_readout_l1']:g} (best epoch {c['efficient_best_epoch']}).")
        if metrics.get("antolik"):
            text += "\n\n" + antolik_text(metrics["antolik"])
    else:
        noise = ", ".join(f"{k}: {v}" for k, v in metrics["noise"].items())
        text = (table_text(metrics) + f"\n\nRecordings {metrics['recordings']}; medians over cells [95% bootstrap "
                f"interval]. Noise model: {noise}. {estimator}. Published held-out results on antolik2016 for "
                "comparison are in docs/encoding.md.")
    return Section("Population encoding models: GLM, CNN and an efficient-coding front end", text, figures)


ENCODING_DEFAULTS = {
    "recordings": "simulated", "noise": "auto", "validation_fraction": 0.2,
    "patch_size": 16, "n_train": 20_000, "n_test": 2_000, "n_repeats": 10, "n_simple": 30, "n_complex": 30,
    "position_jitter": 2.0, "freq": 0.2, "sigma": 2.5, "mean_rate": 2.0, "drive_std": 0.6,
    "glm_smoothness": [1.0, 0.3, 0.1, 0.03, 0.01, 0.003],
    "cnn_channels": 16, "cnn_kernel": 9, "cnn_hidden": 16, "cnn_epochs": 60, "cnn_readout_l1": [0.01],
    "efficient_method": "ica", "efficient_patch_size": 10, "efficient_n_filters": 32, "efficient_n_patches": 50_000,
    "efficient_front_end": "rectified_energy", "efficient_readout_l1": [0.001, 0.01], "efficient_epochs": 60,
    "antolik_seeds": [0, 1], "antolik_regions": [1, 2, 3], "antolik_max_cells": 0, "antolik_epochs": 40,
    "antolik_glm_smoothness": [1.0, 0.1, 0.01], "antolik_n_filters": 16,
    "n_bootstrap": 1000,
}
ENCODING_QUICK = {"n_train": 5_000, "n_test": 1_000, "n_simple": 10, "n_complex": 10, "cnn_epochs": 20,
                  "efficient_n_filters": 16, "efficient_n_patches": 20_000, "efficient_epochs": 30,
                  "efficient_readout_l1": [0.01],
                  "glm_smoothness": [1.0, 0.1, 0.01], "n_bootstrap": 200,
                  "antolik_seeds": [0], "antolik_regions": [2], "antolik_max_cells": 8, "antolik_epochs": 5, "antolik_n_filters": 8,
                  "antolik_glm_smoothness": [0.1]}

register(Experiment(
    number="08", name="encoding", title="Population encoding models: GLM, CNN, efficient-coding front end",
    description=(
        "Three encoding models are fitted to every cell of a population at once with "
        "`effcode.encoding.fit_encoding_model` and scored on held-out stimuli: a GLM (a linear filter per cell, "
        "canonical link, smoothness prior chosen per cell on a validation split of the training data), a CNN (a "
        "shared convolutional core and a per-cell readout factorised into a spatial mask and feature weights, "
        "after Klindt et al. 2017; early stopping on the validation split), and an efficient-coding model (a fixed "
        "front end of filters learned from natural images by an effcode learner, giving both polarities of each filter "
        "and of its quadrature partner beside the pair's energy, and the same per-cell readout, which learns the "
        "mix). Default population: simulated LN simple cells (Gabor filter, exp output) and "
        "energy-model complex cells with Poisson spikes, responding to contrast-normalised whitened natural image "
        "patches (known ground truth); and a simulation shaped like Antolík et al. 2016 (antolik2016_sim: 3 regions, "
        "31 x 31 crops, 1,260-1,800 training images, 50 test images with 8-12 repeats, calcium-like noise), scored by "
        "FEVE, oracle correlation, fraction of oracle and held-out log-likelihood over cells and seeds. "
        "`--set recordings=antolik2016` (once fetched into the data cache) or a "
        "path to a user's .npz/folder runs the same models on recordings."),
    defaults={**ENCODING_DEFAULTS, "n_plot": 2000},
    quick=ENCODING_QUICK,
    keys={"noise": Key(str, "name", "noise model of the fitted likelihood (auto: poisson when every response is a "
                       "count, else gaussian)", choices=("auto", "poisson", "gaussian")),
          "validation_fraction": Key(float, "dimensionless", "fraction of the training data held out to choose "
                                     "penalties and stop training", low=0.0, high=1.0, low_open=True, high_open=True),
          "n_train": Key(int, "count", "training stimuli (whitened natural patches)", low=10),
          "n_test": Key(int, "count", "held-out test stimuli", low=10),
          "n_repeats": Key(int, "count", "repeats of each test stimulus, for the explainable (non-Poisson) "
                           "variance", low=2),
          "n_simple": Key(int, "count", "simulated simple cells (LN: Gabor filter, exp output)", low=0),
          "n_complex": Key(int, "count", "simulated complex cells (energy model: quadrature pair of Gabors)", low=0),
          "position_jitter": Key(float, "pixels", "largest offset of a cell's centre from the patch centre, per axis",
                                 low=0.0),
          "freq": Key(float, "cycles/pixel", "spatial frequency of the cells' Gabor filters", low=0.0, high=0.5,
                      low_open=True),
          "sigma": Key(float, "pixels", "standard deviation of the Gabor filters' Gaussian envelope", low=0.0,
                       low_open=True),
          "mean_rate": Key(float, "spikes/bin", "mean Poisson rate of every cell over the training stimuli",
                           low=0.0, low_open=True),
          "drive_std": Key(float, "dimensionless", "standard deviation of a simple cell's log-rate over the "
                           "stimuli", low=0.0, low_open=True),
          "glm_smoothness": Key(list, "dimensionless", "smoothness-prior weights of the GLM tried; the best on the "
                                "validation split is kept per cell", item=float, low=0.0),
          "cnn_channels": Key(int, "count", "channels of the CNN's convolutional core", low=1),
          "cnn_kernel": Key(int, "pixels", "side of the CNN's convolution kernels", low=1),
          "cnn_hidden": Key(int, "count", "hidden channels of the CNN's core", low=1),
          "cnn_epochs": Key(int, "count", "training epochs of the CNN (early stopping on the validation split)",
                            low=1),
          "cnn_readout_l1": Key(list, "dimensionless", "L1 weights of the CNN's readout tried; the lowest validation "
                                "loss wins", item=float, low=0.0),
          "efficient_method": Key(str, "name", "learner of the efficient model's front-end filters",
                                  choices=learner_names),
          "efficient_patch_size": Key(int, "pixels", "side of the front-end filters", low=2),
          "efficient_n_filters": Key(int, "count", "front-end filters learned", low=1),
          "efficient_n_patches": Key(int, "count", "image patches the front-end filters are learned from", low=1),
          "efficient_front_end": Key(str, "name", "features computed from the front-end filters",
                                     choices=front_end_names),
          "efficient_readout_l1": Key(list, "dimensionless", "L1 weights of the efficient model's readout tried; the "
                                      "lowest validation loss wins", item=float, low=0.0),
          "efficient_epochs": Key(int, "count", "training epochs of the efficient model's readout", low=1),
          "antolik_seeds": Key(list, "seed", "seeds of the Antolík-shaped simulated recordings (antolik2016_sim); "
                               "empty: skip them", item=int, low=0, min_items=0),
          "antolik_regions": Key(list, "index", "regions of the Antolík-shaped simulation (1: 1,800 images, 103 "
                                 "cells; 2: 1,260, 55; 3: 1,800, 102)", item=int, low=1, high=3),
          "antolik_max_cells": Key(int, "count", "cells kept per simulated region (0: all)", low=0),
          "antolik_epochs": Key(int, "count", "training epochs of the CNN and efficient readout on the Antolík-shaped "
                                "recordings", low=1),
          "antolik_glm_smoothness": Key(list, "dimensionless", "smoothness weights of the GLM tried on the "
                                        "Antolík-shaped recordings", item=float, low=0.0),
          "antolik_n_filters": Key(int, "count", "front-end filters of the efficient model on the Antolík-shaped "
                                   "recordings", low=1)},
    compute=compute, plot=plot))
