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
compared units' (nx, ny) of every setting pooled over seeds (``units.json``, what the scatter
draws) and the families of tests (``comparisons.json``); ``plot`` only loads those files and words
the report through the pure functions below (tested in ``tests/test_report_e13.py``).

**Statistics.**  Per population: the two-sample permutation test of its nx–ny histogram against
Ringach's 79 cells (p per seed, Holm-corrected across seeds), the blob-like fraction with Fisher's
exact test against V1's 19 of 79, the medians with bootstrap intervals.  Between codes: paired
t-tests across seeds (same seeds, same patches), Holm-corrected within the family that answers one
claim.  The spread of a population's shapes is the interquartile range of log10 nx (and of log10 ny)
over its compared units (R² ≥ the threshold, none dropped for being hard to measure): "more diverse"
means a wider spread.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np

from ..plots.figure import new_figure, save_figure
from ..stats import seed_interval
from ..runs.config import Key, objective_names
from ..v1.claims import OLSHAUSEN2013, REHN_SOMMER2007, ZYLBERBERG2011, Verdict, verdict, verdict_phrase
from ..v1.findings import v1_blob_count
from .base import Experiment, Section, register
from .common import POINT_METRICS, QUICK_MEASUREMENT, SCORER_DEFAULTS, fmt, learn_and_score, point_metrics, scorer_config, source_images
from .sweep_report import (ALPHA, REHN_SOMMER_PARTS, claim_result, comparison_table, entry_comparison, family, fmt_p,
                           interval, scorer_sentence)

#: display names of the codes compared
CODE_NAMES = {"sailnet": "SAILnet", "l1": "L1 sparse coding", "l0": "l0 (hard)", "topk": "top-k (hard)"}
HARD_CODES, SOFT_CODE = ("l0", "topk"), "l1"

#: a setting whose code has fewer active units per patch than this (mean over seeds) has collapsed: it
#: cannot represent the patches, so it is reported and drawn but left out of every test
MIN_ACTIVE_UNITS = 1.0

#: the scalar metrics of a point: the scorer's, plus the spread of the compared units' shapes
METRICS = (*POINT_METRICS, "nx_spread", "ny_spread")

#: the published claims this experiment tests (declared in :mod:`effcode.v1.claims`)
CLAIMS = {"sailnet": ZYLBERBERG2011, "rehn_sommer": REHN_SOMMER2007, "olshausen": OLSHAUSEN2013}

#: the part of Olshausen's (2013) claim each compared metric tests (the nx–ny distance is shown, not part of it)
OLSHAUSEN_PARTS = {"nx_spread": "wider_nx", "ny_spread": "wider_ny", "blob_fraction": "more_blobs"}


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

    Sparse codes: the inference (coordinate descent for l1, to its tolerance; LCA for l0 and top-k) runs at
    most ``n_iter`` iterations at 1x and ``factor · n_iter`` above (inference converges more slowly as the
    dictionary grows more coherent; experiment 07); ``topk`` keeps
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


