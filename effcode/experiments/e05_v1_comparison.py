"""Experiment 05: each standard learner's population against V1 (Ringach 2002, De Valois 1982, Schiller 1976),
over several seeds, through the one scorer (:func:`effcode.v1.score_population`).

``compute`` learns every standard learner's bank (:func:`~effcode.experiments.common.standard_spec`) for
each of ``n_seeds`` seeds, scores it with :func:`~effcode.experiments.common.score` and saves

* ``metrics.json``: ``per_seed[label]`` (one ``V1PopulationScore.metrics()`` per seed, with its ``seed``),
  ``summary[label]`` (:func:`seed_summary`: mean and 95% interval over seeds of every headline statistic,
  and the count of seeds in which each of Ringach's findings holds), the ``population`` scored (the
  ``headline``: ``"measured_rf/hartley"`` by default), the scorer ``settings``, the ``v1`` reference values the
  report quotes, and ``alternatives[key]`` (``per_seed`` and ``summary`` of the same banks scored in the other
  spaces of :data:`ALTERNATIVES`, which :func:`spaces_table` sets beside the headline);
* ``nxny_<learner>_seed<seed>.npz`` (keys ``nx``, ``ny``, ``resolved``: the arguments of
  :func:`effcode.plots.nxny_scatter`, for the units with R² ≥ threshold) and ``tuning_<learner>.npz`` (the
  grating-tuning table of the same units of the first seed, the argument of
  :func:`effcode.plots.property_distributions`).

Every sentence and table of the report section is made from ``metrics.json`` by the module-level
functions :func:`funnel_table`, :func:`headline_table`, :func:`spaces_table`, :func:`similarity_note`, :func:`peak_sf_table`,
:func:`ordering_text` and :func:`findings_text` (tested with hand-made metrics in ``tests/test_report_e05.py``).
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from ..stats import seed_interval
from ..v1.claims import RINGACH2002, Verdict, ringach_results, verdict, verdict_phrase
from ..v1.scorer import MIN_UNITS as SCORER_MIN_UNITS
from .base import Experiment, Section, register
from .common import (QUICK_MEASUREMENT, SCORER_DEFAULTS, STANDARD_LEARNERS, fmt, learned_bank, population_array, score, scorer_settings,
                     source_images, standard_spec, tuning_table)

#: what each scored population is called in the tables
POPULATION_NAMES = {"measured_rf": "measured receptive fields", "basis": "basis functions",
                    "filters": "analysis filters"}

#: the stimulus ensembles of the in-silico physiology, as named in the tables
STIMULUS_NAMES = {"hartley": "Hartley gratings", "white_noise": "white noise"}

#: the populations scored beside the config's (the headline), so that the report shows how the answer depends
#: on the space and the stimulus: name -> (population, stimulus of the measurement)
ALTERNATIVES = {"measured_rf/white_noise": ("measured_rf", "white_noise"), "basis": ("basis", None)}

#: fewest units of a population for which the scorer computes population statistics (and a figure is drawn)
MIN_UNITS = SCORER_MIN_UNITS

#: significance level of every statement of the section
LEVEL = 0.05

def _funnel_count(stage: str) -> Callable[[dict], Any]:
    """How to read the number of units at funnel ``stage`` from one seed's metrics."""
    return lambda m: m["funnel"][stage]


