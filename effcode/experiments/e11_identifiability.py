"""Experiment 11: non-identifiability of weights, identifiability of functions and population statistics.

Every sentence and table of the report is made from ``metrics.json`` by the pure functions below
(:func:`symmetry_sentence`, :func:`matching_sentence`, :func:`equivalence_sentence`,
:func:`equivalence_rows`, :func:`population_sentence`, :func:`report_text`).  The word "agree"
appears only where a stated criterion is met: for matched filters :data:`MATCHING_CRITERION`, for
population statistics a TOST equivalence test at the margins of :data:`EQUIVALENCE_MARGINS`.
"""

from __future__ import annotations

import copy
import math
from typing import cast

import numpy as np

from ..plots.figure import new_figure, save_figure
from ..runs.config import Key
from .base import Experiment, Section, get_experiment, register
from .common import (QUICK_MEASUREMENT, SCORER_DEFAULTS, BankSpec, fmt, gabor_table, learned_bank, population_array, score,
                     scorer_settings, source_images, standard_spec, tuning_table)

#: the population statistics compared across seeds, with their labels in the report
STATISTICS = {"median_nx": "median nx", "median_ny": "median ny",
              "nxny_distance": "nx–ny TV distance to V1", "mean_similarity": "mean similarity"}

#: equivalence margins of the seed-to-seed comparison: ``size`` times ``scale`` (``"absolute"``, or
#: V1's median nx / ny from Ringach's 2002 histogram), and why that size
EQUIVALENCE_MARGINS = {
    "median_nx": {"size": 0.10, "scale": "v1_median_nx",
                  "reason": "a tenth of V1's median nx (Ringach 2002), far inside one bin of Ringach's grid "
                            "(bins span a factor of 1.74), so two populations this close occupy the same bins"},
    "median_ny": {"size": 0.10, "scale": "v1_median_ny",
                  "reason": "a tenth of V1's median ny (Ringach 2002), for the same reason as nx"},
    "nxny_distance": {"size": 0.10, "scale": "absolute",
                      "reason": "a tenth of the TV range [0, 1]; the two seeds' distances to V1 can differ by 0.1 only "
                                "if at least 10% of their units lie in different bins (|TV₁ − TV₂| ≤ the TV between "
                                "the seeds)"},
    "mean_similarity": {"size": 0.05, "scale": "absolute",
                        "reason": "5 points on the 0–1 scale whose 1 is V1's own ceiling; tighter than the TV "
                                  "margin because a mean over several properties is less noisy than one histogram"},
}

#: when two matched filter sets may be called the same up to order and sign: at least ``fraction``
#: of the Hungarian-matched pairs with |cosine| >= ``abs_cos``
MATCHING_CRITERION = {"abs_cos": 0.9, "fraction": 0.9,
                      "reason": "|cos| ≥ 0.9 leaves under 20% of a filter's energy unexplained by its partner "
                                "(1 − 0.9²), and nearly every pair must reach it for the sets to be the same"}

#: significance level of the TOST (the 90% interval it implies is reported)
ALPHA = 0.05


# --------------------------------------------------------------------------- compute


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


def ica_spec(quick: bool, seed: int) -> BankSpec:
    """The bank spec of experiment 02 (ICA) with ``seed``; seed 0 is the bank 02 itself learns."""
    return standard_spec("ICA", quick=quick, seed=seed)


