"""The code a computation depends on, as a hash: what makes the cache forget results of old code.

A cached step or sweep point is keyed on its parameters *and* on :func:`code_hash` of the module
that defines its compute function.  That hash covers the source of the module and, transitively,
of every module of the same top-level package (and of effcode) that it imports, wherever the import
sits (a function-level ``from ..learners import X`` counts), plus effcode's version.  Editing any of
those files changes the hash, so the step is recomputed; editing a module it does not import (a
figure function, another experiment) leaves its cache valid.

The import graph is read from the source with :mod:`ast`, without importing anything, and each
file's imports are remembered by its modification time and size.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import os
from functools import lru_cache
from pathlib import Path
from typing import Callable

PACKAGE = "effcode"


@lru_cache(maxsize=None)
def _root_folder(root: str) -> Path | None:
    """The folder holding top-level module or package ``root`` (found without importing it)."""
    try:
        spec = importlib.util.find_spec(root)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return None
    origin = Path(spec.origin)
    return origin.parent.parent if origin.name == "__init__.py" else origin.parent


def _module_file(name: str) -> Path | None:
    """The source file of module ``name``, or None for a module without Python source here."""
    folder = _root_folder(name.split(".")[0])
    if folder is None:
        return None
    stem = folder.joinpath(*name.split("."))
    for path in (stem.with_suffix(".py"), stem / "__init__.py"):
        if path.is_file():
            return path
    return None


def _submodules(package: str) -> list[str]:
    """Every module of ``package`` (for packages that import their modules by name at run time)."""
    path = _module_file(package)
    if path is None or path.name != "__init__.py":
        return []
    return [f"{package}.{p.stem}" for p in sorted(path.parent.glob("*.py")) if p.name != "__init__.py"]


def _resolve(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    """The absolute module name an ``from X import ...`` statement of ``module`` refers to."""
    if node.level == 0:
        return node.module or ""
    parts = module.split(".")
    base = parts if is_package else parts[:-1]
    base = base[:len(base) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


@lru_cache(maxsize=None)
def _imports(path: Path, mtime_ns: int, size: int, module: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The absolute names of the modules ``module`` (source ``path``) imports: those named in
    import statements (candidates for submodules included: ``from .x import y`` may import the
    submodule ``x.y``), and those it loads by walking its package (all its modules)."""
    tree = ast.parse(path.read_bytes(), filename=str(path))
    is_package = path.name == "__init__.py"
    names, dynamic = [], []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(node, module, is_package)
            members = [f"{target}.{alias.name}" for alias in node.names if alias.name != "*"]
            if not members or not all(_module_file(m) for m in members):
                names.append(target)   # uses what the package itself offers, not only its modules
            names += members
        elif _walks_its_package(node):   # then imports each module by a computed name
            package = module if is_package else module.rpartition(".")[0]
            dynamic += _submodules(package)
    return tuple(names), tuple(dynamic)


def _walks_its_package(node: ast.AST) -> bool:
    """Whether ``node`` calls ``iter_modules`` (``pkgutil.iter_modules`` or bare): the mark of a
    package that imports all its modules (a registry filling itself)."""
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    return (isinstance(func, ast.Attribute) and func.attr == "iter_modules") or (
        isinstance(func, ast.Name) and func.id == "iter_modules")


def _parents(name: str) -> list[str]:
    """``a.b.c`` -> ``["a", "a.b"]``: importing a submodule runs its packages' ``__init__``."""
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def module_closure(module: str) -> dict[str, Path]:
    """Every module ``module`` depends on (itself included) within its own top-level package and
    effcode, as name -> source file.

    A package whose ``__init__`` walks its folder to import every module (a registry filling itself)
    depends on all of them when it is imported for what it offers; when it is only the parent of
    an imported submodule, its own file counts but not the modules it registers."""
    roots = {module.split(".")[0], PACKAGE}
    seen: dict[str, Path] = {}
    explicit: set[str] = set()
    not_modules: set[str] = set()   # imported names without a source file (``from .x import function``)
    todo = [(module, True)]
    while todo:
        name, imported = todo.pop()
        if (name in explicit or name in not_modules or (name in seen and not imported)
                or name.split(".")[0] not in roots):
            continue
        path = _module_file(name)
        if path is None:
            not_modules.add(name)
            continue
        seen[name] = path
        stat = os.stat(path)
        static, dynamic = _imports(path, stat.st_mtime_ns, stat.st_size, name)
        todo += [(parent, False) for parent in _parents(name)] + [(m, True) for m in static]
        if imported:
            explicit.add(name)
            todo += [(m, True) for m in dynamic]
    return seen


@lru_cache(maxsize=None)
def _file_digest(path: Path, mtime_ns: int, size: int) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def code_hash(target: "str | Callable") -> str:
    """A sha256 (hex) of the source of ``target``'s module and everything it imports (see the
    module docstring), and of effcode's version.  ``target`` is a module name or a function."""
    from .. import __version__

    module = target if isinstance(target, str) else target.__module__
    digest = hashlib.sha256(f"effcode {__version__}\n".encode())
    for name, path in sorted(module_closure(module).items()):
        stat = os.stat(path)
        digest.update(f"{name} {_file_digest(path, stat.st_mtime_ns, stat.st_size)}\n".encode())
    return digest.hexdigest()
