"""Figures of learned filters: the filter / fitted-Gabor mosaic and the ECDF of Gabor-fit R^2."""

from __future__ import annotations

import math
import os
from typing import Mapping, Sequence

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from numpy.typing import ArrayLike

from ..errors import InputError
from ..validation import check_array, check_choice, check_int
from .figure import DEFAULT_DPI, save_drawing, target_axes

_ANNOTATE_MAX = 64  # write R^2 beside each tile up to this many tiles


def _normalised_tiles(stack: np.ndarray) -> np.ndarray:
    """Each tile divided by its largest |value| (all-zero tiles stay 0): values in [-1, 1]."""
    peak = np.abs(stack).reshape(len(stack), -1).max(axis=1)
    return stack / np.where(peak > 0, peak, 1.0)[:, None, None]


def filter_order(r2: np.ndarray | None, n: int, order: str) -> np.ndarray:
    """Indices of the filters in display order: by decreasing R^2 (NaN last) or as given."""
    if order == "index":
        return np.arange(n)
    if r2 is None:
        raise InputError("order='r2' needs r2 (one value per filter); pass r2 or order='index'")
    key = np.where(np.isnan(r2), -np.inf, r2)
    return np.argsort(-key, kind="stable")


def filter_mosaic(filters: ArrayLike, fitted: ArrayLike | None = None, r2: ArrayLike | None = None,
                  order: str | None = None, *, max_filters: int | None = None, n_cols: int | None = None,
                  title: str | None = None, ax: Axes | None = None, colorbar: bool = True,
                  path: str | os.PathLike[str] | None = None, dpi: int = DEFAULT_DPI) -> Axes:
    """Mosaic of filters (K, h, w), each followed on its right by its fitted Gabor.

    Tiles are ordered by decreasing ``r2`` (``order="r2"``, failed fits with NaN last) or
    by index (``order="index"``); the default, ``None``, is ``"r2"`` when ``r2`` is given and
    ``"index"`` otherwise, so ``filter_mosaic(bank.basis)`` works. At most ``max_filters`` are shown. Every tile is scaled to
    its own ±max|value| and drawn with a grey colormap (mid-grey = 0, white = positive).
    ``fitted`` (K, h, w), e.g. from ``effcode.gabor.render_gabors``, is optional; with
    ``r2`` and at most 64 tiles, each pair is labelled with its R^2. A colour bar gives the
    scale (w / max|w| of each tile) unless ``colorbar=False``.

    ``ax``: draw into this axes of your own figure; without it a new pyplot figure is made. Returns
    the Axes drawn into; given ``path``, its whole figure is saved as ``<path>.png/.pdf``.

    Parameters
    ----------
    filters : array_like
        The filters, shape (K, h, w).
    fitted : array_like or None, default None
        Their fitted Gabors, shape (K, h, w) (None: not shown).
    r2 : array_like or None, default None
        The R squared of each fit (None: not shown).
    order : {"r2", "index"} or None, default None
        Tile order (None: "r2" when ``r2`` is given, else "index").
    max_filters : int or None, default None
        The most filters shown (None: all).
    n_cols : int or None, default None
        Tiles per row (None: chosen from the number of tiles).
    title : str or None, default None
        The title (None: a default one).
    ax : matplotlib.axes.Axes or None, default None
        Axes of your own figure to draw into (None: a new pyplot figure).
    colorbar : bool, default True
        Whether to draw the colour bar.
    path : str or os.PathLike or None, default None
        Where to save the whole figure, without suffix (None: not saved).
    dpi : int, default DEFAULT_DPI
        Resolution of the PNG, dots per inch.
    """
    filters = check_array("filters", filters, ndim=3)
    n_filters, h, w = filters.shape
    if fitted is not None:
        fitted = check_array("fitted", fitted, ndim=3)
        if fitted.shape != filters.shape:
            raise InputError(f"fitted must have the shape of filters {filters.shape}, got {fitted.shape}")
    if r2 is not None:
        r2 = check_array("r2", r2, ndim=1, finite=False)
        if r2.size != n_filters:
            raise InputError(f"r2 must have one value per filter ({n_filters}), got {r2.size}")
    if order is None:
        order = "r2" if r2 is not None else "index"
    check_choice("order", order, ("r2", "index"))
    shown = filter_order(r2, n_filters, order)
    if max_filters is not None:
        shown = shown[:check_int("max_filters", max_filters)]
    n = shown.size

    per_cell = 2 if fitted is not None else 1
    if n_cols is None:
        n_cols = max(1, math.ceil(math.sqrt(n / per_cell)))
    n_cols = check_int("n_cols", n_cols)
    n_rows = math.ceil(n / n_cols)
    inner, outer = 1, max(2, h // 4)
    cell_w, cell_h = per_cell * w + (per_cell - 1) * inner, h
    canvas = np.full((n_rows * (cell_h + outer) - outer, n_cols * (cell_w + outer) - outer), np.nan)

    tiles = _normalised_tiles(filters[shown])
    fits = _normalised_tiles(fitted[shown]) if fitted is not None else None
    origins = []
    for slot in range(n):
        row, col = divmod(slot, n_cols)
        y, x = row * (cell_h + outer), col * (cell_w + outer)
        canvas[y:y + h, x:x + w] = tiles[slot]
        if fits is not None:
            canvas[y:y + h, x + w + inner:x + 2 * w + inner] = fits[slot]
        origins.append((x, y))

    width = min(14.0, max(4.0, canvas.shape[1] * 0.06))
    height = max(2.5, width * canvas.shape[0] / canvas.shape[1] + 0.8)
    ax = target_axes(ax, width, height)
    cmap = matplotlib.colormaps["gray"].with_extremes(bad="white")
    image = ax.imshow(canvas, cmap=cmap, vmin=-1.0, vmax=1.0, interpolation="nearest")
    ax.set_axis_off()
    if colorbar:
        ax.figure.colorbar(image, ax=ax, ticks=[-1, 0, 1], shrink=0.6, aspect=30,
                           label="w / max|w| of its tile")
    if r2 is not None and n <= _ANNOTATE_MAX:
        for slot, (x, y) in enumerate(origins):
            value = r2[shown[slot]]
            ax.text(x + cell_w / 2 - 0.5, y + h - 0.5 + outer * 0.45,
                    f"R²={value:.2f}" if np.isfinite(value) else "fit failed", ha="center", va="center",
                    fontsize=6)
    what = "filters (left) and fitted Gabors (right)" if fitted is not None else "filters"
    how = "sorted by decreasing R²" if order == "r2" else "in index order"
    ax.set_title(title or f"{n} of {n_filters} {what}, {how}; each tile scaled to ±max|w|", fontsize=9)
    return save_drawing(ax, path, dpi)


def fraction_above(values: np.ndarray, threshold: float) -> float:
    """Fraction of ``values`` strictly above ``threshold`` (NaN counts as not above)."""
    return float(np.mean(np.nan_to_num(values, nan=-np.inf) > threshold))


def ecdf(values: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """The empirical distribution function of ``values`` as its steps.

    Returns ``(x, y)``: the values sorted ascending (NaN, e.g. a failed fit, as -inf: below every
    value) and ``y[k - 1] = k / n``, the fraction of values <= ``x[k - 1]``.

    Parameters
    ----------
    values : array_like
        The sample; NaN counts below every value.
    """
    x = np.sort(np.where(np.isnan(values), -np.inf, values))
    return x, np.arange(1, x.size + 1) / x.size


def r2_ecdf(r2_by_label: Mapping[str, np.ndarray], *, thresholds: Sequence[float] = (0.7, 0.8, 0.9),
            title: str | None = None, ax: Axes | None = None, path: str | os.PathLike[str] | None = None,
            dpi: int = DEFAULT_DPI) -> Axes:
    """Empirical distribution functions of Gabor-fit R^2, one step curve per population.

    The curve of a population gives, at each x, the fraction of its filters with R^2 <= x, so
    1 minus its height at a dashed threshold is the fraction above it. Failed fits (NaN) and
    R^2 below 0 are counted at 0: a curve starts at the fraction of those. The legend, below the
    axes and clear of the curves, gives each population's size, failed fits and the fraction
    with R^2 above each of ``thresholds`` (NaN counts as below).

    ``ax``: draw into this axes of your own figure; without it a new pyplot figure is made. Returns
    the Axes drawn into; given ``path``, its whole figure is saved as ``<path>.png/.pdf``.

    Parameters
    ----------
    r2_by_label : mapping of str to ndarray
        The R squared of every filter, per population.
    thresholds : sequence of float, default (0.7, 0.8, 0.9)
        R squared levels marked by dashed lines and counted in the legend.
    title : str or None, default None
        The title (None: a default one).
    ax : matplotlib.axes.Axes or None, default None
        Axes of your own figure to draw into (None: a new pyplot figure).
    path : str or os.PathLike or None, default None
        Where to save the whole figure, without suffix (None: not saved).
    dpi : int, default DEFAULT_DPI
        Resolution of the PNG, dots per inch.
    """
    if not isinstance(r2_by_label, Mapping) or not r2_by_label:
        raise InputError("r2_by_label must be a non-empty dict {label: array of R^2 values}")
    populations = {str(label): check_array(f"r2_by_label[{label!r}]", values, ndim=1, finite=False)
                   for label, values in r2_by_label.items()}
    thresholds = sorted(float(t) for t in thresholds)

    ax = target_axes(ax, 6.4, 4.2 + 0.18 * len(populations))
    colors = matplotlib.colormaps["tab10"](np.arange(10))   # its ten colours, (10, 4) RGBA
    for k, (label, values) in enumerate(populations.items()):
        x, y = ecdf(values)
        above = ", ".join(f">{t:g}: {fraction_above(values, t):.0%}" for t in thresholds)
        failed = int(np.isnan(values).sum())
        legend = f"{label} (n={values.size}{f', {failed} failed' if failed else ''}): {above}"
        ax.step(np.r_[0.0, np.clip(x, 0.0, 1.0), 1.0], np.r_[0.0, y, 1.0], where="post",
                color=colors[k % len(colors)], linewidth=1.6, label=legend)
    for t in thresholds:
        ax.axvline(t, color="0.3", linestyle="--", linewidth=0.9)
        ax.text(t, 1.0, f"{t:g}", transform=ax.get_xaxis_transform(), ha="center", va="bottom", fontsize=8)
    ax.set_xlim(0.0, 1.0)
    ax.set_ylim(0.0, 1.02)
    ax.set_xlabel("Gabor fit R² (variance explained; failed fits and values < 0 at 0)")
    ax.set_ylabel("fraction of filters with R² ≤ x")
    ax.set_title(title or "Goodness of Gabor fit", fontsize=10, pad=14)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncols=1)
    return save_drawing(ax, path, dpi)