def resampled_mean_similarity(run, filters: np.ndarray, cfg: dict, seed: int) -> np.ndarray:
    """The scorer's mean similarity on ``n_resamples`` resamples (with replacement) of the units of
    ``filters`` (the population array of one bank), from the full population's cached Gabor fit
    and grating tuning: the spread of that statistic over units, which the scorer does not report.

    Each resample's value is :func:`effcode.v1.scorer.similarity_summary` of its compared units (fit, R² at
    least the threshold, at least ``MIN_UNITS`` of them), seeded as :func:`effcode.v1.score_population`
    seeds it: the number that function reports for the resample, without its nx-ny tests and bootstraps,
    which the spread does not use."""
    from ..v1.scorer import MIN_UNITS, similarity_summary

    settings = scorer_settings(cfg)
    fit = {k: np.asarray(v) for k, v in gabor_table(run, filters).items()}
    tuning = {k: np.asarray(v) for k, v in tuning_table(run, filters, settings["pixels_per_degree"]).items()}
    compared = (fit["failed"] == 0) & np.isfinite(fit["r2"]) & (fit["r2"] >= settings["r2_threshold"])
    rng = np.random.default_rng([run.seed, 11, seed])
    out = []
    for _ in range(cfg["n_resamples"]):
        i = rng.integers(0, len(filters), len(filters))
        units = i[compared[i]]
        if units.size < MIN_UNITS:
            out.append(np.nan)
            continue
        table = {**{k: v[units] for k, v in tuning.items()}, "theta": fit["theta"][units]}
        out.append(similarity_summary(table, n_bootstrap=settings["n_bootstrap"], random_state=run.seed)[1])
    return np.asarray(out, dtype=float)


def matching_summary(matched, identity, chance_matched, criterion: dict = MATCHING_CRITERION) -> dict:
    """Scalars of one Hungarian matching of two filter sets (and of the match to random filters)."""
    t = criterion["abs_cos"]
    matched, chance = np.asarray(matched, dtype=float), np.asarray(chance_matched, dtype=float)
    return {"matched_median_abs_cos": float(np.median(matched)),
            f"matched_fraction_above_{t:g}": float(np.mean(matched >= t)),
            "identity_median_abs_cos": float(np.median(identity)),
            "chance_matched_median_abs_cos": float(np.median(chance)),
            f"chance_matched_fraction_above_{t:g}": float(np.mean(chance >= t)),
            "n_pairs": int(matched.size)}


def v1_medians() -> dict:
    """V1's median nx and ny (Ringach 2002 histogram)."""
    from ..v1 import ringach2002_nxny_histogram

    ref = ringach2002_nxny_histogram()
    return {"nx": float(ref.median("nx")), "ny": float(ref.median("ny"))}


def resolve_margins(medians: dict, rules: dict = EQUIVALENCE_MARGINS) -> dict:
    """Each statistic's margin in its own units, with its reason: ``size`` times V1's median (for
    ``scale`` ``"v1_median_nx"`` / ``"v1_median_ny"``) or ``size`` itself (``"absolute"``)."""
    out = {}
    for stat, rule in rules.items():
        scale = 1.0 if rule["scale"] == "absolute" else medians[rule["scale"].rsplit("_", 1)[-1]]
        out[stat] = {"margin": float(rule["size"] * scale), "reason": rule["reason"]}
    return out


def population_values(score_metrics: dict, mean_similarity_se: float) -> dict:
    """(value, standard error) of each of :data:`STATISTICS` from one population's scorer metrics
    (``V1PopulationScore.metrics()``); the mean similarity's SE comes from :func:`resampled_mean_similarity`."""
    nan = math.nan
    nxny = score_metrics["nxny"]
    return {"median_nx": (score_metrics["median_nx"]["value"], score_metrics["median_nx"]["se"]),
            "median_ny": (score_metrics["median_ny"]["value"], score_metrics["median_ny"]["se"]),
            "nxny_distance": (nxny.get("distance", nan), nxny.get("distance_se", nan)),
            "mean_similarity": (score_metrics["mean_similarity"], mean_similarity_se)}


def _finite(*values) -> bool:
    return all(v is not None and math.isfinite(v) for v in values)


def equivalence_tests(values_a: dict, values_b: dict, margins: dict) -> dict:
    """TOST of each statistic's difference (a − b) against ``±margin``, the SE of the difference
    sqrt(se_a² + se_b²) from the two populations' SEs (independent populations).  A statistic without
    a finite value or SE in either population is ``tested: False``."""
    from ..stats import equivalence_test

    out = {}
    for stat, (va, sa) in values_a.items():
        vb, sb = values_b[stat]
        row = {"value_a": va, "se_a": sa, "value_b": vb, "se_b": sb, "margin": margins[stat]["margin"],
               "reason": margins[stat]["reason"], "tested": _finite(va, sa, vb, sb)}
        if row["tested"]:
            se = math.sqrt(sa ** 2 + sb ** 2)
            test = equivalence_test(va - vb, se, row["margin"])
            row.update(difference=test["difference"], se=se, p_value=test["p_value"], lo=test["lo"], hi=test["hi"],
                       equivalent=test["equivalent"])
        else:
            row.update(difference=math.nan, se=math.nan, p_value=math.nan, lo=math.nan, hi=math.nan, equivalent=False)
        out[stat] = row
    return out


