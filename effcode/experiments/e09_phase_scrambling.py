"""Experiment 09: test the energy-model mechanism with amplitude-preserving phase manipulations."""

from __future__ import annotations

import hashlib

import numpy as np

from ..plots.figure import new_figure, save_figure
from ..runs.config import Key
from .base import Experiment, Section, get_experiment, register
from .common import fmt, source_images

MANIPULATIONS = ("local phase shift", "global phase scramble")
MODEL_LABELS = {"truth": "ground truth", "glm": "GLM", "cnn": "CNN", "efficient": "efficient (learned filters)"}


def isa_model(run, cfg: dict, x_train: np.ndarray):
    """ISA fitted to the training stimuli of experiment 08 (cached, and checkpointed in the run's cache so a
    killed run resumes the ascent); ``transform`` gives subspace energies."""
    from ..learners.isa import ISA

    params = dict(n_components=cfg["isa_components"], subspace_size=cfg["isa_subspace_size"],
                  max_iter=cfg["isa_max_iter"], tol=cfg["isa_tol"], random_state=run.seed, device=run.device)
    n = cfg["isa_n_train"]
    key = {**params, "n": n, "data": hashlib.sha256(np.ascontiguousarray(x_train[:n]).tobytes()).hexdigest()}

    def compute(checkpoint):
        isa = ISA(**params, progress=run.progress).fit(x_train[:n], checkpoint=checkpoint)
        return {"components": isa.components_, "mean": isa.mean_, "n_iter": isa.n_iter_,
                "converged": isa.converged_, "objective_history": isa.history_["objective"]}

    arrays = run.step("isa", key, compute, resumable=True)
    isa = ISA(**params)
    isa.components_, isa.mean_ = arrays["components"], arrays["mean"]
    isa.n_features_in_ = isa.components_.shape[1]
    return isa, {"isa_iterations": int(arrays["n_iter"]), "isa_converged": bool(arrays["converged"]),
                 "isa_objective": float(arrays["objective_history"][-1]), "isa_tol": cfg["isa_tol"]}


def isa_responders(isa, subspace_size: int) -> dict:
    """ISA as two models of images (n, p, p): every subspace's energy, and one rectified unit per
    subspace (the phase-sensitive control)."""
    flat = lambda images: np.asarray(images).reshape(len(images), -1)  # noqa: E731
    first_units = np.arange(0, isa.components_.shape[0], subspace_size)
    return {"ISA subspace energy": lambda images: isa.transform(flat(images)),
            "ISA single unit, rectified (control)": lambda images: np.maximum(isa.sources(flat(images))[:, first_units],
                                                                             0.0)}


def rows_of(model_label: str, groups: np.ndarray, result: dict) -> list[dict]:
    """One table row per cell of a :func:`effcode.encoding.phase_invariance` result."""
    return [{"model": model_label, "group": f"{model_label}: {group}", "cell": i,
             "preferred_theta_deg": float(np.degrees(result["theta"][i])),
             **{m: float(result[m][i]) for m in MANIPULATIONS}} for i, group in enumerate(groups)]


def angle_sweep(model, x: np.ndarray, cell: int, result: dict, angles_deg) -> np.ndarray:
    """Invariance index of one cell under a fixed local phase shift, for each angle (degrees), along
    the preferred orientation measured in ``result``."""
    from ..encoding import invariance_index, local_phase_shift

    respond = model.predict if hasattr(model, "predict") else model
    before = result["original"][:, cell:cell + 1]
    theta = float(result["theta"][cell])
    return np.array([invariance_index(before, respond(local_phase_shift(x, np.radians(a), theta))[:, cell:cell + 1])[0]
                     for a in angles_deg])


def probe(cfg: dict, seed: int) -> dict:
    """The keyword arguments of every :func:`effcode.encoding.phase_invariance` call of the run."""
    return {"random_state": np.random.default_rng([seed, 9]), "freqs": cfg["grating_freqs"],
            "n_orientations": cfg["n_orientations"]}


