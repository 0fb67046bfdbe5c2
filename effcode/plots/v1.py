"""Figures comparing model filter populations with V1 data (``effcode.v1``)."""

from __future__ import annotations

import math
import os
from typing import Any, Mapping, Sequence, cast

import matplotlib
import numpy as np
from matplotlib.colorbar import Colorbar
from numpy.typing import ArrayLike
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import BoundaryNorm, Normalize
from matplotlib.patches import Rectangle

from .. import v1
from ..errors import InputError
from ..v1.nxny import outside_grid
from ..v1.reference import bin_index
from ..validation import check_array, seed_alias
from .figure import DEFAULT_DPI, new_figure, save_drawing, target_axes

#: Axis label (with units) of each V1 property, in the reference's units.
AXIS_LABELS = {
    "circular_variance": "circular variance",
    "orientation_bandwidth": "orientation bandwidth (deg, half-width at 1/√2 of peak)",
    "orth_pref_ratio": "orthogonal / preferred response",
    "orientation_selective": "orientation selective (0 = no, 1 = yes)",
    "cv_bandwidth_ratio": "circular variance / bandwidth (1/deg)",
    "opr_cv_difference": "orth./pref. ratio − circular variance",
    "modulation_ratio": "modulation ratio F1/F0",
    "preferred_orientation": "preferred orientation (deg, mod 180)",
    "peak_sf": "peak spatial frequency (cycles/deg)",
    "sf_bandwidth": "SF bandwidth: 100·f_low/f_high (%) = 100·2^(−octaves)",
    "sf_selective": "SF selective (0 = low-pass, 1 = band-pass)",
}
SHORT_NAMES = {
    "circular_variance": "circular variance",
    "orientation_bandwidth": "orientation bandwidth",
    "orth_pref_ratio": "orth./pref. ratio",
    "orientation_selective": "orientation selective",
    "cv_bandwidth_ratio": "CV / bandwidth",
    "opr_cv_difference": "orth./pref. − CV",
    "modulation_ratio": "F1/F0",
    "preferred_orientation": "preferred orientation",
    "peak_sf": "peak SF",
    "sf_bandwidth": "SF bandwidth",
    "sf_selective": "SF selective",
}
DEFAULT_PROPERTIES = ("circular_variance", "orientation_bandwidth", "peak_sf", "sf_bandwidth")


#: display range of the (nx, ny) scatter: units beyond it are drawn on its edge
NXNY_DISPLAY_RANGE = (0.02, 20.0)


def ringach_count_scale() -> ScalarMappable:
    """The colour scale of Ringach's (2002) cells per (nx, ny) bin: one colour per count.

    :func:`nxny_scatter` shades the reference histogram with it, so a grid of panels drawn with
    ``colorbar=False`` shares it and one :func:`ringach_count_colorbar` labels them all.
    """
    counts = v1.ringach2002_nxny_histogram().counts
    cmap = matplotlib.colormaps["Blues"]
    return ScalarMappable(norm=BoundaryNorm(np.arange(0, counts.max() + 2) - 0.5, cmap.N), cmap=cmap)


def ringach_count_colorbar(ax: Axes | Sequence[Axes] | np.ndarray, **kwargs: Any) -> Colorbar:
    """One colour bar of :func:`ringach_count_scale` beside ``ax`` (an Axes or a list of them, e.g. every
    panel of an nx–ny grid), in their figure; ``kwargs`` go to ``Figure.colorbar``.  Returns the Colorbar.

    Parameters
    ----------
    ax : matplotlib.axes.Axes or sequence of Axes
        The axes the colour bar sits beside.
    **kwargs
        Further keyword arguments of ``Figure.colorbar``.
    """
    axes = [ax] if isinstance(ax, Axes) else list(np.ravel(np.asarray(ax, dtype=object)))
    if not axes or not all(isinstance(a, Axes) for a in axes):
        raise InputError("ax must be a matplotlib Axes or a non-empty list of them")
    ref = v1.ringach2002_nxny_histogram()
    return axes[0].figure.colorbar(ringach_count_scale(), ax=axes if len(axes) > 1 else axes[0],
                                   label=f"V1 simple cells per bin (Ringach 2002, n = {ref.n_cells})",
                                   ticks=np.arange(0, ref.counts.max() + 1, 5), **kwargs)


