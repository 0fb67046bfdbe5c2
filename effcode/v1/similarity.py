"""Brain-Score-style distribution similarity between model and V1 property values.

Re-implements the metric of Marques, Schrimpf & DiCarlo (2021) (the Brain-Score V1
"property" benchmarks) for histogrammed reference data. With reference bin probabilities
``q`` (over the cells that have a value) and a model histogram ``p`` on the same bins,

    KS(p, q)     = max_k |P_k - Q_k|,            P_k, Q_k cumulative sums over bins 0..k
    KS_max(q)    = max(KS(e_first, q), KS(e_last, q)) = 1 - min(q_first, q_last)
    sim(p, q)    = 1 - KS(p, q) / KS_max(q)       in [0, 1]

where ``e_first`` / ``e_last`` put all mass in the first / last bin (the two most
distant histograms from ``q``). The raw score averages ``sim`` over ``n_bootstrap``
draws of ``N`` model cells with replacement (``N`` = number of reference cells, counting
those without a value); values are clipped into the outer bins; NaN model values (e.g.
"not selective") count in the ``N`` cells but not in the histogram. A draw with no value
at all gives NaN, and if more than 10 % of the draws are NaN the raw score is 0. The
ceiling is the same raw score with the reference cells themselves as the model (their
bootstrap samples against their full histogram), and ``score = raw / ceiling``.
"""

from __future__ import annotations

import functools
from typing import Mapping, Sequence

import numpy as np
from numpy.typing import ArrayLike

from ..errors import InputError
from ..validation import check_array, check_int, seed_alias
from .reference import (MAX_SELECTIVE_BANDWIDTH, PropertyReference, bin_index, property_names,
                        property_reference)

_MODEL_STREAM, _CEILING_STREAM = 0, 1
_MAX_NAN_FRACTION = 0.1


def ks_similarity(p: ArrayLike, q: ArrayLike) -> np.ndarray:
    """``1 - KS(p, q) / KS_max(q)`` for histograms ``p`` (shape (..., K)) and ``q`` (K,).

    Both must be normalised (sum 1 over the last axis). Returns values in [0, 1]; 1 means
    identical cumulative distributions on the bins.

    Parameters
    ----------
    p : array_like
        The model's normalised histograms, shape (..., K).
    q : array_like
        The reference's normalised histogram, shape (K,).
    """
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    if q.ndim != 1 or p.shape[-1] != q.size:
        raise InputError(f"p must have shape (..., {q.size}) to match q of shape {q.shape}; got {p.shape}")
    cdf_q = np.cumsum(q)
    ks = np.max(np.abs(np.cumsum(p, axis=-1) - cdf_q), axis=-1)
    ks_max = 1.0 - min(q[0], q[-1])
    return 1.0 - ks / ks_max


def _category_probabilities(values: np.ndarray, ref: PropertyReference) -> np.ndarray:
    """Fraction of ``values`` (reference units) in each bin, plus a last entry for NaN."""
    undefined = np.isnan(values)
    counts = np.bincount(bin_index(values[~undefined], ref.edges), minlength=ref.counts.size)
    return np.append(counts, undefined.sum()) / values.size


def _bootstrap_similarity(category_p: np.ndarray, ref: PropertyReference, n_bootstrap: int,
                          rng: np.random.Generator) -> tuple[float, float, int]:
    """(mean, std, number of NaN draws) of ``ks_similarity`` over bootstrap draws of
    ``ref.n_cells`` cells from the category probabilities ``category_p``."""
    draws = rng.multinomial(ref.n_cells, category_p, size=n_bootstrap)[:, :-1].astype(np.float64)
    totals = draws.sum(axis=1)
    valid = totals > 0
    similarity = np.full(n_bootstrap, np.nan)
    similarity[valid] = ks_similarity(draws[valid] / totals[valid, None], ref.probabilities)
    n_nan = int(n_bootstrap - valid.sum())
    if n_nan > _MAX_NAN_FRACTION * n_bootstrap:
        return 0.0, 0.0, n_nan
    return float(np.nanmean(similarity)), float(np.nanstd(similarity)), n_nan