def compute_simulated(run, cfg: dict, enc_cfg: dict, images) -> dict:
    from ..encoding import phase_invariance
    from .e08_encoding import population, true_response

    pop = population(run, enc_cfg, images)
    x = pop["test_images"][:cfg["n_stimuli"]]
    kinds = np.array([f"{s['kind']} cells" for s in pop["specs"]])
    first = {kind: int(np.flatnonzero(kinds == kind)[0]) for kind in np.unique(kinds)}
    models = {"truth": true_response([e["cell"] for e in pop["cells"]]), **pop["models"]}
    rows, sweeps, examples = [], {}, {}
    for name, model in models.items():
        result = phase_invariance(model, x, keep_responses=True, **probe(cfg, run.seed))
        rows += rows_of(MODEL_LABELS[name], kinds, result)
        for kind, i in first.items():   # one cell of each type: response scatter and angle sweep
            label = f"{MODEL_LABELS[name]}, {kind[:-1]} {i}"
            examples[label] = np.stack([result[k][:cfg["n_plot"], i] for k in ("original", "local", "scrambled")])
            sweeps[label] = angle_sweep(model, x, i, result, cfg["sweep_angles_deg"])
    rows += antolik_rows(run, cfg, enc_cfg, images)
    isa, isa_fit = isa_model(run, cfg, pop["x_train"])
    for label, respond in isa_responders(isa, cfg["isa_subspace_size"]).items():
        result = phase_invariance(respond, x, **probe(cfg, run.seed))
        rows += rows_of(label, np.array(["units"] * len(result["theta"])), result)
    run.save_npz("sweeps.npz", angles_deg=np.asarray(cfg["sweep_angles_deg"], dtype=float), **sweeps)
    run.save_npz("responses.npz", **examples)
    return {"rows": rows, "stimuli": x, "extra": isa_fit}


def antolik_rows(run, cfg: dict, enc_cfg: dict, images) -> list[dict]:
    """The phase tests on the Antolík-shaped population of experiment 08 (its first seed and region): the ground
    truth and the three models fitted to it, probed with the region's 31 x 31 training crops."""
    from ..encoding import phase_invariance
    from .e08_encoding import antolik_population

    if not enc_cfg["antolik_seeds"]:
        return []
    entry = antolik_population(run, {**enc_cfg, "antolik_regions": enc_cfg["antolik_regions"][:1]}, images,
                               enc_cfg["antolik_seeds"][0])[0]
    region = entry["region"]
    x = region.recordings.train_stimuli[:cfg["n_antolik_stimuli"]]
    kinds = np.array([f"{kind} cells" for kind in region.kinds])
    rows = []
    for name, model in {"truth": region.true_response, **entry["models"]}.items():
        result = phase_invariance(model, x, **probe(cfg, run.seed))
        rows += rows_of(f"Antolík-shaped, {MODEL_LABELS[name]}", kinds, result)
    return rows


def compute_recordings(run, cfg: dict, enc_cfg: dict, images) -> dict:
    from ..encoding import phase_invariance
    from .e08_encoding import recordings_models

    rows = []
    for entry in recordings_models(run, enc_cfg, images):
        rec = entry["recordings"]
        x = rec.train_stimuli[:cfg["n_stimuli"]]
        for name, model in entry["models"].items():
            result = phase_invariance(model, x, **probe(cfg, run.seed))
            rows += rows_of(MODEL_LABELS[name], np.array([rec.name] * rec.n_cells), result)
    return {"rows": rows, "stimuli": x, "extra": {}}


