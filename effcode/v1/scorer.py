"""The one scorer: fit a population of filters, classify every Gabor-like unit on Ringach's
grid with its uncertainty, and compare the population with V1.

:func:`score_population` is the single place where effcode decides which units enter a
comparison with V1 and how that comparison is made.  Experiments, sweeps, the README table
and the report all call it.

**Units compared.**  Every unit is counted at each stage (``funnel``):

1. *all units*;
2. *fit succeeded*: the Gabor fit returned finite parameters with R² ≥ 0;
3. *R² ≥ threshold*: the filter is Gabor-like (``r2_threshold``, default 0.7).  **Every unit of
   this stage enters every comparison**: no unit is dropped for being hard to measure, since
   the hard ones (low frequency, blob-like) are exactly those a selection would decide about;
4. *nx and ny resolved* (a count, not a selection): both profile intervals lie in one bin;
5. *inside the reference grid* (a count of stage 3): fitted nx and ny both in [0.1, 1.585].

**Intervals and classification.**  Each unit of stage 3 gets a ``interval_level`` (default 95%)
profile-likelihood interval for nx and for ny (:func:`effcode.gabor.intervals.profile_intervals`,
which says why profile rather than bootstrap), evaluated at :data:`PROFILE_POINTS`: Ringach's
interior bin edges (where a decision changes) and two limits, 0.05 and 3.2.  An interval that
runs into a limit is *open* there (``nx_lo_open``: nx bounded above but not below, the typical
blob or derivative-of-Gaussian unit).  A unit is *placed* in a Ringach bin (5x5 grid, edges
``logspace(-1, 0.2, 6)``, values clipped into the edge bins) when both intervals lie in one bin
after clipping; otherwise it is *undetermined* and keeps its intervals.  A unit whose fitted
sigma or frequency sits at an edge of the fit box is flagged ``at_bound`` (its asymptotic
errors are invalid; its profile interval still holds).

**Brackets.**  Every bin-based result is given at three placements of the units:
``point`` (fitted values), and the two ends of the bracket, where undetermined units go to the
ends of their intervals that make the population *least* and *most* V1-like:

* Ringach's three findings (:func:`effcode.v1.findings.findings_bracket`): least = every unit at
  the upper ends of its intervals (more subfields, more elongated, fewer blobs), most = at the
  lower ends; a conclusion ("holds", "does not hold", "opposite") only where both ends agree,
  else "undetermined";
* the nx–ny TV distance and its permutation test (``nxny_bracket``): each unit anywhere in its
  rectangle of bins, at the placements farthest from (least) and nearest to (most) Ringach's
  histogram (:func:`effcode.v1.nxny.extreme_distance_counts`, exact);
* the blob-like fraction (``blob_fraction``): lo = fewest blob-like units (upper ends), hi = most.

**Point results** (one number per table cell): ``nxny`` (TV distance, permutation test with
``n_permutations`` draws and its ``p_floor``, percentile-bootstrap interval of the distance),
``nxny_in_grid`` (the same on the units of stage 5, unclipped), medians of nx and ny with 95%
percentile-bootstrap intervals and their bracket (medians of the lower and upper interval ends).

**Tuning similarity** (:func:`effcode.v1.similarity_scores`, Brain-Score's 1 − KS/KS_max over the
ceiling) on the units of stage 3, from simulated gratings.  ``mean_similarity`` averages only
the informative properties: those in :data:`EXCLUDED_FROM_MEAN` are left out, with the reason.
Peak SF, which scales with the assumed ``pixels_per_degree``, is reported at every value of
:data:`PIXELS_PER_DEGREE_RANGE` instead.

``population`` names which array of a learner was scored: ``"measured_rf"`` (receptive fields
measured by reverse correlation in stimulus space, :func:`effcode.v1.measure_receptive_fields`;
the default), ``"filters"`` (analysis weights) or ``"basis"`` (synthesis functions); a FilterBank
passed in is scored on that array, so R² and nx–ny always describe the same population.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from ..learners import FilterBank
from ..progress import progress_bar
from ..validation import check_choice, check_float, check_int, seed_alias
from .bank_file import load_filter_bank
from .findings import blob_like, findings_bracket, v1_blob_count
from .nxny import counts_distance, extreme_distance_counts, interval_bins, nxny_counts, outside_grid
from .physiology import ReceptiveFields, measure_receptive_fields
from .reference import ringach2002_nxny_histogram
from .similarity import distribution_similarity, model_property_values
from .stats import median_interval

if TYPE_CHECKING:   # torch is imported where it is used, so that importing effcode.v1 stays light
    import torch

POPULATIONS = ("measured_rf", "filters", "basis")

#: the stages of the selection funnel, in order (stages 4 and 5 are counts within stage 3)
STAGES = ("all units", "fit succeeded", "R² ≥ threshold", "nx and ny resolved", "inside the reference grid")

#: R² levels at which the fraction of Gabor-like units is reported
R2_LEVELS = (0.7, 0.8, 0.9)

#: values at which nx and ny are held in the profile fits: a low limit, Ringach's four interior
#: bin edges (where a unit's bin changes; values beyond the outer edges are clipped into the edge
#: bins) and a high limit, twice the top edge
PROFILE_POINTS = (0.05, *np.logspace(-1, 0.2, 6)[1:-1].tolist(), 3.2)

#: permutations of the nx–ny test by default: its floor 1/2000 stays 4x below 0.05 after Holm's
#: correction over up to 25 tests (seeds); :func:`effcode.v1.stats.permutations_for` gives more
DEFAULT_PERMUTATIONS = 1999

#: properties left out of the mean similarity, and why
EXCLUDED_FROM_MEAN = {
    "modulation_ratio": "F1/F0 of a half-wave-rectified linear filter is π/2 by construction, so every linear "
                        "model scores the same",
    "peak_sf": "peak SF in cycles/degree scales with the assumed pixels per degree; it is shown across "
               "10–40 px/deg instead",
}

#: pixels per degree over which peak SF is reported: 10-40 px/deg puts the learned peaks of
#: 0.1-0.2 c/px at 1-8 c/deg, the span of foveal and parafoveal macaque V1 (De Valois et al. 1982)
PIXELS_PER_DEGREE_RANGE = (10.0, 20.0, 40.0)

#: fewest units of a stage for which population statistics are computed
MIN_UNITS = 5


def r2_summary(r2) -> dict[str, float]:
    """Median R² and the fractions of units at or above each of :data:`R2_LEVELS`."""
    r2 = np.asarray(r2, dtype=float)
    r2 = np.where(np.isfinite(r2), r2, -np.inf)
    out = {"median_r2": float(np.median(r2)), "n_filters": int(r2.size)}
    out.update({f"frac_r2_{t:.1f}": float(np.mean(r2 >= t)) for t in R2_LEVELS})
    return out


@dataclass
class V1PopulationScore:
    """Everything :func:`score_population` found about one population (see the module docstring).

    Parameters
    ----------
    name : str
        Label of the population in tables.
    population : str
        Which array of a learner was scored ("measured_rf", "filters" or "basis").
    settings : dict
        The settings the score was computed with (thresholds, levels, seeds).
    funnel : dict
        Units left at each stage of the funnel.
    classification : dict
        Counts of units compared, placed in a bin and undetermined.
    r2 : dict
        Median R squared of the Gabor fits and the fractions of units at or above each level.
    median_nx : dict
        Median nx of the compared units, its bootstrap interval and its bracket.
    median_ny : dict
        Median ny of the compared units, its bootstrap interval and its bracket.
    nxny : dict
        The nx-ny distance to Ringach (2002) and its permutation test.
    nxny_bracket : dict
        The same distance and test at the least and most V1-like placements.
    nxny_in_grid : dict
        The same distance and test over the units inside the reference grid.
    blob_fraction : dict
        Fraction of blob-like units at the point and at both ends of the bracket.
    similarity : dict
        Brain-Score similarity of every tuning property, keyed by property.
    mean_similarity : float
        Mean of the informative similarities.
    peak_sf_by_ppd : dict
        Peak spatial-frequency similarity at several assumed pixels per degree.
    findings : dict
        Ringach's findings tested on the bracket.
    units : dict, default {}
        Per-unit columns: fits, flags, intervals and placements.
    """

    name: str
    population: str
    settings: dict
    funnel: dict
    classification: dict
    r2: dict
    median_nx: dict
    median_ny: dict
    nxny: dict
    nxny_bracket: dict
    nxny_in_grid: dict
    blob_fraction: dict
    similarity: dict
    mean_similarity: float
    peak_sf_by_ppd: dict
    findings: dict
    units: dict = field(repr=False, default_factory=dict)

    @property
    def nxny_distance(self) -> float:
        return self.nxny.get("distance", math.nan)

    @property
    def nxny_p_value(self) -> float:
        return self.nxny.get("p_value", math.nan)

    @property
    def n_unresolved(self) -> int:
        """Units of stage 3 whose intervals span more than one bin (undetermined, still compared)."""
        return self.funnel["R² ≥ threshold"] - self.funnel["nx and ny resolved"]

    def metrics(self) -> dict:
        """The scalar results, JSON-able (what tables and report sentences are made from).

        Keys: ``name``, ``population``, ``settings`` (the scorer's arguments); ``funnel`` (counts
        of :data:`STAGES`); ``n_unresolved`` (undetermined units: R² ≥ threshold, intervals over
        more than one bin); ``classification`` (counts among the compared units: ``compared``,
        ``placed``, ``undetermined``, ``at_bound``, ``nx_open_below`` / ``ny_open_below`` /
        ``nx_open_above`` / ``ny_open_above``: intervals reaching a limit of
        :data:`PROFILE_POINTS`); ``r2`` (:func:`r2_summary`); ``median_nx``, ``median_ny``
        (``value``, 95% bootstrap ``lo``/``hi``, ``se``, and ``bracket_lo``/``bracket_hi``:
        medians of the lower and upper interval ends); ``nxny_distance``, ``nxny_p_value``
        (point); ``nxny`` (point test: ``distance``, ``p_value``, ``p_floor``, ``null_median``,
        ``null_95``, ``outside_fraction``, ``n_model``, ``n_reference``, ``distance_lo``/
        ``distance_hi``/``distance_se``: bootstrap over units); ``nxny_bracket`` (``least``,
        ``most``: the same test at the placements farthest from / nearest to V1, and
        ``conclusion``: "differs from V1" when p < 0.05 at both ends, "not distinguishable
        from V1" when at neither, else "undetermined"); ``nxny_in_grid`` (point test on units
        inside the grid); ``blob_fraction`` (``point``, ``lo``, ``hi``: fraction of compared
        units that are blob-like at fitted values / fewest / most possible, ``v1``: V1's
        19/79); ``similarity``, ``mean_similarity``, ``excluded_from_mean``,
        ``peak_sf_by_ppd``; ``findings`` ({name: {``least``, ``most``, ``point``: test dicts of
        :mod:`effcode.v1.findings`, ``conclusion``}}).  Dicts of fewer than
        :data:`MIN_UNITS` units hold only ``n_model``.
        """
        return {"name": self.name, "population": self.population, "settings": self.settings,
                "funnel": self.funnel, "n_unresolved": self.n_unresolved, "classification": self.classification,
                "r2": self.r2, "median_nx": self.median_nx, "median_ny": self.median_ny,
                "nxny_distance": self.nxny_distance, "nxny_p_value": self.nxny_p_value,
                "nxny": self.nxny, "nxny_bracket": self.nxny_bracket, "nxny_in_grid": self.nxny_in_grid,
                "blob_fraction": self.blob_fraction, "similarity": self.similarity,
                "mean_similarity": self.mean_similarity, "excluded_from_mean": EXCLUDED_FROM_MEAN,
                "peak_sf_by_ppd": self.peak_sf_by_ppd, "findings": self.findings}


def _scalar_part(d: dict) -> dict:
    return {k: (float(v) if isinstance(v, (float, np.floating)) else v) for k, v in d.items() if np.ndim(v) == 0}


def _distance_test(counts: np.ndarray, n_permutations: int, seed: int, outside: float = 0.0) -> dict:
    if counts.sum() < MIN_UNITS:
        return {"n_model": int(counts.sum())}
    return _scalar_part(counts_distance(counts, n_bootstrap=n_permutations, random_state=seed,
                                        outside_fraction=outside))


def _bracket_conclusion(least: dict, most: dict, level: float = 0.05) -> str:
    significant = [d.get("p_value", math.nan) < level for d in (least, most)]
    if "p_value" not in least or "p_value" not in most:
        return "undetermined"
    return ("differs from V1" if all(significant) else "not distinguishable from V1" if not any(significant)
            else "undetermined")


def _population_array(filters, population: str, random_state: int) -> np.ndarray:
    """The (K, h, w) array scored: a :class:`ReceptiveFields` measurement's receptive fields; a FilterBank's
    ``population`` array, its receptive fields measured here (Hartley stimuli, the measurement's defaults,
    seeded by ``random_state``) for ``"measured_rf"``; any form of :func:`load_filter_bank` as it reads it."""
    if isinstance(filters, ReceptiveFields):
        return filters.scored_array()
    if isinstance(filters, FilterBank):
        filters = (measure_receptive_fields(filters, filters.patch_shape[0], random_state=random_state).scored_array()
                   if population == "measured_rf" else getattr(filters, population))
    return load_filter_bank(filters)


def classify_units(filters: np.ndarray, fit: dict, compared: np.ndarray, *, level: float = 0.95,
                   device="cpu") -> dict[str, np.ndarray]:
    """Profile intervals of nx and ny (at :data:`PROFILE_POINTS`) of the ``compared`` units and
    their bins on Ringach's grid (module docstring).

    Returns (K,) arrays, NaN / False / -1 outside ``compared``: ``nx_lo``, ``nx_hi``, ``ny_lo``,
    ``ny_hi``; the flags ``nx_lo_open``, ``nx_hi_open``, ``ny_lo_open``, ``ny_hi_open``,
    ``at_bound``, ``resolved`` (both intervals in one bin); the bins ``nx_bin_lo``,
    ``nx_bin_hi``, ``ny_bin_lo``, ``ny_bin_hi`` (0-4, after clipping).
    """
    from ..gabor.intervals import profile_intervals

    k = len(filters)
    out = {f"{a}_{e}": np.full(k, np.nan) for a in ("nx", "ny") for e in ("lo", "hi")}
    out.update({f"{a}_{e}_open": np.zeros(k, bool) for a in ("nx", "ny") for e in ("lo", "hi")})
    out.update({"at_bound": np.zeros(k, bool), "resolved": np.zeros(k, bool)})
    out.update({f"{a}_bin_{e}": np.full(k, -1) for a in ("nx", "ny") for e in ("lo", "hi")})
    if not compared.any():
        return out
    intervals = profile_intervals(filters[compared], {c: v[compared] for c, v in fit.items()}, PROFILE_POINTS,
                                  level=level, device=device)
    for key in [k_ for k_ in out if k_ in intervals]:
        out[key][compared] = intervals[key]
    edges = ringach2002_nxny_histogram().nx_edges
    for axis in ("nx", "ny"):
        lo_bin, hi_bin = interval_bins(intervals[f"{axis}_lo"], intervals[f"{axis}_hi"], edges)
        out[f"{axis}_bin_lo"][compared], out[f"{axis}_bin_hi"][compared] = lo_bin, hi_bin
    out["resolved"] = compared & (out["nx_bin_lo"] == out["nx_bin_hi"]) & (out["ny_bin_lo"] == out["ny_bin_hi"])
    return out


@seed_alias
def score_population(filters: ArrayLike, *, population: str = "measured_rf", name: str = "model",
                     r2_threshold: float = 0.7, interval_level: float = 0.95, pixels_per_degree: float = 20.0,
                     n_bootstrap: int = 1000, n_permutations: int = DEFAULT_PERMUTATIONS, random_state: int = 0,
                     device: str | torch.device = "cpu", fit: dict | None = None, tuning: dict | None = None,
                     classified: dict | None = None, progress: bool | None = None) -> V1PopulationScore:
    """Fit, classify and compare one population of filters with V1 (module docstring).

    Parameters
    ----------
    filters : (K, h, w) array, FilterBank, ReceptiveFields, or path to a filter-bank file
        The population.  A :class:`~effcode.learners.FilterBank` is scored on its ``population`` array;
        for ``"measured_rf"`` (the default) its receptive fields are measured here first by
        :func:`~effcode.v1.measure_receptive_fields` (Hartley stimuli, its default count, seeded by
        ``random_state``).  A :class:`~effcode.v1.ReceptiveFields` measurement is scored on its
        receptive fields (a silent unit's as zeros, so its fit fails and it is counted, not compared).
        Every form of :func:`effcode.v1.bank_file.load_filter_bank` is accepted: (K, p·p) arrays,
        convolution weights (out, in, k, k) with their channels combined into luminance, and paths to
        ``.npy`` / ``.npz`` files or PyTorch checkpoints and state dicts (the first convolution weight).
    population : "measured_rf", "filters" or "basis"
        Which array of a learner this is (recorded in the result; picks the array of a FilterBank).
        The default, ``"measured_rf"``, is the one population used everywhere (experiments, sweeps,
        the command line, the gallery and the README): V1 receptive fields were measured this way.
    name : str
        Label of the population in tables (e.g. "sparse coding").
    r2_threshold : float
        Gabor-like units (stage 3 of the funnel): the units compared.
    interval_level : float
        Coverage of the profile-likelihood intervals of nx and ny that place units in bins.
    pixels_per_degree : float
        Assumed sampling of the patches, for the tuning properties in degrees.
    n_bootstrap : int
        Draws of the bootstrap intervals (medians, distance) and of the similarity ceilings.
    n_permutations : int
        Draws of the nx–ny permutation null; its p floor is 1 / (n_permutations + 1).
    random_state : int
        Seed of every random draw, the RF measurement's stimuli included (same seed, same result);
        ``seed=`` is a deprecated alias.
    device : "cpu" or "cuda"
        Where the Gabor and profile fits run.
    fit, tuning : dict, optional
        Precomputed :func:`effcode.gabor.fit_gabors` and :func:`effcode.gabor.grating_tuning` tables of
        ``filters`` (at ``pixels_per_degree``), e.g. from a cache; computed here when absent.
    classified : dict, optional
        Precomputed :func:`classify_units` columns of ``filters`` at the same ``r2_threshold`` and
        ``interval_level`` (a unit's intervals depend on that unit alone, so a resample of the units
        can index those of the whole population); computed here when absent.
    progress : bool or None
        Progress bars (the scoring stages, the Gabor fits), drawn on a terminal only: None whenever
        standard error is a terminal outside CI, False never (:mod:`effcode.progress`).

    Returns
    -------
    V1PopulationScore
        ``.metrics()`` gives the JSON-able results (keys in :meth:`V1PopulationScore.metrics`);
        ``.units`` the per-unit arrays: fit columns (``fit_*``), the masks ``fit_ok``, ``r2_ok``
        (compared), ``resolved`` (placed in one bin), ``in_grid``, ``blob_like`` (placed, and
        blob-like), ``blob_possible`` (compared, and blob-like somewhere in its intervals), and
        the columns of :func:`classify_units`.
    """
    from ..gabor import fit_gabors, grating_tuning

    population = check_choice("population", population, POPULATIONS)
    random_state = check_int("random_state", random_state, minimum=0)
    filters = _population_array(filters, population, random_state)
    r2_threshold = check_float("r2_threshold", r2_threshold, minimum=0.0, maximum=1.0)
    level = check_float("interval_level", interval_level, minimum=0.0, maximum=1.0, strict_minimum=True)
    ppd = check_float("pixels_per_degree", pixels_per_degree, minimum=0.0, strict_minimum=True)
    n_bootstrap = check_int("n_bootstrap", n_bootstrap, minimum=10)
    n_permutations = check_int("n_permutations", n_permutations, minimum=19)

    stages = progress_bar(total=4, progress=progress, desc=f"scoring {name}", unit="stage", leave=False)
    stages.set_postfix_str("Gabor fits")
    if fit is None:
        fit = fit_gabors(filters, device=device, progress=progress)
    stages.update()
    stages.set_postfix_str("nx and ny intervals")
    fit = {k: np.asarray(v) for k, v in fit.items()}
    fit_ok = (fit["failed"] == 0) & np.isfinite(fit["r2"])
    r2_ok = fit_ok & (fit["r2"] >= r2_threshold)
    if classified is None:
        units = classify_units(filters, fit, r2_ok, level=level, device=device)
    else:
        units = {k: np.asarray(v) for k, v in classified.items()}
    stages.update()
    stages.set_postfix_str("comparison with V1")
    inside = r2_ok & ~outside_grid(fit["nx"], fit["ny"])
    funnel = dict(zip(STAGES, (len(filters), *(int(m.sum()) for m in (fit_ok, r2_ok, units["resolved"], inside)))))

    point = (fit["nx"][r2_ok], fit["ny"][r2_ok])
    least = (units["nx_hi"][r2_ok], units["ny_hi"][r2_ok])
    most = (units["nx_lo"][r2_ok], units["ny_lo"][r2_ok])
    rng = np.random.default_rng([random_state, 5])
    medians = {}
    for i, axis in enumerate(("nx", "ny")):
        medians[axis] = median_interval(point[i], n_bootstrap, rng)
        medians[axis].update({"bracket_lo": float(np.median(most[i])) if most[i].size else math.nan,
                              "bracket_hi": float(np.median(least[i])) if least[i].size else math.nan})
    n = int(r2_ok.sum())
    nxny = {"n_model": n}
    nxny_bracket: dict[str, Any] = {"least": {"n_model": n}, "most": {"n_model": n}, "conclusion": "undetermined"}
    if n >= MIN_UNITS:
        counts, outside = nxny_counts(*point)
        nxny = _distance_test(counts, n_permutations, random_state, outside)
        nxny.update(_distance_interval(*point, n_bootstrap, rng))
        extremes = extreme_distance_counts((units["nx_bin_lo"][r2_ok], units["nx_bin_hi"][r2_ok]),
                                           (units["ny_bin_lo"][r2_ok], units["ny_bin_hi"][r2_ok]))
        nxny_bracket = {end: _distance_test(extremes[end], n_permutations, random_state) for end in ("least", "most")}
        nxny_bracket["conclusion"] = _bracket_conclusion(nxny_bracket["least"], nxny_bracket["most"])
    nxny_in_grid = (_distance_test(nxny_counts(fit["nx"][inside], fit["ny"][inside])[0], n_permutations, random_state)
                    if inside.sum() >= MIN_UNITS else {"n_model": int(inside.sum())})

    k_v1, n_v1 = v1_blob_count()
    blob_fraction = {"point": float(blob_like(*point).mean()) if n else math.nan,
                     "lo": float(blob_like(*least).mean()) if n else math.nan,
                     "hi": float(blob_like(*most).mean()) if n else math.nan, "v1": k_v1 / n_v1}
    classification = {"compared": n, "placed": funnel["nx and ny resolved"], "undetermined": n - funnel["nx and ny resolved"],
                      "at_bound": int(units["at_bound"].sum()),
                      **{f"{a}_open_{side}": int(units[f"{a}_{e}_open"].sum())
                         for a in ("nx", "ny") for e, side in (("lo", "below"), ("hi", "above"))}}

    stages.update()
    stages.set_postfix_str("tuning")
    similarity: dict[str, float] = {}
    mean_similarity, peak_sf = math.nan, {}
    if n >= MIN_UNITS:
        if tuning is None:
            tuning = grating_tuning(filters[r2_ok], pixels_per_degree=ppd)
        else:
            tuning = {k: np.asarray(v)[r2_ok] for k, v in tuning.items()}
        similarity, mean_similarity = similarity_summary({**tuning, "theta": fit["theta"][r2_ok]}, n_bootstrap=n_bootstrap,
                                                        random_state=random_state)
        per_cpp = np.asarray(tuning["peak_sf_cpd"]) / ppd
        peak_sf = {f"{p:g}": float(distribution_similarity(per_cpp * p, "peak_sf", n_bootstrap=n_bootstrap,
                                                           random_state=random_state)["score"])
                   for p in PIXELS_PER_DEGREE_RANGE}

    stages.update()
    stages.close()
    units = {**{f"fit_{k}": v for k, v in fit.items()}, "fit_ok": fit_ok, "r2_ok": r2_ok, "in_grid": inside,
             **units, "blob_like": units["resolved"] & blob_like(fit["nx"], fit["ny"]),
             "blob_possible": r2_ok & blob_like(units["nx_lo"], units["ny_lo"])}
    settings = {"r2_threshold": r2_threshold, "interval_level": level, "pixels_per_degree": ppd,
                "n_bootstrap": n_bootstrap, "n_permutations": n_permutations, "seed": random_state}
    return V1PopulationScore(name=name, population=population, settings=settings, funnel=funnel,
                           classification=classification, r2=r2_summary(fit["r2"]), median_nx=medians["nx"],
                           median_ny=medians["ny"], nxny=nxny, nxny_bracket=nxny_bracket, nxny_in_grid=nxny_in_grid,
                           blob_fraction=blob_fraction, similarity=similarity, mean_similarity=mean_similarity,
                           peak_sf_by_ppd=peak_sf, findings=findings_bracket(point, least, most), units=units)


def similarity_summary(table: dict, *, n_bootstrap: int, random_state: int) -> tuple[dict[str, float], float]:
    """The Brain-Score similarity of every property of a tuning table of the compared units (NaN for a
    property that no unit defines, e.g. SF bandwidth when every unit is low-pass), and their mean over the
    properties outside :data:`EXCLUDED_FROM_MEAN` (NaN when none is defined): what :func:`score_population`
    reports as ``similarity`` and ``mean_similarity``.

    Parameters
    ----------
    table : dict
        :func:`effcode.gabor.grating_tuning` columns of the compared units, with their Gabor ``theta``.
    n_bootstrap : int
        Draws of the similarity ceilings.
    random_state : int
        Seed of those draws.
    """
    values = model_property_values(table)
    similarity = {name: float(distribution_similarity(v, name, n_bootstrap=n_bootstrap,
                                                      random_state=random_state)["score"])
                  if np.any(np.isfinite(v)) else math.nan for name, v in values.items()}
    informative = [s for p, s in similarity.items() if p not in EXCLUDED_FROM_MEAN and np.isfinite(s)]
    return similarity, float(np.mean(informative)) if informative else math.nan


def _distance_interval(nx, ny, n_bootstrap, rng) -> dict:
    """95% percentile interval of the TV distance over resamples of the model's units."""
    from .nxny import nxny_histogram
    from .reference import ringach2002_nxny_histogram

    q = ringach2002_nxny_histogram().probabilities
    draws = []
    for _ in range(n_bootstrap):
        i = rng.integers(0, nx.size, nx.size)
        draws.append(0.5 * np.abs(nxny_histogram(nx[i], ny[i])[0] - q).sum())
    lo, hi = np.percentile(draws, [2.5, 97.5])
    return {"distance_lo": float(lo), "distance_hi": float(hi), "distance_se": float(np.std(draws, ddof=1))}
