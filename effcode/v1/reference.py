"""Loaders for the packaged V1 reference data (see ``effcode/v1/data/README.md``).

Every loader reads package data only (``importlib.resources``), caches the result and
returns read-only arrays, so callers cannot alter the reference by accident.
"""

from __future__ import annotations

import csv
import functools
import io
import json
from dataclasses import dataclass
from importlib import resources
from typing import Callable

import numpy as np
from numpy.typing import ArrayLike

from ..errors import InputError
from ..validation import check_array, check_choice, seed_alias

#: Brain-Score's response criterion for the Ringach (2002) orientation database (spikes/s).
RESPONSE_THRESHOLD = 5.0
#: Orientation bandwidths above this (deg, half-width) mean "not orientation selective".
MAX_SELECTIVE_BANDWIDTH = 90.0

_SCALES = ("linear", "log2", "log10")


def _read_text(name: str) -> str:
    return resources.files("effcode.v1").joinpath("data", name).read_text(encoding="utf-8")


def _frozen(array) -> np.ndarray:
    array = np.array(array)
    array.setflags(write=False)
    return array


@functools.lru_cache(maxsize=None)
def _properties_file() -> dict:
    return json.loads(_read_text("v1_properties.json"))


def citation(dataset: str) -> str:
    """The full reference of a packaged dataset (e.g. ``"DeValois1982a"``).

    Parameters
    ----------
    dataset : str
        The dataset's key, e.g. ``"DeValois1982a"``.
    """
    datasets = _properties_file()["datasets"]
    if dataset not in datasets:
        raise InputError(f"dataset must be one of {', '.join(sorted(datasets))}; got {dataset!r}")
    return datasets[dataset]["citation"]


# --------------------------------------------------------------------------- nx-ny histogram


@dataclass(frozen=True)
class NxNyHistogram:
    """Ringach (2002, J Neurophysiol) joint histogram of simple-cell Gabor shapes.

    ``counts[i, j]`` is the number of cells with ``nx_edges[i] <= nx < nx_edges[i+1]`` and
    ``ny_edges[j] <= ny < ny_edges[j+1]`` (nx = sigma_x f, ny = sigma_y f, dimensionless).

    Parameters
    ----------
    counts : ndarray
        Cells per (nx, ny) bin, shape (5, 5), rows nx and columns ny.
    nx_edges : ndarray
        The six nx bin edges.
    ny_edges : ndarray
        The six ny bin edges.
    citation : str
        The full reference of the data.
    """

    counts: np.ndarray
    nx_edges: np.ndarray
    ny_edges: np.ndarray
    citation: str

    @property
    def n_cells(self) -> int:
        return int(self.counts.sum())

    @property
    def probabilities(self) -> np.ndarray:
        """``counts / n_cells``: the fraction of cells per bin, shape (5, 5)."""
        return self.counts / self.counts.sum()

    def marginal(self, axis: str) -> tuple[np.ndarray, np.ndarray]:
        """``(counts, edges)`` of the nx (``axis="nx"``) or ny (``axis="ny"``) marginal.

        Parameters
        ----------
        axis : {"nx", "ny"}
            Which marginal to return.
        """
        if axis == "nx":
            return self.counts.sum(axis=1), self.nx_edges
        if axis == "ny":
            return self.counts.sum(axis=0), self.ny_edges
        raise InputError(f"axis must be 'nx' or 'ny', got {axis!r}")

    def median(self, axis: str) -> float:
        """Median of a marginal, interpolated log-uniformly within its bin (see
        :func:`histogram_median`).

        Parameters
        ----------
        axis : {"nx", "ny"}
            Which marginal's median to return.
        """
        counts, edges = self.marginal(axis)
        return histogram_median(counts, edges, scale="log10")

    @seed_alias
    def sample(self, n: int, random_state=0) -> tuple[np.ndarray, np.ndarray]:
        """``n`` synthetic cells drawn from the histogram: a bin with probability
        :attr:`probabilities`, then (nx, ny) log-uniform inside it (the per-cell values are not
        public, so this is the simplest population the histogram allows).

        Parameters
        ----------
        n : int
            How many cells to draw.
        random_state : int, default 0
            Seed of the draws.
        """
        from ..validation import check_random_state

        rng = check_random_state(random_state)
        flat = rng.choice(25, size=n, p=self.probabilities.ravel())
        i, j = np.divmod(flat, 5)
        lx, ly = np.log10(self.nx_edges), np.log10(self.ny_edges)
        nx = 10 ** rng.uniform(lx[i], lx[i + 1])
        ny = 10 ** rng.uniform(ly[j], ly[j + 1])
        return nx, ny


