"""Experiment 13: which codes look like V1?

Three published claims that some code reaches V1's receptive-field shapes, each tested with the one
scorer (:func:`effcode.experiments.common.learn_and_score`) on the same image patches and seeds:

* **SAILnet** (Zylberberg, Murphy & DeWeese 2011): a spiking network with local plasticity
  (:class:`effcode.learners.sailnet.SAILnet`) whose units span V1's nx–ny diversity, blob-like cells
  included;
* **hard sparseness** (Rehn & Sommer 2007): a code with few active units (here ``l0`` and ``topk``)
  closer to V1 than a soft-sparse code (``l1``, SparseNet-like), increasingly so with overcompleteness;
* **high overcompleteness** (Olshausen 2013): more diverse receptive fields in a more overcomplete
  code (``l1`` at 4x against 1x).

``compute`` saves the per-seed rows (``sweep.csv``), the per-setting summary (``metrics.json``), the
resolved units' (nx, ny) of every setting pooled over seeds (``units.json``, what the scatter
draws) and the families of tests (``comparisons.json``); ``plot`` only loads those files and words
the report through the pure functions below (tested in ``tests/test_report_e13.py``).

**Statistics.**  Per population: the two-sample permutation test of its nx–ny histogram against
Ringach's 79 cells (p per seed, Holm-corrected across seeds), the blob-like fraction with Fisher's
exact test against V1's 19 of 79, the medians with bootstrap intervals.  Between codes: paired
t-tests across seeds (same seeds, same patches), Holm-corrected within the family that answers one
claim.  The spread of a population's shapes is the interquartile range of log10 nx (and of log10 ny)
over its resolved units: "more diverse" means a wider spread.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np

from ..plots.figure import new_figure, save_figure
from ..stats import holm, seed_interval
from ..runs.config import Key, objective_names
from .base import Experiment, Section, register
from .common import POINT_METRICS, SCORER_DEFAULTS, fmt, learn_and_score, point_metrics, scorer_config, source_images
from .sweep_report import (ALPHA, claim, comparison, comparison_table, family, fmt_p, interval, per_seed,
                           scorer_sentence)

#: display names of the codes compared
CODE_NAMES = {"sailnet": "SAILnet", "l1": "L1 sparse coding", "l0": "l0 (hard)", "topk": "top-k (hard)"}
HARD_CODES, SOFT_CODE = ("l0", "topk"), "l1"

#: a setting whose code has fewer active units per patch than this (mean over seeds) has collapsed: it
#: cannot represent the patches, so it is reported and drawn but left out of every test
MIN_ACTIVE_UNITS = 1.0

#: the scalar metrics of a point: the scorer's, plus the spread of the resolved units' shapes
METRICS = (*POINT_METRICS, "nx_spread", "ny_spread", "fewer_blobs_p")

#: what each paper reported, where, and what this experiment checks
CLAIMS = {
    "sailnet": {
        "paper": "Zylberberg, Murphy & DeWeese (2011, PLoS Comput Biol 7:e1002250)",
        "where": "the figure that plots SAILnet's receptive fields in the nx–ny plane over Ringach's (2002) "
                 "macaque simple cells",
        "claim": "SAILnet's receptive fields span the diversity of V1 simple cells in the nx–ny plane, blob-like "
                 "fields included, unlike earlier sparse codes",
        "check": "the permutation test of SAILnet's nx–ny histogram against V1's (per seed, Holm across seeds); "
                 "its blob-like fraction against V1's 19/79 (Fisher, per seed); and SAILnet against L1 sparse "
                 "coding at the same size (paired across seeds)",
    },
    "rehn_sommer": {
        "paper": "Rehn & Sommer (2007, J Comput Neurosci 22:135)",
        "where": "the figure that plots sparse-set coding's and SparseNet's receptive fields in the nx–ny plane "
                 "over Ringach's cells, at increasing overcompleteness",
        "claim": "a hard-sparse code (few active units) has receptive fields much closer to V1's nx–ny "
                 "distribution than a soft-sparse code, and moves further toward V1 as overcompleteness grows",
        "check": "nx–ny distance of l0 and top-k against L1 at each overcompleteness, and of each hard code at "
                 "its highest overcompleteness against 1x (paired across seeds, Holm within each family)",
    },
    "olshausen": {
        "paper": "Olshausen (2013, Proc SPIE 8651, 'Highly overcomplete sparse coding')",
        "where": "the figures of basis functions learned at increasing overcompleteness",
        "claim": "a highly overcomplete sparse code learns a more diverse set of receptive fields",
        "check": "L1 sparse coding at the highest overcompleteness against 1x: spread of log nx and log ny, "
                 "blob-like fraction and nx–ny distance (paired across seeds, Holm over the four)",
    },
}


def code_order(codes) -> list[str]:
    """The distinct codes in :data:`CODE_NAMES` order (any other code after them, as met)."""
    present = list(dict.fromkeys(codes))
    return [c for c in CODE_NAMES if c in present] + [c for c in present if c not in CODE_NAMES]


def setting_key(code: str, factor: float) -> str:
    return f"{code}@{factor:g}x"


def setting_label(code: str, factor: float) -> str:
    return f"{CODE_NAMES.get(code, code)} {factor:g}x"


def code_params(cfg: dict, code: str, factor: float) -> dict:
    """The learner and its parameters for ``code`` at ``factor`` × patch pixels units.

    Sparse codes: FISTA runs ``n_iter`` iterations at 1x and ``factor · n_iter`` above (inference
    converges more slowly as the dictionary grows more coherent; experiment 07); ``topk`` keeps
    ``topk_k`` winners at every size (the number of active units is what Rehn & Sommer fix).
    SAILnet: its own defaults, with ``sailnet_steps`` training steps when given.
    """
    if code == "sailnet":
        return {"method": "sailnet", **({"n_steps": cfg["sailnet_steps"]} if cfg["sailnet_steps"] else {})}
    params = {"method": "sparse_coding", "n_steps": cfg["n_steps"],
              "n_iter": int(round(cfg["n_iter"] * max(1.0, factor)))}
    if code == "topk":
        return {**params, "objective": "topk", "objective_params": {"k": cfg["topk_k"]}}
    return {**params, "objective": code, "lam": float(cfg["lam"][code])}


def sweep_points(run) -> list[dict]:
    """Every (code, overcompleteness, seed): SAILnet at ``sailnet_factors``, each sparse penalty of
    ``objectives`` at ``factors``, all on ``patch_size`` patches with the same seeds."""
    cfg = run.config
    p = cfg["patch_size"]
    fixed = {"source": cfg["source"], "device": run.device, "patch_size": p, **scorer_config(cfg)}
    settings = [("sailnet", f) for f in cfg["sailnet_factors"]] + [(o, f) for o in cfg["objectives"]
                                                                  for f in cfg["factors"]]
    return [{**fixed, **code_params(cfg, code, f), "code": code, "factor": float(f), "n_filters": int(round(f * p * p)),
             "seed": run.seed + s} for s in range(cfg["n_seeds"]) for code, f in settings]


def shape_spread(values: np.ndarray) -> float:
    """Interquartile range of log10 of positive values (NaN for fewer than 5 units)."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values) & (values > 0)]
    if values.size < 5:
        return math.nan
    q1, q3 = np.percentile(np.log10(values), [25, 75])
    return float(q3 - q1)