def compute(run) -> None:
    from ..encoding import local_phase_shift, phase_scramble

    cfg = run.config
    enc_cfg = get_experiment("08").config(quick=cfg["quick"], overrides={"recordings": cfg["recordings"]})
    if cfg["recordings"] != "simulated":
        from ..encoding import load_recordings

        load_recordings(cfg["recordings"])   # a one-line error now if the data are not there
    images = source_images(run)
    out = (compute_simulated if cfg["recordings"] == "simulated" else compute_recordings)(run, cfg, enc_cfg, images)
    rows = out["rows"]
    run.save_csv("invariance.csv", {k: np.array([r[k] for r in rows]) for k in rows[0]})
    x = out["stimuli"][:4]
    angles = np.random.default_rng([run.seed, 9, 1]).uniform(0, 2 * np.pi, len(x))
    run.save_npz("example_stimuli.npz", original=x, local=local_phase_shift(x, angles, 0.0),
                 scrambled=phase_scramble(x, random_state=run.seed), angles=angles)
    groups: dict = {}
    for row in rows:
        groups.setdefault(row["group"], []).append(row)
    threshold = cfg["threshold"]
    summary = {g: {"n_models": len(rs),
                   **{f"{m} median": float(np.nanmedian([r[m] for r in rs])) for m in MANIPULATIONS},
                   **{f"{m} min": float(np.nanmin([r[m] for r in rs])) for m in MANIPULATIONS},
                   "fraction_passing": float(np.mean([r["local phase shift"] >= threshold for r in rs]))}
               for g, rs in groups.items()}
    run.save_json("metrics.json", {"recordings": cfg["recordings"], "threshold": threshold,
                                   "n_stimuli": int(len(out["stimuli"])), **out["extra"], "groups": summary})


def plot_examples(stimuli: dict, path) -> None:
    fig = new_figure(6.0, 4.4)
    axes = fig.subplots(3, 4)
    for row, (key, label) in enumerate((("original", "original"), ("local", "local phase shift"),
                                        ("scrambled", "global scramble"))):
        for col in range(4):
            ax = axes[row, col]
            # the three versions of a stimulus are compared: one grey scale per column
            lim = max(np.abs(stimuli[k][col]).max() for k in ("original", "local", "scrambled"))
            ax.imshow(stimuli[key][col], cmap="gray", vmin=-lim, vmax=lim, interpolation="nearest")
            ax.set_axis_off()
            if col == 0:
                ax.set_title(label, fontsize=8, loc="left")
    fig.suptitle("Stimuli: every version has the original's amplitude spectrum (one grey scale per column)",
                 fontsize=9)
    save_figure(fig, path)


def plot_responses(responses: dict, path) -> None:
    """Responses to the original against the manipulated stimuli, one panel per model and example cell."""
    from ..encoding.mechanism import invariance_index

    names = list(responses)
    n_cols = min(4, len(names))
    n_rows = int(np.ceil(len(names) / n_cols))
    fig = new_figure(2.6 * n_cols, 2.5 * n_rows)
    axes = np.atleast_1d(fig.subplots(n_rows, n_cols, squeeze=False).ravel())
    for ax, name in zip(axes, names):
        before, local, scrambled = responses[name]
        for after, colour, label in ((scrambled, "tab:gray", "global scramble"), (local, "tab:blue", "local phase shift")):
            r = invariance_index(before[:, None], after[:, None])[0]
            ax.scatter(before, after, s=2, alpha=0.3, color=colour, label=f"{label} (r={r:.2f})", rasterized=True)
        low, top = min(0, before.min()), np.percentile(np.concatenate([before, local]), 99.5)
        ax.plot([low, top], [low, top], "k", lw=0.7)
        ax.set_xlim(low, top)
        ax.set_ylim(low, top)
        ax.set_title(name, fontsize=7)
        ax.set_xlabel("response to original", fontsize=7)
        ax.set_ylabel("response to manipulated", fontsize=7)
        ax.legend(fontsize=5, markerscale=4, loc="upper left")
    for ax in axes[len(names):]:
        ax.set_axis_off()
    save_figure(fig, path)


