r"""Experiment 12: is every standard learner trained past its plateau?

Each standard learner ("sparse coding", "ICA", "sparse CNN"; :func:`~effcode.experiments.common.standard_spec`)
is trained at several multiples of its committed training length N (:data:`LENGTH_PARAMS`: the sparse-coding
and CNN ``n_steps``, the FastICA ``max_iter``), each with ``n_seeds`` seeds, and every bank is scored by the
one scorer (:func:`~effcode.experiments.common.score`).  ``metrics.json`` holds one row per (learner, length,
seed) (:func:`~effcode.experiments.common.point_metrics`, plus ``atom_stability``), the mean and 95% interval
over seeds per length, and :func:`plateau_verdict`.  ``atom_cosines.npz`` holds every per-atom |cos|.

**Past the plateau** means, for the committed length N against the longest length L measured (2N by default):

* every statistic of :data:`STATISTICS` is *equivalent* at N and L: with the paired changes
  :math:`\delta_s = m_s(L) - m_s(N)` over the n seeds, their mean :math:`\bar\delta` and standard error
  :math:`\mathrm{sd}(\delta)/\sqrt n`, two one-sided tests (TOST, :func:`effcode.stats.equivalence_test`)
  show :math:`|\mathbb E\,\delta| < \Delta` at the 5% level, Δ the statistic's margin (stated with its reason
  in :data:`STATISTICS`).  The standard error is multiplied by :math:`t_{0.95,\,n-1} / z_{0.95}`, so that the
  test is equivalent exactly when the 90% paired-t interval of the mean change lies inside ±Δ;
* the atoms have stopped moving: the median over atoms of the |cos| between each atom at N and its partner
  at L (:func:`atom_cosines`; partners by index for sparse coding and the sparse CNN, whose schedules depend
  on the step alone, so that an N-update training is the first part of the L-update one; by Hungarian
  assignment for ICA, whose units come in no fixed order) is at least :data:`STABILITY_THRESHOLD` in every seed.

**Cost.**  For the learners whose schedule depends on the step alone (sparse coding, the sparse CNN), the
lengths of one seed are trained as one chain: each training starts from the final state of the next shorter
one (:func:`~effcode.experiments.common.learned_bank` with ``continues``), which gives the same bank, bit for
bit, as training from the start (``tests/test_resume.py``).  A seed then costs its longest training, 2N steps,
instead of the sum of all its lengths (sparse coding 3.75N, the CNN 3N).

Every part must hold (an intersection-union test: each at the 5% level makes the whole a 5%-level test, with no
correction for their number).  A part that cannot be judged (one seed, no length beyond N) leaves the verdict
undecided.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
from scipy import stats as _st
from scipy.optimize import linear_sum_assignment
from sklearn.exceptions import ConvergenceWarning

from ..errors import InputError
from ..runs.config import Key
from ..stats import equivalence_test, seed_interval
from .base import Experiment, Section, register
from .common import QUICK_MEASUREMENT, SCORER_DEFAULTS, STANDARD_LEARNERS, fmt, learned_bank, point_metrics, score, \
    source_images, standard_spec

#: the parameter that sets each learner's training length
LENGTH_PARAMS = {"sparse coding": "n_steps", "ICA": "max_iter", "sparse CNN": "n_steps"}
#: what one unit of that length is
LENGTH_UNITS = {"sparse coding": "dictionary updates", "ICA": "FastICA iterations (at most; stops at tol)",
                "sparse CNN": "training steps"}
#: the config key of each learner's multiples of its committed length (an empty list skips the learner)
MULTIPLE_KEYS = {"sparse coding": "multiples_sparse_coding", "ICA": "multiples_ica",
                 "sparse CNN": "multiples_sparse_cnn"}

#: the statistics followed against training length (keys of the rows of
#: :func:`~effcode.experiments.common.point_metrics`), each with its label and the equivalence margin of its
#: change from the committed to the longest length, with the reason for that margin
STATISTICS: dict[str, dict[str, Any]] = {
    "median_nx": {"label": "median nx", "margin": 0.02,
                  "reason": "about one bootstrap standard error of one population's median nx (0.009–0.018 in the "
                            "audit of the default images): a drift below it cannot move a reported median by more "
                            "than its own sampling error"},
    "median_ny": {"label": "median ny", "margin": 0.05,
                  "reason": "about 4% of the learners' median ny (1.2–1.8), and below the width of one of Ringach's "
                            "log-spaced bins at that value (a factor 10^0.24, 0.3–0.5 in ny), so no unit at the "
                            "median changes bin"},
    "median_r2": {"label": "median R²", "margin": 0.01,
                  "reason": "the report states R² to two decimals; a change below 0.01 alters no reported digit "
                            "and moves no unit across the 0.7 inclusion threshold in the median"},
    "nxny_distance": {"label": "nx–ny distance", "margin": 0.03,
                      "reason": "moving one of n units to another bin changes the total-variation distance by at "
                                "most 1/n, so 0.03 is 3% of the units changing bin (about 8 of 256)"},
    "blob_fraction": {"label": "blob-like fraction", "margin": 0.01,
                      "reason": "one unit in a hundred; V1's fraction is 0.24, so a change below it cannot move a "
                                "population across V1's"},
}
#: the atoms have stopped moving when the median per-atom |cos| between the committed and the longest length
#: reaches this in every seed (an atom turned by less than 2.6 degrees)
STABILITY_THRESHOLD = 0.999
#: how the atoms of one learner are paired between two lengths (see the module docstring)
ATOM_MATCHING = {"sparse coding": "index", "ICA": "hungarian", "sparse CNN": "index"}
#: the level of each part of the verdict
ALPHA = 0.05


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


def atom_cosines(atoms, reference, *, matching: str) -> np.ndarray:
    r"""|cos| between each atom of ``atoms`` (K, ...) and its partner in ``reference`` (K, ...), (K,).

    .. math::  c_k = \frac{|\langle a_k, r_{\pi(k)} \rangle|}{\lVert a_k \rVert\,\lVert r_{\pi(k)} \rVert}

    with π the identity (``matching="index"``) or the assignment maximising :math:`\sum_k c_k`
    (``"hungarian"``, :func:`scipy.optimize.linear_sum_assignment`).  The sign is ignored (an atom and its
    negative code the same feature); an all-zero atom has |cos| 0.
    """
    a = np.asarray(atoms, dtype=np.float64).reshape(len(atoms), -1)
    r = np.asarray(reference, dtype=np.float64).reshape(len(reference), -1)
    if a.shape != r.shape:
        raise InputError(f"atoms and reference must have the same shape, got {a.shape} and {r.shape}")
    if matching not in ("index", "hungarian"):
        raise InputError(f"matching must be 'index' or 'hungarian', got {matching!r}")
    norms = np.linalg.norm(a, axis=1)[:, None] * np.linalg.norm(r, axis=1)[None, :]
    cosines = np.divide(np.abs(a @ r.T), norms, out=np.zeros(norms.shape), where=norms > 0)
    if matching == "index":
        return np.diagonal(cosines).copy()
    rows, cols = linear_sum_assignment(-cosines)
    return cosines[rows, cols]


def compute(run) -> None:
    cfg = run.config
    quick = bool(cfg.get("quick"))
    images = source_images(run)
    rows, committed, atoms = [], {}, {}
    for label in STANDARD_LEARNERS:
        multiples = cfg[MULTIPLE_KEYS[label]]
        if not multiples:
            continue
        param = LENGTH_PARAMS[label]
        committed[label] = committed_length(label, standard_spec(label, quick=quick, seed=int(cfg["seed"])))
        shorter: dict[int, Any] = {}   # per seed, the spec of the last (shorter) length trained
        for length in lengths_of(committed[label], multiples):
            for seed in seeds(cfg):
                spec = standard_spec(label, quick=quick, seed=seed)
                if length != committed[label]:          # the committed bank keeps its spec (shared with 01-05)
                    spec = spec.with_params(**{param: length})
                with warnings.catch_warnings():
                    if length < committed[label]:         # stopping short is the point here
                        warnings.simplefilter("ignore", ConvergenceWarning)
                    # a length-free schedule continues from the shorter length's final state: the same bank
                    bank = learned_bank(run, spec, images, continues=shorter.get(seed))
                shorter[seed] = spec
                scored = score(run, bank, name=label, cfg=cfg, seed=seed)
                atoms[label, length, seed] = bank.basis
                rows.append({"learner": label, "length": length, "multiple": length / committed[label],
                             "seed": seed, **point_metrics(scored, bank)})
    cosines = {}
    for row in rows:
        label, seed = row["learner"], row["seed"]
        longest = max(length for (name, length, _) in atoms if name == label)
        per_atom = atom_cosines(atoms[label, row["length"], seed], atoms[label, longest, seed],
                                matching=ATOM_MATCHING[label])
        cosines[f"{label.replace(' ', '_')}_length{row['length']}_seed{seed}"] = per_atom
        row["atom_stability"] = float(np.median(per_atom))
    run.save_npz("atom_cosines.npz", **cosines)
    run.save_json("metrics.json", {"learners": list(committed), "population": cfg["population"],
                                   "seeds": seeds(cfg), "committed": committed,
                                   "length_params": {k: LENGTH_PARAMS[k] for k in committed}, "rows": rows,
                                   "summary": length_summary(rows), "verdict": plateau_verdict(rows, committed),
                                   "first_plateau": {k: first_plateau(rows, k) for k in committed}})


# ----------------------------------------------------------------------------- pure statistics


def _values(rows: list[dict], learner: str, length: int, stat: str) -> dict[int, float]:
    return {r["seed"]: float(r[stat]) for r in rows if r["learner"] == learner and r["length"] == length}


def length_summary(rows: list[dict], statistics=(*STATISTICS, "atom_stability")) -> dict:
    """``summary[learner][stat]``: lists ``length``, ``mean``, ``lo``, ``hi``, ``n`` over the lengths measured
    (mean and 95% t-interval over seeds, :func:`effcode.stats.seed_interval`)."""
    out: dict[str, dict[str, dict[str, list]]] = {}
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


def change_test(at_base: dict[int, float], at_long: dict[int, float], margin: float) -> dict:
    """Paired equivalence test of the change of one statistic between two lengths, over the seeds measured at
    both (``at_base``/``at_long``: value per seed; seeds with a NaN are left out).

    Returns ``change`` (the mean paired change), ``lo``/``hi`` (its 90% paired-t interval), ``p_value`` (TOST,
    :func:`effcode.stats.equivalence_test` with the standard error scaled by t(0.95, n−1)/z(0.95)),
    ``equivalent`` (p < :data:`ALPHA`; None with fewer than 2 seeds), ``margin`` and ``n``.
    """
    shared = [s for s in sorted(set(at_base) & set(at_long))
              if math.isfinite(at_base[s]) and math.isfinite(at_long[s])]
    changes = np.array([at_long[s] - at_base[s] for s in shared])
    out: dict[str, Any] = {"change": float(changes.mean()) if len(shared) else math.nan, "lo": math.nan, "hi": math.nan,
           "p_value": math.nan, "equivalent": None, "margin": float(margin), "n": len(shared)}
    if len(shared) < 2:
        return out
    scale = float(_st.t.ppf(0.95, len(shared) - 1) / _st.norm.ppf(0.95))
    test = equivalence_test(out["change"], scale * float(changes.std(ddof=1)) / math.sqrt(len(shared)), margin)
    return {**out, "lo": test["lo"], "hi": test["hi"], "p_value": test["p_value"], "equivalent": test["equivalent"]}


def plateau_verdict(rows: list[dict], committed: dict, statistics: dict = STATISTICS,
                    threshold: float = STABILITY_THRESHOLD) -> dict:
    """Per learner: is the committed length past the plateau (module docstring)?

    ``rows``: one dict per (learner, length, seed) with keys ``learner``, ``length``, ``seed``, the statistics
    and ``atom_stability`` (median per-atom |cos| to the longest length, same seed); ``committed``: the
    committed length of each learner; ``statistics``: name -> dict with ``margin``.  Per learner:
    ``committed_length``, ``longest_length``, ``statistics`` (name -> :func:`change_test` plus ``committed`` and
    ``longest``, the means over seeds), ``stability`` (``per_seed`` medians, ``lowest``, ``threshold`` and
    ``stable``: every seed at or above the threshold, None when unmeasured) and ``past_plateau`` (every part
    holds; False when one fails; None when none fails and one is undecided or no longer length was measured).
    """
    out = {}
    for learner, base in committed.items():
        lengths = sorted({r["length"] for r in rows if r["learner"] == learner})
        if not lengths:
            continue
        longest = lengths[-1]
        measured = longest > base
        tests = {}
        for stat, spec in statistics.items():
            at_base, at_long = _values(rows, learner, base, stat), _values(rows, learner, longest, stat)
            test = change_test(at_base, at_long, spec["margin"]) if measured else \
                {**change_test({}, {}, spec["margin"]), "change": math.nan}
            tests[stat] = {**test, "committed": seed_interval(list(at_base.values()))["mean"],
                           "longest": seed_interval(list(at_long.values()))["mean"]}
        per_seed = {seed: value for seed, value in _values(rows, learner, base, "atom_stability").items()
                    if math.isfinite(value)} if measured else {}
        lowest = min(per_seed.values()) if per_seed else math.nan
        stable = bool(lowest >= threshold) if per_seed else None
        parts = [t["equivalent"] for t in tests.values()] + [stable]
        past = False if False in parts else (True if measured and all(p is True for p in parts) else None)
        out[learner] = {"committed_length": base, "longest_length": longest, "statistics": tests,
                        "stability": {"per_seed": per_seed, "lowest": lowest, "threshold": threshold,
                                      "stable": stable},
                        "past_plateau": past}
    return out


def first_plateau(rows: list[dict], learner: str, statistics: dict = STATISTICS) -> int | None:
    """The shortest length measured that is past the plateau (by :func:`plateau_verdict`, judged against the
    longest length measured); None when no shorter length qualifies."""
    lengths = sorted({r["length"] for r in rows if r["learner"] == learner})
    for length in lengths[:-1]:
        if plateau_verdict(rows, {learner: length}, statistics)[learner]["past_plateau"]:
            return length
    return None


# ----------------------------------------------------------------------------- the report


def _signed(value: float, digits: int = 3) -> str:
    return f"{value:+.{digits}f}" if math.isfinite(value) else "–"


def _p_text(p: float) -> str:
    if not math.isfinite(p):
        return "–"
    return "< 0.001" if p < 0.001 else fmt(p, 3)


def verdict_table(metrics: dict) -> str:
    """Markdown table of :func:`plateau_verdict`: one row per learner and statistic, then its atom stability."""
    rows = ["| learner | statistic | committed length | mean there | longest length | mean there | change [90% CI] "
            "| margin | equivalent? (TOST p) |", "|---|---|---|---|---|---|---|---|---|"]
    words = {True: "yes", False: "**no**", None: "not decided"}
    for learner in metrics["learners"]:
        v = metrics["verdict"].get(learner)
        if v is None:
            continue
        base, longest = v["committed_length"], v["longest_length"]
        for stat, spec in STATISTICS.items():
            t = v["statistics"].get(stat)
            if t is None:
                continue
            interval = f" [{_signed(t['lo'])}, {_signed(t['hi'])}]" if math.isfinite(t["lo"]) else ""
            rows.append(f"| {learner} | {spec['label']} | {base} | {fmt(t['committed'], 3)} | {longest} | "
                        f"{fmt(t['longest'], 3)} | {_signed(t['change'])}{interval} | ±{t['margin']:g} | "
                        f"{words[t['equivalent']]} ({_p_text(t['p_value'])}) |")
        s = v["stability"]
        seeds_text = ", ".join(f"{value:.4f}" for value in s["per_seed"].values()) or "–"
        rows.append(f"| {learner} | atom stability: median per-atom \\|cos\\|, {base} to {longest} | {base} | – | "
                    f"{longest} | – | per seed: {seeds_text} | ≥ {s['threshold']:g} in every seed | "
                    f"{words[s['stable']]} |")
    return "\n".join(rows)


def verdict_text(metrics: dict) -> str:
    """One sentence per learner: whether its committed length is past the plateau, which parts fail if not,
    and the shortest measured length that is."""
    lines = []
    for learner in metrics["learners"]:
        v = metrics["verdict"].get(learner)
        if v is None:
            continue
        base, longest = v["committed_length"], v["longest_length"]
        head = (f"- **{learner}** ({metrics['length_params'].get(learner, 'length')} = {base} "
                f"{LENGTH_UNITS.get(learner, '')})")
        if longest <= base:
            lines.append(f"{head}: not decided — no length beyond the committed one was measured.")
            continue
        failed = [STATISTICS[s]["label"] for s, t in v["statistics"].items() if t["equivalent"] is False]
        undecided = [STATISTICS[s]["label"] for s, t in v["statistics"].items() if t["equivalent"] is None]
        stability = v["stability"]
        if stability["stable"] is False:
            failed.append(f"atom stability (lowest seed's median |cos| {stability['lowest']:.4f} < "
                          f"{stability['threshold']:g})")
        elif stability["stable"] is None:
            undecided.append("atom stability")
        if v["past_plateau"]:
            identical = all(t["change"] == 0 for t in v["statistics"].values())
            lines.append(f"{head}: past the plateau — from {base} to {longest} every statistic is equivalent "
                         f"within its margin and the atoms have stopped moving (median per-atom |cos| ≥ "
                         f"{stability['threshold']:g} in every seed)"
                         + (" (the results are identical: the learner stopped at its own tolerance before "
                            "either budget ran out)." if identical else "."))
            continue
        if not failed:
            lines.append(f"{head}: not decided — {', '.join(undecided)} cannot be judged "
                         f"({'one seed' if len(metrics['seeds']) < 2 else 'no value at one of the lengths'}).")
            continue
        first = metrics["first_plateau"].get(learner)
        advice = (f"the shortest measured length past the plateau is {first}" if first is not None
                  else f"no measured length below {longest} is past it; train longer than {longest} to find the "
                       "plateau")
        lines.append(f"{head}: **not past the plateau** — from {base} to {longest}, not shown within the margin: "
                     f"{', '.join(failed)}; {advice}.")
    return "\n".join(lines)


def margins_text(statistics: dict = STATISTICS, threshold: float = STABILITY_THRESHOLD) -> str:
    """The margins of the equivalence tests and the stability threshold, each with its reason."""
    items = [f"- {spec['label']}: ±{spec['margin']:g} — {spec['reason']}." for spec in statistics.values()]
    items.append(f"- atom stability: median per-atom |cos| ≥ {threshold:g} in every seed — an atom turned by less "
                 f"than {math.degrees(math.acos(threshold)):.1f}°, so that the filters shown are the filters "
                 "learned, not a snapshot of a drift.")
    return "\n".join(items)


def section_text(metrics: dict) -> str:
    n = len(metrics["seeds"])
    intro = (f"Each learner is trained at several multiples of its committed length, {n} seed{'s' * (n != 1)} per "
             f"length, and scored on its {metrics['population']} by the one scorer. The committed length N is past "
             "the plateau when, against the longest length L measured, (1) every statistic's paired change over "
             "seeds is shown to lie within its margin (two one-sided tests at the 5% level: the 90% paired-t "
             "interval of the mean change inside ±margin) and (2) the atoms have stopped moving: the median over "
             f"atoms of the |cos| between each atom at N and at L is at least {STABILITY_THRESHOLD:g} in every seed "
             "(sparse coding's and the sparse CNN's atoms paired by index, as an N-step training is the first part of "
             "the longer one; ICA's by Hungarian assignment, as its order is arbitrary). Every part must hold; each is a 5%-level test, so the whole is one "
             "(intersection-union). Margins and their reasons:")
    skipped = [k for k in STANDARD_LEARNERS if k not in metrics["learners"]]
    tail = f"Not run at these settings: {', '.join(skipped)}." if skipped else ""
    return "\n\n".join(part for part in [intro, margins_text(), verdict_text(metrics), verdict_table(metrics), tail]
                       if part)


def convergence_sentence(metrics: dict) -> str:
    """Experiment 12's verdict in one sentence (for the README's glance): per learner, past the plateau or not,
    and the parts that fail."""
    parts = []
    for learner in metrics["learners"]:
        v = metrics["verdict"].get(learner)
        if v is None:
            continue
        where = f"{learner} at {v['committed_length']} (against {v['longest_length']})"
        if v["past_plateau"]:
            parts.append(f"{where}: past the plateau")
            continue
        failed = [f"{STATISTICS[s]['label']} ({_signed(t['change'])}, margin ±{t['margin']:g})"
                  for s, t in v["statistics"].items() if t["equivalent"] is False]
        if v["stability"]["stable"] is False:
            failed.append(f"atom stability ({v['stability']['lowest']:.4f})")
        parts.append(f"{where}: " + (f"not past it for {', '.join(failed)}" if failed else "not decided"))
    return ("Training length (experiment 12; past the plateau = every statistic equivalent within its margin "
            f"from the committed to the longest length, and median per-atom |cos| ≥ {STABILITY_THRESHOLD:g}): "
            + "; ".join(parts) + ".")


# ----------------------------------------------------------------------------- figure

#: the figure's panels: every statistic, then the atom stability
PANELS = {**{stat: spec["label"] for stat, spec in STATISTICS.items()},
          "atom_stability": "median per-atom |cos| to the longest"}


def training_length_figure(summary: dict, committed: dict, verdict: dict, *, learners=None, path=None,
                           units: dict | None = None):
    """Statistics against training length: one row per learner, one column per statistic and one for the atom
    stability; mean ± 95% interval over seeds, the committed length dashed, the band ±margin around the
    committed length's mean (the stability threshold on the last panel).  Only draws: every number is passed
    in."""
    from ..plots.figure import DEFAULT_DPI, maybe_save, new_figure

    learners = [k for k in (learners or summary) if k in summary]
    fig = new_figure(2.8 * len(PANELS), 2.5 * max(1, len(learners)))
    axes = np.asarray(fig.subplots(max(1, len(learners)), len(PANELS), squeeze=False))
    words = {True: "equivalent", False: "NOT equivalent", None: "undecided"}
    for i, learner in enumerate(learners):
        v = verdict.get(learner, {})
        for j, (stat, label) in enumerate(PANELS.items()):
            ax = axes[i, j]
            s = summary[learner][stat]
            x = np.asarray(s["length"], dtype=float)
            mean, lo, hi = (np.asarray(s[k], dtype=float) for k in ("mean", "lo", "hi"))
            err = np.vstack([mean - lo, hi - mean])
            ax.errorbar(x, mean, yerr=np.where(np.isfinite(err), err, 0), marker="o", ms=3.5, capsize=3, lw=1.2)
            base = committed[learner]
            if stat == "atom_stability":
                threshold = v.get("stability", {}).get("threshold", STABILITY_THRESHOLD)
                ax.axhline(threshold, color="tab:green", lw=0.9)
                state = {True: "stable", False: "NOT stable", None: "undecided"}[v.get("stability", {}).get("stable")]
            else:
                if base in s["length"] and np.isfinite(mean[s["length"].index(base)]):
                    centre, margin = mean[s["length"].index(base)], STATISTICS[stat]["margin"]
                    ax.axhspan(centre - margin, centre + margin, color="tab:green", alpha=0.12, lw=0)
                state = words[v.get("statistics", {}).get(stat, {}).get("equivalent")]
            ax.axvline(base, color="0.3", ls="--", lw=0.9)
            ax.set_xscale("log", base=2)
            ax.set_xticks(x, [f"{value:g}" for value in x])
            ax.minorticks_off()
            ax.set_title(f"{learner}: {label}\n({state})", fontsize=8)
            ax.set_xlabel(f"{(units or {}).get(learner, 'training length')}", fontsize=7)
            ax.tick_params(labelsize=7)
            ax.grid(alpha=0.3)
    fig.suptitle("Statistics against training length (mean ± 95% interval over seeds; dashed: committed length; "
                 "band: ±margin around its mean; line: stability threshold)", fontsize=9)
    return maybe_save(fig, path, DEFAULT_DPI)


def plot(run) -> Section:
    metrics = run.load_json("metrics.json")
    if not metrics["learners"]:
        return Section("Training length: converged?", "No learner was run (every multiples list is empty).")
    path = run.figure_path("training_length")
    training_length_figure(metrics["summary"], metrics["committed"], metrics["verdict"],
                           learners=metrics["learners"], path=path,
                           units={k: f"{metrics['length_params'][k]} ({LENGTH_UNITS[k]})" for k in metrics["learners"]})
    labels = ", ".join(spec["label"] for spec in STATISTICS.values())
    return Section("Training length: converged?", section_text(metrics), [
        (f"{path}.png", f"{labels[0].upper()}{labels[1:]} and the atoms' stability against training length, per "
                        "learner: mean ± 95% interval over seeds; the dashed line is the committed length, the band "
                        "the equivalence margin around its mean, the line the stability threshold.")])


register(Experiment(
    number="12", name="training_length", title="Converged: statistics against training length",
    description=("Each standard learner (experiments 01-03) is retrained at multiples of its committed training "
                 "length (sparse coding and CNN: n_steps; ICA: max_iter) with n_seeds seeds, and each bank is "
                 "scored by effcode's one scorer. The committed length is past the plateau when the change of "
                 "every statistic (median nx, median ny, median R², nx–ny distance, blob-like fraction) to the "
                 "longest length is shown to lie within a stated margin (paired equivalence test over seeds) and "
                 "the atoms have stopped moving (median per-atom |cos| ≥ 0.999)."),
    defaults={**SCORER_DEFAULTS, "n_seeds": 3, "multiples_sparse_coding": [0.25, 0.5, 1.0, 2.0],
              "multiples_ica": [0.125, 0.25, 0.5, 1.0, 2.0], "multiples_sparse_cnn": [1.0, 2.0]},
    quick={**QUICK_MEASUREMENT, "n_seeds": 2, "multiples_sparse_coding": [1.0, 2.0], "multiples_ica": [0.5, 1.0],
           "multiples_sparse_cnn": []},
    keys={"multiples_sparse_coding": Key(list, "dimensionless", "multiples of sparse coding's committed n_steps "
                                         "retrained", item=float, low=0.0, low_open=True),
          "multiples_ica": Key(list, "dimensionless", "multiples of ICA's committed max_iter retrained", item=float,
                               low=0.0, low_open=True),
          "multiples_sparse_cnn": Key(list, "dimensionless", "multiples of the sparse CNN's committed n_steps "
                                      "retrained (empty: the CNN is left out)", item=float, low=0.0, low_open=True,
                                      min_items=0)},
    compute=compute, plot=plot))
