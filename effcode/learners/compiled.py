"""Every compiled (numba) kernel of effcode, and one call that compiles them all.

A kernel is compiled the first time an installation calls it and kept in numba's on-disk cache
(:mod:`effcode.numba_cache` says where); later processes load it.  :func:`compile_all` pays that once,
at installation: the install commands of the README end with ``effcode compile``, which calls it, so no
fit or experiment compiles.
"""

from __future__ import annotations

import time

from .. import prox_kernels
from . import coordinate_descent, lca_kernel, lif

#: what each kernel computes -> the function that compiles it for every dtype effcode calls it with
KERNELS = {
    "coordinate descent (l1 and nonneg_l1 codes)": coordinate_descent.compile_kernels,
    "LCA (l0 and top-k codes)": lca_kernel.compile_kernels,
    "Cauchy prox": prox_kernels.compile_kernels,
    "SAILnet's integrate-and-fire network": lif.compile_kernels,
}


def compile_all() -> dict[str, float]:
    """Compile (or load from the cache) every kernel; returns the seconds each took, by kernel."""
    seconds = {}
    for name, compile_kernel in KERNELS.items():
        start = time.perf_counter()
        compile_kernel()
        seconds[name] = time.perf_counter() - start
    return seconds


__all__ = ["KERNELS", "compile_all"]
