"""The one scorer: fit a population of filters, select the units that can be compared, and
compare them with V1.

:func:`score_population` is the single place where effcode decides which units enter a
comparison with V1 and how that comparison is made.  Experiments, sweeps, the README table
and the report all call it.

**Selection funnel.**  Every unit is counted at each stage, and the result keeps the counts:

1. *all units*;
2. *fit succeeded*: the Gabor fit returned finite parameters with R² ≥ 0;
3. *R² ≥ threshold*: the filter is Gabor-like (``r2_threshold``, default 0.7);
4. *nx and ny resolved*: the fit pins down nx and ny.  The asymptotic standard errors of the
   fit (:func:`effcode.gabor.gabor_standard_errors` at the fitted parameters, with the
   residual SD as the noise level) must be at most ``max_relative_se`` (default 0.2) of nx and
   of ny.  A unit that fails is reported as *unresolved*, its own class: typically a
   derivative-of-Gaussian shape whose fit slid to a very low frequency, where R² stays flat
   along a ridge of (sigma, f) and nx is not determined, or a filter longer than the patch;
5. *inside the reference grid*: both nx and ny within Ringach's [0.1, 1.585].

**nx–ny comparison** (:func:`nxny_distance`) on the units of stage 4, with off-grid units
clipped into the edge bins (``nxny``, the headline), and on the units of stage 5 only
(``nxny_in_grid``).  Medians of nx and ny (stage 4) with 95% percentile-bootstrap intervals.

**Tuning similarity** (:func:`effcode.v1.similarity_scores`, Brain-Score's 1 − KS/KS_max over the
ceiling) on the units of stage 3, from simulated gratings.  ``mean_similarity`` averages only
the informative properties: those in :data:`EXCLUDED_FROM_MEAN` are left out, with the reason.
Peak SF, which scales with the assumed ``pixels_per_degree``, is reported at every value of
:data:`PIXELS_PER_DEGREE_RANGE` instead.

**Literature** (:func:`effcode.v1.findings.ringach_findings`) on the units of stage 4.

``population`` names which array of a learner was scored: ``"filters"`` (analysis weights, a
unit's response to a patch) or ``"basis"`` (synthesis functions); a FilterBank passed in is
scored on that array, so R² and nx–ny always describe the same population.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError
from ..validation import check_choice, check_float, check_int
from .findings import blob_like, ringach_findings
from .nxny import nxny_distance, outside_grid
from .stats import median_interval
from .similarity import distribution_similarity, model_property_values

POPULATIONS = ("filters", "basis")

#: the stages of the selection funnel, in order
STAGES = ("all units", "fit succeeded", "R² ≥ threshold", "nx and ny resolved", "inside the reference grid")

#: R² levels at which the fraction of Gabor-like units is reported
R2_LEVELS = (0.7, 0.8, 0.9)

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


def residual_sd(filters: np.ndarray, r2: np.ndarray, n_params: int = 8) -> np.ndarray:
    """Per-filter residual SD of a fit with R² ``r2``: sqrt(SSE / (pixels − parameters))."""
    flat = filters.reshape(len(filters), -1).astype(np.float64)
    total = ((flat - flat.mean(axis=1, keepdims=True)) ** 2).sum(axis=1)
    sse = np.clip(1.0 - r2, 0.0, None) * total
    return np.sqrt(np.maximum(sse / max(1, flat.shape[1] - n_params), 1e-12 * total / flat.shape[1] + 1e-30))


@dataclass
class PopulationScore:
    """Everything :func:`score_population` found about one population (see the module docstring)."""

    name: str
    population: str
    settings: dict
    funnel: dict
    r2: dict
    median_nx: dict
    median_ny: dict
    nxny: dict
    nxny_in_grid: dict
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
        return self.funnel["R² ≥ threshold"] - self.funnel["nx and ny resolved"]

    def metrics(self) -> dict:
        """The scalar results, JSON-able (what tables and report sentences are made from)."""
        return {"name": self.name, "population": self.population, "settings": self.settings,
                "funnel": self.funnel, "n_unresolved": self.n_unresolved, "r2": self.r2,
                "median_nx": self.median_nx, "median_ny": self.median_ny,
                "nxny_distance": self.nxny_distance, "nxny_p_value": self.nxny_p_value,
                "nxny": self.nxny, "nxny_in_grid": self.nxny_in_grid, "similarity": self.similarity,
                "mean_similarity": self.mean_similarity, "excluded_from_mean": EXCLUDED_FROM_MEAN,
                "peak_sf_by_ppd": self.peak_sf_by_ppd, "findings": self.findings}


def _scalar_part(d: dict) -> dict:
    return {k: (float(v) if isinstance(v, (float, np.floating)) else v) for k, v in d.items() if np.ndim(v) == 0}


def _nxny(nx, ny, n_bootstrap, seed) -> dict:
    if nx.size < MIN_UNITS:
        return {"n_model": int(nx.size)}
    return _scalar_part(nxny_distance(nx, ny, n_bootstrap=n_bootstrap, seed=seed))


def score_population(filters, *, population: str = "filters", name: str = "model", r2_threshold: float = 0.7,
                     max_relative_se: float = 0.2, pixels_per_degree: float = 20.0, n_bootstrap: int = 1000,
                     seed: int = 0, device="cpu", fit: dict | None = None, tuning: dict | None = None) -> PopulationScore:
    """Fit, select and compare one population of filters with V1 (module docstring).

    Parameters
    ----------
    filters : (K, h, w) array or FilterBank
        The population; a :class:`~effcode.learners.FilterBank` is scored on its ``population`` array.
    population : "filters" or "basis"
        Which array of a learner this is (recorded in the result; picks the array of a FilterBank).
    name : str
        Label of the population in tables (e.g. "sparse coding").
    r2_threshold, max_relative_se : float
        Selection (stages 3 and 4 of the funnel).
    pixels_per_degree : float
        Assumed sampling of the patches, for the tuning properties in degrees.
    n_bootstrap : int
        Draws of the permutation null and of the bootstrap intervals.
    seed : int
        Seed of every random draw (same seed, same result).
    fit, tuning : dict, optional
        Precomputed :func:`effcode.gabor.fit_gabors` and :func:`effcode.gabor.grating_tuning` tables of
        ``filters`` (at ``pixels_per_degree``), e.g. from a cache; computed here when absent.

    Returns
    -------
    PopulationScore
        ``.metrics()`` gives the JSON-able scalars; ``.units`` the per-unit arrays (fit columns,
        ``se_nx``, ``se_ny``, and the boolean stage masks ``fit_ok``, ``r2_ok``, ``resolved``,
        ``in_grid``).
    """
    from ..gabor import fit_gabors, gabor_standard_errors, grating_tuning

    population = check_choice("population", population, POPULATIONS)
    if hasattr(filters, "filters") and hasattr(filters, "basis"):
        filters = getattr(filters, population)
    filters = np.asarray(filters, dtype=np.float32)
    if filters.ndim != 3 or filters.shape[0] < 1:
        raise InputError(f"filters must have shape (K, h, w) with K >= 1, got {filters.shape}")
    r2_threshold = check_float("r2_threshold", r2_threshold, minimum=0.0, maximum=1.0)
    max_relative_se = check_float("max_relative_se", max_relative_se, minimum=0.0, strict_minimum=True)
    ppd = check_float("pixels_per_degree", pixels_per_degree, minimum=0.0, strict_minimum=True)
    n_bootstrap = check_int("n_bootstrap", n_bootstrap, minimum=10)
    seed = check_int("seed", seed, minimum=0)

    if fit is None:
        fit = fit_gabors(filters, device=device)
    fit = {k: np.asarray(v) for k, v in fit.items()}
    shape = filters.shape[1:]
    fit_ok = (fit["failed"] == 0) & np.isfinite(fit["r2"])
    r2_ok = fit_ok & (fit["r2"] >= r2_threshold)
    se = {"nx": np.full(len(filters), np.inf), "ny": np.full(len(filters), np.inf)}
    if fit_ok.any():
        sub = {k: v[fit_ok] for k, v in fit.items()}
        errors = gabor_standard_errors(sub, shape, residual_sd(filters[fit_ok], sub["r2"]))
        se["nx"][fit_ok], se["ny"][fit_ok] = errors["nx"], errors["ny"]
    with np.errstate(divide="ignore", invalid="ignore"):
        resolved = r2_ok & (se["nx"] <= max_relative_se * fit["nx"]) & (se["ny"] <= max_relative_se * fit["ny"])
    in_grid = resolved & ~outside_grid(fit["nx"], fit["ny"])
    funnel = dict(zip(STAGES, (len(filters), *(int(m.sum()) for m in (fit_ok, r2_ok, resolved, in_grid)))))

    rng = np.random.default_rng([seed, 5])
    nx, ny = fit["nx"][resolved], fit["ny"][resolved]
    medians = {axis: median_interval(values, n_bootstrap, rng) for axis, values in
               (("nx", nx), ("ny", ny))}
    nxny = _nxny(nx, ny, n_bootstrap, seed)
    if nx.size >= MIN_UNITS:
        nxny.update(_distance_interval(nx, ny, n_bootstrap, rng))
    nxny_in_grid = _nxny(fit["nx"][in_grid], fit["ny"][in_grid], n_bootstrap, seed)

    similarity, mean_similarity, peak_sf = {}, math.nan, {}
    if r2_ok.sum() >= MIN_UNITS:
        if tuning is None:
            tuning = grating_tuning(filters[r2_ok], pixels_per_degree=ppd)
        else:
            tuning = {k: np.asarray(v)[r2_ok] for k, v in tuning.items()}
        table = {**tuning, "theta": fit["theta"][r2_ok]}
        similarity = _similarities(table, n_bootstrap, seed)
        informative = [s for p, s in similarity.items() if p not in EXCLUDED_FROM_MEAN and np.isfinite(s)]
        mean_similarity = float(np.mean(informative)) if informative else math.nan
        per_cpp = np.asarray(tuning["peak_sf_cpd"]) / ppd
        peak_sf = {f"{p:g}": float(distribution_similarity(per_cpp * p, "peak_sf", n_bootstrap=n_bootstrap,
                                                           seed=seed)["score"])
                   for p in PIXELS_PER_DEGREE_RANGE}

    units = {**{f"fit_{k}": v for k, v in fit.items()}, "se_nx": se["nx"], "se_ny": se["ny"], "fit_ok": fit_ok,
             "r2_ok": r2_ok, "resolved": resolved, "in_grid": in_grid, "blob_like": resolved & blob_like(fit["nx"],
                                                                                                        fit["ny"])}
    settings = {"r2_threshold": r2_threshold, "max_relative_se": max_relative_se, "pixels_per_degree": ppd,
                "n_bootstrap": n_bootstrap, "seed": seed}
    return PopulationScore(name=name, population=population, settings=settings, funnel=funnel,
                           r2=r2_summary(fit["r2"]), median_nx=medians["nx"], median_ny=medians["ny"], nxny=nxny,
                           nxny_in_grid=nxny_in_grid, similarity=similarity, mean_similarity=mean_similarity,
                           peak_sf_by_ppd=peak_sf, findings=ringach_findings(nx, ny), units=units)


def _similarities(table: dict, n_bootstrap: int, seed: int) -> dict[str, float]:
    """Brain-Score similarity of every property of the tuning table; NaN for a property that no
    unit defines (e.g. SF bandwidth when every unit is low-pass)."""
    values = model_property_values(table)
    return {name: float(distribution_similarity(v, name, n_bootstrap=n_bootstrap, seed=seed)["score"])
            if np.any(np.isfinite(v)) else math.nan for name, v in values.items()}


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
