"""Reviewer-quality figures (matplotlib, Agg/PDF backends, no pyplot state).

Every plot function returns a :class:`matplotlib.figure.Figure` and, given ``path`` (no
suffix), writes ``path.png`` and ``path.pdf`` atomically through :func:`save_figure`.
"""

from .figure import DEFAULT_DPI, save_figure
from .filters import filter_mosaic, r2_histogram
from .v1 import nxny_scatter, property_distributions, similarity_table

__all__ = ["DEFAULT_DPI", "filter_mosaic", "nxny_scatter", "property_distributions", "r2_histogram",
           "save_figure", "similarity_table"]
