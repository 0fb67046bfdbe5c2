"""effcode: efficient-coding experiments on natural images.

Learn filters (sparse coding, ICA, a sparsity-penalised CNN), score how Gabor-like
they are, and compare the population with measured V1 statistics.
"""

__version__ = "0.1.0"


def __getattr__(name):
    # Lazy access keeps `import effcode` fast (torch is imported only when needed).
    if name in ("learn_filters", "FilterBank", "LEARNERS"):
        from . import learners

        return getattr(learners, name)
    if name == "load_images":
        from .data import load_images

        return load_images
    raise AttributeError(f"module 'effcode' has no attribute {name!r}")


__all__ = ["__version__", "learn_filters", "FilterBank", "LEARNERS", "load_images"]