def _evaluate(point: dict) -> dict:
    """One point: the scorer's metrics, the shape spreads, and the resolved units' (nx, ny)."""
    point = dict(point)
    point.pop("code")
    point.pop("factor")
    scored, bank = learn_and_score(point)
    resolved = scored.units["resolved"]
    nx, ny = scored.units["fit_nx"][resolved], scored.units["fit_ny"][resolved]
    return {**point_metrics(scored, bank), "nx_spread": shape_spread(nx), "ny_spread": shape_spread(ny),
            "fewer_blobs_p": float(scored.findings["fewer_blobs"]["p_value"]),
            "unit_nx": [float(v) for v in nx], "unit_ny": [float(v) for v in ny]}


# -- summary and tests (pure functions) -------------------------------------------------------

def summarise(rows: Sequence[Mapping], metrics: Sequence[str] = METRICS) -> dict:
    """Per-setting summary keyed ``"code@<factor>x"`` in the order met: ``code``, ``factor``,
    ``n_filters``, ``seeds``, per-seed ``values`` and every metric's mean with its 95% t-interval
    across seeds (``metric``, ``metric_lo``, ``metric_hi``)."""
    groups: dict[str, list] = {}
    for row in rows:
        groups.setdefault(setting_key(row["code"], row["factor"]), []).append(row)
    summary = {}
    for index, (key, group) in enumerate(groups.items()):
        group = sorted(group, key=lambda r: r["seed"])
        values = {m: [float(r[m]) for r in group] for m in metrics}
        intervals = {m: seed_interval(values[m]) for m in metrics}
        first = group[0]
        summary[key] = {"index": index, "code": first["code"], "factor": float(first["factor"]),
                        "n_filters": int(first["n_filters"]), "n_seeds": len(group),
                        "seeds": [int(r["seed"]) for r in group], "values": values,
                        **{m: i["mean"] for m, i in intervals.items()},
                        **{f"{m}_lo": i["lo"] for m, i in intervals.items()},
                        **{f"{m}_hi": i["hi"] for m, i in intervals.items()}}
    return summary


