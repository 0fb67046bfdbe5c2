"""A V1 report on a filter bank of your own (``effcode score FILE``): the one scorer's results, worded and
drawn as experiment 05 words and draws them.

:func:`score_bank` reads a bank in any form :func:`effcode.v1.bank_file.load_filter_bank` accepts, scores
it with :func:`effcode.v1.score_population` (population ``"filters"``: the array as given) and writes,
atomically, into ``results/name/``:

* ``REPORT.md``: what was read, the selection funnel, the headline comparison with V1 (median R², nx and
  ny, the nx–ny distance to Ringach 2002 with its permutation test, the blob-like fraction, the mean
  tuning similarity), the similarity note, peak SF across pixels per degree, and the verdict on Ringach's
  (2002) published claim (:data:`effcode.v1.claims.RINGACH2002`), with the figures;
* ``metrics.json``: the input, the scorer's settings and ``V1PopulationScore.metrics()``, in the layout of
  experiment 05's ``metrics.json`` (one learner, one seed), from which every table is made;
* ``filters.npy``: the (K, p, p) luminance filters that were scored; ``units.npz``: the per-unit arrays;
* ``figures/``: ``filters``, ``funnel``, ``nxny``, ``properties`` and ``similarity_table`` (PNG and PDF).

The bank is one population with one seed, so each "mean over 1 seed" of the tables is the bank's own value
and its interval the scorer's (the bootstrap over units, in ``metrics.json``).  The other claims of
:mod:`effcode.v1.claims` compare codes with one another and need the sweeps of experiment 13.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..gabor import fit_gabors, grating_tuning, render_gabors
from ..plots import filter_mosaic, funnel_chart, nxny_scatter, property_distributions, similarity_table
from ..plots.figure import headless_figures
from ..progress import progress_bar
from ..storage.atomic import atomic_path, write_json, write_npz, write_text
from ..v1.bank_file import CHANNEL_RULE, filter_array, load_filter_bank, read_bank_file
from ..v1.claims import short_sentence
from ..v1.scorer import DEFAULT_PERMUTATIONS, score_population
from ..v1.scorer import MIN_UNITS as SCORER_MIN_UNITS
from ..validation import check_results_folder
from . import e05_v1_comparison as e05
from .common import fmt

#: the population label of a bank read from outside (its array as given)
POPULATION = "filters"

#: the steps of :func:`score_bank`, as its progress bar names them
STEPS = ("reading", "Gabor fit", "grating tuning", "scoring", "figures", "report")


def read_bank(source, *, layer: str | None, channel_weights: Sequence[float] | None) -> tuple[np.ndarray, dict]:
    """The (K, p, p) filters of ``source`` (:func:`effcode.v1.bank_file.load_filter_bank`) and what was read:
    the file (or "array"), the entry taken, the raw shape and the colour rule."""
    record: dict[str, object]
    if isinstance(source, (str, os.PathLike)):
        entry, raw = read_bank_file(source, layer=layer)
        record = {"source": str(source), "entry": entry}
        filters = filter_array(raw, channel_weights=channel_weights, source=f"{source} [{entry}]")
    else:
        raw = np.asarray(source)
        record = {"source": "array", "entry": None}
        filters = load_filter_bank(raw, channel_weights=channel_weights)
    colour = raw.ndim == 4 and raw.shape[1] > 1
    record.update(raw_shape=list(raw.shape), shape=list(filters.shape),
                  channels=(None if not colour else CHANNEL_RULE if channel_weights is None
                            else f"input channels weighted {[float(w) for w in channel_weights]}"))
    return filters, record


def report_metrics(scored, *, name: str, seed: int, record: dict) -> dict:
    """Experiment 05's ``metrics.json`` layout for one bank and one seed, plus the ``input`` record."""
    per_seed = {name: [{**scored.metrics(), "seed": seed}]}
    return {"learners": [name], "population": POPULATION, "headline": POPULATION, "rf_stimulus": None,
            "seeds": [seed], "settings": scored.settings, "per_seed": per_seed,
            "summary": {name: e05.seed_summary(per_seed[name])}, "v1": e05.v1_reference(), "input": record}


def input_text(metrics: dict) -> str:
    """The paragraph that says what was scored."""
    record = metrics["input"]
    k, h, w = record["shape"]
    where = ("an array" if record["source"] == "array"
             else f"`{record['source']}`" + (f", entry `{record['entry']}`" if record["entry"] else ""))
    text = (f"Scored: {k} filters of {h}x{w} pixels read from {where} (shape {tuple(record['raw_shape'])}), as "
            f"analysis filters (population `{POPULATION}`), by the one scorer (effcode.v1.score_population).")
    if record["channels"]:
        text += f" Colour: {record['channels']}."
    s = metrics["summary"][metrics["learners"][0]]
    n_like, thr = s["n_r2_ok"]["mean"], fmt(metrics["settings"]["r2_threshold"])
    return text + (f" Gabor-like units (Gabor fit R² ≥ {thr}): {n_like:.0f} of {k} ({100 * n_like / k:.0f}%); median "
                   f"R² {fmt(s['median_r2']['mean'])}.")