def compute(run) -> None:
    from ..encoding import match_filters

    cfg = run.config
    images = source_images(run)
    sym = function_symmetries(run, cfg, images)
    run.save_npz("symmetries.npz", **{k: np.asarray(v) for k, v in sym.items()})
    seeds = cfg["seeds"]
    banks = {s: learned_bank(run, ica_spec(cfg["quick"], s), images) for s in seeds}
    matching = {}
    for kind in ("filters", "basis"):
        a, b = getattr(banks[seeds[0]], kind), getattr(banks[seeds[1]], kind)
        match = match_filters(a, b)
        chance = match_filters(a, np.random.default_rng([run.seed, 110]).standard_normal(b.shape))
        run.save_npz(f"matching_{kind}.npz", **match, chance_matched=chance["matched"], filters_a=a,
                     filters_b_matched=b[match["perm"]] * match["sign"][:, None, None])
        matching[kind] = matching_summary(match["matched"], match["identity"], chance["matched"])
    scores, values, resamples, pops = {}, {}, {}, {}
    for s in seeds:
        scored = score(run, banks[s], name=f"ICA seed {s}", cfg=cfg)
        scores[s] = scored.metrics()
        draws = resampled_mean_similarity(run, population_array(run, banks[s], cfg["population"],
                                                                stimulus=cfg["rf_stimulus"],
                                                                n_stimuli=cfg["rf_n_stimuli"], seed=run.seed), cfg, s)
        finite = draws[np.isfinite(draws)]
        resamples[s] = {"n": int(finite.size), "se": float(finite.std(ddof=1)) if finite.size > 1 else math.nan}
        values[s] = population_values(scores[s], resamples[s]["se"])
        resolved = scored.units["resolved"]
        pops[s] = {"nx": scored.units["fit_nx"][resolved], "ny": scored.units["fit_ny"][resolved]}
    run.save_npz("populations.npz", **{f"{k}_{s}": v for s in seeds for k, v in pops[s].items()})
    medians = v1_medians()
    margins = resolve_margins(medians)
    run.save_json("metrics.json", {
        "function": {k: v for k, v in sym.items() if np.ndim(v) == 0},
        "n_hidden": int(len(sym["perm"])), "max_scale": cfg["max_scale"],
        "seeds": seeds, "n_filters": int(banks[seeds[0]].n_filters), "population": cfg["population"],
        "matching": matching, "matching_criterion": MATCHING_CRITERION,
        "scores": {str(s): scores[s] for s in seeds},
        "mean_similarity_resamples": {str(s): resamples[s] for s in seeds},
        "v1_medians": medians, "alpha": ALPHA,
        "equivalence": equivalence_tests(values[seeds[0]], values[seeds[1]], margins),
    })


# --------------------------------------------------------------------------- report (pure functions of metrics)


