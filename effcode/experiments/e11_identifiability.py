"""Experiment 11: non-identifiability of weights, identifiability of functions and population statistics."""

from __future__ import annotations

import copy

import numpy as np

from ..plots.figure import new_figure, save_figure
from ..runs import Run
from .base import Experiment, Section, get_experiment, register
from .common import fmt, gabor_table, source_images


def function_symmetries(run, cfg: dict, images) -> dict:
    """Permute and rescale the hidden channels of the CNN fitted to the complex cell in experiment 08, and
    compare the network's output (the log rate, before the output nonlinearity) in float64."""
    import torch

    from ..encoding import permute_hidden, rescale_hidden
    from .e08_encoding import population

    enc_cfg = get_experiment("08").config(quick=cfg["quick"])
    pop = population(run, enc_cfg, images)
    entry = next(e for e in pop["cells"] if e["spec"]["kind"] == "complex")
    net = copy.deepcopy(entry["cnn"].network_).double()
    p = enc_cfg["patch_size"]
    x = torch.as_tensor(pop["x_test"], dtype=torch.float64, device=net.conv.weight.device).view(-1, 1, p, p)
    rng = np.random.default_rng([run.seed, 11])
    n = net.conv.out_channels
    perm = rng.permutation(n)
    scales = np.exp(rng.uniform(-np.log(cfg["max_scale"]), np.log(cfg["max_scale"]), n))
    with torch.no_grad():
        reference = net(x)
        out = {"perm": perm, "scales": scales, "output_range": float(reference.max() - reference.min())}
        for name, (conv, mix) in {"permuted": permute_hidden(net.conv, net.mix, perm),
                                  "rescaled": rescale_hidden(net.conv, net.mix, scales)}.items():
            changed = copy.deepcopy(net)
            changed.conv, changed.mix = conv, mix
            out[f"{name}_max_abs_output_difference"] = float(torch.max(torch.abs(changed(x) - reference)))
            out[f"{name}_max_abs_weight_difference"] = float(torch.max(torch.abs(conv.weight - net.conv.weight)))
    return out


def seed_bank(run, seed: int, images):
    """The ICA bank of experiment 02's settings, learned with ``seed`` (cached; seed 0 shared with 02)."""
    from .e02_ica import learn

    view = Run(run.dir, {**run.config, "seed": seed}, device=run.device, progress=run.progress)
    return learn(view, get_experiment("02").config(quick=run.config["quick"]), images)


def tv_interval(nx, ny, n_bootstrap: int, seed: int) -> tuple[float, float, float]:
    """TV distance of the (nx, ny) histogram to Ringach (2002), with a 95% unit-resampling interval."""
    from ..v1 import nxny_histogram, ringach2002_nxny_histogram

    q = ringach2002_nxny_histogram().probabilities
    distance = 0.5 * np.abs(nxny_histogram(nx, ny)[0] - q).sum()
    rng = np.random.default_rng(seed)
    draws = [0.5 * np.abs(nxny_histogram(nx[i], ny[i])[0] - q).sum()
             for i in rng.integers(0, nx.size, size=(n_bootstrap, nx.size))]
    lo, hi = np.percentile(draws, [2.5, 97.5])
    return float(distance), float(lo), float(hi)


def population_statistics(run, cfg: dict, filters: np.ndarray) -> tuple[dict, dict]:
    """Medians of nx and ny, the TV distance to Ringach's histogram and Brain-Score similarity scores,
    each with a 95% bootstrap interval, for the well-fit units of one filter bank."""
    from .. import v1
    from ..gabor import grating_tuning

    fit = gabor_table(run, filters)
    good = (fit["r2"] >= cfg["r2_threshold"]) & (fit["failed"] == 0) & (fit["off_patch"] == 0)
    nx, ny = fit["nx"][good], fit["ny"][good]
    ppd, nb = cfg["pixels_per_degree"], cfg["n_bootstrap"]
    table = {**grating_tuning(filters[good], pixels_per_degree=ppd), "theta": fit["theta"][good]}
    stats = {"median nx": v1.bootstrap_median(nx, nb, run.seed), "median ny": v1.bootstrap_median(ny, nb, run.seed),
             "nx–ny TV distance to V1": tv_interval(nx, ny, nb, run.seed)}
    scores = {name: s["score"] for name, s in v1.similarity_scores(table, n_bootstrap=nb, seed=run.seed).items()}
    # the scores' intervals: recompute them on resamples (with replacement) of the model's units
    rng = np.random.default_rng([run.seed, 111])
    draws = {name: [] for name in scores}
    for _ in range(cfg["n_resamples"]):
        idx = rng.integers(0, int(good.sum()), int(good.sum()))
        for name, s in v1.similarity_scores({k: v[idx] for k, v in table.items()}, list(scores),
                                            n_bootstrap=cfg["n_inner_bootstrap"], seed=run.seed).items():
            draws[name].append(s["score"])
    for name, score in scores.items():
        lo, hi = np.percentile(draws[name], [2.5, 97.5])
        stats[f"similarity: {name}"] = (float(score), float(lo), float(hi))
    return stats, {"nx": nx, "ny": ny, "n_well_fit": int(good.sum())}