def verdict_text(metrics: dict) -> str:
    """The verdict on Ringach's (2002) published claim for the bank, without statistics (they follow in the
    findings table)."""
    return f"**Verdict:** {short_sentence(e05.ringach_verdict(metrics, metrics['learners'][0]))}"


def estimates_text(metrics: dict) -> str:
    """The bank's headline estimates with the scorer's 95% bootstrap intervals over its units."""
    m = metrics["per_seed"][metrics["learners"][0]][0]
    if "distance" not in m["nxny"]:
        return (f"Fewer than {SCORER_MIN_UNITS} units have R² ≥ {fmt(metrics['settings']['r2_threshold'])}: no "
                "population statistics.")

    def est(d: dict, value: str, lo: str, hi: str) -> str:
        return f"{fmt(d[value])} [{fmt(d[lo])}, {fmt(d[hi])}]"

    bracket = m["nxny_bracket"]["conclusion"]
    ends = "the bracket's ends disagree" if bracket == "undetermined" else f"{bracket} at both ends of the bracket"
    return ("One bank and one seed, so each \"mean over 1 seed\" below is the bank's own value. With 95% bootstrap "
            f"intervals over its compared units: median nx {est(m['median_nx'], 'value', 'lo', 'hi')}, median ny "
            f"{est(m['median_ny'], 'value', 'lo', 'hi')}, nx–ny TV distance to Ringach (2002) "
            f"{est(m['nxny'], 'distance', 'distance_lo', 'distance_hi')} (permutation "
            f"{e05.p_text(m['nxny']['p_value'])}; {ends}).")


def report_text(metrics: dict, figures: Sequence[tuple[str, str]]) -> str:
    """The whole ``REPORT.md``, from ``metrics`` and the figures' (relative path, caption)."""
    name = metrics["learners"][0]
    parts = [f"# V1 report: {name}", input_text(metrics), verdict_text(metrics), estimates_text(metrics),
             "## Selection funnel",
             e05.funnel_table(metrics), "## Against V1", e05.headline_table(metrics), e05.similarity_note(metrics),
             e05.peak_sf_table(metrics), "## Published claims", e05.findings_text(metrics),
             "The other published claims effcode tests (Rehn & Sommer 2007, Zylberberg et al. 2011, Olshausen "
             "2013) compare codes with one another; experiment 13 tests them.", "## Figures"]
    parts += [f"![{caption}]({path})\n\n{caption}" for path, caption in figures]
    return "\n\n".join(p for p in parts if p) + "\n"


def draw_figures(folder: Path, filters: np.ndarray, scored, tuning: dict, metrics: dict) -> list[tuple[str, str]]:
    """The report's figures, written under ``folder/figures``; returns (path relative to ``folder``,
    caption) of each."""
    name, units = metrics["learners"][0], scored.units
    thr = fmt(metrics["settings"]["r2_threshold"])
    shown = units["r2_ok"]
    fit = {k[len("fit_"):]: v for k, v in units.items() if k.startswith("fit_") and k != "fit_ok"}
    drawn = []

    def path(stem: str) -> Path:
        return folder / "figures" / stem

    with headless_figures():
        filter_mosaic(filters, fitted=render_gabors(fit, filters.shape[1:]), r2=units["fit_r2"], max_filters=64,
                      title=f"{name}: filters and fitted Gabors (best R² first)", path=path("filters"))
        drawn.append(("filters", "The filters scored, each beside its fitted Gabor, by decreasing R² (at most 64)."))
        funnel_chart({name: [scored.funnel]}, population="filters", path=path("funnel"),
                     title=f"Selection funnel (R² ≥ {thr})")
        drawn.append(("funnel", "Selection funnel: fraction of all units at each stage (numbers: counts); "
                      "undetermined units hatched."))
        if shown.any():
            nxny_scatter(units["fit_nx"][shown], units["fit_ny"][shown], label=name, resolved=units["resolved"][shown],
                         distance=scored.nxny.get("distance"), p_value=scored.nxny.get("p_value"),
                         null_95=scored.nxny.get("null_95"), title=f"{name}: nx–ny against Ringach (2002)",
                         path=path("nxny"))
            drawn.append(("nxny", f"(nx, ny) of the units with R² ≥ {thr} over the Ringach (2002) histogram; hollow "
                          "circles are undetermined units, the dashed square is Ringach's grid."))
        if scored.similarity:
            table = {**{k: np.asarray(v)[shown] for k, v in tuning.items()}, "theta": units["fit_theta"][shown]}
            property_distributions(table, label=name, random_state=metrics["seeds"][0],
                                   n_bootstrap=metrics["settings"]["n_bootstrap"],
                                   title=f"{name}: tuning properties against V1", path=path("properties"))
            drawn.append(("properties", "Grating-tuning properties of the compared units against the V1 histograms."))
            averaged = e05.averaged_properties(metrics)
            similarity_table({name: {p: scored.similarity[p] for p in averaged}}, path=path("similarity_table"),
                             title="Brain-Score-style similarity to V1 (1 = as close as V1 resamples)")
            drawn.append(("similarity_table", "Similarity per property, with the ceilings, for the properties the "
                          "mean similarity averages."))
    return [(f"figures/{stem}.png", caption) for stem, caption in drawn]