def pooled_units(rows: Sequence[Mapping]) -> dict:
    """Per setting: the resolved units' nx and ny pooled over seeds, and each unit's seed."""
    units: dict[str, dict] = {}
    for row in sorted(rows, key=lambda r: r["seed"]):
        entry = units.setdefault(setting_key(row["code"], row["factor"]),
                                 {"code": row["code"], "factor": float(row["factor"]), "nx": [], "ny": [], "seed": []})
        entry["nx"] += list(row["unit_nx"])
        entry["ny"] += list(row["unit_ny"])
        entry["seed"] += [int(row["seed"])] * len(row["unit_nx"])
    return units


def active_units(entry: Mapping) -> float:
    """Mean active units per patch of a summary entry (active fraction × units)."""
    return float(entry["active_fraction"]) * entry["n_filters"]


def collapsed(summary: Mapping) -> list[str]:
    """Keys of the settings whose code has collapsed (fewer than :data:`MIN_ACTIVE_UNITS` active per patch)."""
    return [key for key, s in summary.items() if not active_units(s) >= MIN_ACTIVE_UNITS]


def _entries(summary: Mapping, code: str) -> list[dict]:
    """The settings of ``code`` that have not collapsed, by overcompleteness."""
    gone = collapsed(summary)
    return sorted((s for key, s in summary.items() if s["code"] == code and key not in gone),
                  key=lambda s: s["factor"])


def permutation_family(entry: Mapping, alpha: float = ALPHA) -> dict:
    """The nx–ny permutation test of one setting in each seed, Holm-corrected across seeds."""
    p = [float(v) for v in entry["values"]["nxny_p_value"]]
    adjusted = holm(p)
    return {"seeds": list(entry["seeds"]), "p_value": p, "p_holm": adjusted,
            "rejected": [bool(math.isfinite(q) and q < alpha) for q in adjusted]}


def blob_family(entry: Mapping, alpha: float = ALPHA) -> dict:
    """Fisher's test of fewer blob-like units than V1 in each seed, Holm-corrected across seeds."""
    p = [float(v) for v in entry["values"]["fewer_blobs_p"]]
    adjusted = holm(p)
    return {"seeds": list(entry["seeds"]), "p_value": p, "p_holm": adjusted,
            "fewer": [bool(math.isfinite(q) and q < alpha) for q in adjusted]}