#: the across-seed statistics of :func:`seed_summary`: name -> how to read it from one seed's metrics
SUMMARY_STATS: dict[str, Callable[[dict], Any]] = {
    "median_r2": lambda m: m["r2"]["median_r2"],
    "median_nx": lambda m: m["median_nx"]["value"],
    "median_ny": lambda m: m["median_ny"]["value"],
    "nxny_distance": lambda m: m["nxny_distance"],
    "nxny_p_value": lambda m: m["nxny_p_value"],
    "nxny_null_95": lambda m: m["nxny"].get("null_95", math.nan),
    "nxny_distance_in_grid": lambda m: m["nxny_in_grid"].get("distance", math.nan),
    "nxny_p_value_in_grid": lambda m: m["nxny_in_grid"].get("p_value", math.nan),
    "nxny_distance_least": lambda m: m["nxny_bracket"].get("least", {}).get("distance", math.nan),
    "nxny_distance_most": lambda m: m["nxny_bracket"].get("most", {}).get("distance", math.nan),
    "nxny_p_value_least": lambda m: m["nxny_bracket"].get("least", {}).get("p_value", math.nan),
    "nxny_p_value_most": lambda m: m["nxny_bracket"].get("most", {}).get("p_value", math.nan),
    "blob_fraction": lambda m: m["blob_fraction"].get("point", math.nan),
    "blob_fraction_lo": lambda m: m["blob_fraction"].get("lo", math.nan),
    "blob_fraction_hi": lambda m: m["blob_fraction"].get("hi", math.nan),
    "median_nx_bracket_lo": lambda m: m["median_nx"].get("bracket_lo", math.nan),
    "median_nx_bracket_hi": lambda m: m["median_nx"].get("bracket_hi", math.nan),
    "median_ny_bracket_lo": lambda m: m["median_ny"].get("bracket_lo", math.nan),
    "median_ny_bracket_hi": lambda m: m["median_ny"].get("bracket_hi", math.nan),
    "mean_similarity": lambda m: m["mean_similarity"],
    **{f"n_{key}": _funnel_count(stage) for key, stage in (
        ("all", "all units"), ("fit_ok", "fit succeeded"), ("r2_ok", "R² ≥ threshold"),
        ("resolved", "nx and ny resolved"), ("in_grid", "inside the reference grid"))},
    "n_unresolved": lambda m: m["n_unresolved"],
}

#: Ringach's (2002) findings, tested per seed on every learner: the parts of the claim
FINDING_NAMES = {p.key: p.words for p in RINGACH2002.parts}


def slug(label: str) -> str:
    return label.replace(" ", "_").lower()


def seeds(cfg: dict) -> list[int]:
    """The seeds of a config: ``seed``, ``seed + 1``, ... (``n_seeds`` of them)."""
    return [int(cfg["seed"]) + i for i in range(int(cfg["n_seeds"]))]


# ----------------------------------------------------------------------------- computing


def _number(value) -> float:
    return float(value) if value is not None else math.nan


def seed_summary(per_seed: list[dict]) -> dict:
    """Across-seed summary of one learner's per-seed ``V1PopulationScore.metrics()``.

    Every statistic of :data:`SUMMARY_STATS` becomes :func:`effcode.stats.seed_interval` of its per-seed
    values plus ``values`` (the values themselves); ``nxny_p_value`` also has ``max`` (the largest p) and
    ``n_significant`` (seeds with p < :data:`LEVEL`).  ``peak_sf`` holds one interval per pixels-per-degree
    value.  ``findings[name]``: ``holds`` (seeds in which the scorer's conclusion, over both ends of the
    bracket, is "holds"), ``conclusions`` (the scorer's conclusion per seed), ``n``, and at the fitted values
    ``p_values``, ``effects`` (P(model > V1) for nx and ny; the blob-like fraction for blobs); the verdict
    on the findings is :func:`ringach_verdict`'s.
    """
    out: dict[str, Any] = {}
    for name, read in SUMMARY_STATS.items():
        values = [_number(read(m)) for m in per_seed]
        out[name] = {**seed_interval(values), "values": values}
    ps = [p for p in out["nxny_p_value"]["values"] if math.isfinite(p)]
    out["nxny_p_value"].update(max=max(ps) if ps else math.nan, n_significant=sum(p < LEVEL for p in ps))
    ppds = sorted({k for m in per_seed for k in m.get("peak_sf_by_ppd", {})}, key=float)
    out["peak_sf"] = {k: seed_interval([_number(m["peak_sf_by_ppd"].get(k)) for m in per_seed]) for k in ppds}
    findings: dict[str, dict[str, Any]] = {}
    for name in FINDING_NAMES:
        brackets = [m["findings"][name] for m in per_seed]
        results = [b["point"] for b in brackets]
        effect_key = "fraction" if name == "fewer_blobs" else "effect"
        entry = {"holds": sum(b["conclusion"] == "holds" for b in brackets), "n": len(results),
                 "conclusions": [b["conclusion"] for b in brackets],
                 "p_values": [_number(r.get("p_value")) for r in results],
                 "effects": [_number(r.get(effect_key)) for r in results],
                 "n_units": [_number(r.get("n_model")) for r in results]}
        if name == "fewer_blobs" and results:
            entry["v1_fraction"] = _number(results[0].get("v1_fraction"))
        findings[name] = entry
    out["findings"] = findings
    out["n_seeds"] = len(per_seed)
    return out