@functools.lru_cache(maxsize=256)
def _ceiling(property_name: str, n_bootstrap: int, seed: int) -> float:
    ref = property_reference(property_name)
    category_p = np.append(ref.counts, ref.n_undefined) / ref.n_cells
    rng = np.random.default_rng([seed, _CEILING_STREAM])
    return _bootstrap_similarity(category_p, ref, n_bootstrap, rng)[0]


@seed_alias
def ceiling(property_name: str, *, n_bootstrap: int = 1000, random_state: int = 0) -> float:
    """Data-vs-data similarity of a V1 property: the mean of ``sim(p_b, q)`` over bootstrap
    resamples ``p_b`` of the reference cells (dimensionless, close to 1; e.g. 0.959 for
    circular variance, 0.964 for orientation bandwidth as published by Brain-Score).

    Parameters
    ----------
    property_name : str
        The V1 property, a name of :func:`effcode.v1.reference.property_names`.
    n_bootstrap : int, default 1000
        Bootstrap resamples of the reference cells.
    random_state : int, default 0
        Seed of the resamples.
    """
    property_reference(property_name)
    return _ceiling(property_name, check_int("n_bootstrap", n_bootstrap),
                    check_int("random_state", random_state, minimum=0))


@seed_alias
def distribution_similarity(model_values: ArrayLike, property_name: str, *, n_bootstrap: int = 1000,
                            random_state: int = 0) -> dict:
    """Brain-Score similarity of a model's property values to the V1 distribution.

    ``model_values``: one value per model cell in the units of
    ``property_reference(property_name).units`` (NaN = the property is undefined for that
    cell, e.g. not selective). Returns a dict with ``score`` (= raw / ceiling, about 1 when
    the model is as close to V1 as V1 resamples are), ``raw`` and ``raw_std`` (mean and SD
    of ``sim`` over draws), ``ceiling``, ``published_ceiling``, ``n_model``, ``n_reference``,
    ``n_nan_draws``, and the histograms ``model_probabilities`` (all model cells with a
    value) and ``reference_probabilities`` (all dimensionless, in [0, 1]).

    Parameters
    ----------
    model_values : array_like
        One value per model cell, NaN where the property is undefined.
    property_name : str
        The V1 property, a name of :func:`effcode.v1.reference.property_names`.
    n_bootstrap : int, default 1000
        Bootstrap draws of the raw similarity and of the ceiling.
    random_state : int, default 0
        Seed of the draws.
    """
    ref = property_reference(property_name)
    n_bootstrap = check_int("n_bootstrap", n_bootstrap)
    random_state = check_int("random_state", random_state, minimum=0)
    values = check_array("model_values", model_values, ndim=1, finite=False)
    mapped = ref.to_reference_units(values)
    if np.all(np.isnan(mapped)):
        raise InputError(f"model_values has no defined (non-NaN) value for {property_name!r}")
    category_p = _category_probabilities(mapped, ref)
    rng = np.random.default_rng([random_state, _MODEL_STREAM])
    raw, raw_std, n_nan = _bootstrap_similarity(category_p, ref, n_bootstrap, rng)
    ceil = _ceiling(property_name, n_bootstrap, random_state)
    return {
        "property": property_name,
        "dataset": ref.dataset,
        "score": raw / ceil,
        "raw": raw,
        "raw_std": raw_std,
        "ceiling": ceil,
        "published_ceiling": ref.published_ceiling,
        "n_model": int(values.size),
        "n_reference": ref.n_cells,
        "n_nan_draws": n_nan,
        "model_probabilities": category_p[:-1] / category_p[:-1].sum(),
        "reference_probabilities": ref.probabilities,
    }


#: Columns of an ``effcode.gabor.grating_tuning`` / ``fit_gabors`` table used for each
#: V1 property (several columns: the property is derived from them).
TABLE_COLUMNS = {
    "circular_variance": ("circular_variance",),
    "orientation_bandwidth": ("ori_bandwidth_deg",),
    "orth_pref_ratio": ("orth_pref_ratio",),
    "orientation_selective": ("ori_bandwidth_deg",),
    "cv_bandwidth_ratio": ("circular_variance", "ori_bandwidth_deg"),
    "opr_cv_difference": ("orth_pref_ratio", "circular_variance"),
    "modulation_ratio": ("f1_f0",),
    "preferred_orientation": ("theta",),
    "peak_sf": ("peak_sf_cpd",),
    "sf_bandwidth": ("sf_bandwidth_oct_at_707",),
    "sf_selective": ("sf_bandwidth_oct_at_707",),
}