def comparisons(summary: Mapping, alpha: float = ALPHA) -> dict:
    """Every test the report words, from the summary:

    * ``sailnet``: per-seed permutation and blob tests of each SAILnet setting, and the family of
      paired tests of SAILnet against L1 at the same overcompleteness (nx–ny distance);
    * ``rehn_sommer``: each hard code against L1 at every overcompleteness (distance);
    * ``rehn_sommer_size``: each hard code at its highest overcompleteness against 1x (distance);
    * ``olshausen``: L1 at its highest overcompleteness against 1x (spreads, blob fraction, distance);
    * ``collapsed``: the settings left out of every test (:func:`collapsed`).
    """
    d = "nxny_distance"
    gone = collapsed(summary)
    by_key = {(s["code"], s["factor"]): s for key, s in summary.items() if key not in gone}
    sailnet = _entries(summary, "sailnet")
    against_l1 = [comparison(setting_label("sailnet", s["factor"]), setting_label(SOFT_CODE, s["factor"]), d,
                             per_seed(s, d), per_seed(by_key[(SOFT_CODE, s["factor"])], d))
                  for s in sailnet if (SOFT_CODE, s["factor"]) in by_key]
    hard_vs_soft = [comparison(setting_label(h["code"], h["factor"]), setting_label(SOFT_CODE, h["factor"]), d,
                               per_seed(h, d), per_seed(by_key[(SOFT_CODE, h["factor"])], d))
                    for code in HARD_CODES for h in _entries(summary, code) if (SOFT_CODE, h["factor"]) in by_key]
    by_size = []
    for code in HARD_CODES:
        entries = _entries(summary, code)
        if len(entries) > 1:
            top, base = entries[-1], entries[0]
            by_size.append(comparison(setting_label(code, top["factor"]), setting_label(code, base["factor"]), d,
                                      per_seed(top, d), per_seed(base, d)))
    soft = _entries(summary, SOFT_CODE)
    olshausen = []
    if len(soft) > 1:
        top, base = soft[-1], soft[0]
        olshausen = [comparison(setting_label(SOFT_CODE, top["factor"]), setting_label(SOFT_CODE, base["factor"]), m,
                                per_seed(top, m), per_seed(base, m))
                     for m in ("nx_spread", "ny_spread", "blob_fraction", d)]
    populations = {setting_key("sailnet", s["factor"]): {"permutation": permutation_family(s, alpha),
                                                           "blobs": blob_family(s, alpha)} for s in sailnet}
    return {"sailnet": {"populations": populations,
                        "against_l1": family("SAILnet against L1 sparse coding (nx–ny distance)", against_l1, alpha)},
            "rehn_sommer": family("hard (l0, top-k) against soft (L1) sparseness at equal size", hard_vs_soft, alpha),
            "rehn_sommer_size": family("hard codes at the highest overcompleteness against 1x", by_size, alpha),
            "olshausen": family("L1 at the highest overcompleteness against 1x", olshausen, alpha),
            "collapsed": {key: active_units(summary[key]) for key in gone}}


# -- verdicts and report (pure functions) ----------------------------------------------------

def _seeds_text(k: int, n: int) -> str:
    return f"{k} of {n} seed{'s' if n != 1 else ''}"


def sailnet_verdict(summary: Mapping, tests: Mapping) -> str:
    """Reproduced when, for some SAILnet setting, V1's histogram is rejected in no seed and blob-like
    units are not significantly fewer than V1's in any seed; the sentence gives both counts, the
    blob fraction and the paired test against L1."""
    populations = tests["sailnet"]["populations"]
    if not populations:
        return "SAILnet was not in this run."
    parts, reproduced = [], False
    for key, pop in populations.items():
        entry = summary[key]
        n = len(pop["permutation"]["seeds"])
        rejected, fewer = sum(pop["permutation"]["rejected"]), sum(pop["blobs"]["fewer"])
        reproduced |= rejected == 0 and fewer == 0
        parts.append(f"{setting_label('sailnet', entry['factor'])}: V1's nx–ny histogram rejected in "
                     f"{_seeds_text(rejected, n)} (permutation test, Holm across seeds; largest p "
                     f"{fmt_p(max(pop['permutation']['p_value']))}), nx–ny distance {interval(entry, 'nxny_distance')}; "
                     f"blob-like fraction {interval(entry, 'blob_fraction')} against V1's 0.24, significantly fewer "
                     f"in {_seeds_text(fewer, n)} (Fisher)")
    against = [claim(t) for t in tests["sailnet"]["against_l1"]["tests"]]
    verdict = ("effcode reproduces it" if reproduced else
               "effcode does not reproduce it: SAILnet's population is distinguishable from V1's")
    return f"{verdict}. " + "; ".join(parts) + (". Against L1: " + "; ".join(against) if against else "") + "."