def v1_reference() -> dict:
    """The V1 values the report quotes (Ringach 2002's packaged histogram)."""
    from ..v1 import ringach2002_nxny_histogram
    from ..v1.findings import BLOB_EDGE, v1_blob_count

    ref = ringach2002_nxny_histogram()
    k, n = v1_blob_count()
    return {"n_cells": ref.n_cells, "median_nx": ref.median("nx"), "median_ny": ref.median("ny"),
            "blob_count": k, "blob_fraction": k / n, "blob_edge": BLOB_EDGE,
            "grid": [float(ref.nx_edges[0]), float(ref.nx_edges[-1])]}


def population_key(population: str, stimulus: str | None) -> str:
    """The name of a scored population: ``"measured_rf/<stimulus>"`` or the bank's array name."""
    return f"{population}/{stimulus}" if population == "measured_rf" else population


def population_label(key: str) -> str:
    """A population's name in the tables: "measured receptive fields (Hartley gratings)", "basis functions"."""
    population, _, stimulus = key.partition("/")
    name = POPULATION_NAMES.get(population, population)
    return f"{name} ({STIMULUS_NAMES.get(stimulus, stimulus)})" if stimulus else name


def compute(run) -> None:
    cfg = run.config
    images = source_images(run)
    headline = population_key(cfg["population"], cfg["rf_stimulus"])
    others = {key: spec for key, spec in ALTERNATIVES.items() if key != headline}
    per_seed: dict[str, Any] = {}
    alternatives: dict[str, dict] = {key: {} for key in others}
    for label in STANDARD_LEARNERS:
        per_seed[label] = []
        for key in others:
            alternatives[key][label] = []
        for i, seed in enumerate(seeds(cfg)):
            bank = learned_bank(run, standard_spec(label, quick=bool(cfg.get("quick")), seed=seed), images)
            scored = score(run, bank, name=label, cfg=cfg, seed=seed)
            per_seed[label].append({**scored.metrics(), "seed": seed})
            for key, (population, stimulus) in others.items():
                other = score(run, bank, name=label, cfg=cfg, seed=seed, population=population, stimulus=stimulus)
                alternatives[key][label].append({**other.metrics(), "seed": seed})
            units = scored.units
            shown = units["r2_ok"]
            run.save_npz(f"nxny_{slug(label)}_seed{seed}.npz", nx=units["fit_nx"][shown],
                         ny=units["fit_ny"][shown], resolved=units["resolved"][shown])
            if i == 0:
                filters = population_array(run, bank, cfg["population"], stimulus=cfg["rf_stimulus"],
                                           n_stimuli=cfg["rf_n_stimuli"], seed=seed)
                tuning = tuning_table(run, filters, cfg["pixels_per_degree"])
                run.save_npz(f"tuning_{slug(label)}.npz", **{k: np.asarray(v)[shown] for k, v in tuning.items()},
                             theta=units["fit_theta"][shown])
    run.save_json("metrics.json", {
        "learners": list(STANDARD_LEARNERS), "population": cfg["population"], "rf_stimulus": cfg["rf_stimulus"],
        "headline": headline, "seeds": seeds(cfg), "settings": scorer_settings(cfg), "per_seed": per_seed,
        "summary": {label: seed_summary(ms) for label, ms in per_seed.items()}, "v1": v1_reference(),
        "alternatives": {key: {"per_seed": ps, "summary": {label: seed_summary(ms) for label, ms in ps.items()}}
                         for key, ps in alternatives.items()}})


# ----------------------------------------------------------------------------- the report


#: the range each statistic can take: its interval over seeds is clipped to it in the tables
BOUNDS = {"median_r2": (-math.inf, 1.0), "median_nx": (0.0, math.inf), "median_ny": (0.0, math.inf),
          "nxny_distance": (0.0, 1.0), "nxny_null_95": (0.0, 1.0), "nxny_distance_in_grid": (0.0, 1.0),
          "blob_fraction": (0.0, 1.0)}


