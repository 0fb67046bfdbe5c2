"""One registry pattern, name -> factory, shared by sources, objectives, learners and experiments."""

from __future__ import annotations

from typing import Any, Callable, Dict, Generic, Iterator, TypeVar, cast

from .errors import InputError

#: what a registry holds: factories (classes or functions), or declarations
T = TypeVar("T")


class Registry(Generic[T]):
    """A mapping from a short name to a factory (a class or a function).

    Parameters
    ----------
    kind : str
        What the registered factories make, used in error messages (e.g. ``"learner"``).

    Examples
    --------
    >>> shapes = Registry("shape")
    >>> @shapes.register("square")
    ... def square(side):
    ...     return side * side
    >>> shapes.create("square", 3)
    9
    """

    #: how many times any registry's contents changed (code hashes that follow registries are remembered
    #: until it moves: :func:`effcode.runs.codehash.code_hash`)
    changes = 0

    def __init__(self, kind: str):
        self.kind = kind
        self._factories: Dict[str, T] = {}

    def register(self, name: str, factory: T | None = None, *, overwrite: bool = False) -> Any:
        """Register ``factory`` under ``name``; usable as ``@registry.register("name")``.

        Parameters
        ----------
        name : str
            The short name.
        factory : class or callable or None, default None
            The factory (None: return a decorator that registers what it decorates).
        overwrite : bool, default False
            Whether to replace a factory already registered under ``name``.
        """
        if not isinstance(name, str) or not name:
            raise InputError(f"{self.kind} name must be a non-empty string, got {name!r}")

        def add(obj: T) -> T:
            if name in self._factories and not overwrite and self._factories[name] is not obj:
                raise InputError(f"{self.kind} {name!r} is already registered; pass overwrite=True to replace it")
            self._factories[name] = obj
            Registry.changes += 1
            return obj

        return add if factory is None else add(factory)

    def unregister(self, name: str) -> None:
        self.get(name)
        del self._factories[name]
        Registry.changes += 1

    def get(self, name: str) -> T:
        """The factory registered under ``name``; a clear error lists the known names otherwise.

        Parameters
        ----------
        name : str
            The short name.
        """
        try:
            return self._factories[name]
        except (KeyError, TypeError):
            known = ", ".join(sorted(self._factories)) or "(none)"
            raise InputError(f"unknown {self.kind} {name!r}; expected one of: {known}") from None

    def create(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """What the factory registered under ``name`` makes of ``args`` and ``kwargs``.

        Parameters
        ----------
        name : str
            The short name.
        *args
            Positional arguments of the factory.
        **kwargs
            Keyword arguments of the factory.
        """
        return cast(Callable[..., Any], self.get(name))(*args, **kwargs)

    def names(self) -> list[str]:
        return sorted(self._factories)

    def __contains__(self, name: object) -> bool:
        return name in self._factories

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._factories)
