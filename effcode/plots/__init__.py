"""Reviewer-quality figures (matplotlib; PNG and PDF written atomically).

Every public plot function draws into an ``ax=`` of your own figure (``axes=``, one Axes per
property, for the multi-panel :func:`property_distributions`) or, without one, into a new figure
made through ``matplotlib.pyplot.figure`` (so ``plt.show()`` and Jupyter display it; close it with
``plt.close``), and returns what it drew into (the Axes, or the list of panel Axes). Inside
``with effcode.plots.figure.headless_figures():`` new figures are plain Figures that pyplot never
sees (the experiments draw that way). Every function works with only its data arguments. Given
``path`` (no suffix), the whole figure is written as ``path.png`` and ``path.pdf`` atomically
through :func:`save_figure`. Maps whose values matter carry a colour bar; panels compared with one
another share one colour scale.
"""

from .figure import DEFAULT_DPI, save_figure
from .filters import ecdf, filter_mosaic, r2_ecdf
from .v1 import (funnel_chart, nxny_scatter, property_distributions, ringach_count_colorbar, ringach_count_scale,
                 similarity_table)

__all__ = ["DEFAULT_DPI", "ecdf", "filter_mosaic", "funnel_chart", "nxny_scatter", "property_distributions",
           "r2_ecdf", "ringach_count_colorbar", "ringach_count_scale", "save_figure", "similarity_table"]