def _evaluate(point: dict, checkpoint=None) -> dict:
    """One point: the scorer's metrics, the shape spreads, and the compared units' (nx, ny) (every unit with
    R² ≥ the threshold, at its fitted values); the training is checkpointed to ``checkpoint``."""
    point = dict(point)
    point.pop("code")
    point.pop("factor")
    scored, bank = learn_and_score(point, checkpoint)
    compared = scored.units["r2_ok"]
    nx, ny = scored.units["fit_nx"][compared], scored.units["fit_ny"][compared]
    return {**point_metrics(scored, bank), "nx_spread": shape_spread(nx), "ny_spread": shape_spread(ny),
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
    """Per setting: the compared units' nx and ny pooled over seeds, and each unit's seed."""
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


def comparisons(summary: Mapping, alpha: float = ALPHA) -> dict:
    """Every test the report words, from the summary:

    * ``sailnet``: the family of paired tests of SAILnet against L1 at the same overcompleteness
      (nx–ny distance; each SAILnet setting's per-seed tests against V1 are :func:`sailnet_verdicts`);
    * ``rehn_sommer``: each hard code against L1 at every overcompleteness (distance);
    * ``rehn_sommer_size``: each hard code at its highest overcompleteness against 1x (distance);
    * ``olshausen``: L1 at its highest overcompleteness against 1x (spreads, blob fraction, distance);
    * ``collapsed``: the settings left out of every test (:func:`collapsed`).
    """
    d = "nxny_distance"
    gone = collapsed(summary)
    by_key = {(s["code"], s["factor"]): s for key, s in summary.items() if key not in gone}
    sailnet = _entries(summary, "sailnet")
    against_l1 = [entry_comparison(setting_label("sailnet", s["factor"]), setting_label(SOFT_CODE, s["factor"]), d,
                                   s, by_key[(SOFT_CODE, s["factor"])])
                  for s in sailnet if (SOFT_CODE, s["factor"]) in by_key]
    hard_vs_soft = [entry_comparison(setting_label(h["code"], h["factor"]), setting_label(SOFT_CODE, h["factor"]), m,
                                     h, by_key[(SOFT_CODE, h["factor"])])
                    for m in REHN_SOMMER_PARTS for code in HARD_CODES for h in _entries(summary, code)
                    if (SOFT_CODE, h["factor"]) in by_key]
    by_size = []
    for code in HARD_CODES:
        entries = _entries(summary, code)
        if len(entries) > 1:
            top, base = entries[-1], entries[0]
            by_size.append(entry_comparison(setting_label(code, top["factor"]), setting_label(code, base["factor"]),
                                            d, top, base))
    soft = _entries(summary, SOFT_CODE)
    olshausen = []
    if len(soft) > 1:
        top, base = soft[-1], soft[0]
        olshausen = [entry_comparison(setting_label(SOFT_CODE, top["factor"]), setting_label(SOFT_CODE, base["factor"]),
                                      m, top, base)
                     for m in ("nx_spread", "ny_spread", "blob_fraction", d)]
    return {"sailnet": {
                        "against_l1": family("SAILnet against L1 sparse coding (nx–ny distance)", against_l1, alpha)},
            "rehn_sommer": family("hard (l0, top-k) against soft (L1) sparseness at equal size", hard_vs_soft, alpha),
            "rehn_sommer_size": family("hard codes at the highest overcompleteness against 1x", by_size, alpha),
            "olshausen": family("L1 at the highest overcompleteness against 1x", olshausen, alpha),
            "collapsed": {key: active_units(summary[key]) for key in gone}}


# -- verdicts and report (pure functions) ----------------------------------------------------

def sailnet_verdicts(summary: Mapping, n_permutations: int | None = None) -> list[Verdict]:
    """Zylberberg et al.'s (2011) claim for each SAILnet setting, per seed and as a bracket (the undetermined
    units at the ends of their intervals that make the population least and most V1-like): the permutation
    p against V1 (estimate: the nx–ny distance; ``n_permutations`` draws) and Fisher's one-sided p of fewer
    blob-like units than V1 (estimate: the blob-like fraction minus V1's)."""
    k, n = v1_blob_count()
    ends = {"least": ("nxny_distance_least", "nxny_p_value_least", "blob_fraction_least", "fewer_blobs_p_value_least"),
            "most": ("nxny_distance_most", "nxny_p_value_most", "blob_fraction_most", "fewer_blobs_p_value_most")}
    found = []
    for entry in _entries(summary, "sailnet"):
        values = entry["values"]
        like_v1, blobs = [], []
        for i in range(len(entry["seeds"])):
            like_v1.append({end: {"estimate": values[d][i], "p_value": values[p][i], "n_permutations": n_permutations}
                            for end, (d, p, _, _) in ends.items()})
            blobs.append({end: {"estimate": values[b][i] - k / n, "p_value": values[p][i], "alternative": "less"}
                          for end, (_, _, b, p) in ends.items()})
        found.append(verdict(ZYLBERBERG2011, {"like_v1": like_v1, "blobs_not_fewer": blobs},
                             subject=setting_label("sailnet", entry["factor"])))
    return found or [verdict(ZYLBERBERG2011, {}, subject="SAILnet")]


def _labelled(fam: Mapping, metric: str = "nxny_distance") -> list:
    return [claim_result(t, label=f"{t['a']} against {t['b']}") for t in fam["tests"] if t["metric"] == metric]


def rehn_sommer_verdicts(tests: Mapping) -> list[Verdict]:
    """Rehn & Sommer's (2007) claim: each hard code against L1 at every size (``rehn_sommer``: the part
    "closer") and each hard code at its highest usable overcompleteness against 1x (``rehn_sommer_size``)."""
    parts = {part: _labelled(tests["rehn_sommer"], metric) for metric, part in REHN_SOMMER_PARTS.items()}
    return [verdict(REHN_SOMMER2007, {**parts, "closer_with_overcompleteness": _labelled(tests["rehn_sommer_size"])})]


def olshausen_verdicts(tests: Mapping) -> list[Verdict]:
    """Olshausen's (2013) claim: L1 at its highest overcompleteness against 1x (:data:`OLSHAUSEN_PARTS`)."""
    return [verdict(OLSHAUSEN2013, {OLSHAUSEN_PARTS[t["metric"]]: claim_result(t)
                                    for t in tests["olshausen"]["tests"] if t["metric"] in OLSHAUSEN_PARTS})]


def verdicts(summary: Mapping, tests: Mapping, n_permutations: int | None = None) -> dict[str, list[Verdict]]:
    """Every claim's verdicts (:func:`effcode.v1.claims.verdict`), by the keys of :data:`CLAIMS`."""
    return {"sailnet": sailnet_verdicts(summary, n_permutations), "rehn_sommer": rehn_sommer_verdicts(tests),
            "olshausen": olshausen_verdicts(tests)}


def collapsed_note(tests: Mapping) -> str:
    """The settings left out of every test as collapsed, or nothing."""
    gone = tests.get("collapsed", {})
    if not gone:
        return ""
    return (f"Left out of every test as collapsed (fewer than {MIN_ACTIVE_UNITS:g} active unit per patch): "
            + ", ".join(f"{key} ({units:.2f} active)" for key, units in gone.items()) + ".")


def claims_table(found: Mapping[str, list[Verdict]]) -> str:
    """Markdown table: each paper, what it claimed and where, the tests of its parts, and the verdict."""
    rows = ["| paper | claim (where) | checked here | verdict |", "|---|---|---|---|"]
    for key, found_here in found.items():
        c = CLAIMS[key]
        checks = "; ".join(dict.fromkeys(p.test.name for p in c.parts))
        words = "; ".join((f"{v.subject}: " if v.subject else "") + verdict_phrase(v.verdict, v.parts)
                          for v in found_here)
        rows.append(f"| {c.paper.short} | {c.statement} ({c.where}) | {checks} | {words} |")
    return "\n".join(rows)


def bracket_text(s: Mapping, low: str, high: str) -> str:
    """"[lo–hi]": the means over seeds of a statistic's two bracket ends (undetermined units at the ends of
    their intervals), lower first; an en dash when either end has no value."""
    lo, hi = (seed_interval(s["values"][key])["mean"] for key in (low, high))
    return f"[{fmt(lo)}–{fmt(hi)}]" if math.isfinite(lo) and math.isfinite(hi) else "–"


def settings_table(summary: Mapping) -> str:
    """Markdown table of every setting: means and 95% t-intervals across seeds."""
    rows = ["| code | overcompleteness | units | seeds | active units per patch | median R² | compared units (undetermined) | "
            "nx–ny distance [bracket] | largest p | blob-like fraction [bracket] | median nx | median ny | spread of log nx | "
            "spread of log ny |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for s in sorted(summary.values(), key=lambda s: s["index"]):
        p = [v for v in s["values"]["nxny_p_value"] if math.isfinite(v)]
        active = active_units(s)
        name = CODE_NAMES.get(s["code"], s["code"]) + ("" if active >= MIN_ACTIVE_UNITS else " (collapsed, not tested)")
        rows.append(f"| {name} | {s['factor']:g}x | {s['n_filters']} | {s['n_seeds']} | "
                    f"{fmt(active, 1)} | {interval(s, 'median_r2')} | {fmt(s['n_compared'], 0)} ({fmt(s['n_unresolved'], 0)}) | "
                    f"{interval(s, 'nxny_distance')} {bracket_text(s, 'nxny_distance_most', 'nxny_distance_least')} | "
                    f"{fmt_p(max(p)) if p else '–'} | {interval(s, 'blob_fraction')} {bracket_text(s, 'blob_fraction_least', 'blob_fraction_most')} | "
                    f"{interval(s, 'median_nx')} | "
                    f"{interval(s, 'median_ny')} | {interval(s, 'nx_spread')} | {interval(s, 'ny_spread')} |")
    return "\n".join(rows)


def answer(found: Mapping[str, list[Verdict]], tests: Mapping) -> str:
    """One paragraph: every verdict's sentence, and the settings left out (for REPORT.md's summary and the
    README)."""
    return " ".join([*(v.sentence for found_here in found.values() for v in found_here), collapsed_note(tests)]).strip()


def report_text(summary: Mapping, tests: Mapping, settings: Mapping, training: str) -> str:
    found = verdicts(summary, tests, settings.get("n_permutations"))
    parts = [scorer_sentence(settings), training, settings_table(summary),
             "Mean [95% t-interval] across seeds; active units per patch is the mean over seeds of the last training "
             "batch's non-zero codes (SAILnet: units that spiked); \"largest p\" is the largest over seeds of the permutation test "
             "against Ringach's cells; the spread is the interquartile range of log10 nx (ny) over compared units.",
             claims_table(found)]
    for key, found_here in found.items():
        c = CLAIMS[key]
        parts.append(f"**{c.paper.short}** ({c.where}). " + " ".join(v.sentence for v in found_here))
    if collapsed_note(tests):
        parts.append(collapsed_note(tests))
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
                     scheduler=cfg["scheduler"] or None, progress=run.progress, resumable=True)
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
            f"updates of {SparseCoding().batch_size} patches, inference (coordinate descent for l1, LCA for l0 and top-k) capped at {cfg['n_iter']} iterations per 1x of overcompleteness, λ = "
            f"{cfg['lam']['l1']:g} (L1) and {cfg['lam']['l0']:g} (l0) on unit-RMS patches, top-k with k = "
            f"{cfg['topk_k']} active units at every size."
            + (" SAILnet: its defaults" + (f" with {cfg['sailnet_steps']} training steps" if cfg["sailnet_steps"]
                                          else "") + "." if cfg["sailnet_factors"] else ""))