def plot_indices(table: dict, threshold: float, path) -> None:
    groups = list(dict.fromkeys(table["group"]))
    fig = new_figure(8.0, 0.45 * len(groups) + 1.2)
    ax = fig.add_subplot()
    for k, (m, colour, marker) in enumerate(zip(MANIPULATIONS, ("tab:blue", "tab:gray"), ("o", "s"))):
        for i, g in enumerate(groups):
            values = np.asarray(table[m], dtype=float)[np.asarray(table["group"]) == g]
            ax.scatter(values, np.full(values.size, i + 0.15 * (k - 0.5)), color=colour, marker=marker, s=14,
                       alpha=0.7, label=m if i == 0 else None)
    ax.axvline(threshold, color="k", ls="--", lw=0.8, label=f"threshold {threshold:g}")
    ax.set_yticks(range(len(groups)), groups, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("invariance index: corr(response to original, response to manipulated)")
    ax.set_xlim(-0.2, 1.02)
    ax.grid(alpha=0.3, axis="x")
    fig.legend(fontsize=7, loc="outside upper center", ncol=3)
    save_figure(fig, path)


def plot_sweep(sweeps: dict, path) -> None:
    angles = sweeps.pop("angles_deg")
    fig = new_figure(5.0, 3.2)
    ax = fig.add_subplot()
    for name, values in sweeps.items():
        ax.plot(angles, values, marker="o", ms=3, lw=1, label=name)
    ax.set_xlabel("phase shift of every local component (degrees)")
    ax.set_ylabel("invariance index")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6)
    save_figure(fig, path)


def isa_text(metrics: dict) -> str:
    """The report's sentence on the ISA fit: algorithm, iterations, J and how it stopped."""
    if "isa_objective" not in metrics:  # metrics of an earlier version (one-step stopping rule)
        return f"ISA: {metrics['isa_iterations']} iterations of an earlier ISA version; rerun to refresh."
    stop = (f"converged: the last 20 iterations together raised J by at most {metrics['isa_tol']:g} |J|"
            if metrics["isa_converged"] else "stopped at isa_max_iter before the tolerance")
    return ("ISA: Riemannian gradient ascent of the subspace log-likelihood J with Barzilai-Borwein steps, "
            f"{metrics['isa_iterations']} iterations, J = {metrics['isa_objective']:.6f} per patch ({stop}).")


def plot(run) -> Section:
    table = run.load_csv("invariance.csv")
    metrics = run.load_json("metrics.json")
    simulated = metrics["recordings"] == "simulated"
    paths = {n: run.figure_path(n) for n in ("stimuli", "indices", "responses", "sweep")}
    plot_examples(run.load_npz("example_stimuli.npz"), paths["stimuli"])
    plot_indices(table, metrics["threshold"], paths["indices"])
    figures = [(f"{paths['indices']}.png", "Invariance index of every cell of every model under both manipulations; "
                                           "dashed: the pass threshold.")]
    if simulated:
        plot_responses(run.load_npz("responses.npz"), paths["responses"])
        plot_sweep(run.load_npz("sweeps.npz"), paths["sweep"])
        figures += [(f"{paths['responses']}.png", "Responses to original vs manipulated stimuli, one simple and one "
                                                   "complex cell per model."),
                    (f"{paths['sweep']}.png", "Invariance index against a fixed phase-shift angle.")]
    figures.append((f"{paths['stimuli']}.png", "Example stimuli: original, local phase shift, global scramble."))
    t = metrics["threshold"]
    rows = ["| model: cells | n | local phase shift: median (min) | passes (index ≥ "
            f"{t:g}) | global scramble: median |", "|---|---|---|---|---|"]
    for g, s in metrics["groups"].items():
        verdict = ("passes" if s["fraction_passing"] == 1 else "falsified" if s["fraction_passing"] == 0
                   else f"{fmt(100 * s['fraction_passing'], 0)}% pass")
        rows.append(f"| {g} | {s['n_models']} | {fmt(s['local phase shift median'])} "
                    f"({fmt(s['local phase shift min'])}) | {verdict} | {fmt(s['global phase scramble median'])} |")
    text = ("\n".join(rows) + f"\n\nIndex = correlation between a cell's predicted responses to {metrics['n_stimuli']} "
            f"{'held-out natural patches' if simulated else 'recorded stimuli'} and to their manipulated versions "
            "(`effcode.encoding.phase_invariance`, which takes any fitted model of `fit_encoding_model`). The local "
            "phase shift advances the phase of every Fourier component along the cell's preferred orientation "
            "(measured with gratings) by a random angle per stimulus, keeping the amplitude spectrum and each local "
            "component's envelope; an energy model must be invariant to it. The global scramble randomises all "
            "phases, which also moves energy between locations, so it tests a stronger claim than the energy model "
            "makes (see docs/mechanisms.md).")
    if simulated:
        scramble = metrics["groups"]["ground truth: complex cells"]["global phase scramble median"]
        text += (f" The ground-truth energy model's median index under the global scramble is {fmt(scramble)} "
                 f"({'below' if scramble < t else 'above'} the threshold). " + isa_text(metrics))
    return Section("Phase manipulations: is the mechanism an energy model?", text, figures)


