"""Parameter and array validation, in one place.

Each check raises :class:`effcode.errors.InputError` with a message that names the
input and says what was expected.
"""

from __future__ import annotations

import functools
import numbers
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, TypeVar, cast

import numpy as np

from .errors import InputError, InputTypeError

if TYPE_CHECKING:   # torch is imported where it is used, so that importing effcode stays light
    import torch


def is_integer(value) -> bool:
    """Whether ``value`` is an integer (Python or numpy), not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_int(name: str, value, *, minimum: int | None = 1, maximum: int | None = None) -> int:
    """``value`` as an int in [minimum, maximum]."""
    if not is_integer(value):
        raise InputError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
    value = int(value)
    if minimum is not None and value < minimum:
        raise InputError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise InputError(f"{name} must be <= {maximum}, got {value}")
    return value


def check_float(name: str, value, *, minimum: float | None = None, maximum: float | None = None,
                strict_minimum: bool = False) -> float:
    """``value`` as a finite float, optionally bounded (``strict_minimum``: value > minimum)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InputError(f"{name} must be a number, got {value!r} ({type(value).__name__})")
    value = float(value)
    if not np.isfinite(value):
        raise InputError(f"{name} must be finite, got {value}")
    if minimum is not None:
        if strict_minimum and value <= minimum:
            raise InputError(f"{name} must be > {minimum}, got {value}")
        if not strict_minimum and value < minimum:
            raise InputError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise InputError(f"{name} must be <= {maximum}, got {value}")
    return value


def check_window_growth(value, where: str) -> None:
    """a number g >= 1 (a constant window growth) or [g_0, g_inf, tau] (falling from g_0 to g_inf, both >= 1, with
    the time constant tau > 0 updates)"""
    window_growth_schedule(value, where)