def plot_scatter_grid(units: Mapping, summary: Mapping, path) -> None:
    """One nx–ny panel per setting (rows: codes, columns: overcompleteness), compared units of all
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
        (f"{grid}.png", "nx–ny of every code's compared units (all seeds pooled) over Ringach's histogram; panel "
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
                 "shorter than experiment 01's 4,800 (experiment 12), so every code is compared at equal, and not "
                 "full, training."),
    defaults={"patch_size": 12, "factors": [1.0, 2.0, 4.0], "objectives": ["l1", "l0", "topk"],
              "sailnet_factors": [1.0, 4.0], "lam": {"l1": 2.0, "l0": 1.0}, "topk_k": 8, "n_seeds": 5, "n_steps": 800,
              "n_iter": 20, "sailnet_steps": None, **SCORER_DEFAULTS, "n_bootstrap": 200, "backend": "joblib",
              "n_jobs": 2, "scheduler": ""},
    quick={**QUICK_MEASUREMENT, "patch_size": 8, "factors": [1.0, 2.0], "topk_k": 4, "n_seeds": 2, "n_steps": 40, "sailnet_steps": 40,
           "n_jobs": 1},
    keys={"sailnet_factors": Key(list, "dimensionless", "overcompleteness factors of SAILnet", item=float, low=0.0,
                                 low_open=True),
          "lam": Key(dict, "dimensionless", "λ per weighted objective; entries merge into the default one by one",
                     item=float, low=0.0, choices=objective_names),
          "sailnet_steps": Key(int, "count", "SAILnet training steps", low=1, none_means="SAILnet's default length")},
    compute=compute, plot=plot))