def interval(s: dict, digits: int = 2, bounds: tuple = (-math.inf, math.inf)) -> str:
    """``mean [lo, hi]`` of a :func:`effcode.stats.seed_interval` dict, the interval clipped to ``bounds``
    (the range the statistic can take); the mean alone for one seed."""
    if not math.isfinite(s.get("mean", math.nan)):
        return "–"
    if not math.isfinite(s.get("lo", math.nan)):
        return fmt(s["mean"], digits)
    lo, hi = max(s["lo"], bounds[0]), min(s["hi"], bounds[1])
    return f"{fmt(s['mean'], digits)} [{fmt(lo, digits)}, {fmt(hi, digits)}]"


def _iv(s: dict, name: str) -> str:
    return interval(s[name], bounds=BOUNDS.get(name, (-math.inf, math.inf)))


def fmt_p(p: float) -> str:
    """A p-value: three decimals, "< 0.001" below that, an en dash when missing."""
    if p is None or not math.isfinite(p):
        return "–"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def _count(s: dict) -> str:
    """A count over seeds: the mean, and the range when the seeds differ."""
    values = [v for v in s["values"] if math.isfinite(v)]
    if not values:
        return "–"
    lo, hi = min(values), max(values)
    mean = f"{np.mean(values):.0f}" if float(np.mean(values)).is_integer() else f"{np.mean(values):.1f}"
    return mean if lo == hi else f"{mean} ({lo:.0f}–{hi:.0f})"


def _mean(s: dict) -> str:
    """A count's mean over seeds, to one decimal where it is not whole."""
    values = [v for v in s["values"] if math.isfinite(v)]
    if not values:
        return "–"
    mean = float(np.mean(values))
    return f"{mean:.0f}" if mean.is_integer() else f"{mean:.1f}"


def learners(metrics: dict) -> list[str]:
    """The learners in the order of the comparison (``metrics["learners"]``; the JSON file sorts its keys)."""
    return [label for label in metrics.get("learners", sorted(metrics["summary"])) if label in metrics["summary"]]


def p_text(p: float) -> str:
    """A p-value in a sentence: "p = 0.034" or "p < 0.001"."""
    text = fmt_p(p)
    return f"p {text}" if text.startswith("<") else f"p = {text}"


def population_name(metrics: dict) -> str:
    return population_label(metrics.get("headline", metrics["population"]))


def _seeds_phrase(metrics: dict) -> str:
    n = len(metrics["seeds"])
    return f"{n} seed{'s' * (n != 1)}"


def funnel_table(metrics: dict) -> str:
    """The funnel per learner (markdown): every unit with R² ≥ threshold is compared; of those, how many
    their nx and ny intervals place in one of Ringach's bins and how many stay undetermined."""
    thr = fmt(metrics["settings"]["r2_threshold"])
    level = f"{100 * metrics['settings']['interval_level']:.0f}%"
    rows = [f"Units of the {population_name(metrics)}, mean over {_seeds_phrase(metrics)} (range over seeds in "
            f"brackets when they differ). Every unit with R² ≥ {thr} is compared with V1: none is dropped for being "
            f"hard to measure. Each gets {level} profile-likelihood intervals for nx and ny; it is placed in a bin "
            "of Ringach's grid when both intervals lie in one bin, and is otherwise undetermined (it then enters "
            "every bin-based result as a bracket).", "",
            f"| learner | all units | fit succeeded | compared (R² ≥ {thr}) | placed in one bin | undetermined | "
            "fitted values inside Ringach's grid |", "|---|---|---|---|---|---|---|"]
    for label in learners(metrics):
        s = metrics["summary"][label]
        rows.append(f"| {label} | {_count(s['n_all'])} | {_count(s['n_fit_ok'])} | {_count(s['n_r2_ok'])} | "
                    f"{_count(s['n_resolved'])} | {_count(s['n_unresolved'])} | {_count(s['n_in_grid'])} |")
    return "\n".join(rows)