def _p(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def _num(x: float) -> str:
    """A number with three significant digits (margins and differences span 0.001–1)."""
    return "–" if x is None or not math.isfinite(x) else f"{x:.3g}"


def symmetry_sentence(m: dict) -> str:
    """The function-preserving symmetries of the experiment-08 CNN, from the metrics."""
    f = m["function"]
    return (f"**Function-preserving symmetries** of the CNN fitted to the complex cell (experiment 08), on its "
            f"{m['n_hidden']} first-layer channels, evaluated in float64 on the held-out stimuli: a random "
            f"permutation changes the conv weights by up to {fmt(f['permuted_max_abs_weight_difference'], 3)} but the "
            f"network output (log rate, range {fmt(f['output_range'])}) by at most "
            f"{f['permuted_max_abs_output_difference']:.1e}; random positive rescaling (factors within ×/÷ "
            f"{m['max_scale']:g}) through the ReLU changes the weights by up to "
            f"{fmt(f['rescaled_max_abs_weight_difference'], 3)} and the output by at most "
            f"{f['rescaled_max_abs_output_difference']:.1e}.")


def matching_passes(values: dict, criterion: dict = MATCHING_CRITERION) -> bool:
    """Whether a matching meets :data:`MATCHING_CRITERION`."""
    return values[f"matched_fraction_above_{criterion['abs_cos']:g}"] >= criterion["fraction"]


def matching_sentence(kind: str, values: dict, *, n_filters: int, seeds, criterion: dict = MATCHING_CRITERION) -> str:
    """One ICA unit type (``kind``: "filters" or "basis") of two seeds after Hungarian matching, with
    the chance level (matching to random filters) and the verdict of ``criterion``."""
    t, need = criterion["abs_cos"], criterion["fraction"]
    head = (f"**Two seeds of ICA, {kind}** ({n_filters} units, experiment 02's settings, seeds {seeds[0]} and "
            f"{seeds[1]}): median |cosine| in stored order {fmt(values['identity_median_abs_cos'])}; after Hungarian "
            f"matching up to sign, median {fmt(values['matched_median_abs_cos'])} with "
            f"{fmt(100 * values[f'matched_fraction_above_{t:g}'], 0)}% of pairs at |cos| ≥ {t:g}, against median "
            f"{fmt(values['chance_matched_median_abs_cos'])} and "
            f"{fmt(100 * values[f'chance_matched_fraction_above_{t:g}'], 0)}% when matched to random filters.")
    rule = f"at least {fmt(100 * need, 0)}% of matched pairs at |cos| ≥ {t:g}"
    if matching_passes(values, criterion):
        return f"{head} By the stated criterion ({rule}) the two seeds' {kind} agree up to order and sign."
    return (f"{head} The criterion for calling them the same {kind} up to order and sign ({rule}) is not met.")


def equivalence_sentence(label: str, row: dict) -> str:
    """One statistic's TOST result: "equivalent within ±margin (TOST p = …)" or "not shown equivalent:
    difference d, 90% CI [lo, hi], margin ±m"."""
    if not row["tested"]:
        return f"{label}: not tested (no value or standard error in one of the populations)"
    if row["equivalent"]:
        return f"{label}: equivalent within ±{_num(row['margin'])} (TOST p = {_p(row['p_value'])})"
    return (f"{label}: not shown equivalent: difference {_num(row['difference'])}, 90% CI [{_num(row['lo'])}, "
            f"{_num(row['hi'])}], margin ±{_num(row['margin'])} (TOST p = {_p(row['p_value'])})")


def _ordered(tests: dict) -> list[tuple[str, dict]]:
    """The tests in the order of :data:`STATISTICS` (metrics.json stores keys sorted), others after."""
    return [(k, tests[k]) for k in STATISTICS if k in tests] + [(k, r) for k, r in tests.items() if k not in STATISTICS]


def equivalence_rows(tests: dict, seeds) -> list[str]:
    """The markdown table of the seed-to-seed equivalence tests (one row per statistic)."""
    a, b = seeds
    rows = [f"| statistic | seed {a} (SE) | seed {b} (SE) | difference [90% CI] | margin | TOST p | result |",
            "|---|---|---|---|---|---|---|"]
    for stat, row in _ordered(tests):
        result = ("not tested" if not row["tested"] else
                  "equivalent" if row["equivalent"] else "not shown equivalent")
        rows.append(f"| {STATISTICS.get(stat, stat)} | {_num(row['value_a'])} ({_num(row['se_a'])}) | "
                    f"{_num(row['value_b'])} ({_num(row['se_b'])}) | {_num(row['difference'])} "
                    f"[{_num(row['lo'])}, {_num(row['hi'])}] | ±{_num(row['margin'])} | "
                    f"{_p(row['p_value']) if row['tested'] else '–'} | {result} |")
    return rows


def margin_lines(tests: dict) -> list[str]:
    """Each statistic's margin and the reason for its size."""
    return [f"- {STATISTICS.get(stat, stat)} ±{_num(row['margin'])}: {row['reason']}." for stat, row in _ordered(tests)]


def population_sentence(m: dict) -> str:
    """What the two seeds' populations were, how they were compared, and the verdict: "agree" names
    only the statistics whose equivalence test passed."""
    seeds, tests = m["seeds"], m["equivalence"]
    counts = []
    for s in seeds:
        f = m["scores"][str(s)]["funnel"]
        counts.append(f"seed {s}: {f['nx and ny resolved']} with nx and ny resolved, {f['R² ≥ threshold']} "
                      f"Gabor-like of {f['all units']}")
    n_draws = min(r["n"] for r in m["mean_similarity_resamples"].values())
    how = (f"**Population statistics** of the two seeds' {m['population']} from the one scorer ({'; '.join(counts)}; "
           "the medians and the TV distance on the units with nx and ny resolved, the similarity on the Gabor-like "
           "ones). "
           f"Each difference (seed {seeds[0]} − seed {seeds[1]}) is tested for equivalence by two one-sided tests "
           f"(TOST, α = {m['alpha']:g}) against a stated margin, with the standard error of the difference "
           "sqrt(SE₁² + SE₂²) from each population's bootstrap over its units (the mean similarity's SE from the "
           f"scorer rerun on {n_draws} resamples of the units).")
    shown = [STATISTICS.get(k, k) for k, r in _ordered(tests) if r["equivalent"]]
    if not shown:
        verdict = f"None of the {len(tests)} statistics is shown equivalent at its margin."
    elif len(shown) == len(tests):
        verdict = f"The two seeds agree on all {len(tests)} statistics within their margins."
    else:
        verdict = (f"The two seeds agree within the margins on {', '.join(shown)}; equivalence is not shown for "
                   f"the other {len(tests) - len(shown)}.")
    return f"{how} {verdict}"


def equivalence_lines(tests: dict) -> list[str]:
    """One :func:`equivalence_sentence` per statistic, in the order of :data:`STATISTICS`."""
    return [equivalence_sentence(STATISTICS.get(k, k), r) for k, r in _ordered(tests)]


def report_text(m: dict) -> str:
    """The report section's text, from ``metrics.json`` alone."""
    return "\n".join([
        f"- {symmetry_sentence(m)}",
        *[f"- {matching_sentence(kind, v, n_filters=m['n_filters'], seeds=m['seeds'])}"
          for kind, v in m["matching"].items()],
        f"- {population_sentence(m)}",
        *[f"  - {line}" for line in equivalence_lines(m["equivalence"])],
        "", *equivalence_rows(m["equivalence"], m["seeds"]),
        "", "Margins:", *margin_lines(m["equivalence"])])


# --------------------------------------------------------------------------- figures


def plot_matching(match: dict, path) -> None:
    fig = new_figure(9.0, 3.4)
    grid = cast(np.ndarray, fig.subfigures(1, 2, width_ratios=[1.1, 1]))   # two: an array of them
    ax = grid[0].subplots()
    bins = np.linspace(0, 1, 41)
    ax.hist(match["identity"], bins, alpha=0.6, label="stored order (identity)")
    ax.hist(match["matched"], bins, alpha=0.6, label="Hungarian match (up to sign)")
    ax.hist(match["chance_matched"], bins, alpha=0.6, label="match to random filters")
    ax.axvline(MATCHING_CRITERION["abs_cos"], color="k", lw=0.8, ls="--")
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
        lim = max(np.abs(match["filters_a"][k]).max(), np.abs(match["filters_b_matched"][k]).max())
        for row, key in enumerate(("filters_a", "filters_b_matched")):   # a pair shares one grey scale
            axes[2 * band + row, col].imshow(match[key][k], cmap="gray", vmin=-lim, vmax=lim,
                                             interpolation="nearest")
        axes[2 * band, col].set_title(f"|cos| {match['matched'][k]:.2f}", fontsize=7)
    grid[1].suptitle("seed A (upper) and its matched seed-B unit (lower)", fontsize=8)
    save_figure(fig, path)


def plot_equivalence(tests: dict, seeds, path) -> None:
    """Each statistic's difference between the seeds with its 90% interval, in units of its margin:
    equivalence is shown where the interval lies inside (−1, 1)."""
    names = [k for k, r in _ordered(tests) if r["tested"]]
    fig = new_figure(6.0, 0.45 * max(1, len(names)) + 1.2)
    ax = fig.add_subplot()
    ax.axvspan(-1, 1, color="0.9")
    ax.axvline(0, color="0.5", lw=0.8)
    for y, k in enumerate(names):
        r = tests[k]
        color = "C2" if r["equivalent"] else "C3"
        ax.hlines(y, r["lo"] / r["margin"], r["hi"] / r["margin"], color=color, lw=2)
        ax.plot(r["difference"] / r["margin"], y, "o", ms=4, color=color)
    ax.set_yticks(range(len(names)), [STATISTICS.get(k, k) for k in names], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel(f"(seed {seeds[0]} − seed {seeds[1]}) / margin, with 90% interval (grey: ± margin)")
    ax.grid(alpha=0.3, axis="x")
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
    paths = {n: run.figure_path(n) for n in ("matching_filters", "matching_basis", "equivalence", "nxny")}
    for kind in ("filters", "basis"):
        plot_matching(run.load_npz(f"matching_{kind}.npz"), paths[f"matching_{kind}"])
    plot_equivalence(m["equivalence"], seeds, paths["equivalence"])
    plot_nxny(run.load_npz("populations.npz"), seeds, paths["nxny"])
    return Section("Non-identifiability: weights vs functions and populations", report_text(m), [
        *[(f"{paths[f'matching_{kind}']}.png", f"ICA {kind} of two seeds: |cosine| in stored order, after "
                                               "matching and against random filters (dashed: the 0.9 criterion); "
                                               "example matched pairs.")
          for kind in ("filters", "basis")],
        (f"{paths['equivalence']}.png", "Difference of each population statistic between the seeds, with its 90% "
                                        "interval, in units of its equivalence margin (grey band); green: "
                                        "equivalence shown, red: not shown."),
        (f"{paths['nxny']}.png", "(nx, ny) of the units with nx and ny resolved, both seeds."),
    ])


register(Experiment(
    number="11", name="identifiability", title="Non-identifiability: symmetries, seeds and population statistics",
    description=(
        "Weights are not identifiable: permuting hidden channels (and the next layer's inputs) or rescaling them "
        "by positive factors across a ReLU leaves the function unchanged. Two seeds of the same learner (ICA) "
        "learn their units in different orders and signs; the Hungarian algorithm on |cosine| pairs them up, and "
        "the report gives how close the pairs are (median |cosine|, fraction at |cos| ≥ 0.9, against the same "
        "matching to random filters), calling the sets the same only if at least 90% of pairs reach 0.9. "
        "What should be compared are population statistics from the one scorer: the medians of nx and ny, the "
        "(nx, ny) total-variation distance to Ringach (2002) and the mean Brain-Score similarity. Each is compared "
        "across the seeds by a TOST equivalence test against a stated margin, with the standard error of the "
        "difference from the two populations' bootstrap over units."),
    # image_fraction 1: both seeds learn from every image, so the comparison isolates the initialisation (the
    # question is whether two runs of one learner on one data set agree, not how much the images matter)
    defaults={"seeds": [0, 1], "max_scale": 10.0, **SCORER_DEFAULTS, "n_resamples": 200, "image_fraction": 1.0},
    quick={"n_resamples": 50, **QUICK_MEASUREMENT},
    keys={"seeds": Key(list, "label", "seeds whose ICA filters and populations are compared (the first two are "
                       "matched unit by unit)", item=int, low=0, min_items=2),
          "max_scale": Key(float, "dimensionless", "largest rescaling of a hidden unit in the symmetry check (scales "
                           "log-uniform in [1/max_scale, max_scale])", low=1.0),
          "n_resamples": Key(int, "count", "resamples of the units for the spread of the mean similarity", low=1)},
    compute=compute, plot=plot))