def part_status(fam: Mapping) -> str:
    """How one family of "A is closer to V1 than B" tests came out: ``"reproduced"`` when every test is
    significantly negative after Holm, ``"same direction, not significant"`` when every difference is
    negative but not every test significant, else ``"not reproduced"``."""
    tests = fam["tests"]
    if not tests:
        return "not testable"
    if all(t["significant"] and t["difference"] < 0 for t in tests):
        return "reproduced"
    if all(t["difference"] < 0 for t in tests):
        return "same direction, not significant"
    return "not reproduced"


def rehn_sommer_verdict(tests: Mapping) -> str:
    """The two parts of the claim, each reproduced only when every one of its paired tests is
    significant after Holm: hard codes closer to V1 than L1 at every size (``rehn_sommer``), and
    each hard code closer at its highest usable overcompleteness than at 1x (``rehn_sommer_size``)."""
    fam, size = tests["rehn_sommer"], tests["rehn_sommer_size"]
    first, second = part_status(fam), part_status(size)
    head = ("effcode reproduces it" if first == second == "reproduced" else
            "effcode does not reproduce it" if first == second == "not reproduced" else "effcode reproduces it in part"
            if "reproduced" in (first, second) else "effcode does not reproduce it at 5% (Holm)")
    closer = sum(t["significant"] and t["difference"] < 0 for t in fam["tests"])
    lower = sum(t["difference"] < 0 for t in fam["tests"])
    grows = sum(t["significant"] and t["difference"] < 0 for t in size["tests"])
    detail = (f"hard closer than soft: {first} (significantly closer in {closer} of {len(fam['tests'])} paired "
              f"comparisons, closer by the point estimate in {lower}); closer with overcompleteness: {second} "
              f"(significantly for {grows} of {len(size['tests'])} hard codes); Holm-corrected within each family")
    gone = tests.get("collapsed", {})
    left_out = (f"; left out as collapsed (fewer than {MIN_ACTIVE_UNITS:g} active unit per patch): "
                + ", ".join(f"{key} ({units:.2f} active)" for key, units in gone.items())) if gone else ""
    return f"{head}: {detail}{left_out}."


def olshausen_verdict(tests: Mapping) -> str:
    """Reproduced when the spread of log nx or log ny is significantly wider at the highest
    overcompleteness; contradicted when significantly narrower; otherwise not reproduced."""
    spreads = [t for t in tests["olshausen"]["tests"] if t["metric"] in ("nx_spread", "ny_spread")]
    wider = [t for t in spreads if t["significant"] and t["difference"] > 0]
    narrower = [t for t in spreads if t["significant"] and t["difference"] < 0]
    if not spreads:
        return "not testable in this run (one overcompleteness only)."
    verdict = ("effcode reproduces it" if wider and not narrower else
               "effcode contradicts it: the shapes are less diverse at high overcompleteness" if narrower and not wider
               else "mixed" if wider else "effcode does not reproduce it (no significant change in spread)")
    return f"{verdict}. Tests: " + "; ".join(claim(t) for t in tests["olshausen"]["tests"]) + "."


def verdicts(summary: Mapping, tests: Mapping) -> dict[str, str]:
    return {"sailnet": sailnet_verdict(summary, tests), "rehn_sommer": rehn_sommer_verdict(tests),
            "olshausen": olshausen_verdict(tests)}