@functools.lru_cache(maxsize=None)
def ringach2002_nxny_histogram() -> NxNyHistogram:
    """The 5x5 (nx, ny) histogram of 79 simple cells, bin edges ``logspace(-1, 0.2, 6)``."""
    rows = list(csv.DictReader(io.StringIO(_read_text("ringach2002_nxny_hist.csv"))))
    nx_edges = np.logspace(-1, 0.2, 6)
    ny_edges = np.logspace(-1, 0.2, 6)
    counts = np.zeros((5, 5), dtype=np.int64)
    for row in rows:
        i = int(np.argmin(np.abs(nx_edges[:-1] - float(row["nx_lo"]))))
        j = int(np.argmin(np.abs(ny_edges[:-1] - float(row["ny_lo"]))))
        counts[i, j] = int(row["count"])
    return NxNyHistogram(_frozen(counts), _frozen(nx_edges), _frozen(ny_edges),
                         citation("Ringach2002_JNeurophysiol"))


# ---------------------------------------------------------------- orientation database


@functools.lru_cache(maxsize=None)
def _orientation_db_all() -> dict[str, np.ndarray]:
    rows = list(csv.DictReader(io.StringIO(_read_text("ringach2002_orientation_db.csv"))))
    table = {}
    for column in rows[0]:
        values = [row[column] for row in rows]
        if column == "animal":
            table[column] = _frozen(values)
        elif column in ("expt", "unit", "chan"):
            table[column] = _frozen(np.array(values, dtype=np.int64))
        else:
            table[column] = _frozen(np.array(values, dtype=np.float64))
    return table


def ringach2002_orientation_db(selected: bool = True) -> dict[str, np.ndarray]:
    """Ringach, Shapley & Hawken (2002) orientation database, one array per column.

    Columns: ``animal, expt, unit, chan, rdepth, spont, maxdc, mindc, maxfirst`` (rates in
    spikes/s), ``orivar`` (circular variance), ``bw`` (orientation bandwidth, half-width at
    1/sqrt(2) of the peak, deg), ``po`` (orthogonal / preferred response ratio).

    ``selected=True`` keeps Brain-Score's cells, ``maxdc > spont + 5`` spikes/s (304 of 308).
    The raw ``bw`` is returned unchanged; values above 90 deg mean "not selective".

    Parameters
    ----------
    selected : bool, default True
        Whether to keep only the cells Brain-Score keeps.
    """
    table = _orientation_db_all()
    if not selected:
        return dict(table)
    keep = table["maxdc"] > table["spont"] + RESPONSE_THRESHOLD
    return {name: _frozen(column[keep]) for name, column in table.items()}


def ringach2002_properties() -> dict[str, np.ndarray]:
    """Per-cell values of the Ringach (2002, J Neurosci) properties over the 304 selected
    cells, in the units of :func:`property_reference` (NaN where undefined)."""
    db = ringach2002_orientation_db(selected=True)
    bandwidth = np.where(db["bw"] > MAX_SELECTIVE_BANDWIDTH, np.nan, db["bw"])
    values = {
        "circular_variance": db["orivar"],
        "orientation_bandwidth": bandwidth,
        "orth_pref_ratio": db["po"],
        "orientation_selective": np.isfinite(bandwidth).astype(np.float64),
        "cv_bandwidth_ratio": db["orivar"] / bandwidth,
        "opr_cv_difference": db["po"] - db["orivar"],
        "modulation_ratio": db["maxfirst"] / db["maxdc"],
    }
    return {name: _frozen(v) for name, v in values.items()}


# ------------------------------------------------------------------ property references


@dataclass(frozen=True)
class PropertyReference:
    """A V1 property distribution as Brain-Score compares it.

    ``counts[k]`` cells fall in bin ``[edges[k], edges[k+1])`` (the last bin is closed), in
    the reference's own units; ``n_undefined`` more cells have no value (e.g. not selective)
    and count towards the number of cells ``n_cells`` only.

    Parameters
    ----------
    name : str
        The property's name, e.g. ``"circular_variance"``.
    dataset : str
        The key of the dataset the distribution comes from.
    citation : str
        The full reference of that dataset.
    description : str
        What the property measures, in words.
    units : str
        The units a model's values are given in (before :meth:`to_reference_units`).
    edges : ndarray
        The bin edges, in the reference's own units.
    counts : ndarray
        Cells per bin, one fewer than ``edges``.
    n_undefined : int
        Cells with no value for the property.
    scale : str
        The scale of the bins ("linear", "log2" or "log10").
    published_ceiling : float
        The ceiling Brain-Score publishes for the property.
    alexnet_ceiled_score : float
        AlexNet's ceiled score as Brain-Score publishes it.
    """

    name: str
    dataset: str
    citation: str
    description: str
    units: str
    edges: np.ndarray
    counts: np.ndarray
    n_undefined: int
    scale: str
    published_ceiling: float
    alexnet_ceiled_score: float

    @property
    def n_cells(self) -> int:
        return int(self.counts.sum()) + self.n_undefined

    @property
    def probabilities(self) -> np.ndarray:
        """Fraction of the cells *with a value* in each bin (sums to 1)."""
        return self.counts / self.counts.sum()

    def to_reference_units(self, values: np.ndarray) -> np.ndarray:
        """Map model values (in ``self.units``) onto the reference's binned quantity.

        * ``orientation_bandwidth``: values above 90 deg become NaN (not selective);
        * ``preferred_orientation``: wrapped modulo 180 into [-22.5, 157.5) deg;
        * ``sf_bandwidth``: octaves b -> Schiller's ratio 100 * 2**-b (%);
        * every other property: unchanged.

        Parameters
        ----------
        values : ndarray
            Model values in the units of ``self.units``.
        """
        values = np.asarray(values, dtype=np.float64)
        if self.name == "orientation_bandwidth":
            return np.where(values > MAX_SELECTIVE_BANDWIDTH, np.nan, values)
        if self.name == "preferred_orientation":
            low = self.edges[0]
            return np.mod(values - low, 180.0) + low
        if self.name == "sf_bandwidth":
            return 100.0 * np.exp2(-values)
        return values