def _p_text(p) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def nxny_scatter(nx: ArrayLike, ny: ArrayLike, label: str = "model", *, resolved: ArrayLike | None = None,
                 distance: float | None = None, p_value: float | None = None, null_95: float | None = None,
                 title: str | None = None, path: str | os.PathLike[str] | None = None, dpi: int = DEFAULT_DPI,
                 ax: Axes | None = None, colorbar: bool = True, legend: bool = True) -> Axes:
    """A model's (nx, ny) population over the Ringach (2002) 5x5 histogram, log-log axes.

    Only draws: every statistic written on the figure is passed in.

    ``nx``, ``ny``: fitted values of the units to show (e.g. every unit with R² ≥ threshold).
    ``resolved``: boolean mask of the units whose fit resolves nx and ny (default: all).  Resolved
    units are red dots; unresolved units are hollow grey circles, their own class (the scorer leaves
    them out of the comparison).  Ringach's grid [0.1, 1.585]² is outlined; units outside it are
    drawn where they lie and counted in the legend (the distance clips them into the edge bins).
    Units beyond :data:`NXNY_DISPLAY_RANGE` (or at 0) are drawn on the edge of the axes as
    triangles and counted.  ``distance``, ``p_value``, ``null_95``: the precomputed nx–ny
    comparison of the resolved units (e.g. :attr:`effcode.v1.V1PopulationScore.nxny`), written in the
    legend when given.  Bins are shaded by Ringach's cell counts (written in each bin).

    ``ax``: draw into this axes of your own figure (e.g. one panel of a grid); without it a new
    pyplot figure is made.  Returns the Axes drawn into; given ``path``, its whole figure is saved as
    ``<path>.png/.pdf``.  ``colorbar`` and ``legend`` switch off the colour scale and the legend (a
    grid of panels shares one of each: :func:`ringach_count_scale`).

    Parameters
    ----------
    nx : array_like
        Fitted nx of the units shown.
    ny : array_like
        Fitted ny of the units shown.
    label : str, default "model"
        The population's name in the legend.
    resolved : array_like or None, default None
        Mask of the units whose fit resolves nx and ny (None: all).
    distance : float or None, default None
        The precomputed nx-ny distance to write in the legend (None: not written).
    p_value : float or None, default None
        Its permutation p-value (None: not written).
    null_95 : float or None, default None
        The 95th percentile of its null distribution (None: not written).
    title : str or None, default None
        The title (None: a default one).
    path : str or os.PathLike or None, default None
        Where to save the whole figure, without suffix (None: not saved).
    dpi : int, default DEFAULT_DPI
        Resolution of the PNG, dots per inch.
    ax : matplotlib.axes.Axes or None, default None
        Axes of your own figure to draw into (None: a new pyplot figure).
    colorbar : bool, default True
        Whether to draw the colour scale.
    legend : bool, default True
        Whether to draw the legend.
    """
    nx = check_array("nx", nx, ndim=1, min_size=0)   # a population with no unit to show still gets the reference
    ny = check_array("ny", ny, ndim=1, min_size=0)
    if nx.size != ny.size:
        raise InputError(f"nx and ny must have the same length, got {nx.size} and {ny.size}")
    resolved = np.ones(nx.size, bool) if resolved is None else np.asarray(resolved)
    if resolved.shape != nx.shape or resolved.dtype.kind not in "bui":
        raise InputError(f"resolved must be a boolean mask of {nx.size} units, got shape {resolved.shape} "
                         f"and dtype {resolved.dtype}")
    resolved = resolved.astype(bool)
    ref = v1.ringach2002_nxny_histogram()

    own_figure = ax is None
    ax = target_axes(ax, 7.0, 6.4)
    fig = ax.figure
    scale = ringach_count_scale()
    ax.pcolormesh(ref.nx_edges, ref.ny_edges, ref.counts.T, cmap=scale.cmap, norm=cast(Normalize, scale.norm), alpha=0.85,
                  edgecolors="0.6", linewidth=0.4)
    centre_x = np.sqrt(ref.nx_edges[:-1] * ref.nx_edges[1:])
    centre_y = np.sqrt(ref.ny_edges[:-1] * ref.ny_edges[1:])
    for i, cx in enumerate(centre_x):
        for j, cy in enumerate(centre_y):
            if ref.counts[i, j]:
                ax.text(cx, cy, str(ref.counts[i, j]), ha="center", va="center", fontsize=7, color="0.1",
                        zorder=4)
    if colorbar:
        ringach_count_colorbar(ax)
    ax.add_patch(Rectangle((ref.nx_edges[0], ref.ny_edges[0]), ref.nx_edges[-1] - ref.nx_edges[0],
                           ref.ny_edges[-1] - ref.ny_edges[0], fill=False, edgecolor="0.2", linewidth=1.0,
                           linestyle="--", zorder=3))

    low, high = NXNY_DISPLAY_RANGE
    with np.errstate(invalid="ignore"):
        beyond = ~((nx >= low) & (nx <= high) & (ny >= low) & (ny <= high))
    outside = outside_grid(nx, ny)
    shown_x, shown_y = np.clip(np.nan_to_num(nx, nan=low), low, high), np.clip(np.nan_to_num(ny, nan=low), low, high)

    n_res = int(resolved.sum())
    stats = []
    if distance is not None and np.isfinite(distance):
        stats.append(f"TV = {distance:.2f}")
    if p_value is not None and np.isfinite(p_value):
        stats.append(_p_text(p_value))
    if null_95 is not None and np.isfinite(null_95):
        stats.append(f"null 95% at n = {n_res}: {null_95:.2f}")
    groups: list[tuple[np.ndarray, bool, str, dict[str, Any]]] = [(resolved, True, f"{label}, nx and ny resolved: n = {n_res}, {int((resolved & outside).sum())} "
                               "outside the grid" + (f"\n{', '.join(stats)}" if stats else ""),
               dict(s=12, color="tab:red", alpha=0.65, edgecolors="none")),
              (~resolved, False, f"unresolved, not compared: n = {int((~resolved).sum())}, "
                                 f"{int((~resolved & outside).sum())} outside the grid",
               dict(s=16, facecolors="none", edgecolors="0.35", linewidths=0.7))]
    for mask, always, text, style in groups:
        if not (always or mask.any()):
            continue
        inside = mask & ~beyond
        ax.scatter(shown_x[inside], shown_y[inside], label=text, zorder=5, **style)
        if (mask & beyond).any():
            ax.scatter(shown_x[mask & beyond], shown_y[mask & beyond], marker="^", zorder=5,
                       **{k: v for k, v in style.items() if k != "s"}, s=22)
    if beyond.any():
        ax.scatter([], [], marker="^", facecolors="none", edgecolors="0.35",
                   label=f"{int(beyond.sum())} beyond [{low:g}, {high:g}] or at 0, drawn on the edge")
    ax.plot([], [], color="0.2", linestyle="--", linewidth=1.0, label="Ringach's grid (V1 histogram range)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    lo_ax = min(ref.nx_edges[0], shown_x.min(initial=1.0), shown_y.min(initial=1.0)) / 1.2
    hi_ax = max(ref.nx_edges[-1], shown_x.max(initial=1.0), shown_y.max(initial=1.0)) * 1.2
    ax.set_xlim(lo_ax, hi_ax)
    ax.set_ylim(lo_ax, hi_ax)
    ax.set_aspect("equal")
    ax.set_xlabel(r"$n_x = \sigma_x f$  (envelope SD across the bars × spatial frequency, cycles)")
    ax.set_ylabel(r"$n_y = \sigma_y f$  (envelope SD along the bars × spatial frequency, cycles)")
    ax.set_title(title or f"Gabor shape: {label} vs. macaque V1 simple cells", fontsize=10)
    if legend:
        if own_figure:
            fig.legend(*ax.get_legend_handles_labels(), fontsize=7, loc="outside lower center", ncols=2,
                       frameon=False)
        else:                      # below the axes, clear of the units
            ax.legend(fontsize=6, loc="upper center", bbox_to_anchor=(0.5, -0.14), frameon=False)
    return save_drawing(ax, path, dpi)


def funnel_chart(funnels: Mapping[str, Sequence[Mapping[str, int]]], *, population: str | None = None,
                 title: str | None = None, ax: Axes | None = None, path: str | os.PathLike[str] | None = None,
                 dpi: int = DEFAULT_DPI) -> Axes:
    """The selection funnel of :func:`effcode.v1.score_population`, per learner.

    ``funnels[label]``: one funnel dict per seed (``{stage: count}`` with the keys of
    :data:`effcode.v1.STAGES`).  Bars: the mean fraction of all units at each stage, with one dot
    per seed and the mean count written above; the unresolved units (R² ≥ threshold but nx or ny
    not resolved) are a hatched bar of their own.  Only draws.

    ``ax``: draw into this axes of your own figure; without it a new pyplot figure is made.  Returns
    the Axes drawn into; given ``path``, its whole figure is saved as ``<path>.png/.pdf``.

    Parameters
    ----------
    funnels : mapping of str to sequence of mapping
        Per learner, one funnel dict per seed.
    population : str or None, default None
        Which population the funnels are of, named in the default title (None: not named).
    title : str or None, default None
        The title (None: a default one).
    ax : matplotlib.axes.Axes or None, default None
        Axes of your own figure to draw into (None: a new pyplot figure).
    path : str or os.PathLike or None, default None
        Where to save the whole figure, without suffix (None: not saved).
    dpi : int, default DEFAULT_DPI
        Resolution of the PNG, dots per inch.
    """
    if not isinstance(funnels, Mapping) or not funnels:
        raise InputError("funnels must be a non-empty dict {label: [funnel per seed]}")
    stages = list(v1.STAGES)
    classes = stages[:4] + ["unresolved"] + stages[4:]
    table = {}
    for label, per_seed in funnels.items():
        runs: list = [per_seed] if isinstance(per_seed, Mapping) else list(per_seed)
        if not runs:
            raise InputError(f"funnels[{label!r}] holds no funnel")
        seeds = []
        for f in runs:
            missing = [s for s in stages if s not in f]
            if missing:
                raise InputError(f"funnels[{label!r}] lacks the stage(s) {', '.join(map(repr, missing))}")
            counts = {s: f[s] for s in stages}
            counts["unresolved"] = f[stages[2]] - f[stages[3]]
            seeds.append([counts[c] / max(1, f[stages[0]]) for c in classes] + [counts[c] for c in classes])
        table[str(label)] = np.asarray(seeds, dtype=float)

    ax = target_axes(ax, 2.2 + 1.5 * len(classes), 3.8)
    width = 0.8 / len(table)
    x = np.arange(len(classes))
    colours = matplotlib.colormaps["tab10"]
    for k, (label, rows) in enumerate(table.items()):
        pos = x - 0.4 + width * (k + 0.5)
        fractions, numbers = rows[:, :len(classes)], rows[:, len(classes):]
        mean = fractions.mean(axis=0)
        hatch = ["//" if c == "unresolved" else "" for c in classes]
        for i in range(len(classes)):
            ax.bar(pos[i], mean[i], width * 0.92, color=colours(k), alpha=0.75 if classes[i] != "unresolved" else 0.35,
                   hatch=hatch[i], edgecolor=colours(k), label=f"{label} ({len(rows)} seed{'s' * (len(rows) != 1)})"
                   if i == 0 else None)
            top = max(mean[i], fractions[:, i].max())
            ax.text(pos[i], top + 0.02, f"{numbers[:, i].mean():.0f}", ha="center", va="bottom", fontsize=6)
        ax.scatter(np.repeat(pos[None], len(rows), axis=0).ravel(), fractions.ravel(), s=6, color="0.15", zorder=4)
    ax.set_xticks(x, [c.replace("nx and ny resolved", "nx, ny resolved").replace(" the reference", "\nthe")
                      .replace("unresolved", "unresolved\n(own class)") for c in classes], fontsize=8)
    ax.set_ylim(0, 1.12)
    ax.set_ylabel("fraction of all units (mean over seeds; dots: seeds)")
    ax.legend(fontsize=7, frameon=False, loc="upper right")
    ax.set_title(title or "Selection funnel" + (f" ({population})" if population else ""), fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    return save_drawing(ax, path, dpi)


@seed_alias
def property_distributions(model_table: Mapping[str, np.ndarray], label: str = "model",
                           properties: Sequence[str] | None = None, *, n_bootstrap: int = 1000, random_state: int = 0,
                           title: str | None = None, axes: Sequence[Axes] | None = None,
                           path: str | os.PathLike[str] | None = None, dpi: int = DEFAULT_DPI) -> list[Axes]:
    """Model property histograms against the V1 histograms, one panel per property.

    ``model_table``: columns of an ``effcode.gabor`` tuning table (see
    ``effcode.v1.TABLE_COLUMNS``). ``properties`` defaults to those of circular variance,
    orientation bandwidth, peak SF and SF bandwidth found in the table. Each panel shows the
    fraction of cells per reference bin (cells with a defined value; model values clipped
    into the outer bins as the metric does), how many cells had no value, and the ceiled
    Brain-Score similarity (:func:`effcode.v1.distribution_similarity`).

    ``axes``: draw the panels into these Axes of yours, one per property in order (e.g.
    ``plt.subplots(2, 2)[1].ravel()`` or ``subfig.subplots(2, 2).ravel()``); ``title`` then goes
    above the figure (or subfigure) of the first.  Without it a new pyplot figure with a grid of
    two columns is made.  Returns the list of Axes drawn into; given ``path``, the whole figure is
    saved as ``<path>.png/.pdf``.

    Parameters
    ----------
    model_table : mapping of str to ndarray
        Columns of a tuning table.
    label : str, default "model"
        The model's name in the legend.
    properties : sequence of str or None, default None
        The properties shown, one panel each (None: those the table allows).
    n_bootstrap : int, default 1000
        Bootstrap draws of the similarity.
    random_state : int, default 0
        Seed of the draws.
    title : str or None, default None
        Title above the figure (None: none).
    axes : sequence of matplotlib.axes.Axes or None, default None
        Axes of your own to draw the panels into (None: a new pyplot figure).
    path : str or os.PathLike or None, default None
        Where to save the whole figure, without suffix (None: not saved).
    dpi : int, default DEFAULT_DPI
        Resolution of the PNG, dots per inch.
    """
    if not isinstance(model_table, Mapping):
        raise InputError(f"model_table must be a dict of columns, got {type(model_table).__name__}")
    if properties is None:
        properties = [p for p in DEFAULT_PROPERTIES
                      if all(c in model_table for c in v1.TABLE_COLUMNS[p])]
        if not properties:
            raise InputError("model_table has none of the columns "
                             + ", ".join(c for p in DEFAULT_PROPERTIES for c in v1.TABLE_COLUMNS[p]))
    values = v1.model_property_values(model_table, list(properties))

    if axes is None:
        n_cols = min(2, len(values))
        n_rows = math.ceil(len(values) / n_cols)
        fig = new_figure(5.0 * n_cols, 3.6 * n_rows)
        axes = [fig.add_subplot(n_rows, n_cols, k + 1) for k in range(len(values))]
    else:
        axes = _panel_axes(axes, list(values))
    for ax, (name, model_values) in zip(axes, values.items()):
        ref = v1.property_reference(name)
        mapped = ref.to_reference_units(model_values)
        defined = mapped[~np.isnan(mapped)]
        model_p = np.bincount(bin_index(defined, ref.edges), minlength=ref.counts.size) / max(defined.size, 1)
        score = v1.distribution_similarity(model_values, name, n_bootstrap=n_bootstrap, random_state=random_state)
        ax.stairs(ref.probabilities, ref.edges, fill=True, color="0.75",
                  label=f"V1: {ref.dataset} (n = {ref.n_cells}, {ref.n_undefined} undefined)")
        ax.stairs(model_p, ref.edges, color="tab:red", linewidth=1.8,
                  label=f"{label} (n = {mapped.size}, {mapped.size - defined.size} undefined)")
        if ref.scale == "log2":
            ax.set_xscale("log", base=2)
        elif ref.scale == "log10":
            ax.set_xscale("log")
        ax.set_xlim(ref.edges[0], ref.edges[-1])
        ax.set_xlabel(AXIS_LABELS[name])
        ax.set_ylabel("fraction of cells with a value")
        ax.set_title(f"{SHORT_NAMES[name]}: score {score['score']:.2f} "
                     f"(raw {score['raw']:.2f}, ceiling {score['ceiling']:.3f})", fontsize=9)
        ax.legend(fontsize=7, frameon=False)
    if title:
        axes[0].figure.suptitle(title, fontsize=10)
    save_drawing(axes[0], path, dpi)
    return axes


def _panel_axes(axes, names: list[str]) -> list[Axes]:
    """``axes`` (an Axes, or a sequence or array of them) as a list of one Axes per property in ``names``."""
    expected = (f"axes must be {len(names)} matplotlib Axes, one per property "
                f"({', '.join(names)}), e.g. plt.subplots(...)[1].ravel()")
    if isinstance(axes, Axes):
        axes = [axes]
    elif isinstance(axes, (str, bytes, Mapping)) or not isinstance(axes, (Sequence, np.ndarray)):
        raise InputError(f"{expected}; got {type(axes).__name__}")
    axes = list(np.ravel(np.asarray(axes, dtype=object))) if isinstance(axes, np.ndarray) else list(axes)
    wrong = [type(a).__name__ for a in axes if not isinstance(a, Axes)]
    if wrong:
        raise InputError(f"{expected}; got {wrong[0]} among them")
    if len(axes) != len(names):
        raise InputError(f"{expected}; got {len(axes)}")
    return axes


def _score_value(entry, where: str) -> float:
    if isinstance(entry, Mapping):
        if "score" not in entry:
            raise InputError(f"{where} is a dict without a 'score' key")
        entry = entry["score"]
    try:
        return float(entry)
    except (TypeError, ValueError):
        raise InputError(f"{where} must be a number or a dict with 'score', got {entry!r}") from None


def similarity_table(scores: Mapping[str, Mapping[str, object]], *, title: str | None = None, ax: Axes | None = None,
                     path: str | os.PathLike[str] | None = None, dpi: int = DEFAULT_DPI) -> Axes:
    """Table figure of ceiled similarity scores: one row per V1 property, one column per
    model (``scores[label][property]`` = a number or a result dict with ``score``), plus the
    ceiling computed here (``effcode.v1.ceiling``, seed 0) and the published Brain-Score
    ceiling; a last row gives each model's mean over the properties it has. Cells are
    shaded from red (0) to green (1), and each cell's score is written in it.

    ``ax``: draw into this axes of your own figure; without it a new pyplot figure is made.  Returns
    the Axes drawn into; given ``path``, its whole figure is saved as ``<path>.png/.pdf``.

    Parameters
    ----------
    scores : mapping of str to mapping
        Per model, the score of each property (a number or a result dict).
    title : str or None, default None
        The title (None: a default one).
    ax : matplotlib.axes.Axes or None, default None
        Axes of your own figure to draw into (None: a new pyplot figure).
    path : str or os.PathLike or None, default None
        Where to save the whole figure, without suffix (None: not saved).
    dpi : int, default DEFAULT_DPI
        Resolution of the PNG, dots per inch.
    """
    if not isinstance(scores, Mapping) or not scores:
        raise InputError("scores must be a non-empty dict {label: {property: score}}")
    known = v1.property_names()
    table = {}
    for label, per_property in scores.items():
        if not isinstance(per_property, Mapping) or not per_property:
            raise InputError(f"scores[{label!r}] must be a non-empty dict {{property: score}}")
        for name, entry in per_property.items():
            if name not in known:
                raise InputError(f"scores[{label!r}] has unknown property {name!r}; "
                                 f"known: {', '.join(known)}")
            table[(label, name)] = _score_value(entry, f"scores[{label!r}][{name!r}]")
    labels = [str(label) for label in scores]
    rows = [name for name in known if any((label, name) in table for label in scores)]

    cmap = matplotlib.colormaps["RdYlGn"]
    cells: list[list[str]] = []
    colours: list[list] = []
    for name in rows:
        ref = v1.property_reference(name)
        row = [table.get((label, name)) for label in scores]
        cells.append([f"{s:.3f}" if s is not None else "–" for s in row]
                     + [f"{v1.ceiling(name):.3f}", f"{ref.published_ceiling:.3f}"])
        colours.append([cmap(s, alpha=0.55) if s is not None else "white" for s in row] + ["0.93", "0.93"])
    means = [np.mean([table[(label, n)] for n in rows if (label, n) in table]) for label in scores]
    cells.append([f"{m:.3f}" for m in means] + ["", ""])
    colours.append([cmap(m, alpha=0.55) for m in means] + ["0.93", "0.93"])
    row_labels = [f"{SHORT_NAMES[n]} ({v1.property_reference(n).dataset})" for n in rows] + ["mean"]

    ax = target_axes(ax, 3.2 + 1.25 * (len(labels) + 2), 1.0 + 0.32 * len(cells))
    ax.set_axis_off()
    tab = ax.table(cellText=cells, cellColours=colours, rowLabels=row_labels,
                   colLabels=labels + ["ceiling", "published\nceiling"], loc="center", cellLoc="center")
    tab.auto_set_font_size(False)
    tab.set_fontsize(8)
    tab.scale(1.0, 1.3)
    ax.set_title(title or "V1 distribution similarity (KS, ceiled; 1 = as close as V1 resamples)",
                 fontsize=10)
    return save_drawing(ax, path, dpi)
