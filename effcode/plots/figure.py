"""Figure creation and atomic PNG + PDF saving.

A plot function called without ``ax=`` (``axes=``) makes its figure with
``matplotlib.pyplot.figure`` (constrained layout), so the figure is registered with pyplot like
any figure of your own: ``plt.show()`` and Jupyter display it, ``plt.get_fignums()`` lists it and
``plt.close(fig)`` (or ``plt.close("all")``) frees it.  Inside ``with headless_figures():`` new
figures are instead plain :class:`matplotlib.figure.Figure` objects that pyplot never sees,
rendered only by the Agg (PNG) and PDF backends and freed as soon as they are no longer
referenced; the experiments draw their many figures that way (:func:`effcode.experiments.base.draw`,
in worker processes), so memory does not grow and pyplot is not even imported.  Inside
``with figure_formats(("png",)):`` figures are saved as PNG only (quick runs: the PDF rendering is
half of their figure time).
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Iterator

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..errors import InputError
from ..storage.atomic import atomic_path
from ..validation import check_int

#: Default resolution of saved PNGs (dots per inch): small files, still legible.
DEFAULT_DPI = 110
#: the formats :func:`save_figure` writes, in order
FORMATS = ("png", "pdf")
_formats: ContextVar[tuple[str, ...]] = ContextVar("figure_formats", default=FORMATS)
_max_dpi: ContextVar[int | None] = ContextVar("figure_max_dpi", default=None)
_headless: ContextVar[bool] = ContextVar("headless_figures", default=False)


@contextmanager
def figure_formats(formats: tuple[str, ...], *, max_dpi: int | None = None) -> Iterator[None]:
    """Save figures in ``formats`` (a non-empty subset of :data:`FORMATS`, in that order) inside the block,
    at no more than ``max_dpi`` dots per inch when it is given (quick runs: a draft resolution)."""
    if not formats or any(f not in FORMATS for f in formats):
        raise InputError(f"formats must be a non-empty subset of {FORMATS}, got {formats!r}")
    if max_dpi is not None:
        check_int("max_dpi", max_dpi, minimum=20, maximum=600)
    tokens = _formats.set(tuple(f for f in FORMATS if f in formats)), _max_dpi.set(max_dpi)
    try:
        yield
    finally:
        _formats.reset(tokens[0])
        _max_dpi.reset(tokens[1])


@contextmanager
def headless_figures() -> Iterator[None]:
    """Inside the block, new figures are plain :class:`~matplotlib.figure.Figure` objects that pyplot never
    registers (no ``plt.get_fignums()`` entry, nothing for ``plt.show()``), freed once unreferenced."""
    token = _headless.set(True)
    try:
        yield
    finally:
        _headless.reset(token)


def new_figure(width: float, height: float) -> Figure:
    """A figure of ``width`` x ``height`` inches with constrained layout: made through
    ``matplotlib.pyplot.figure`` (registered with pyplot), or a plain Figure inside :func:`headless_figures`."""
    if _headless.get():
        return Figure(figsize=(width, height), layout="constrained")
    import matplotlib.pyplot as plt     # imported only here: headless drawing never loads pyplot

    return plt.figure(figsize=(width, height), layout="constrained")


def save_figure(fig: Figure, path_without_suffix: str | os.PathLike, dpi: int = DEFAULT_DPI) -> list[Path]:
    """Write ``fig`` to ``<path>.png`` (``dpi`` dots per inch) and ``<path>.pdf`` (only the PNG inside
    ``figure_formats(("png",))``).

    Each file is written to a temporary file and renamed, so a reader never sees a partial
    figure. Returns the paths written, ``[png, pdf]``.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure to save.
    path_without_suffix : str or os.PathLike
        The path of both files, without ``.png`` or ``.pdf``.
    dpi : int, default DEFAULT_DPI
        Resolution of the PNG, dots per inch.
    """
    if not isinstance(fig, Figure):
        raise InputError(f"fig must be a matplotlib Figure, got {type(fig).__name__}")
    dpi = check_int("dpi", dpi, minimum=20, maximum=600)
    limit = _max_dpi.get()
    if limit is not None:
        dpi = min(dpi, limit)
    base = os.fspath(path_without_suffix)
    if Path(base).suffix.lower() in (".png", ".pdf"):
        raise InputError(f"path_without_suffix must not end in .png/.pdf (both are written), got {base!r}")
    written = []
    for fmt in _formats.get():
        target = Path(f"{base}.{fmt}")
        metadata = {"CreationDate": None} if fmt == "pdf" else {"Software": None}
        with atomic_path(target) as tmp:
            fig.savefig(tmp, format=fmt, dpi=dpi, metadata=metadata)
        written.append(target)
    return written


def maybe_save(fig: Figure, path, dpi: int) -> Figure:
    """Save ``fig`` with :func:`save_figure` when ``path`` is given; return ``fig``."""
    if path is not None:
        save_figure(fig, path, dpi=dpi)
    return fig


def target_axes(ax, width: float, height: float) -> Axes:
    """``ax`` when the caller gives one (a panel of their own figure), else the axes of a new
    ``width`` x ``height`` inch figure."""
    if ax is None:
        return new_figure(width, height).add_subplot()
    if not isinstance(ax, Axes):
        raise InputError(f"ax must be a matplotlib Axes, got {type(ax).__name__}")
    return ax


def save_drawing(drawn, path, dpi: int):
    """Save the whole figure that holds ``drawn`` (Axes, Figure or SubFigure) when ``path`` is given;
    return ``drawn``."""
    if path is not None:
        root = drawn.figure if isinstance(drawn, Axes) else drawn
        while not isinstance(root, Figure):
            root = root.figure
        save_figure(root, path, dpi=dpi)
    return drawn