def compute(run) -> None:
    from ..encoding import match_filters

    cfg = run.config
    images = source_images(run)
    sym = function_symmetries(run, cfg, images)
    run.save_npz("symmetries.npz", **{k: np.asarray(v) for k, v in sym.items()})
    seeds = cfg["seeds"]
    banks = {s: seed_bank(run, s, images) for s in seeds}
    matching = {}
    for kind in ("filters", "basis"):
        a, b = getattr(banks[seeds[0]], kind), getattr(banks[seeds[1]], kind)
        match = match_filters(a, b)
        chance = match_filters(a, np.random.default_rng([run.seed, 110]).standard_normal(b.shape))
        run.save_npz(f"matching_{kind}.npz", **match, chance_matched=chance["matched"], filters_a=a,
                     filters_b_matched=b[match["perm"]] * match["sign"][:, None, None])
        matching[kind] = {"matched_median_abs_cos": float(np.median(match["matched"])),
                          "matched_fraction_above_0.9": float(np.mean(match["matched"] > 0.9)),
                          "identity_median_abs_cos": float(np.median(match["identity"])),
                          "chance_matched_median_abs_cos": float(np.median(chance["matched"]))}
    stats, pops = {}, {}
    for s in seeds:
        stats[s], pops[s] = population_statistics(run, cfg, banks[s].filters)
    run.save_npz("populations.npz", **{f"{k}_{s}": v for s in seeds for k, v in pops[s].items()})
    table = {"statistic": list(stats[seeds[0]])}
    for s in seeds:
        for j, part in enumerate(("value", "lo", "hi")):
            table[f"seed{s}_{part}"] = [stats[s][k][j] for k in table["statistic"]]
    agree = [max(table[f"seed{s}_lo"][i] for s in seeds) <= min(table[f"seed{s}_hi"][i] for s in seeds)
             for i in range(len(table["statistic"]))]
    table["intervals_overlap"] = [int(v) for v in agree]
    run.save_csv("population_statistics.csv", table)
    run.save_json("metrics.json", {
        "function": {k: v for k, v in sym.items() if np.ndim(v) == 0},
        "n_hidden": int(len(sym["perm"])), "max_scale": cfg["max_scale"],
        "seeds": seeds, "n_filters": int(banks[seeds[0]].n_filters), "matching": matching,
        "n_well_fit": {str(s): pops[s]["n_well_fit"] for s in seeds},
        "n_statistics": len(agree), "n_agree": int(np.sum(agree)),
    })


