"""effcode: efficient-coding experiments on natural images.

Learn filters (sparse coding, ICA, a sparsity-penalised CNN), score how Gabor-like
they are, and compare the population with measured V1 statistics.

``import effcode`` is fast: the subpackages (``effcode.data``, ``effcode.learners``,
``effcode.objectives``, ``effcode.gabor``, ``effcode.v1``, ``effcode.encoding``,
``effcode.plots``) are imported on first use, so ``effcode.gabor.fit_gabors`` works
without importing ``effcode.gabor`` first and torch loads only when a subpackage needs it.
"""

import importlib

#: The package version: the one source, read by setuptools (pyproject's dynamic version).
__version__ = "0.1.0"

#: Public subpackages, imported on first attribute access.
SUBPACKAGES = ("data", "learners", "objectives", "gabor", "v1", "encoding", "plots")

#: Shortcuts at the top level: name -> the subpackage that defines it.
SHORTCUTS = {"learn_filters": "learners", "FilterBank": "learners", "LEARNERS": "learners",
             "load_images": "data"}


def __getattr__(name):
    if name in SUBPACKAGES:
        return importlib.import_module(f"{__name__}.{name}")
    if name in SHORTCUTS:
        return getattr(importlib.import_module(f"{__name__}.{SHORTCUTS[name]}"), name)
    raise AttributeError(f"module 'effcode' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(SUBPACKAGES) | set(SHORTCUTS))


__all__ = ["__version__", *SUBPACKAGES, *SHORTCUTS]