def window_growth_schedule(value, where: str) -> tuple[float, float, float]:
    """A window growth (:func:`check_window_growth`) as (g_0, g_inf, tau); a constant g as (g, g, 1)."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        growth = check_float(where, value, minimum=1.0)
        return growth, growth, 1.0
    if not isinstance(value, (list, tuple)) or len(value) != 3:
        raise InputError(f"{where} must be a number >= 1 (a constant window growth g) or (g_0, g_inf, tau), three "
                         f"numbers; got {value!r}")
    early, late, settling = value
    return (check_float(f"{where} g_0", early, minimum=1.0), check_float(f"{where} g_inf", late, minimum=1.0),
            check_float(f"{where} tau", settling, minimum=0.0, strict_minimum=True))


def check_choice(name: str, value, choices) -> str:
    """``value`` if it is one of ``choices``."""
    choices = list(choices)
    if value not in choices:
        raise InputError(f"{name} must be one of {', '.join(map(str, choices))}; got {value!r}")
    return value


def check_array(name: str, array, *, ndim: int | tuple[int, ...] | None = None, finite: bool = True,
                dtype=np.float64, min_size: int = 1) -> np.ndarray:
    """``array`` as a real numeric numpy array of ``dtype``, with ``ndim`` dimensions and no NaN/Inf.

    Refused with one-line messages: scipy.sparse matrices (dense arrays expected), complex values,
    objects that are not numbers, a 1-D array where a 2-D table is expected, and empty arrays.  A
    2-D array is a table (n_samples, n_features) and must have at least one of each.  Arrays of
    Python numbers (dtype object) are converted.
    """
    if _is_sparse(array):
        raise InputError(f"{name} is a scipy.sparse {type(array).__name__}; sparse input is not supported, "
                         f"expected a dense array (pass {name}.toarray())")
    try:
        arr = np.asarray(array)
    except Exception as exc:  # ragged lists and other non-arrays
        raise InputError(f"{name} must be an array, could not convert: {exc}") from None
    if np.iscomplexobj(arr):
        raise InputError(f"{name} has complex values (dtype {arr.dtype}): Complex data not supported; expected real "
                         f"numbers (pass {name}.real or abs({name}))")
    if arr.dtype == object:
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise InputTypeError(f"{name} must hold numbers only; an element could not be converted: {exc}") from None
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise InputError(f"{name} must be a numeric array, got dtype {arr.dtype}")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            shapes = " or ".join(f"{d}-D" for d in allowed)
            hint = ("; Reshape your data: X.reshape(-1, 1) if it holds one feature, X.reshape(1, -1) if it holds "
                    "one sample" if allowed == (2,) and arr.ndim == 1 else "")
            raise InputError(f"{name} must be a {shapes} array, got shape {arr.shape}{hint}")
    if ndim == 2:
        for axis, what in ((0, "sample"), (1, "feature")):
            if arr.shape[axis] == 0:
                raise InputError(f"{name} has 0 {what}(s) (shape={arr.shape}) while a minimum of 1 is required.")
    if arr.size < min_size:
        raise InputError(f"{name} must hold at least {min_size} value(s), got shape {arr.shape}")
    if dtype is not None:
        arr = arr.astype(dtype, copy=False)
    if finite and np.issubdtype(arr.dtype, np.floating) and not all_finite(arr):
        raise InputError(f"{name} contains NaN or Inf values")
    return arr


def _is_sparse(array) -> bool:
    """Whether ``array`` is a scipy.sparse matrix or array (scipy is imported only if it already is)."""
    import sys

    sparse = sys.modules.get("scipy.sparse")
    return sparse is not None and sparse.issparse(array)


def check_n_features(name: str, X: np.ndarray | torch.Tensor, n_features: int, estimator) -> None:
    """A one-line error when the table ``X`` (n, d) does not have the ``n_features`` columns that
    ``estimator`` was fitted on (scikit-learn's wording)."""
    if X.shape[1] != n_features:
        raise InputError(f"{name} has {X.shape[1]} features, but {type(estimator).__name__} is expecting "
                         f"{n_features} features as input (the number of columns it was fitted on)")


def resolve_device(device) -> torch.device:
    """A torch device from a name such as "cpu", "cuda" or "cuda:1"; clear error if unavailable."""
    import torch

    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise InputError(f"device must be 'cpu', 'cuda' or 'cuda:N', got {device!r}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InputError(f"device {device!r} was requested but CUDA is not available on this machine")
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise InputError(f"device {device!r} was requested but this PyTorch build has no MPS (Apple GPU) support "
                         "on this machine; use 'cpu' or 'cuda'")
    if dev.type not in ("cpu", "cuda", "mps"):
        raise InputError(f"device must be 'cpu', 'cuda' or 'cuda:N', got {device!r}")
    return dev


def check_random_state(seed, name: str = "seed") -> np.random.Generator:
    """A numpy Generator from ``seed``, as scikit-learn reads ``random_state``.

    None: fresh entropy (a different result on every call); an int >= 0: a new Generator seeded with
    it (the same result every time); a ``np.random.RandomState``: a Generator seeded from it (drawing
    from it, so it advances); a ``np.random.Generator``: used as it is (it advances too).
    """
    if seed is None:
        return np.random.default_rng()
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, np.random.RandomState):
        return np.random.default_rng(seed.randint(0, 2**32, size=4, dtype=np.uint64))
    if not is_integer(seed):
        raise InputError(f"{name} must be None, an integer >= 0, a numpy RandomState or a numpy Generator, "
                         f"got {seed!r} ({type(seed).__name__})")
    return np.random.default_rng(check_int(name, seed, minimum=0))


_F = TypeVar("_F", bound=Callable[..., Any])


def seed_alias(function: _F) -> _F:
    """Accept ``seed=`` as a deprecated keyword alias of ``function``'s ``random_state``.

    ``seed=`` still works for one release, with a :class:`FutureWarning`; giving both is an
    :class:`~effcode.errors.InputError`.  Every public function and method that takes a seed is
    decorated with this one helper, so the alias behaves the same everywhere.
    """
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if "seed" in kwargs:
            if "random_state" in kwargs:
                raise InputError(f"{function.__qualname__} got seed={kwargs['seed']!r} and "
                                 f"random_state={kwargs['random_state']!r}; give random_state only")
            warnings.warn("`seed` is deprecated, use `random_state`", FutureWarning, stacklevel=2)
            kwargs["random_state"] = kwargs.pop("seed")
        return function(*args, **kwargs)

    return cast(_F, wrapper)


def seed_from(random_state, name: str = "random_state") -> int:
    """An integer seed from ``random_state`` (read as :func:`check_random_state` reads it): the int
    itself, or a number drawn from the None/RandomState/Generator, for code that seeds torch."""
    if is_integer(random_state):
        return check_int(name, random_state, minimum=0)
    return int(check_random_state(random_state, name).integers(2**31))


def all_finite(array) -> bool:
    """No NaN or Inf in ``array`` (numpy array or torch tensor): a finite sum proves it (NaN and Inf
    propagate through sums) in one pass without a temporary; only when the sum is not finite (also when
    it overflows) is every element tested."""
    import math

    with np.errstate(over="ignore", invalid="ignore"):
        return math.isfinite(float(array.sum())) or bool((abs(array) < math.inf).all())


def check_tensor(name: str, X, device) -> torch.Tensor:
    """X (numpy array or torch tensor) as a validated, non-empty, real float32 (n, d) tensor on ``device``
    (the checks of :func:`check_array`)."""
    import torch

    if not isinstance(X, torch.Tensor):
        return torch.from_numpy(np.ascontiguousarray(check_array(name, X, ndim=2, dtype=np.float32))).to(device)
    if X.is_complex():
        raise InputError(f"{name} has complex values (dtype {X.dtype}): Complex data not supported; expected real "
                         "numbers")
    tensor = X.detach().to(device=device, dtype=torch.float32)
    if tensor.ndim != 2 or tensor.numel() == 0:
        raise InputError(f"{name} must be a non-empty 2-D array, got shape {tuple(tensor.shape)}")
    if not all_finite(tensor):
        raise InputError(f"{name} contains NaN or Inf values")
    return tensor


def check_results_folder(path) -> Path:
    """The results folder ``path``, created if needed and checked writable before any computation;
    a one-line :class:`InputError` when it is a file or cannot be written."""
    import tempfile

    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise InputError(f"results folder {folder} is a file; expected a folder (give --results a directory)")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-test-"):
            pass
    except OSError as exc:
        raise InputError(f"results folder {folder} is not writable ({exc.strerror or exc}); expected a folder "
                         "this user can write to") from None
    return folder


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation on this machine (None if unknown)."""
    import os

    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except ImportError:
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def check_memory(nbytes: float, what: str, fix: str) -> None:
    """A one-line :class:`InputError` before allocating ``nbytes`` for ``what`` when that exceeds the
    memory available now; ``fix`` names the parameter to change."""
    available = available_memory()
    if available is not None and nbytes > available:
        raise InputError(f"{what} needs about {nbytes / 2**30:.1f} GiB, more than the {available / 2**30:.1f} GiB "
                         f"available; {fix}")