def bracket(s: dict, low: str, high: str, digits: int = 2) -> str:
    """"[a–b]": the means over seeds of a statistic's two bracket ends, the lower first; an en dash when
    either end has no value."""
    lo, hi = s[low]["mean"], s[high]["mean"]
    return f"[{fmt(lo, digits)}–{fmt(hi, digits)}]" if math.isfinite(lo) and math.isfinite(hi) else "–"


def _p_range(s: dict) -> str:
    """The largest permutation p over seeds at the point placement and at each end of the bracket."""
    def largest(name):
        values = [v for v in s[name]["values"] if math.isfinite(v)]
        return fmt_p(max(values)) if values else "–"
    return f"{largest('nxny_p_value')} [{largest('nxny_p_value_most')}, {largest('nxny_p_value_least')}]"


def headline_table(metrics: dict) -> str:
    """The headline comparison (markdown): every statistic as mean [95% CI] over seeds, the bin-based ones
    with their bracket."""
    ref = metrics["v1"]
    rows = [f"Headline comparison of the {population_name(metrics)} with V1: mean [95% t-interval] over "
            f"{_seeds_phrase(metrics)}, clipped to the range a statistic can take; in brackets [a–b], the means of "
            "the two ends of the bracket that places the undetermined units at the ends of their intervals "
            "nearest to and farthest from V1. nx–ny statistics are on every compared unit (off-grid values "
            "clipped into the edge bins); p is the largest over seeds of the two-sample permutation test, at the "
            "fitted values [nearest, farthest placement]; the null 95th percentile is that of the test at each "
            "population's own size.",
            "", "| learner | median R² (all units) | median nx | median ny | nx–ny TV distance [bracket] | largest p "
            "[bracket] | null 95% at this size | blob-like fraction [bracket] "
            f"(V1: {ref['blob_count']}/{ref['n_cells']} = {fmt(ref['blob_fraction'])}) | mean similarity |",
            "|---|---|---|---|---|---|---|---|---|"]
    for label in learners(metrics):
        s = metrics["summary"][label]
        rows.append(f"| {label} | {_iv(s, 'median_r2')} | {_iv(s, 'median_nx')} | {_iv(s, 'median_ny')} | "
                    f"{_iv(s, 'nxny_distance')} {bracket(s, 'nxny_distance_most', 'nxny_distance_least')} | "
                    f"{_p_range(s)} | {_iv(s, 'nxny_null_95')} | "
                    f"{_iv(s, 'blob_fraction')} {bracket(s, 'blob_fraction_lo', 'blob_fraction_hi')} | "
                    f"{_iv(s, 'mean_similarity')} |")
    rows.append(f"| V1 (Ringach 2002, {ref['n_cells']} cells) | – | {fmt(ref['median_nx'])} | "
                f"{fmt(ref['median_ny'])} | 0 | – | – | {fmt(ref['blob_fraction'])} | 1 (ceiling) |")
    return "\n".join(rows)


def populations(metrics: dict) -> dict[str, dict]:
    """Every scored population of the section, the headline first: key -> ``{"per_seed", "summary"}``."""
    head = metrics.get("headline", metrics["population"])
    return {head: {"per_seed": metrics["per_seed"], "summary": metrics["summary"]},
            **metrics.get("alternatives", {})}


def spaces_table(metrics: dict) -> str:
    """The same learners scored in each space (markdown): measured receptive fields (each stimulus set) and
    basis functions side by side, so that a reader sees which conclusions depend on the space."""
    pops = populations(metrics)
    if len(pops) < 2:
        return ""
    rows = ["The same banks scored as V1 was measured and as the learners' own arrays: receptive fields measured "
            "by reverse correlation in stimulus space (effcode.v1.measure_receptive_fields; Hartley gratings as in "
            "Ringach 2002, and white noise), and the basis functions in the whitened space the learners train in. "
            "Mean [95% t-interval] over seeds; [a–b]: the bracket's ends. A conclusion that changes between rows "
            "of one learner depends on the space, not on the code.", "",
            "| learner | population | compared (undetermined) | median nx | median ny | nx–ny distance [bracket] | "
            "blob-like fraction [bracket] | Ringach (2002) verdict |", "|---|---|---|---|---|---|---|---|"]
    for label in learners(metrics):
        for key, pop in pops.items():
            if label not in pop["summary"]:
                continue
            s = pop["summary"][label]
            v = verdict(RINGACH2002, ringach_results([m["findings"] for m in pop["per_seed"][label]]))
            rows.append(f"| {label} | {population_label(key)} | {_mean(s['n_r2_ok'])} ({_mean(s['n_unresolved'])}) | "
                        f"{_iv(s, 'median_nx')} | {_iv(s, 'median_ny')} | {_iv(s, 'nxny_distance')} "
                        f"{bracket(s, 'nxny_distance_most', 'nxny_distance_least')} | {_iv(s, 'blob_fraction')} "
                        f"{bracket(s, 'blob_fraction_lo', 'blob_fraction_hi')} | {verdict_phrase(v.verdict, v.parts)} |")
    return "\n".join(rows)


