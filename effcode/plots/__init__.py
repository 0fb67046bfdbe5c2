"""Reviewer-quality figures (matplotlib, Agg/PDF backends, no pyplot state).

Every public plot function draws into an ``ax=`` of your own figure (``fig=`` for the
multi-panel :func:`property_distributions`; a Figure or a SubFigure) or, without one, into a
new figure, and returns what it drew into (the Axes, or the figure of the panels). Given
``path`` (no suffix), the whole figure is written as ``path.png`` and ``path.pdf`` atomically
through :func:`save_figure`. Maps whose values matter carry a colour bar; panels compared
with one another share one colour scale.
"""

from .figure import DEFAULT_DPI, save_figure
from .filters import ecdf, filter_mosaic, r2_ecdf
from .v1 import (funnel_chart, nxny_scatter, property_distributions, ringach_count_colorbar, ringach_count_scale,
                 similarity_table)

__all__ = ["DEFAULT_DPI", "ecdf", "filter_mosaic", "funnel_chart", "nxny_scatter", "property_distributions",
           "r2_ecdf", "ringach_count_colorbar", "ringach_count_scale", "save_figure", "similarity_table"]