def model_property_values(table: Mapping[str, np.ndarray], properties: Sequence[str] | None = None
                         ) -> dict[str, np.ndarray]:
    """Per-cell values of V1 properties from a model tuning table (see ``TABLE_COLUMNS``).

    Derived properties: ``orientation_selective`` = 1 where the orientation bandwidth is
    finite and <= 90 deg, else 0; ``cv_bandwidth_ratio`` = circular variance / bandwidth
    (NaN where not selective); ``opr_cv_difference`` = orth/pref ratio - circular variance;
    ``preferred_orientation`` = degrees(theta) of the Gabor fit (orientation of the grating
    wave vector, modulo 180); ``sf_selective`` = 1 where the SF bandwidth is finite, else 0.
    ``properties=None`` takes every property whose columns are all in ``table``.

    Parameters
    ----------
    table : mapping of str to ndarray
        A model tuning table, one array per column.
    properties : sequence of str or None, default None
        The properties to compute (None: every one the table allows).
    """
    if properties is None:
        properties = [p for p, cols in TABLE_COLUMNS.items() if all(c in table for c in cols)]
        if not properties:
            raise InputError("table has none of the columns " + ", ".join(sorted(
                {c for cols in TABLE_COLUMNS.values() for c in cols})))
    col = {}
    for name in properties:
        if name not in TABLE_COLUMNS:
            raise InputError(f"properties must be among {', '.join(property_names())}; got {name!r}")
        for column in TABLE_COLUMNS[name]:
            if column not in table:
                raise InputError(f"table lacks column {column!r}, needed for property {name!r}")
            col[column] = check_array(f"table[{column!r}]", table[column], ndim=1, finite=False)
    sizes = {c: v.size for c, v in col.items()}
    if len(set(sizes.values())) > 1:
        raise InputError(f"table columns must have equal lengths, got {sizes}")

    def bandwidth():
        bw = col["ori_bandwidth_deg"]
        return np.where(bw > MAX_SELECTIVE_BANDWIDTH, np.nan, bw)

    derive = {
        "circular_variance": lambda: col["circular_variance"],
        "orientation_bandwidth": bandwidth,
        "orth_pref_ratio": lambda: col["orth_pref_ratio"],
        "orientation_selective": lambda: np.isfinite(bandwidth()).astype(np.float64),
        "cv_bandwidth_ratio": lambda: col["circular_variance"] / bandwidth(),
        "opr_cv_difference": lambda: col["orth_pref_ratio"] - col["circular_variance"],
        "modulation_ratio": lambda: col["f1_f0"],
        "preferred_orientation": lambda: np.degrees(col["theta"]),
        "peak_sf": lambda: col["peak_sf_cpd"],
        "sf_bandwidth": lambda: col["sf_bandwidth_oct_at_707"],
        "sf_selective": lambda: np.isfinite(col["sf_bandwidth_oct_at_707"]).astype(np.float64),
    }
    with np.errstate(divide="ignore", invalid="ignore"):
        return {name: derive[name]() for name in properties}


@seed_alias
def similarity_scores(table: Mapping[str, np.ndarray], properties: Sequence[str] | None = None, *,
                      n_bootstrap: int = 1000, random_state: int = 0) -> dict[str, dict]:
    """:func:`distribution_similarity` of every property derivable from ``table``
    (see :func:`model_property_values`), keyed by property name.

    Parameters
    ----------
    table : mapping of str to ndarray
        A model tuning table, one array per column.
    properties : sequence of str or None, default None
        The properties to score (None: every one the table allows).
    n_bootstrap : int, default 1000
        Bootstrap draws per property.
    random_state : int, default 0
        Seed of the draws.
    """
    values = model_property_values(table, properties)
    return {name: distribution_similarity(v, name, n_bootstrap=n_bootstrap, random_state=random_state)
            for name, v in values.items()}
