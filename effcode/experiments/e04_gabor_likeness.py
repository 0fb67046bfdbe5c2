"""Experiment 04: how Gabor-like are the learned filters, against controls, over seeds."""

from __future__ import annotations


import numpy as np

from ..plots import r2_ecdf
from ..plots.figure import new_figure, save_figure
from ..stats import holm, paired_test, seed_interval
from ..validation import check_choice
from ..runs.config import Key
from .base import Experiment, Section, register
from ..v1.scorer import R2_LEVELS as R2_THRESHOLDS
from ..v1.scorer import r2_summary
from .common import STANDARD_LEARNERS, fmt, gabor_table, learned_bank, source_images, standard_spec
from .seed_report import (ALPHA, R2_BOUNDS, column, dz_text, interval_text, p_text, pooled_note, seed_list,
                          seeds_note, verdict)

#: the controls, which should not be Gabor-like
CONTROLS = ("PCA components", "random filters", "sparse coding on white noise")
#: FilterBank attribute -> how the report names it
POPULATION_NAMES = {"basis": "basis functions (synthesis)", "filters": "filters (analysis)"}
#: the per-seed statistic the learners and controls are compared on
METRIC = "median_r2"


def pca_components(run, images, n_components: int, patch_size: int, n_patches: int, seed: int) -> np.ndarray:
    """Principal components of DC-removed raw patches (global, Fourier-like), (K, p, p)."""
    from ..data import PatchWhitener, remove_dc, sample_patches

    def compute():
        patches = remove_dc(sample_patches([im.array for im in images], patch_size, n_patches, random_state=seed))
        pca = PatchWhitener(kind="pca", n_components=n_components).fit(patches)
        return {"components": pca.components_.reshape(-1, patch_size, patch_size)}

    key = {"images": [im.sha256 for im in images], "k": n_components, "p": patch_size, "n": n_patches, "seed": seed}
    return run.step("pca", key, compute)["components"]


def white_noise_images(images, seed: int):
    """Gaussian white-noise images with the sizes of ``images`` (a control without natural structure)."""
    from ..data import make_image

    rng = np.random.default_rng(seed)
    return [make_image(rng.standard_normal(im.array.shape), f"white-noise/{im.id}", "white-noise") for im in images]


def seed_populations(run, images, cfg: dict, seed: int) -> dict[str, np.ndarray]:
    """The (K, h, w) arrays compared at one seed: each standard learner's ``population`` (its bank at its
    own experiment's settings, shared through the cache) and the three controls, of the sizes of the
    sparse-coding bank."""
    quick, population = bool(cfg.get("quick", False)), cfg["population"]
    out = {label: getattr(learned_bank(run, standard_spec(label, quick=quick, seed=seed), images), population)
           for label in STANDARD_LEARNERS}
    sparse_coding = standard_spec("sparse coding", quick=quick, seed=seed)
    k, p = sparse_coding.n_filters, sparse_coding.patch_size
    if k is None:
        raise TypeError("experiment 01's bank spec gives no n_filters")
    out["PCA components"] = pca_components(run, images, k, p, cfg["n_patches"], seed)
    out["random filters"] = np.random.default_rng(seed).standard_normal((k, p, p))
    out["sparse coding on white noise"] = getattr(
        learned_bank(run, sparse_coding, white_noise_images(images, seed)), population)
    return out


def compute(run) -> None:
    cfg = run.config
    check_choice("population", cfg["population"], POPULATION_NAMES)
    images = source_images(run)
    per_seed, r2 = [], {}
    labels = [*STANDARD_LEARNERS, *CONTROLS]
    for seed in seed_list(cfg, run.seed):
        populations = seed_populations(run, images, cfg, seed)
        fits = {label: gabor_table(run, populations[label])["r2"] for label in labels}
        per_seed.append({"seed": seed, **{label: r2_summary(values) for label, values in fits.items()}})
        r2.update({f"r2_{i}_seed{seed}": fits[label] for i, label in enumerate(labels)})
    run.save_npz("r2.npz", labels=np.array(labels), **r2)
    metrics = {"population": cfg["population"], "learners": list(STANDARD_LEARNERS), "controls": list(CONTROLS),
               "seeds": [row["seed"] for row in per_seed], "per_seed": per_seed}
    run.save_json("metrics.json", {**metrics, "comparisons": comparisons(metrics)})