def averaged_properties(metrics: dict) -> list[str]:
    """The properties the mean similarity averages: those scored in every seed, less the excluded ones."""
    excluded = excluded_properties(metrics)
    common = None
    for per_seed in metrics["per_seed"].values():
        for m in per_seed:
            if m["similarity"]:
                keys = set(m["similarity"])
                common = keys if common is None else common & keys
    return sorted((common or set()) - set(excluded))


def excluded_properties(metrics: dict) -> dict:
    for per_seed in metrics["per_seed"].values():
        for m in per_seed:
            if m.get("excluded_from_mean"):
                return m["excluded_from_mean"]
    return {}


def similarity_note(metrics: dict) -> str:
    """Which properties the mean similarity averages, which it leaves out, and why."""
    averaged = averaged_properties(metrics)
    excluded = excluded_properties(metrics)
    if not averaged:
        return "No learner had enough units with R² ≥ threshold for the similarity scores."
    text = (f"Mean similarity is the Brain-Score similarity (1 − KS/KS_max over the V1 data's own ceiling; 1 = as "
            f"close as V1 resamples) of the units with R² ≥ {fmt(metrics['settings']['r2_threshold'])}, averaged "
            f"over {len(averaged)} properties: {', '.join(averaged)}.")
    if excluded:
        text += " Left out: " + "; ".join(f"{name} ({why})" for name, why in excluded.items()) + "."
    return text


def peak_sf_table(metrics: dict) -> str:
    """Peak-SF similarity at every assumed pixels-per-degree value (markdown)."""
    ppds = sorted({k for s in metrics["summary"].values() for k in s["peak_sf"]}, key=float)
    if not ppds:
        return ""
    rows = ["Peak spatial frequency in cycles/degree scales with the assumed sampling, so its similarity to "
            f"De Valois et al. (1982) is shown at each sampling (mean [95% CI] over {_seeds_phrase(metrics)}):", "",
            "| learner | " + " | ".join(f"{float(k):g} px/deg" for k in ppds) + " |",
            "|---|" + "---|" * len(ppds)]
    for label in learners(metrics):
        s = metrics["summary"][label]
        rows.append(f"| {label} | " + " | ".join(interval(s["peak_sf"].get(k, {})) for k in ppds) + " |")
    return "\n".join(rows)


def _welch(a: list[float], b: list[float]) -> float:
    from scipy import stats as st

    a, b = [v for v in a if math.isfinite(v)], [v for v in b if math.isfinite(v)]
    if len(a) < 2 or len(b) < 2 or (np.std(a) == 0 and np.std(b) == 0):
        return math.nan
    return float(st.ttest_ind(a, b, equal_var=False).pvalue)