register(Experiment(
    number="09", name="phase_scrambling", title="Mechanistic test: local phase invariance",
    description=(
        "The population models fitted in experiment 08 (same settings: GLM, CNN, efficient) and the ground-truth "
        "cells are probed with "
        "amplitude-spectrum-preserving stimuli. The invariance index is the correlation between responses to "
        "original and manipulated stimuli; a model passes the energy-model test when its index under the local "
        "phase shift is at least `threshold`. Independent Subspace Analysis units (subspace energies learned "
        "from the same natural stimuli) are tested the same way, with single rectified ISA units as a "
        "phase-sensitive control. The same tests run on the ground truth and the three models of experiment 08's "
        "Antolík-shaped simulation (first seed and region)."),
    defaults={"recordings": "simulated", "n_stimuli": 5000, "n_antolik_stimuli": 1000, "threshold": 0.9,
              "grating_freqs": [0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4], "n_orientations": 36, "sweep_angles_deg": [0, 30, 60, 90, 120, 150, 180], "isa_components": 64,
              "isa_subspace_size": 4, "isa_n_train": 30_000, "isa_max_iter": 2000, "isa_tol": 1e-9,
              "n_plot": 2000},
    quick={"n_stimuli": 2000, "n_antolik_stimuli": 500, "isa_components": 32, "isa_n_train": 10_000, "n_plot": 1000},
    keys={"n_stimuli": Key(int, "count", "test stimuli (experiment 08's held-out patches) each model sees", low=2),
          "n_antolik_stimuli": Key(int, "count", "31 x 31 crops of experiment 08's Antolík-shaped simulation (its first "
                                   "seed and region) each of its models sees", low=2),
          "threshold": Key(float, "dimensionless", "local-phase invariance index (a correlation) a model needs to "
                           "count as phase invariant", low=-1.0, high=1.0),
          "grating_freqs": Key(list, "cycles/pixel", "grating frequencies searched for each model's preferred "
                               "grating", item=float, low=0.0, high=0.5, low_open=True),
          "n_orientations": Key(int, "count", "grating orientations searched for the preferred grating", low=1),
          "sweep_angles_deg": Key(list, "degrees", "local phase shifts of the angle sweep", item=float, low=0.0,
                                  high=360.0),
          "isa_components": Key(int, "count", "ISA units (subspaces x subspace size)", low=1),
          "isa_subspace_size": Key(int, "count", "units per ISA subspace", low=1),
          "isa_n_train": Key(int, "count", "training stimuli of ISA", low=2),
          "isa_max_iter": Key(int, "count", "largest number of ISA iterations", low=1),
          "isa_tol": Key(float, "dimensionless", "ISA stops when its objective rose by at most isa_tol x |J| over "
                         "its last iterations", low=0.0)},
    compute=compute, plot=plot))