def claims_table(found: Mapping[str, str]) -> str:
    """Markdown table: each paper, what it claimed and where, what was checked, and the verdict."""
    rows = ["| paper | claim (where) | checked here | verdict |", "|---|---|---|---|"]
    for key, text in found.items():
        c = CLAIMS[key]
        rows.append(f"| {c['paper']} | {c['claim']} ({c['where']}) | {c['check']} | {text.split('.')[0]} |")
    return "\n".join(rows)


def settings_table(summary: Mapping) -> str:
    """Markdown table of every setting: means and 95% t-intervals across seeds."""
    rows = ["| code | overcompleteness | units | seeds | active units per patch | median R² | resolved units | "
            "nx–ny distance | largest p | blob-like fraction | median nx | median ny | spread of log nx | "
            "spread of log ny |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for s in sorted(summary.values(), key=lambda s: s["index"]):
        p = [v for v in s["values"]["nxny_p_value"] if math.isfinite(v)]
        active = active_units(s)
        name = CODE_NAMES.get(s["code"], s["code"]) + ("" if active >= MIN_ACTIVE_UNITS else " (collapsed, not tested)")
        rows.append(f"| {name} | {s['factor']:g}x | {s['n_filters']} | {s['n_seeds']} | "
                    f"{fmt(active, 1)} | {interval(s, 'median_r2')} | {interval(s, 'n_resolved', 0)} | {interval(s, 'nxny_distance')} | "
                    f"{fmt_p(max(p)) if p else '–'} | {interval(s, 'blob_fraction')} | {interval(s, 'median_nx')} | "
                    f"{interval(s, 'median_ny')} | {interval(s, 'nx_spread')} | {interval(s, 'ny_spread')} |")
    return "\n".join(rows)


def answer(found: Mapping[str, str]) -> str:
    """One paragraph: each claim and its verdict (for REPORT.md's summary and the README)."""
    return " ".join(f"{CLAIMS[key]['paper']} reported that {CLAIMS[key]['claim']}: {text}"
                    for key, text in found.items())


def report_text(summary: Mapping, tests: Mapping, settings: Mapping, training: str) -> str:
    found = verdicts(summary, tests)
    parts = [scorer_sentence(settings), training, settings_table(summary),
             "Mean [95% t-interval] across seeds; active units per patch is the mean over seeds of the last training "
             "batch's non-zero codes (SAILnet: units that spiked); \"largest p\" is the largest over seeds of the permutation test "
             "against Ringach's cells; the spread is the interquartile range of log10 nx (ny) over resolved units.",
             claims_table(found)]
    for key, text in found.items():
        parts.append(f"**{CLAIMS[key]['paper']}.** They reported that {CLAIMS[key]['claim']} ({CLAIMS[key]['where']}). "
                     f"Checked here: {CLAIMS[key]['check']}. Verdict: {text}")
    for name in ("rehn_sommer", "rehn_sommer_size", "olshausen"):
        if tests[name]["tests"]:
            parts.append(f"*{tests[name]['name']}* ({tests[name]['n_tests']} tests, Holm-corrected):\n\n"
                         + comparison_table(tests[name]))
    if tests["sailnet"]["against_l1"]["tests"]:
        parts.append(f"*{tests['sailnet']['against_l1']['name']}*:\n\n" + comparison_table(tests["sailnet"]["against_l1"]))
    return "\n\n".join(parts)


# -- the experiment ---------------------------------------------------------------------------

def compute(run) -> None:
    cfg = run.config
    source_images(run)
    rows = run.sweep(_evaluate, sweep_points(run), backend=cfg["backend"], n_jobs=cfg["n_jobs"],
                     scheduler=cfg["scheduler"] or None, progress=run.progress)
    run.save_csv("sweep.csv", {**{k: [r[k] for r in rows] for k in ("code", "factor", "n_filters", "seed")},
                               **{m: [r[m] for r in rows] for m in METRICS}})
    summary = summarise(rows)
    run.save_json("metrics.json", summary)
    run.save_json("units.json", pooled_units(rows))
    run.save_json("comparisons.json", {"settings": scorer_config(cfg), "tests": comparisons(summary),
                                       "training": training_sentence(cfg)})


def training_sentence(cfg: Mapping) -> str:
    from ..learners.sparse_coding import SparseCoding

    return (f"All codes learn from the same {cfg['patch_size']}x{cfg['patch_size']} Olshausen–Field-whitened patches "
            f"of `{cfg['source']}` with the same {cfg['n_seeds']} seeds. Sparse codes: {cfg['n_steps']} dictionary "
            f"updates of {SparseCoding().batch_size} patches, FISTA with {cfg['n_iter']} iterations per 1x of overcompleteness, λ = "
            f"{cfg['lam']['l1']:g} (L1) and {cfg['lam']['l0']:g} (l0) on unit-RMS patches, top-k with k = "
            f"{cfg['topk_k']} active units at every size."
            + (" SAILnet: its defaults" + (f" with {cfg['sailnet_steps']} training steps" if cfg["sailnet_steps"]
                                          else "") + "." if cfg["sailnet_factors"] else ""))


def plot_scatter_grid(units: Mapping, summary: Mapping, path) -> None:
    """One nx–ny panel per setting (rows: codes, columns: overcompleteness), resolved units of all
    seeds pooled, over Ringach's histogram."""
    from ..plots.v1 import nxny_scatter, ringach_count_colorbar

    codes = code_order(u["code"] for u in units.values())
    factors = sorted({u["factor"] for u in units.values()})
    fig = new_figure(3.3 * len(factors), 3.3 * len(codes))
    axes = np.atleast_2d(fig.subplots(len(codes), len(factors), squeeze=False))
    for ax in axes.flat:
        ax.set_visible(False)
    for key, u in units.items():
        ax = axes[codes.index(u["code"]), factors.index(u["factor"])]
        ax.set_visible(True)
        s = summary[key]
        p = [v for v in s["values"]["nxny_p_value"] if math.isfinite(v)]
        state = " (collapsed)" if active_units(s) < MIN_ACTIVE_UNITS else ""
        nxny_scatter(np.asarray(u["nx"], dtype=float), np.asarray(u["ny"], dtype=float), ax=ax, colorbar=False,
                     legend=False, title=f"{setting_label(u['code'], u['factor'])}{state}: n = {len(u['nx'])} "
                                         f"({s['n_seeds']} seeds)\nTV {fmt(s['nxny_distance'])}, largest p "
                                         f"{fmt_p(max(p)) if p else '–'}, blobs {fmt(s['blob_fraction'])}")
        ax.title.set_fontsize(8)
        ax.set_xlabel("nx = σx·f (cycles)", fontsize=8)
        ax.set_ylabel("ny = σy·f (cycles)", fontsize=8)
    # every panel shades the same reference with the same scale: one colour bar for the grid
    ringach_count_colorbar([ax for ax in axes.flat if ax.get_visible()], shrink=0.4)
    fig.suptitle("Resolved units (red) over Ringach's (2002) V1 histogram (blue, cells per bin)", fontsize=10)
    save_figure(fig, path)


def plot_distance(summary: Mapping, path) -> None:
    """nx–ny distance (mean and 95% t-interval across seeds) against overcompleteness, one line per code,
    with the permutation null's 95th percentile as the level a V1-like population stays under."""
    fig = new_figure(6.5, 4.6)
    ax = fig.add_subplot()
    gone = [summary[key] for key in collapsed(summary)]
    for code in code_order(s["code"] for s in summary.values()):
        entries = sorted((s for s in summary.values() if s["code"] == code), key=lambda s: s["factor"])
        x = np.array([e["factor"] for e in entries])
        mean = np.array([e["nxny_distance"] for e in entries], dtype=float)
        err = np.nan_to_num(np.vstack([mean - [e["nxny_distance_lo"] for e in entries],
                                       [e["nxny_distance_hi"] for e in entries] - mean]), nan=0.0)
        ax.errorbar(x, mean, yerr=np.clip(err, 0, None), fmt="o-", capsize=3, label=CODE_NAMES.get(code, code))
        null = np.array([e["nxny_null_95"] for e in entries], dtype=float)
        ax.plot(x, null, ":", color=ax.lines[-1].get_color(), linewidth=1)
    ax.plot([], [], ":", color="0.3", label="null 95th percentile at each population's size")
    if gone:
        ax.scatter([e["factor"] for e in gone], [e["nxny_distance"] for e in gone], s=140, facecolors="none",
                   edgecolors="0.2", zorder=5, label=f"collapsed (< {MIN_ACTIVE_UNITS:g} active unit per patch), not tested")
    ax.set(xscale="log", xlabel="overcompleteness (units / patch pixels)", ylabel="nx–ny distance to V1 (TV)",
           ylim=(0, 1.05))
    ax.set_xticks(sorted({s["factor"] for s in summary.values()}))
    ax.set_xticks([], minor=True)
    ax.get_xaxis().set_major_formatter("{x:g}x")
    ax.grid(alpha=0.3)
    fig.legend(*ax.get_legend_handles_labels(), frameon=False, fontsize=8, loc="outside lower center", ncols=3)
    ax.set_title("Distance to V1's nx–ny histogram (mean, 95% t-interval across seeds)", fontsize=10)
    save_figure(fig, path)


def plot(run) -> Section:
    summary = run.load_json("metrics.json")
    saved = run.load_json("comparisons.json")
    grid, distance = run.figure_path("nxny_by_code"), run.figure_path("distance_by_code")
    plot_scatter_grid(run.load_json("units.json"), summary, grid)
    plot_distance(summary, distance)
    return Section("Which codes look like V1?", report_text(summary, saved["tests"], saved["settings"],
                                                            saved["training"]), [
        (f"{grid}.png", "nx–ny of every code's resolved units (all seeds pooled) over Ringach's histogram; panel "
                        "titles give the mean TV distance, the largest permutation p over seeds and the blob-like "
                        "fraction."),
        (f"{distance}.png", "nx–ny distance against overcompleteness for each code; dotted: the permutation null's "
                            "95th percentile for a population of that size drawn from V1.")])


register(Experiment(
    number="13", name="v1_like_codes", title="Which codes look like V1?",
    description=("SAILnet, L1 sparse coding (SparseNet-like) and hard sparseness (l0, top-k) at 1x, 2x and 4x "
                 "overcompleteness, on the same patches with `n_seeds` seeds each, scored by the one scorer; tests "
                 "the claims of Zylberberg et al. (2011), Rehn & Sommer (2007) and Olshausen (2013) with permutation "
                 "tests against Ringach's cells and paired tests across seeds (Holm within each family). Patches are "
                 "12x12 so that a 4x code (576 units) trains in minutes; sparse codes train `n_steps` updates, "
                 "shorter than experiment 01's 2,400 (experiment 12), so every code is compared at equal, and not "
                 "full, training."),
    defaults={"patch_size": 12, "factors": [1.0, 2.0, 4.0], "objectives": ["l1", "l0", "topk"],
              "sailnet_factors": [1.0, 4.0], "lam": {"l1": 2.0, "l0": 1.0}, "topk_k": 8, "n_seeds": 5, "n_steps": 800,
              "n_iter": 20, "sailnet_steps": None, **SCORER_DEFAULTS, "n_bootstrap": 200, "backend": "joblib",
              "n_jobs": 2, "scheduler": ""},
    quick={"patch_size": 8, "factors": [1.0, 2.0], "topk_k": 4, "n_seeds": 2, "n_steps": 40, "sailnet_steps": 40,
           "n_jobs": 1},
    keys={"sailnet_factors": Key(list, "dimensionless", "overcompleteness factors of SAILnet", item=float, low=0.0,
                                 low_open=True),
          "lam": Key(dict, "dimensionless", "λ per weighted objective; entries merge into the default one by one",
                     item=float, low=0.0, choices=objective_names),
          "sailnet_steps": Key(int, "count", "SAILnet training steps", low=1, none_means="SAILnet's default length")},
    compute=compute, plot=plot))