def ordering_text(metrics: dict) -> str:
    """Whether the distances order the learners: "X is closer to V1 than Y" only where a Welch t-test over
    the per-seed distances rejects at 5%; otherwise the pair is said not to be distinguished."""
    summary = metrics["summary"]
    labels = [label for label in learners(metrics) if summary[label]["nxny_distance"]["n"] > 0]
    parts = []
    for i, a in enumerate(labels):
        for b in labels[i + 1:]:
            da, db = summary[a]["nxny_distance"], summary[b]["nxny_distance"]
            p = _welch(da["values"], db["values"])
            near, far = (a, b) if da["mean"] < db["mean"] else (b, a)
            if math.isfinite(p) and p < LEVEL:
                parts.append(f"{near} is closer to V1 than {far} (Welch t-test over seeds, {p_text(p)})")
            else:
                parts.append(f"{a} and {b} are not distinguished (Welch t-test over seeds, "
                             f"{p_text(p) if math.isfinite(p) else 'too few seeds for a test'})")
    beyond = []
    for label in labels:
        s = summary[label]
        n, missing = s["nxny_distance"]["n"], s.get("n_seeds", s["nxny_distance"]["n"]) - s["nxny_distance"]["n"]
        beyond.append(f"{label} in {s['nxny_p_value']['n_significant']} of {n} seeds"
                      + (f" ({missing} more had fewer than {MIN_UNITS} compared units: no distance)" if missing > 0
                         else ""))
    text = ""
    if beyond:
        text = ("The nx–ny distribution differs from V1's by more than sampling noise explains (permutation p < "
                f"0.05) for {'; '.join(beyond)}.")
    if parts:
        text += " Between learners: " + "; ".join(parts) + "."
    return text.strip()


def ringach_verdict(metrics: dict, label: str) -> Verdict:
    """The verdict on Ringach's (2002) findings for one learner (:func:`effcode.v1.claims.verdict`), from
    the per-seed findings of its scored populations."""
    return verdict(RINGACH2002, ringach_results([m["findings"] for m in metrics["per_seed"][label]]), subject=label)


def _finding_cell(name: str, entry: dict, state: str) -> str:
    if entry["n"] == 0:
        return "–"
    ps = ", ".join(fmt_p(p) for p in entry["p_values"])
    effects = [e for e in entry["effects"] if math.isfinite(e)]
    effect = fmt(float(np.mean(effects))) if effects else "–"
    what = "blob-like fraction" if name == "fewer_blobs" else "P(model > V1)"
    return f"{state} (p at the fitted values: {ps}; mean {what} {effect})"


def findings_table(metrics: dict) -> str:
    """Each of Ringach's findings per learner (markdown): the part's state with the seeds' one-sided p, and
    the verdict on the claim."""
    rows = ["| learner | " + " | ".join(FINDING_NAMES.values()) + " | verdict |",
            "|---|" + "---|" * (len(FINDING_NAMES) + 1)]
    for label in learners(metrics):
        s, v = metrics["summary"][label], ringach_verdict(metrics, label)
        rows.append(f"| {label} | " + " | ".join(_finding_cell(n, s["findings"][n], v.part(n).state)
                                                 for n in FINDING_NAMES) + f" | {v.verdict} |")
    return "\n".join(rows)


def findings_text(metrics: dict) -> str:
    """"The literature, tested": Ringach's (2002) findings, with the verdict per learner worded by
    :mod:`effcode.v1.claims`."""
    tests = "; ".join(dict.fromkeys(p.test.name for p in RINGACH2002.parts))
    lines = [f"**The literature, tested.** {RINGACH2002.paper.short} reported that {RINGACH2002.statement}. Each "
             f"finding is tested in every seed on every compared unit ({tests}; blob-like = nx and ny < "
             f"{fmt(metrics['v1']['blob_edge'])}), at both ends of the bracket of the undetermined units; a finding "
             "holds for a learner when it holds in every seed at both ends, is reversed when it is significantly the "
             "other way in every seed, and is undetermined when the two ends disagree:", "", findings_table(metrics), ""]
    lines += [f"- {ringach_verdict(metrics, label).sentence}" for label in learners(metrics)]
    return "\n".join(lines)


def section_text(metrics: dict) -> str:
    """The whole text of the section, from ``metrics.json`` alone."""
    parts = [funnel_table(metrics), headline_table(metrics), spaces_table(metrics), similarity_note(metrics),
             ordering_text(metrics), peak_sf_table(metrics), findings_text(metrics)]
    return "\n\n".join(p for p in parts if p)


# ----------------------------------------------------------------------------- figures