# ----------------------------------------------------------------- the report, from the saved metrics


def comparisons(metrics: dict) -> list[dict]:
    """Every learner against every control on the per-seed median R², paired by seed
    (:func:`effcode.stats.paired_test` of learner − control), with Holm-adjusted p-values over all
    the comparisons and the :func:`verdict` at :data:`ALPHA` on the adjusted p-value."""
    ps = metrics["per_seed"]
    rows = [{"learner": learner, "control": control,
             **paired_test(column(ps, METRIC, learner), column(ps, METRIC, control))}
            for learner in metrics["learners"] for control in metrics["controls"]]
    for row, p in zip(rows, holm([row["p_value"] for row in rows])):
        row["p_holm"] = p
        row["verdict"] = verdict(row, p_value=p)
        row["learner_higher"] = int(sum(a > b for a, b in zip(column(ps, METRIC, row["learner"]),
                                                              column(ps, METRIC, row["control"]))))
    return rows


def population_table(metrics: dict) -> str:
    """Markdown table: each learner and control, mean [95% CI] over seeds of its R² summary."""
    ps = metrics["per_seed"]
    rows = ["| population | filters | median R² | R² ≥ 0.7 | R² ≥ 0.8 | R² ≥ 0.9 |", "|---|---|---|---|---|---|"]
    for label in [*metrics["learners"], *metrics["controls"]]:
        kind = "control" if label in metrics["controls"] else "learner"
        sizes = sorted({row[label]["n_filters"] for row in ps})
        cells = [interval_text(column(ps, "median_r2", label), bounds=R2_BOUNDS)]
        cells += [interval_text(column(ps, f"frac_r2_{t:.1f}", label), percent=True) for t in R2_THRESHOLDS]
        rows.append(f"| {label} ({kind}) | {'/'.join(map(str, sizes))} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def comparison_table(rows: list[dict]) -> str:
    """Markdown table of :func:`comparisons`."""
    out = ["| learner | control | median R² difference [95% CI] | p (Holm) | Cohen's dz [95% CI] | "
           "seeds learner higher | shown |", "|---|---|---|---|---|---|---|"]
    for row in rows:
        shown = {"higher": "learner more Gabor-like", "lower": "control more Gabor-like", "not shown": "no",
                 "no test": "no test (one seed)"}[row["verdict"]]
        diff = (f"{row['difference']:+.2f} [{fmt(row['lo'])}, {fmt(row['hi'])}]" if row["n"] >= 2
                else f"{row['difference']:+.2f}")
        out.append(f"| {row['learner']} | {row['control']} | {diff} | {p_text(row['p_holm'])} | "
                   f"{dz_text(row)} | {row['learner_higher']} of {row['n']} | {shown} |")
    return "\n".join(out)


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def claims_text(rows: list[dict]) -> str:
    """The sentences the comparisons allow: a learner is called more (less) Gabor-like than a control
    only where the paired test over seeds shows it; every other pair is stated as not shown."""
    if rows and all(row["verdict"] == "no test" for row in rows):
        return ("With one seed no paired test can be made, so the numbers above are stated without a claim of "
                "any difference in Gabor-likeness.")
    sentences = []
    for learner in dict.fromkeys(row["learner"] for row in rows):
        mine = [row for row in rows if row["learner"] == learner]
        higher = [row["control"] for row in mine if row["verdict"] == "higher"]
        lower = [row["control"] for row in mine if row["verdict"] == "lower"]
        open_ = [row["control"] for row in mine if row["verdict"] == "not shown"]
        parts = []
        if higher:
            parts.append(f"{learner} is more Gabor-like than {_join(higher)}")
        if lower:
            parts.append(f"{learner} is less Gabor-like than {_join(lower)}")
        if open_:
            parts.append(f"{'a difference from' if parts else f'for {learner} a difference from'} {_join(open_)} "
                         "is not shown")
        sentence = "; ".join(parts)
        sentences.append(sentence[0].upper() + sentence[1:] + ".")
    n = rows[0]["n"] if rows else 0
    return (" ".join(sentences) + f" (Median R² per seed, paired t-test over {n} seeds, Holm-corrected over the "
            f"{len(rows)} comparisons, level {ALPHA:.0%}; the difference and its 95% interval are uncorrected.)")


def summary_text(metrics: dict) -> str:
    """The section's text from the saved metrics (``metrics.json``)."""
    n = len(metrics["per_seed"])
    population = metrics["population"]
    rows = comparisons(metrics)
    return (f"Population fitted: the {POPULATION_NAMES[population]} of each learner and of the sparse-coding control "
            f"(config key population = \"{population}\"); PCA components and random filters have one population. "
            f"Seeds: {', '.join(map(str, metrics['seeds']))}. {seeds_note(n)}\n\n"
            + population_table(metrics) + "\n\n" + comparison_table(rows) + "\n\n" + claims_text(rows))


def threshold_intervals(metrics: dict) -> dict[str, dict[float, dict]]:
    """label -> R² level -> :func:`effcode.stats.seed_interval` of the fraction of filters at or above it."""
    ps = metrics["per_seed"]
    return {label: {t: seed_interval(column(ps, f"frac_r2_{t:.1f}", label)) for t in R2_THRESHOLDS}
            for label in [*metrics["learners"], *metrics["controls"]]}


def figure_captions(metrics: dict) -> dict[str, str]:
    n, population = len(metrics["seeds"]), POPULATION_NAMES[metrics["population"]]
    return {"r2_ecdf": f"Cumulative distribution of the R² of the Gabor fits for each learner (its {population}) "
                       f"and each control, filters {pooled_note(n)}.",
            "r2_fractions": "Fractions of filters with R² at or above 0.7, 0.8 and 0.9: mean over "
                            f"{n} seeds{' with 95% t-intervals' if n > 1 else ''}."}


def threshold_bars(intervals: dict, path) -> None:
    labels = list(intervals)
    fig = new_figure(8, 3.2)
    ax = fig.subplots()
    width = 0.8 / len(R2_THRESHOLDS)
    for j, t in enumerate(R2_THRESHOLDS):
        mean = np.array([intervals[label][t]["mean"] for label in labels])
        lo = np.array([intervals[label][t]["lo"] for label in labels])
        hi = np.array([intervals[label][t]["hi"] for label in labels])
        err = None if np.all(np.isnan(lo)) else np.vstack([mean - lo, hi - mean])
        ax.bar(np.arange(len(labels)) + (j - 1) * width, mean, width, yerr=err, capsize=2, label=f"R² ≥ {t}")
    ax.set_xticks(np.arange(len(labels)), labels, rotation=15, ha="right")
    ax.set_ylabel("fraction of filters")
    ax.set_ylim(0, 1.05)
    ax.legend(frameon=False)
    ax.set_title("Gabor-likeness: learned filters against controls")
    save_figure(fig, path)


def plot(run) -> Section:
    data = run.load_npz("r2.npz")
    metrics = run.load_json("metrics.json")
    labels = [str(x) for x in data["labels"]]
    pooled = {label: np.concatenate([data[f"r2_{i}_seed{s}"] for s in metrics["seeds"]])
              for i, label in enumerate(labels)}
    captions = figure_captions(metrics)
    paths = {name: run.figure_path(name) for name in captions}
    r2_ecdf(pooled, title="Gabor-fit R²: learned filters and controls", path=paths["r2_ecdf"])
    threshold_bars(threshold_intervals(metrics), paths["r2_fractions"])
    return Section("Gabor-likeness across learners, with controls", summary_text(metrics),
                   [(f"{paths[name]}.png", caption) for name, caption in captions.items()])


register(Experiment(
    number="04", name="gabor_likeness", title="Gabor-likeness across learners, with controls",
    description=("Every learner's basis functions (or filters: config key population; experiments 01-03, at their "
                 "own settings) are fitted with Gabors and compared with three controls that should not be "
                 "Gabor-like: the principal components of raw patches (global, Fourier-like), Gaussian random "
                 "filters, and a sparse-coding dictionary learned from white noise instead of natural images. "
                 "Learners and controls are made with the same seeds (config key n_seeds) and compared seed by "
                 "seed."),
    # Gabor-likeness of the learners' own arrays against controls that are arrays too (PCA components, random
    # filters): the basis functions, not the measured receptive fields of experiments 05-13
    defaults={"n_patches": 50_000, "population": "basis", "n_seeds": 3},
    quick={"n_patches": 10_000, "n_seeds": 2},
    keys={"n_patches": Key(int, "count", "raw patches whose principal components form the PCA control", low=1)},
    compute=compute, plot=plot))