def score_bank(source, *, name: str, results: str | os.PathLike = "results", layer: str | None = None,
               channel_weights: Sequence[float] | None = None, r2_threshold: float = 0.7,
               interval_level: float = 0.95, pixels_per_degree: float = 20.0, n_bootstrap: int = 1000,
               n_permutations: int = DEFAULT_PERMUTATIONS, seed: int = 0, device="cpu",
               progress: bool | None = False) -> Path:
    """Score a filter bank and write its V1 report into ``results/name/`` (module docstring).

    Parameters
    ----------
    source : array-like, str or os.PathLike
        The bank: any form of :func:`effcode.v1.bank_file.load_filter_bank`.
    name : str
        The report's folder name and the bank's label in its tables.
    results : str or os.PathLike
        The folder the report folder goes into.
    layer : str, optional
        The entry of the file to take (an ``.npz`` key or a state-dict key).
    channel_weights : sequence of float, optional
        How a convolution weight's input channels are combined (default: equal weights).
    r2_threshold : float
        Gabor-like units, the units compared (the scorer's, as all below: :func:`effcode.v1.score_population`).
    interval_level : float
        Coverage of the profile intervals of nx and ny.
    pixels_per_degree : float
        Assumed sampling of the filters, for the tuning properties in degrees.
    n_bootstrap : int
        Bootstrap draws of the intervals and ceilings.
    n_permutations : int
        Draws of the nx–ny permutation test.
    seed : int
        Seed of every random draw.
    device : str
        Torch device of the Gabor fits.
    progress : bool or None
        A tqdm bar over :data:`STEPS` and the Gabor fit's own bars, on a terminal only
        (:mod:`effcode.progress`; None: whenever on a terminal).

    Returns
    -------
    Path
        The written ``REPORT.md``.
    """
    bar = progress_bar(total=len(STEPS), progress=progress, desc="score")

    def step(what: str) -> None:
        bar.set_postfix_str(what)

    step(STEPS[0])
    filters, record = read_bank(source, layer=layer, channel_weights=channel_weights)
    folder = check_results_folder(Path(results) / name)
    bar.update()
    step(STEPS[1])
    fit = fit_gabors(filters, device=device, progress=progress)
    bar.update()
    step(STEPS[2])
    tuning = grating_tuning(filters, pixels_per_degree=pixels_per_degree)
    bar.update()
    step(STEPS[3])
    scored = score_population(filters, population=POPULATION, name=name, r2_threshold=r2_threshold,
                              interval_level=interval_level, pixels_per_degree=pixels_per_degree,
                              n_bootstrap=n_bootstrap, n_permutations=n_permutations, random_state=seed,
                              device=device, fit=fit, tuning=tuning, progress=False)
    metrics = report_metrics(scored, name=name, seed=seed, record=record)
    compared = scored.funnel["R² ≥ threshold"]
    if compared < SCORER_MIN_UNITS:
        warnings.warn(f"{name}: only {compared} of {len(filters)} units are Gabor-like (R² ≥ {r2_threshold:g}); "
                      f"the report has no population statistics (they need {SCORER_MIN_UNITS})", stacklevel=2)
    bar.update()
    step(STEPS[4])
    figures = draw_figures(folder, filters, scored, tuning, metrics)
    bar.update()
    step(STEPS[5])
    write_json(folder / "metrics.json", metrics)
    write_npz(folder / "units.npz", **{k: np.asarray(v) for k, v in scored.units.items()})
    with atomic_path(folder / "filters.npy") as tmp, open(tmp, "wb") as fh:
        np.save(fh, filters)
    report = write_text(folder / "REPORT.md", report_text(metrics, figures))
    bar.update()
    bar.close()
    return report