def property_names() -> list[str]:
    """Names accepted by :func:`property_reference` and the similarity functions."""
    return sorted(_properties_file()["properties"])


@functools.lru_cache(maxsize=None)
def property_reference(name: str) -> PropertyReference:
    """The reference histogram, units and published ceiling of one V1 property."""
    specs = _properties_file()["properties"]
    if name not in specs:
        raise InputError(f"property_name must be one of {', '.join(sorted(specs))}; got {name!r}")
    spec = specs[name]
    edges = np.asarray(spec["bins"], dtype=np.float64)
    if "counts" in spec:
        counts = np.asarray(spec["counts"], dtype=np.int64)
        n_undefined = int(spec["n_nonselective"])
    else:
        values = ringach2002_properties()[name]
        defined = values[np.isfinite(values)]
        counts = np.bincount(bin_index(defined, edges), minlength=len(edges) - 1)
        n_undefined = int(values.size - defined.size)
    return PropertyReference(
        name=name, dataset=spec["dataset"], citation=citation(spec["dataset"]),
        description=spec["description"], units=spec["units"], edges=_frozen(edges),
        counts=_frozen(counts), n_undefined=n_undefined, scale=spec["scale"],
        published_ceiling=float(spec["published_ceiling"]),
        alexnet_ceiled_score=float(spec["alexnet_ceiled_score"]))


# -------------------------------------------------------------------------- histograms


def bin_index(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Bin of each finite value: values are first clipped to ``[edges[0], edges[-1]]``, then
    bin k holds ``[edges[k], edges[k+1])`` and the last bin also holds ``edges[-1]``
    (``numpy.histogram``'s convention). Returns ints in ``[0, len(edges) - 2]``."""
    clipped = np.clip(np.asarray(values, dtype=np.float64), edges[0], edges[-1])
    index = np.searchsorted(edges, clipped, side="right") - 1
    return np.minimum(index, len(edges) - 2)


def histogram_median(counts: ArrayLike, edges: ArrayLike, *, scale: str = "linear") -> float:
    """Median of a histogram, interpolating the cumulative count within the median bin.

    With n cells, the median is where the cumulative count reaches n/2; inside the bin
    ``[e_k, e_{k+1})`` cells are taken as spread uniformly in ``t(x)`` (``t`` = identity,
    log2 or log10 for ``scale``), so the median is
    ``t^-1(t(e_k) + (n/2 - C_k) / c_k * (t(e_{k+1}) - t(e_k)))`` where ``C_k`` counts the
    cells below the bin and ``c_k`` those in it.

    Parameters
    ----------
    counts : array_like
        Cells per bin.
    edges : array_like
        The bin edges, one more than ``counts``.
    scale : {"linear", "log2", "log10"}, default "linear"
        The scale within which cells are spread uniformly inside a bin.
    """
    check_choice("scale", scale, _SCALES)
    counts = check_array("counts", counts, ndim=1)
    edges = check_array("edges", edges, ndim=1, min_size=2)
    if edges.size != counts.size + 1:
        raise InputError(f"edges must have len(counts) + 1 = {counts.size + 1} entries, got {edges.size}")
    if np.any(counts < 0) or counts.sum() <= 0:
        raise InputError("counts must be non-negative with a positive total")
    if np.any(np.diff(edges) <= 0) or (scale != "linear" and edges[0] <= 0):
        raise InputError("edges must be strictly increasing (and positive for a log scale)")
    transforms: dict[str, tuple[Callable, Callable]] = {"linear": (lambda x: x, lambda t: t),
                                                        "log2": (np.log2, np.exp2),
                                                        "log10": (np.log10, lambda t: 10.0 ** t)}
    forward, inverse = transforms[scale]
    t_edges = forward(edges)
    half = counts.sum() / 2.0
    below = np.concatenate([[0.0], np.cumsum(counts)])
    k = int(np.searchsorted(below[1:], half, side="left"))
    fraction = (half - below[k]) / counts[k]
    return float(inverse(t_edges[k] + fraction * (t_edges[k + 1] - t_edges[k])))