def plot(run) -> Section:
    from ..plots import nxny_scatter, property_distributions, similarity_table
    from ..plots.v1 import funnel_chart

    metrics = run.load_json("metrics.json")
    per_seed, population = metrics["per_seed"], population_name(metrics)
    first = metrics["seeds"][0]
    figures = []
    path = run.figure_path("funnel")
    funnel_chart({label: [m["funnel"] for m in ms] for label, ms in per_seed.items()}, population=population,
                 title=f"Selection funnel of the {population} (R² ≥ {fmt(metrics['settings']['r2_threshold'])})",
                 path=path)
    figures.append((f"{path}.png", f"Selection funnel per learner ({population}): fraction of all units at each "
                    "stage, mean over seeds (dots: seeds; numbers: mean counts); undetermined units hatched."))
    scores = {}
    for label, ms in per_seed.items():
        m = ms[0]
        data = run.load_npz(f"nxny_{slug(label)}_seed{first}.npz")
        if data["nx"].size:
            path = run.figure_path(f"nxny_{slug(label)}")
            nxny_scatter(data["nx"], data["ny"], label=label, resolved=data["resolved"].astype(bool),
                         distance=m["nxny"].get("distance"), p_value=m["nxny"].get("p_value"),
                         null_95=m["nxny"].get("null_95"), title=f"{label} ({population}, seed {first}): nx–ny "
                         "against Ringach (2002)", path=path)
            figures.append((f"{path}.png", f"{label}, seed {first}: (nx, ny) of the {population} with R² ≥ "
                            f"{fmt(metrics['settings']['r2_threshold'])} over the Ringach (2002) histogram; hollow "
                            "circles are undetermined units (intervals across bins; compared through the bracket), the dashed "
                            "square is Ringach's grid."))
        if m["funnel"]["R² ≥ threshold"] >= MIN_UNITS:
            table = run.load_npz(f"tuning_{slug(label)}.npz")
            path = run.figure_path(f"properties_{slug(label)}")
            property_distributions(table, label=label, random_state=first,
                                   n_bootstrap=metrics["settings"]["n_bootstrap"],
                                   title=f"{label} ({population}, seed {first}): tuning properties against V1",
                                   path=path)
            figures.append((f"{path}.png", f"{label}, seed {first}: grating-tuning properties against the V1 "
                            "histograms."))
        means = {}
        for prop in set(averaged_properties(metrics)) & {p for m in ms for p in m["similarity"]}:
            values = [m["similarity"][prop] for m in ms if prop in m["similarity"]]
            means[prop] = float(np.mean(values))
        if means:
            scores[label] = means
    if scores:
        path = run.figure_path("similarity_table")
        similarity_table(scores, title="Brain-Score-style similarity to V1, mean over seeds (1 = as close as V1 "
                         "resamples)", path=path)
        figures.append((f"{path}.png", "Similarity per learner and property (mean over seeds), with the ceilings, "
                        "for the properties the mean similarity averages."))
    return Section("Comparison with V1", section_text(metrics), figures)


register(Experiment(
    number="05", name="v1_comparison", title="Learned populations against V1 statistics",
    description=("Each standard learner (experiments 01-03, at their own settings) is trained with n_seeds seeds "
                 "and every bank is scored by effcode's one scorer (effcode.v1.score_population) on the population "
                 "named by `population` (by default the receptive fields measured by reverse correlation with Hartley "
                 "gratings in stimulus space, as Ringach 2002 measured V1; white-noise receptive fields and basis "
                 "functions are scored beside them): Gabor fits; every unit with R² ≥ r2_threshold compared, placed "
                 "in one of Ringach's bins by profile-likelihood intervals of nx and ny or else undetermined and "
                 "carried as a bracket; the total-variation distance of the "
                 "(nx, ny) = (σx·f, σy·f) histogram to Ringach (2002) with a two-sample permutation test; "
                 "Brain-Score similarities (1 − KS/KS_max over the V1 data's ceiling) of tuning to simulated "
                 "gratings against De Valois 1982, Schiller 1976 and Ringach, Shapley & Hawken 2002; and Ringach's "
                 "(2002) three findings about model filters as tests. Every statistic is reported as the mean and "
                 "95% t-interval over seeds."),
    defaults={**SCORER_DEFAULTS, "n_seeds": 3},
    quick={"n_seeds": 2, **QUICK_MEASUREMENT},
    compute=compute, plot=plot))
