"""Experiment 12: is every standard learner trained past its plateau?

Each standard learner ("sparse coding", "ICA", "sparse CNN"; :func:`~effcode.experiments.common.standard_spec`)
is trained at several multiples of its committed training length (:data:`LENGTH_PARAMS`: the sparse-coding
and CNN ``n_steps``, the FastICA ``max_iter``), each with ``n_seeds`` seeds, and every bank is scored by the
one scorer (:func:`~effcode.experiments.common.score`).  ``metrics.json`` holds one row per (learner, length,
seed) (:data:`~effcode.experiments.common.POINT_METRICS`), the mean and 95% interval over seeds per length, and
:func:`plateau_verdict`: the committed length is *past the plateau* for a statistic when the change of its
mean from the committed length to the longest length measured is smaller than the half-width of the
committed length's 95% interval over seeds.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from ..stats import paired_test, seed_interval
from ..runs.config import Key
from .base import Experiment, Section, register
from .common import SCORER_DEFAULTS, STANDARD_LEARNERS, fmt, learned_bank, point_metrics, score, source_images, \
    standard_spec

#: the parameter that sets each learner's training length
LENGTH_PARAMS = {"sparse coding": "n_steps", "ICA": "max_iter", "sparse CNN": "n_steps"}
#: what one unit of that length is
LENGTH_UNITS = {"sparse coding": "dictionary updates", "ICA": "FastICA iterations (at most; stops at tol)",
                "sparse CNN": "training steps"}
#: the config key of each learner's multiples of its committed length (an empty list skips the learner)
MULTIPLE_KEYS = {"sparse coding": "multiples_sparse_coding", "ICA": "multiples_ica",
                 "sparse CNN": "multiples_sparse_cnn"}
#: the statistics followed against training length
STATISTICS = {"median_r2": "median R²", "median_nx": "median nx", "median_ny": "median ny",
              "nxny_distance": "nx–ny TV distance"}


def seeds(cfg: dict) -> list[int]:
    return [int(cfg["seed"]) + i for i in range(int(cfg["n_seeds"]))]


def committed_length(label: str, spec) -> int:
    """The training length of a standard learner's spec (the learner's default when the spec leaves it out)."""
    from ..learners import make_learner

    value = spec.params.get(LENGTH_PARAMS[label])
    if value is None:
        value = make_learner(spec.method).get_params()[LENGTH_PARAMS[label]]
    return int(value)


def lengths_of(committed: int, multiples) -> list[int]:
    """The training lengths for ``multiples`` of ``committed`` (rounded, at least 1); the committed length
    is always among them."""
    return sorted({committed} | {max(1, int(round(float(m) * committed))) for m in multiples})


def compute(run) -> None:
    cfg = run.config
    quick = bool(cfg.get("quick"))
    images = source_images(run)
    rows, committed = [], {}
    for label in STANDARD_LEARNERS:
        multiples = cfg[MULTIPLE_KEYS[label]]
        if not multiples:
            continue
        param = LENGTH_PARAMS[label]
        committed[label] = committed_length(label, standard_spec(label, quick=quick, seed=int(cfg["seed"])))
        for length in lengths_of(committed[label], multiples):
            for seed in seeds(cfg):
                spec = standard_spec(label, quick=quick, seed=seed)
                if length != committed[label]:          # the committed bank keeps its spec (shared with 01-05)
                    spec = spec.with_params(**{param: length})
                with warnings.catch_warnings():
                    if length < committed[label]:         # stopping short is the point here
                        warnings.simplefilter("ignore", ConvergenceWarning)
                    bank = learned_bank(run, spec, images)
                scored = score(run, bank, name=label, cfg=cfg, seed=seed)
                rows.append({"learner": label, "length": length, "multiple": length / committed[label],
                             "seed": seed, **point_metrics(scored, bank)})
    run.save_json("metrics.json", {"learners": list(committed), "population": cfg["population"],
                                   "seeds": seeds(cfg), "committed": committed,
                                   "length_params": {k: LENGTH_PARAMS[k] for k in committed}, "rows": rows,
                                   "summary": length_summary(rows), "verdict": plateau_verdict(rows, committed),
                                   "first_plateau": {k: first_plateau(rows, k) for k in committed}})


# ----------------------------------------------------------------------------- pure statistics


def _values(rows: list[dict], learner: str, length: int, stat: str) -> dict[int, float]:
    return {r["seed"]: float(r[stat]) for r in rows if r["learner"] == learner and r["length"] == length}


def length_summary(rows: list[dict], statistics=tuple(STATISTICS)) -> dict:
    """``summary[learner][stat]``: lists ``length``, ``mean``, ``lo``, ``hi``, ``n`` over the lengths measured
    (mean and 95% t-interval over seeds, :func:`effcode.stats.seed_interval`)."""
    out = {}
    for learner in dict.fromkeys(r["learner"] for r in rows):
        lengths = sorted({r["length"] for r in rows if r["learner"] == learner})
        out[learner] = {}
        for stat in statistics:
            cols = {"length": lengths, "mean": [], "lo": [], "hi": [], "n": []}
            for length in lengths:
                s = seed_interval(list(_values(rows, learner, length, stat).values()))
                for key in ("mean", "lo", "hi", "n"):
                    cols[key].append(s[key])
            out[learner][stat] = cols
    return out


def plateau_verdict(rows: list[dict], committed: dict, statistics=tuple(STATISTICS)) -> dict:
    """Per learner and statistic: is the committed length past the plateau?

    ``rows``: one dict per (learner, length, seed) with keys ``learner``, ``length``, ``seed`` and the
    statistics; ``committed``: the committed length of each learner.  For each statistic, with C the
    committed length and L the longest length measured: ``committed`` and ``longest`` (means over seeds),
    ``change`` (longest − committed), ``half_width`` (half the width of the committed length's 95% t-interval
    over seeds), ``past_plateau`` (``|change| < half_width``; None when no longer length was measured or the
    interval is undefined, e.g. one seed), ``paired_p`` (paired t-test of the change over the seeds measured at
    both lengths), ``n_seeds``, ``committed_length``, ``longest_length``.
    """
    out = {}
    for learner, base in committed.items():
        lengths = sorted({r["length"] for r in rows if r["learner"] == learner})
        if not lengths:
            continue
        longest = lengths[-1]
        out[learner] = {}
        for stat in statistics:
            at_base, at_long = _values(rows, learner, base, stat), _values(rows, learner, longest, stat)
            c, l = seed_interval(list(at_base.values())), seed_interval(list(at_long.values()))
            half = (c["hi"] - c["lo"]) / 2 if c["n"] > 1 else math.nan
            change = l["mean"] - c["mean"]
            past = None
            if longest > base and math.isfinite(half) and math.isfinite(change):
                past = bool(abs(change) < half)
            shared = sorted(set(at_base) & set(at_long))
            paired = math.nan
            if longest > base and len(shared) >= 2:
                a = [at_long[s] for s in shared]
                b = [at_base[s] for s in shared]
                if all(map(math.isfinite, a + b)):
                    paired = paired_test(a, b)["p_value"]
            out[learner][stat] = {"committed_length": base, "longest_length": longest, "committed": c["mean"],
                                  "longest": l["mean"], "change": change, "half_width": half,
                                  "past_plateau": past, "paired_p": paired, "n_seeds": c["n"]}
    return out


def first_plateau(rows: list[dict], learner: str, statistics=tuple(STATISTICS)) -> int | None:
    """The shortest length measured that is past the plateau (by :func:`plateau_verdict`) for every
    statistic, judged against the longest length measured; None when no shorter length qualifies."""
    lengths = sorted({r["length"] for r in rows if r["learner"] == learner})
    for length in lengths[:-1]:
        verdict = plateau_verdict(rows, {learner: length}, statistics)[learner]
        if all(v["past_plateau"] for v in verdict.values()):
            return length
    return None


# ----------------------------------------------------------------------------- the report


def _change_text(v: dict) -> str:
    if not math.isfinite(v["change"]):
        return "–"
    return f"{v['change']:+.3f}"


def verdict_table(metrics: dict) -> str:
    """Markdown table of :func:`plateau_verdict`: one row per learner and statistic."""
    rows = ["| learner | statistic | committed length | mean there [95% CI half-width] | longest length | mean there "
            "| change | past the plateau? | paired p |", "|---|---|---|---|---|---|---|---|---|"]
    for learner in metrics["learners"]:
        for stat in STATISTICS:
            v = metrics["verdict"].get(learner, {}).get(stat)
            if v is None:
                continue
            verdict = {True: "yes", False: "**no**", None: "not measured"}[v["past_plateau"]]
            p = v["paired_p"]
            rows.append(f"| {learner} | {STATISTICS.get(stat, stat)} | {v['committed_length']} | "
                        f"{fmt(v['committed'], 3)} "
                        f"[±{fmt(v['half_width'], 3)}] | {v['longest_length']} | {fmt(v['longest'], 3)} | "
                        f"{_change_text(v)} | {verdict} | "
                        f"{('< 0.001' if p < 0.001 else fmt(p, 3)) if math.isfinite(p) else '–'} |")
    return "\n".join(rows)


def verdict_text(metrics: dict) -> str:
    """One sentence per learner: whether its committed length is past the plateau, and if not, the shortest
    measured length that is."""
    lines = []
    for learner in metrics["learners"]:
        found = metrics["verdict"].get(learner, {})
        verdict = {stat: found[stat] for stat in STATISTICS if stat in found}
        if not verdict:
            continue
        any_v = next(iter(verdict.values()))
        base, longest = any_v["committed_length"], any_v["longest_length"]
        unit = LENGTH_UNITS.get(learner, "")
        param = metrics["length_params"].get(learner, "length")
        states = {stat: v["past_plateau"] for stat, v in verdict.items()}
        if any(s is None for s in states.values()):
            lines.append(f"- **{learner}** ({param} = {base} {unit}): not decided — "
                         + ("no length beyond the committed one was measured." if longest <= base
                            else "the committed length's interval is undefined (one seed)."))
            continue
        not_past = [STATISTICS.get(s, s) for s, past in states.items() if not past]
        if not not_past:
            identical = all(v["change"] == 0 for v in verdict.values())
            lines.append(f"- **{learner}** ({param} = {base} {unit}): past the plateau — from {base} to {longest} "
                         "every statistic moves by less than the committed length's 95% half-width"
                         + (" (the results are identical: the learner stopped at its own tolerance before either "
                            "budget ran out)." if identical else "."))
            continue
        first = metrics["first_plateau"].get(learner)
        advice = (f"the shortest measured length past the plateau is {param} = {first}"
                  if first is not None else f"no measured length below {longest} is past it; train longer than "
                                            f"{longest} to find the plateau")
        lines.append(f"- **{learner}** ({param} = {base} {unit}): **not past the plateau** — from {base} to "
                     f"{longest} {', '.join(not_past)} move{'s' * (len(not_past) == 1)} by more than the committed "
                     f"length's 95% half-width; {advice}.")
    return "\n".join(lines)


def section_text(metrics: dict) -> str:
    n = len(metrics["seeds"])
    intro = (f"Each learner is trained at several multiples of its committed length, {n} seed{'s' * (n != 1)} per "
             f"length, and scored on its {metrics['population']} by the one scorer. The committed length is past "
             "the plateau for a statistic when its mean moves, from the committed length to the longest length "
             "measured, by less than the half-width of the committed length's 95% interval over seeds (judged "
             "only against the lengths measured).")
    skipped = [k for k in STANDARD_LEARNERS if k not in metrics["learners"]]
    if skipped:
        intro += f" Not run at these settings: {', '.join(skipped)}."
    return "\n\n".join([intro, verdict_text(metrics), verdict_table(metrics)])


# ----------------------------------------------------------------------------- figure


def training_length_figure(summary: dict, committed: dict, verdict: dict, *, learners=None, path=None,
                           units: dict | None = None):
    """Statistics against training length: one row per learner, one column per statistic; mean ± 95% interval
    over seeds, the committed length dashed, the committed length's interval shaded (a later mean inside the
    band is past the plateau).  Only draws: every number is passed in."""
    from ..plots.figure import DEFAULT_DPI, maybe_save, new_figure

    learners = [k for k in (learners or summary) if k in summary]
    stats = list(STATISTICS)
    fig = new_figure(3.1 * len(stats), 2.5 * max(1, len(learners)))
    axes = np.asarray(fig.subplots(max(1, len(learners)), len(stats), squeeze=False))
    for i, learner in enumerate(learners):
        for j, stat in enumerate(stats):
            ax = axes[i, j]
            s = summary[learner][stat]
            x = np.asarray(s["length"], dtype=float)
            mean, lo, hi = (np.asarray(s[k], dtype=float) for k in ("mean", "lo", "hi"))
            err = np.vstack([mean - lo, hi - mean])
            ax.errorbar(x, mean, yerr=np.where(np.isfinite(err), err, 0), marker="o", ms=3.5, capsize=3, lw=1.2)
            base = committed[learner]
            if base in s["length"]:
                k = s["length"].index(base)
                if np.isfinite(lo[k]) and np.isfinite(hi[k]):
                    ax.axhspan(lo[k], hi[k], color="tab:green", alpha=0.12, lw=0)
            ax.axvline(base, color="0.3", ls="--", lw=0.9)
            ax.set_xscale("log", base=2)
            ax.set_xticks(x, [f"{v:g}" for v in x])
            ax.minorticks_off()
            v = verdict.get(learner, {}).get(stat, {})
            state = {True: "past plateau", False: "NOT past plateau", None: "undecided"}[v.get("past_plateau")]
            ax.set_title(f"{learner}: {STATISTICS[stat]}\n({state})", fontsize=8)
            ax.set_xlabel(f"{(units or {}).get(learner, 'training length')}", fontsize=7)
            ax.tick_params(labelsize=7)
            ax.grid(alpha=0.3)
    fig.suptitle("Statistics against training length (mean ± 95% interval over seeds; dashed: committed length; "
                 "band: its interval)", fontsize=9)
    return maybe_save(fig, path, DEFAULT_DPI)


def plot(run) -> Section:
    metrics = run.load_json("metrics.json")
    if not metrics["learners"]:
        return Section("Training length: converged?", "No learner was run (every multiples list is empty).")
    path = run.figure_path("training_length")
    training_length_figure(metrics["summary"], metrics["committed"], metrics["verdict"],
                           learners=metrics["learners"], path=path,
                           units={k: f"{metrics['length_params'][k]} ({LENGTH_UNITS[k]})" for k in metrics["learners"]})
    return Section("Training length: converged?", section_text(metrics), [
        (f"{path}.png", "Median R², median nx, median ny and the nx–ny distance against training length, per "
                        "learner: mean ± 95% interval over seeds; the dashed line is the committed length and the "
                        "band its interval.")])


register(Experiment(
    number="12", name="training_length", title="Converged: statistics against training length",
    description=("Each standard learner (experiments 01-03) is retrained at multiples of its committed training "
                 "length (sparse coding and CNN: n_steps; ICA: max_iter) with n_seeds seeds, and each bank is "
                 "scored by effcode's one scorer. Median R², median nx, median ny and the nx–ny distance are "
                 "followed against length; the committed length is past the plateau when the change to the "
                 "longest length is smaller than the half-width of its 95% interval over seeds."),
    defaults={**SCORER_DEFAULTS, "n_seeds": 3, "multiples_sparse_coding": [0.25, 0.5, 1.0, 2.0],
              "multiples_ica": [0.125, 0.25, 0.5, 1.0, 2.0], "multiples_sparse_cnn": [1.0, 2.0]},
    quick={"n_seeds": 2, "n_bootstrap": 200, "multiples_sparse_coding": [1.0, 2.0], "multiples_ica": [0.5, 1.0],
           "multiples_sparse_cnn": []},
    keys={"multiples_sparse_coding": Key(list, "dimensionless", "multiples of sparse coding's committed n_steps "
                                         "retrained", item=float, low=0.0, low_open=True),
          "multiples_ica": Key(list, "dimensionless", "multiples of ICA's committed max_iter retrained", item=float,
                               low=0.0, low_open=True),
          "multiples_sparse_cnn": Key(list, "dimensionless", "multiples of the sparse CNN's committed n_steps "
                                      "retrained (empty: the CNN is left out)", item=float, low=0.0, low_open=True,
                                      min_items=0)},
    compute=compute, plot=plot))