def plot_matching(match: dict, path) -> None:
    fig = new_figure(9.0, 3.4)
    grid = fig.subfigures(1, 2, width_ratios=[1.1, 1])
    ax = grid[0].subplots()
    bins = np.linspace(0, 1, 41)
    ax.hist(match["identity"], bins, alpha=0.6, label="stored order (identity)")
    ax.hist(match["matched"], bins, alpha=0.6, label="Hungarian match (up to sign)")
    ax.hist(match["chance_matched"], bins, alpha=0.6, label="match to random filters")
    ax.set_xlabel("|cosine similarity| of paired filters")
    ax.set_ylabel("filter pairs")
    ax.legend(fontsize=7)
    n = min(8, len(match["filters_a"]))
    order = np.argsort(-match["matched"])[np.linspace(0, len(match["matched"]) - 1, n).astype(int)]
    axes = grid[1].subplots(4, (n + 1) // 2)  # pairs in two bands: seed A above its matched seed-B filter
    for ax in axes.ravel():
        ax.set_axis_off()
    for j, k in enumerate(order):
        band, col = divmod(j, axes.shape[1])
        for row, key in enumerate(("filters_a", "filters_b_matched")):
            img = match[key][k]
            lim = np.abs(img).max()
            axes[2 * band + row, col].imshow(img, cmap="gray", vmin=-lim, vmax=lim, interpolation="nearest")
        axes[2 * band, col].set_title(f"|cos| {match['matched'][k]:.2f}", fontsize=7)
    grid[1].suptitle("seed A (upper) and its matched seed-B unit (lower)", fontsize=8)
    save_figure(fig, path)


def plot_statistics(table: dict, seeds, path) -> None:
    names = list(table["statistic"])
    fig = new_figure(7.5, 0.32 * len(names) + 1.0)
    ax = fig.add_subplot()
    y = np.arange(len(names))
    for k, s in enumerate(seeds):
        v, lo, hi = (np.asarray(table[f"seed{s}_{p}"], dtype=float) for p in ("value", "lo", "hi"))
        yk = y + 0.15 * (2 * k - 1)
        line = ax.hlines(yk, lo, hi, color=f"C{k}", lw=1.5, label=f"seed {s}: 95% interval")
        ax.plot(v, yk, "o", ms=3, color=line.get_color()[0], label=f"seed {s}: full population")
    ax.set_yticks(y, names, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("statistic (dimensionless) with its 95% resampling interval")
    ax.grid(alpha=0.3, axis="x")
    ax.legend(fontsize=7)
    save_figure(fig, path)


def plot_nxny(pops: dict, seeds, path) -> None:
    fig = new_figure(4.2, 3.6)
    ax = fig.add_subplot()
    for s in seeds:
        ax.scatter(pops[f"nx_{s}"], pops[f"ny_{s}"], s=10, alpha=0.6, label=f"seed {s}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("nx = σx·f")
    ax.set_ylabel("ny = σy·f")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7)
    save_figure(fig, path)


def plot(run) -> Section:
    m = run.load_json("metrics.json")
    seeds = m["seeds"]
    table = run.load_csv("population_statistics.csv")
    paths = {n: run.figure_path(n) for n in ("matching_filters", "matching_basis", "statistics", "nxny")}
    for kind in ("filters", "basis"):
        plot_matching(run.load_npz(f"matching_{kind}.npz"), paths[f"matching_{kind}"])
    plot_statistics(table, seeds, paths["statistics"])
    plot_nxny(run.load_npz("populations.npz"), seeds, paths["nxny"])
    f = m["function"]
    rows = [f"| statistic | seed {seeds[0]} [95% CI] | seed {seeds[1]} [95% CI] | intervals overlap |",
            "|---|---|---|---|"]
    for i, name in enumerate(table["statistic"]):
        cells = [f"{fmt(table[f'seed{s}_value'][i])} [{fmt(table[f'seed{s}_lo'][i])}, {fmt(table[f'seed{s}_hi'][i])}]"
                 for s in seeds]
        rows.append(f"| {name} | {cells[0]} | {cells[1]} | {'yes' if table['intervals_overlap'][i] else 'no'} |")
    text = "\n".join([
        f"- **Function-preserving symmetries** of the CNN fitted to the complex cell (experiment 08), on its "
        f"{m['n_hidden']} first-layer channels, evaluated in float64 on the held-out stimuli: a random "
        f"permutation changes the conv weights by up to {fmt(f['permuted_max_abs_weight_difference'], 3)} but the "
        f"network output (log rate, range {fmt(f['output_range'])}) by at most "
        f"{f['permuted_max_abs_output_difference']:.1e}; random positive rescaling (factors within ×/÷ "
        f"{m['max_scale']:g}) through the ReLU changes the weights by up to "
        f"{fmt(f['rescaled_max_abs_weight_difference'], 3)} and the output by at most "
        f"{f['rescaled_max_abs_output_difference']:.1e}.",
        *[f"- **Two seeds of ICA, {kind}** ({m['n_filters']} units, experiment 02's settings, seeds {seeds[0]} "
          f"and {seeds[1]}): median |cosine| in stored order {fmt(v['identity_median_abs_cos'])}; after Hungarian "
          f"matching up to sign {fmt(v['matched_median_abs_cos'])} ({fmt(100 * v['matched_fraction_above_0.9'], 0)}% "
          f"of pairs above 0.9), against {fmt(v['chance_matched_median_abs_cos'])} when matched to random "
          "filters." for kind, v in m["matching"].items()],
        f"- **Population statistics** of the well-fit units (seed {seeds[0]}: {m['n_well_fit'][str(seeds[0])]}, "
        f"seed {seeds[1]}: {m['n_well_fit'][str(seeds[1])]}): {m['n_agree']} of {m['n_statistics']} statistics "
        "have overlapping 95% intervals across seeds.",
        "", *rows])
    return Section("Non-identifiability: weights vs functions and populations", text, [
        *[(f"{paths[f'matching_{kind}']}.png", f"ICA {kind} of two seeds: |cosine| in stored order, after "
                                               "matching and against random filters; example matched pairs.")
          for kind in ("filters", "basis")],
        (f"{paths['statistics']}.png", "Population statistics of both seeds with 95% bootstrap intervals."),
        (f"{paths['nxny']}.png", "(nx, ny) of the well-fit units of both seeds."),
    ])


register(Experiment(
    number="11", name="identifiability", title="Non-identifiability: symmetries, seeds and population statistics",
    description=(
        "Weights are not identifiable: permuting hidden channels (and the next layer's inputs) or rescaling them "
        "by positive factors across a ReLU leaves the function unchanged. Two seeds of the same learner (ICA) "
        "give filter sets that agree only after matching up to order and sign (Hungarian algorithm on |cosine|). "
        "What should be compared are population statistics: medians of nx and ny, the (nx, ny) total-variation "
        "distance to Ringach (2002) and the Brain-Score similarity scores (units with Gabor R² ≥ r2_threshold), "
        "each with a 95% percentile interval over resamples (with replacement) of the model's units."),
    defaults={"seeds": [0, 1], "max_scale": 10.0, "r2_threshold": 0.7, "n_bootstrap": 1000,
              "n_resamples": 200, "n_inner_bootstrap": 200, "pixels_per_degree": 20.0},
    quick={"n_bootstrap": 200, "n_resamples": 50, "n_inner_bootstrap": 100},
    compute=compute, plot=plot))
