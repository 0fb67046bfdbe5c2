"""Experiment 09: test the energy-model mechanism with amplitude-preserving phase manipulations."""

from __future__ import annotations

import hashlib

import numpy as np

from ..plots.figure import new_figure, save_figure
from ..runs.config import Key
from .base import Experiment, Section, get_experiment, register
from .common import fmt, source_images

MANIPULATIONS = ("local phase shift", "global phase scramble")


def invariance_index(before: np.ndarray, after: np.ndarray) -> float:
    """Pearson correlation of a model's responses to the original and the manipulated stimuli."""
    if np.std(before) == 0 or np.std(after) == 0:
        return float("nan")
    return float(np.corrcoef(before, after)[0, 1])


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


def models(pop: dict, isa, cfg: dict) -> list[dict]:
    """Every model under test: name, group, response function (n, p*p) -> (n,), and whether it is the
    ground truth or fitted."""
    out = []
    for entry in pop["cells"]:
        spec = entry["spec"]
        if spec["type"] == "simple (relu)":
            continue
        what = "complex cell" if spec["kind"] == "complex" else "simple cell"
        truth = "energy model" if spec["kind"] == "complex" else "simple cell (LN)"
        out += [{"name": f"{truth} (ground truth) {spec['theta_deg']:g}°", "group": f"{truth} (ground truth)",
                 "response": entry["cell"].rate},
                {"name": f"CNN fitted to {what} {spec['theta_deg']:g}°", "group": f"CNN fitted to {what}",
                 "response": entry["cnn"].predict},
                {"name": f"GLM fitted to {what} {spec['theta_deg']:g}°", "group": f"GLM fitted to {what}",
                 "response": entry["glm"].predict}]
    m = cfg["isa_subspace_size"]
    for j in range(cfg["isa_components"] // m):
        out.append({"name": f"ISA subspace {j}", "group": "ISA subspace energy",
                    "response": lambda x, j=j: isa.transform(x)[:, j]})
        out.append({"name": f"ISA unit {j * m} (rectified)", "group": "ISA single unit, rectified (control)",
                    "response": lambda x, k=j * m: np.maximum(isa.sources(x)[:, k], 0.0)})
    return out


def compute(run) -> None:
    from ..encoding import local_phase_shift, phase_scramble, preferred_grating
    from .e08_encoding import population

    cfg = run.config
    images = source_images(run)
    enc_cfg = get_experiment("08").config(quick=cfg["quick"])
    pop = population(run, enc_cfg, images)
    isa, isa_fit = isa_model(run, cfg, pop["x_train"])
    p = enc_cfg["patch_size"]
    x = pop["x_test"][:cfg["n_stimuli"]]
    rng = np.random.default_rng([run.seed, 9])
    angles = rng.uniform(0, 2 * np.pi, len(x))
    scrambled = phase_scramble(x.reshape(-1, p, p), seed=rng).reshape(len(x), -1)
    freqs = np.asarray(cfg["grating_freqs"], dtype=float)
    contrast = np.sqrt(2.0) * x.std()  # gratings with the stimuli's RMS contrast
    sweep = np.asarray(cfg["sweep_angles_deg"], dtype=float)
    first = f" {pop['cells'][0]['spec']['theta_deg']:g}°"
    rows, sweeps, examples = [], {}, {}
    for model in models(pop, isa, cfg):
        f = model["response"]
        theta = float(preferred_grating(f, p, freqs=freqs, n_orientations=cfg["n_orientations"],
                                        contrast=contrast)["theta"][0])
        before = f(x)
        local = f(local_phase_shift(x.reshape(-1, p, p), angles, theta).reshape(len(x), -1))
        scramble = f(scrambled)
        rows.append({"model": model["name"], "group": model["group"], "preferred_theta_deg": np.degrees(theta),
                     "local phase shift": invariance_index(before, local),
                     "global phase scramble": invariance_index(before, scramble)})
        if model["name"].endswith(first):  # one orientation: response scatter and angle sweep
            sweeps[model["name"]] = np.array([invariance_index(before, f(local_phase_shift(
                x.reshape(-1, p, p), np.radians(a), theta).reshape(len(x), -1))) for a in sweep])
            examples[model["name"]] = np.stack([v[:cfg["n_plot"]] for v in (before, local, scramble)])
    run.save_csv("invariance.csv", {k: np.array([r[k] for r in rows]) for k in rows[0]})
    run.save_npz("sweeps.npz", angles_deg=sweep, **sweeps)
    run.save_npz("responses.npz", **examples)
    theta0 = np.radians(pop["cells"][0]["spec"]["theta_deg"])
    run.save_npz("example_stimuli.npz", original=x[:4].reshape(-1, p, p),
                 local=local_phase_shift(x[:4].reshape(-1, p, p), angles[:4], theta0),
                 scrambled=scrambled[:4].reshape(-1, p, p), angles=angles[:4])
    groups = {}
    for row in rows:
        groups.setdefault(row["group"], []).append(row)
    threshold = cfg["threshold"]
    summary = {g: {"n_models": len(rs),
                   **{f"{m} median": float(np.nanmedian([r[m] for r in rs])) for m in MANIPULATIONS},
                   **{f"{m} min": float(np.nanmin([r[m] for r in rs])) for m in MANIPULATIONS},
                   "fraction_passing": float(np.mean([r["local phase shift"] >= threshold for r in rs]))}
               for g, rs in groups.items()}
    run.save_json("metrics.json", {"threshold": threshold, "n_stimuli": len(x), **isa_fit, "groups": summary})


def plot_examples(stimuli: dict, path) -> None:
    fig = new_figure(6.0, 4.4)
    axes = fig.subplots(3, 4)
    for row, (key, label) in enumerate((("original", "original"), ("local", "local phase shift"),
                                        ("scrambled", "global scramble"))):
        for col in range(4):
            ax = axes[row, col]
            img = stimuli[key][col]
            lim = np.abs(img).max()
            ax.imshow(img, cmap="gray", vmin=-lim, vmax=lim, interpolation="nearest")
            ax.set_axis_off()
            if col == 0:
                ax.set_title(label, fontsize=8, loc="left")
    fig.suptitle("Stimuli: every version has the original's amplitude spectrum", fontsize=9)
    save_figure(fig, path)


def plot_responses(responses: dict, table: dict, path) -> None:
    names = list(responses)
    fig = new_figure(3.0 * min(3, len(names)), 2.7 * int(np.ceil(len(names) / 3)))
    axes = np.atleast_1d(fig.subplots(int(np.ceil(len(names) / 3)), min(3, len(names)), squeeze=False).ravel())
    for ax, name in zip(axes, names):
        before, local, scrambled = responses[name]
        i = list(table["model"]).index(name)
        ax.scatter(before, scrambled, s=2, alpha=0.3, color="tab:gray",
                   label=f"global scramble (r={table['global phase scramble'][i]:.2f})", rasterized=True)
        ax.scatter(before, local, s=2, alpha=0.3, color="tab:blue",
                   label=f"local phase shift (r={table['local phase shift'][i]:.2f})", rasterized=True)
        top = np.percentile(np.concatenate([before, local]), 99.5)
        ax.plot([0, top], [0, top], "k", lw=0.7)
        ax.set_xlim(min(0, before.min()), top)
        ax.set_ylim(min(0, before.min()), top)
        ax.set_title(name, fontsize=8)
        ax.set_xlabel("response to original", fontsize=8)
        ax.set_ylabel("response to manipulated", fontsize=8)
        ax.legend(fontsize=6, markerscale=4, loc="upper left")
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
    paths = {n: run.figure_path(n) for n in ("stimuli", "indices", "responses", "sweep")}
    plot_examples(run.load_npz("example_stimuli.npz"), paths["stimuli"])
    plot_indices(table, metrics["threshold"], paths["indices"])
    plot_responses(run.load_npz("responses.npz"), table, paths["responses"])
    plot_sweep(run.load_npz("sweeps.npz"), paths["sweep"])
    t = metrics["threshold"]
    scramble = metrics["groups"]["energy model (ground truth)"]["global phase scramble median"]
    rows = ["| model | n | local phase shift: median (min) | passes (index ≥ "
            f"{t:g}) | global scramble: median |", "|---|---|---|---|---|"]
    for g, s in metrics["groups"].items():
        verdict = ("passes" if s["fraction_passing"] == 1 else "falsified" if s["fraction_passing"] == 0
                   else f"{fmt(100 * s['fraction_passing'], 0)}% pass")
        rows.append(f"| {g} | {s['n_models']} | {fmt(s['local phase shift median'])} "
                    f"({fmt(s['local phase shift min'])}) | {verdict} | {fmt(s['global phase scramble median'])} |")
    text = ("\n".join(rows) + f"\n\nIndex = correlation between a model's responses to {metrics['n_stimuli']} "
            "held-out natural patches and to their manipulated versions. The local phase shift advances the "
            "phase of every Fourier component along the model's preferred orientation (measured with gratings) "
            "by a random angle per stimulus, keeping the amplitude spectrum and each local component's "
            "envelope; an energy model must be invariant to it. The global scramble randomises all phases, "
            "which also moves energy between locations: the ground-truth energy model's index under it is "
            f"{fmt(scramble)} ({'below' if scramble < t else 'above'} the threshold), so the global scramble "
            "tests a stronger claim than the energy model makes (see docs/mechanisms.md). "
            + isa_text(metrics))
    return Section("Phase manipulations: is the mechanism an energy model?", text, [
        (f"{paths['indices']}.png", "Invariance index of every model under both manipulations; dashed: the "
                                    "pass threshold."),
        (f"{paths['responses']}.png", "Responses to original vs manipulated stimuli, for one orientation."),
        (f"{paths['sweep']}.png", "Invariance index against a fixed phase-shift angle."),
        (f"{paths['stimuli']}.png", "Example stimuli: original, local phase shift, global scramble."),
    ])


register(Experiment(
    number="09", name="phase_scrambling", title="Mechanistic test: local phase invariance",
    description=(
        "The fitted models of experiment 08 (same settings) and the ground-truth cells are probed with "
        "amplitude-spectrum-preserving stimuli. The invariance index is the correlation between responses to "
        "original and manipulated stimuli; a model passes the energy-model test when its index under the local "
        "phase shift is at least `threshold`. Independent Subspace Analysis units (subspace energies learned "
        "from the same natural stimuli) are tested the same way, with single rectified ISA units as a "
        "phase-sensitive control."),
    defaults={"n_stimuli": 5000, "threshold": 0.9, "grating_freqs": [0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4],
              "n_orientations": 36, "sweep_angles_deg": [0, 30, 60, 90, 120, 150, 180], "isa_components": 64,
              "isa_subspace_size": 4, "isa_n_train": 30_000, "isa_max_iter": 2000, "isa_tol": 1e-9,
              "n_plot": 2000},
    quick={"n_stimuli": 2000, "isa_components": 32, "isa_n_train": 10_000, "n_plot": 1000},
    keys={"n_stimuli": Key(int, "count", "test stimuli (experiment 08's held-out patches) each model sees", low=2),
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
