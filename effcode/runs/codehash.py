"""The code a computation depends on, as a hash: what makes the cache forget results of old code.

A cached step or sweep point is keyed on its parameters *and* on :func:`code_hash` of its compute
function: a hash of effcode's version and of the source of every piece of code the function can
reach, found by :func:`reach`.  The reach starts at the compute function (a closure nested in another
function included: its node is found in its file by ``__code__.co_qualname`` and ``co_firstlineno``)
and follows, transitively, within effcode and the compute function's own top-level package (the
*roots*; code elsewhere, numpy or torch, counts only through effcode's version and the key):

* every name a reached piece of code reads, resolved at run time: in the closure cells of the
  function (``__closure__``/``co_freevars``; a cell holding a function, class or registry is
  followed, a cell holding data is not hashed: data belong in the step's key), in its globals
  (``__globals__``), or through its own function-level imports (``from ..data import x``);
* attribute chains on modules (``module.func``, ``helper.CONSTANT``), on classes (the class), and
  on known objects (``run.device``: the member of the object's class found by
  :func:`inspect.getattr_static`, when it is a method or property; instance data are not code);
* a function: its source (decorators, default values and nested functions included); a
  ``functools.wraps`` wrapper: what it wraps; a numba dispatcher: its ``py_func``; a bound method
  or ``functools.partial``: its function;
* a class: its whole source (every method) and its bases within the roots;
* ``self.name``/``cls.name``/``super().name`` in a method of a known class: that member of the
  class, of its bases and of its (imported) subclasses; ``getattr(self, computed)``: all of them whole;
* a method called on an object the source cannot name (``learner.fit_images(...)``, ``make().run()``):
  every method of that name in every class defined at module or class level in the roots (an
  index built from the modules' syntax trees), so subclasses' overrides count; an attribute read
  without a call: the properties of that name.  A local bound only to instances of classes outside
  the roots, or to results of functions outside them (``opt = torch.optim.Adam(...)``,
  ``with PIL.Image.open(p) as im``), is taken to be outside the roots (not for functions of
  ``copy``, ``pickle``, ``functools``, builtins and the like, or named ``load``/``copy``, which may
  return any object);
* a registry (:class:`effcode.registry.Registry`, or any object with ``names()`` and ``get()``):
  every registered object, wherever it is defined (user objectives and learners too).  For an
  object whose source cannot be found, ``repr`` of its ``version`` attribute counts if it has
  one, else its qualified name only (then an edit to it is not seen: give it a ``version``);
* a module-level value that is not code (a constant, a table, a registry): the source of the
  top-level statement(s) that assign it in the module that defines it (``from X import NAME`` is
  followed to ``X``), and the code those statements reach; where no such statement is found
  (a value made by a loop or by ``globals()``), the whole file of that module;
* a packaged data folder: if a reached function or class lives in a folder that holds a ``data/``
  folder which is not a Python package (``effcode/v1/data``), the bytes of every file in it;
* a module given by name (``code_hash("pkg.steps")``): all its top-level code.

What the reach cannot see, and how it copes:

* a name computed at run time: ``getattr(x, name)`` with a non-constant ``name`` (on ``self``: see
  above; on a module: that module's file; on a module outside the roots: nothing), and
  ``importlib.import_module``/``__import__`` of a non-constant module.  A reached function that
  does either brings in the whole import closure of its module (:func:`module_closure`, every
  file of it: the previous, module-wide rule);
* methods called implicitly by syntax on objects it cannot name (operators, ``x[i]``, ``len(x)``,
  ``with x:``, iteration), methods of classes defined inside functions found only by name, and a
  function passed in as an argument or stored in data (a callable in a closure cell is followed;
  one inside a list held by a cell is not);
* code outside the roots (third-party packages, the standard library), except registered objects;
  and this module itself (the hash, not the computation);
* a third-party function that returns an object of the roots (other than the loaders above);
* a module file edited after import changes the hash (its current source is read), but names it
  gained since are only seen once it is reloaded, as when the code runs.

Docstrings (any statement that is only a string) and comments are not hashed: each piece is hashed
as :func:`ast.dump` of its syntax tree without them, so neither they nor line numbers (a function
moving in its file) change the hash.  Files are parsed once per (path, modification time, size).
"""

from __future__ import annotations

import ast
import builtins
import functools
import hashlib
import importlib
import importlib.util
import inspect
import os
import sys
import textwrap
import types
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterator, Sequence

from ..registry import Registry

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


def _digest_file(path: Path) -> str:
    stat = os.stat(path)
    return _file_digest(Path(path), stat.st_mtime_ns, stat.st_size)


# -- parsed sources ------------------------------------------------------------------------------
_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)


class _Analysis:
    """What one syntax-tree node (a function, class or statement) refers to."""

    __slots__ = ("digest", "names", "bound", "imports", "chains", "dynamic", "lookups", "made_by")

    def __init__(self, node: ast.AST):
        self.digest = hashlib.sha256(ast.dump(node).encode()).hexdigest()
        self.bound: set[str] = set()      # names the node binds itself (locals, parameters, nested defs)
        self.imports: dict[str, tuple[int, str, str | None]] = {}   # name -> (level, module, attribute)
        self.names: set[str] = set()       # names it reads
        # attribute chains it reads: (root name or None where the root is not a name, attributes, called)
        self.chains: set[tuple[str | None, tuple[str, ...], bool]] = set()
        self.dynamic = False               # import_module / __import__ of a computed name
        self.lookups: set[tuple[str | None, tuple[str, ...]]] = set()   # getattr(x.y, computed): x, (y,)
        declared_global: set[str] = set()
        # local name -> the callables whose results are all it is ever bound to (None: bound otherwise)
        self.made_by: dict[str, list | None] = {}
        for sub in ast.walk(node):
            pairs = [(t, sub.value) for t in sub.targets] if isinstance(sub, ast.Assign) else \
                [(i.optional_vars, i.context_expr) for i in sub.items] if isinstance(sub, (ast.With, ast.AsyncWith)) \
                else []
            for target, value in pairs:
                if isinstance(target, ast.Name):
                    made = self.made_by.setdefault(target.id, [])
                    if made is not None and isinstance(value, ast.Call) and isinstance(value.func, (ast.Name, ast.Attribute)):
                        made.append(_chain(value.func))
                    else:
                        self.made_by[target.id] = None
        inner = {id(sub.value) for sub in ast.walk(node) if isinstance(sub, ast.Attribute)}
        called = {id(sub.func) for sub in ast.walk(node) if isinstance(sub, ast.Call)}
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name):
                (self.names if isinstance(sub.ctx, ast.Load) else self.bound).add(sub.id)
            elif isinstance(sub, ast.arg):
                self.bound.add(sub.arg)
            elif isinstance(sub, _DEFS) and sub is not node:
                self.bound.add(sub.name)
            elif isinstance(sub, ast.Import):
                for alias in sub.names:
                    if alias.asname:
                        self.imports[alias.asname] = (0, alias.name, None)
                    else:
                        top = alias.name.split(".")[0]
                        self.imports[top] = (0, top, None)
            elif isinstance(sub, ast.ImportFrom):
                for alias in sub.names:
                    if alias.name != "*":
                        self.imports[alias.asname or alias.name] = (sub.level, sub.module or "", alias.name)
            elif isinstance(sub, (ast.Global, ast.Nonlocal)):
                declared_global.update(sub.names)
            elif isinstance(sub, ast.ExceptHandler) and sub.name:
                self.bound.add(sub.name)
            elif isinstance(sub, (ast.MatchAs, ast.MatchStar)) and sub.name:
                self.bound.add(sub.name)
            elif isinstance(sub, ast.Attribute) and id(sub) not in inner and not isinstance(sub.ctx, ast.Del):
                root, attrs = _chain(sub)
                if isinstance(sub.ctx, ast.Store):   # ``self.x = ...`` sets data; ``self.a.x = ...`` reads a
                    attrs = attrs[:-1]
                if attrs:
                    self.chains.add((root, attrs, id(sub) in called))
            elif isinstance(sub, ast.Call):
                func = sub.func
                name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
                if name == "getattr" and len(sub.args) >= 2 and not isinstance(sub.args[1], ast.Constant):
                    self.lookups.add(_chain(sub.args[0]) if isinstance(sub.args[0], (ast.Name, ast.Attribute))
                                     else (None, ()))
                elif name in ("import_module", "__import__") and sub.args and not isinstance(sub.args[0], ast.Constant):
                    self.dynamic = True
        self.bound -= declared_global
        self.bound -= set(self.imports)


def _chain(node: ast.AST) -> tuple[str | None, tuple[str, ...]]:
    """``a.b.c`` -> ("a", ("b", "c")); ``f().b`` -> (None, ("b",))."""
    attrs = []
    while isinstance(node, ast.Attribute):
        attrs.append(node.attr)
        node = node.value
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "super":
        return "super()", tuple(reversed(attrs))
    return (node.id if isinstance(node, ast.Name) else None), tuple(reversed(attrs))


_SELF = ("self", "cls")
#: modules whose functions may return objects of any class (copies, unpickled objects)
_LOADERS = {"copy", "pickle", "copyreg", "functools", "operator", "itertools", "builtins", "joblib", "dill",
            "cloudpickle", "shelve", "marshal", "multiprocessing", "concurrent", "queue", "weakref"}


def _strip_docstrings(tree: ast.AST) -> None:
    """Remove, in place, every statement that is only a string (docstrings, strings used as comments)."""
    for node in ast.walk(tree):
        for field in ("body", "orelse", "finalbody"):
            body = getattr(node, field, None)
            if isinstance(body, list) and body and isinstance(body[0], ast.stmt):
                kept = [s for s in body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant)
                                                and isinstance(s.value.value, str))]
                if len(kept) != len(body):
                    setattr(node, field, kept or ([ast.Pass()] if field == "body" else []))


class _Source:
    """A parsed file (docstrings removed) and the analyses of its nodes, made on demand."""

    def __init__(self, path: Path):
        self.path = path
        self.tree = ast.parse(path.read_bytes(), filename=str(path))
        _strip_docstrings(self.tree)
        self._analyses: dict[int, _Analysis] = {}

    def analysis(self, node: ast.AST) -> _Analysis:
        found = self._analyses.get(id(node))
        if found is None:
            found = self._analyses[id(node)] = _Analysis(node)
        return found

    def find(self, qualname: str, lineno: int | None = None) -> list[ast.AST]:
        """The nodes of ``qualname`` (``f.<locals>.g``, ``C.m``, ``f.<locals>.<lambda>``); where several
        match, those starting at ``lineno`` (decorators included), else all of them."""
        containers: list[ast.AST] = [self.tree]
        nested = False
        for part in qualname.split("."):
            if part == "<locals>":
                nested = True
                continue
            found: list[ast.AST] = []
            for container in containers:
                candidates = _walk_inside(container) if nested else _direct(container)
                for node in candidates:
                    if part == "<lambda>" and isinstance(node, ast.Lambda):
                        found.append(node)
                    elif isinstance(node, _DEFS) and node.name == part:
                        found.append(node)
            containers, nested = found, False
        if lineno is not None and len(containers) > 1:
            exact = [n for n in containers if _first_line(n) == lineno]
            containers = exact or containers
        return containers

    def assignments(self, name: str) -> list[ast.stmt]:
        """The top-level statements (inside ``if``/``try``/``with``/``for`` too) that bind ``name``."""
        found: list[ast.stmt] = []
        for stmt in _top_statements(self.tree.body):
            if isinstance(stmt, ast.Assign):
                targets = stmt.targets
            elif isinstance(stmt, (ast.AnnAssign, ast.AugAssign)):
                targets = [stmt.target]
            elif isinstance(stmt, (ast.ImportFrom, ast.Import)):
                if any((a.asname or a.name) == name for a in stmt.names):
                    found.append(stmt)
                continue
            elif isinstance(stmt, (ast.For, ast.AsyncFor, ast.With)):
                targets = [stmt.target] if isinstance(stmt, (ast.For, ast.AsyncFor)) else \
                    [item.optional_vars for item in stmt.items if item.optional_vars]
            elif isinstance(stmt, _DEFS):
                if stmt.name == name:
                    found.append(stmt)
                continue
            else:
                continue
            if any(isinstance(n, ast.Name) and n.id == name for t in targets for n in ast.walk(t)):
                found.append(stmt)
        return found

    def classes(self) -> list[tuple[str, ast.ClassDef]]:
        """Every class at module level or nested in classes, with its qualified name."""
        out, todo = [], [(c.name, c) for c in _direct(self.tree) if isinstance(c, ast.ClassDef)]
        while todo:
            qualname, node = todo.pop()
            out.append((qualname, node))
            todo += [(f"{qualname}.{c.name}", c) for c in _direct(node) if isinstance(c, ast.ClassDef)]
        return out


def _first_line(node: ast.AST) -> int:
    return min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])  # type: ignore[attr-defined]


def _direct(container: ast.AST) -> list[ast.AST]:
    """The definitions directly in ``container`` (through ``if``/``try``/``with`` blocks)."""
    return list(_top_statements(getattr(container, "body", [])))


def _top_statements(body: Sequence[ast.AST]) -> Iterator[ast.AST]:
    for stmt in body:
        yield stmt
        if not isinstance(stmt, _DEFS):
            for field in ("body", "orelse", "finalbody", "handlers"):
                inner = getattr(stmt, field, None)
                if isinstance(inner, list):
                    yield from _top_statements([s for s in inner if isinstance(s, ast.AST)])


def _walk_inside(container: ast.AST):
    for child in ast.iter_child_nodes(container):
        yield child
        yield from _walk_inside(child)


@lru_cache(maxsize=1024)
def _parsed(path: Path, mtime_ns: int, size: int) -> _Source:
    return _Source(path)


def _source(path: "str | Path | None") -> _Source | None:
    if not path:
        return None
    try:
        stat = os.stat(path)
        return _parsed(Path(path), stat.st_mtime_ns, stat.st_size)
    except (OSError, SyntaxError, ValueError):
        return None


def _root_files(root: str) -> list[tuple[str, Path]]:
    """Every module of top-level package (or module) ``root``: (name, file)."""
    path = _module_file(root)
    if path is None:
        return []
    if path.name != "__init__.py":
        return [(root, path)]
    out = []
    for file in sorted(path.parent.rglob("*.py")):
        parts = [root, *file.relative_to(path.parent).with_suffix("").parts]
        if "__pycache__" in parts or not all(p.isidentifier() for p in parts):
            continue
        out.append((".".join(parts[:-1] if parts[-1] == "__init__" else parts), file))
    return out


@lru_cache(maxsize=16)
def _method_index_of(files: tuple[tuple[str, Path, int, int], ...]) -> dict[str, list[tuple]]:
    index: dict[str, list] = {}
    for module, path, mtime_ns, size in files:
        try:
            source = _parsed(path, mtime_ns, size)
        except (OSError, SyntaxError, ValueError):
            continue
        for qualname, cls in source.classes():
            for node in _direct(cls):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    is_property = any("property" in ast.dump(d) for d in node.decorator_list)
                    index.setdefault(node.name, []).append((module, qualname, path, node, is_property))
    return index


def _method_index(roots: frozenset[str]) -> dict[str, list[tuple]]:
    """Method name -> (module, class qualname, file, node, is a property) for every class of the
    ``roots`` packages."""
    files = []
    for root in sorted(roots):
        for module, path in _root_files(root):
            try:
                stat = os.stat(path)
            except OSError:
                continue
            files.append((module, path, stat.st_mtime_ns, stat.st_size))
    return _method_index_of(tuple(files))


@lru_cache(maxsize=None)
def _data_folder(folder: Path) -> Path | None:
    data = folder / "data"
    return data if data.is_dir() and not (data / "__init__.py").exists() else None


# -- the reach -----------------------------------------------------------------------------------
class _Namespace:
    """Where a node's names live: its globals, closure cells, module, and class (for ``self``)."""

    __slots__ = ("globals", "closure", "module", "owner")

    def __init__(self, globals_: dict, closure: dict, module: str, owner: type | None = None):
        self.globals, self.closure, self.module, self.owner = globals_, closure, module, owner


_MISSING, _OUTSIDE, _SELF_VALUE = object(), object(), object()


def _module_of(value) -> str:
    return getattr(value, "__module__", None) or ""


def _target_function(target):
    """The function behind a callable (bound method, partial, callable object): what code_hash keys on."""
    while True:
        if isinstance(target, functools.partial):
            target = target.func
        elif isinstance(target, types.MethodType):
            target = target.__func__
        else:
            return target


class _Reach:
    """Walks from a compute function through the code it can run; ``entries``: label -> digests."""

    def __init__(self, roots: set[str]):
        self.roots = frozenset(roots)
        self.entries: dict[str, list[str]] = {}
        self.seen: set = set()
        self.fallbacks: set[str] = set()
        self._index: dict[str, list[tuple]] | None = None

    # labels
    def add(self, label: str, digest: str, path: "str | Path | None" = None) -> None:
        self.entries.setdefault(label, []).append(digest)
        if path:
            data = _data_folder(Path(path).parent)
            if data is not None and ("data", data) not in self.seen:
                self.seen.add(("data", data))
                files = sorted(p for p in data.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
                digest = hashlib.sha256("".join(f"{p.relative_to(data)} {_digest_file(p)}\n"
                                                for p in files).encode()).hexdigest()
                self.entries.setdefault(f"data:{data}", []).append(digest)

    def in_roots(self, module: str) -> bool:
        return bool(module) and module.split(".")[0] in self.roots and module != __name__   # not this hash

    def import_module(self, name: str):
        if name in sys.modules:
            return sys.modules[name]
        if not self.in_roots(name):
            return None
        try:
            return importlib.import_module(name)
        except Exception:   # a module that does not import here is not code that runs
            return None

    # values
    def value(self, value, *, name: str | None = None, home: str | None = None, force: bool = False) -> None:
        """Follow a value a reached piece of code reads (``name`` in module ``home`` when global)."""
        if isinstance(value, types.ModuleType):
            return
        if isinstance(value, (staticmethod, classmethod)):
            value = value.__func__
        if isinstance(value, property):
            for part in (value.fget, value.fset, value.fdel):
                if part is not None:
                    self.value(part, force=force)
            return
        if isinstance(value, (functools.partial, types.MethodType)):
            self.value(_target_function(value), force=force)
            return
        if isinstance(value, types.FunctionType):
            self.function(value, force=force)
            return
        if isinstance(value, type):
            self.cls(value, force=force)
            return
        py_func = getattr(value, "py_func", None)   # a numba dispatcher
        if isinstance(py_func, types.FunctionType):
            self.function(py_func, force=force)
            return
        if self.is_registry(value) and ("registry", id(value)) not in self.seen:
            self.seen.add(("registry", id(value)))
            for entry in self._registered(value):
                self.value(entry, force=True)
        if name and home:
            self.constant(home, name)
        if callable(value) and self.in_roots(_module_of(type(value))):
            self.value(inspect.getattr_static(type(value), "__call__", None), force=force)

    @staticmethod
    def is_registry(value) -> bool:
        return (not isinstance(value, (type, types.ModuleType, dict)) and callable(getattr(value, "names", None))
                and callable(getattr(value, "get", None)))

    @staticmethod
    def _registered(registry) -> list:
        try:
            return [registry.get(name) for name in registry.names()]
        except Exception:
            return []

    def function(self, fn: types.FunctionType, *, force: bool = False) -> None:
        wrapped = getattr(fn, "__wrapped__", None)
        if wrapped is not None and wrapped is not fn:
            self.value(wrapped, force=force)
            force = False   # the wrapper counts only if it is the roots' own code
        code = fn.__code__
        module = fn.__globals__.get("__name__") or _module_of(fn)   # a wrapper's own module, not the wrapped's
        if not (force or self.in_roots(module)):
            return
        key = ("code", code.co_filename, code.co_firstlineno, code.co_qualname)
        if key in self.seen:
            return
        self.seen.add(key)
        closure = {}
        for var, cell in zip(code.co_freevars, fn.__closure__ or ()):
            try:
                closure[var] = cell.cell_contents
            except ValueError:   # an empty cell
                pass
        owner = None
        if "." in code.co_qualname and "<locals>" not in code.co_qualname:   # a method: ``self`` is known
            owner = sys.modules.get(module)
            for part in code.co_qualname.split(".")[:-1]:
                owner = getattr(owner, part, None)
        namespace = _Namespace(fn.__globals__, closure, module, owner if isinstance(owner, type) else None)
        label = f"{module}:{code.co_qualname}"
        source = _source(code.co_filename)
        nodes = source.find(code.co_qualname, code.co_firstlineno) if source else []
        if source is None or not nodes:
            self.without_source(fn, label)
            return
        for node in nodes:
            self.node(source, node, namespace, label)

    def cls(self, cls: type, *, force: bool = False) -> None:
        module = _module_of(cls)
        if not (force or self.in_roots(module)) or ("cls", cls) in self.seen:
            return
        self.seen.add(("cls", cls))
        for base in cls.__mro__[1:]:
            if self.in_roots(_module_of(base)):
                self.cls(base)
        label = f"{module}:{cls.__qualname__}"
        owner = sys.modules.get(module)
        try:
            path = inspect.getsourcefile(cls)
        except (TypeError, OSError):
            path = None
        source = _source(path)
        nodes = source.find(cls.__qualname__) if source else []
        if source is None or not nodes:
            if owner is not None and getattr(owner, cls.__name__, None) is cls and self.in_roots(module):
                self.constant(module, cls.__name__)   # made by a call (namedtuple, make_dataclass)
            else:
                self.without_source(cls, label)
            return
        closure: dict[str, object] = {}
        for member in vars(cls).values():
            member = getattr(member, "__func__", member)
            if isinstance(member, types.FunctionType) and member.__closure__:
                closure.update(zip(member.__code__.co_freevars,
                                   (c.cell_contents for c in member.__closure__ if _full(c))))
        namespace = _Namespace(vars(owner) if owner else {}, closure, module, cls)
        for node in nodes:
            self.node(source, node, namespace, label)

    def without_source(self, obj, label: str) -> None:
        """An object whose source file is not readable: its source as inspect finds it, else the
        ``repr`` of its ``version`` attribute, else only its name."""
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(obj)))
            _strip_docstrings(tree)
            digest = hashlib.sha256(ast.dump(tree).encode()).hexdigest()
        except (OSError, TypeError, SyntaxError):
            version = getattr(obj, "version", _MISSING)
            digest = f"version {version!r}" if version is not _MISSING else "name only"
        self.add(label, digest)

    def constant(self, home: str, name: str) -> None:
        """A module-level value ``name`` read from module ``home``: the statements assigning it."""
        key = ("const", home, name)
        if key in self.seen or not self.in_roots(home):
            return
        self.seen.add(key)
        module = self.import_module(home)
        path = getattr(module, "__file__", None) or _module_file(home)
        source = _source(path)
        if source is None or path is None:
            return
        statements = source.assignments(name)
        if not statements:
            self.add(f"{home}:*", _digest_file(Path(path)))
            return
        namespace = _Namespace(vars(module) if module else {}, {}, home)
        for stmt in statements:
            if isinstance(stmt, ast.ImportFrom):
                origin = _absolute(stmt.level, stmt.module or "", home, Path(path).name == "__init__.py")
                for alias in stmt.names:
                    if (alias.asname or alias.name) == name:
                        submodule = f"{origin}.{alias.name}"
                        if not (submodule in sys.modules or _module_file(submodule)):
                            self.constant(origin, alias.name)
            elif not isinstance(stmt, ast.Import):
                self.node(source, stmt, namespace, f"{home}:{name}", walk_defs=False)

    # code
    def node(self, source: _Source, node: ast.AST, ns: _Namespace, label: str, walk_defs: bool = True) -> None:
        labelled = ("labelled", label, id(node))
        if labelled in self.seen:
            return
        self.seen.add(labelled)
        info = source.analysis(node)
        self.add(label, info.digest, source.path)
        if ("node", id(node)) in self.seen:   # walked under another name (``A, B = 1, 2``): labelled, not rewalked,
            return                            # so the labels do not depend on which name was read first
        self.seen.add(("node", id(node)))
        self._node(info, ns, label)

    def _node(self, info: _Analysis, ns: _Namespace, label: str) -> None:
        if info.dynamic:
            self.fallbacks.add(ns.module)
        is_package = bool(ns.globals) and ns.globals.get("__package__") == ns.module
        local: dict[str, tuple] = {}
        for name, (level, module, attribute) in info.imports.items():
            absolute = _absolute(level, module, ns.module, is_package) if level else module
            if not self.in_roots(absolute):
                local[name] = (_MISSING, None)
                continue
            owner = self.import_module(absolute)
            if attribute is None:
                local[name] = (owner, None)
                continue
            found = getattr(owner, attribute, _MISSING) if owner is not None else _MISSING
            if found is _MISSING or isinstance(found, types.ModuleType):
                sub = self.import_module(f"{absolute}.{attribute}")
                found = sub if sub is not None else found
            local[name] = (found, absolute)
            if found is not _MISSING:
                self.value(found, name=attribute, home=absolute)
        for name in info.names:
            if name not in local and name not in info.bound:
                self.read(name, ns)
        for root, attrs, called in info.chains:
            value = self.lookup(root, local, info, ns)
            if value is _SELF_VALUE:
                assert ns.owner is not None, "self/cls is known only in a method of a known class"
                self.hierarchy(ns.owner, attrs[0], whole=False)
                self.unknown(attrs[1:], called)
            elif value is _MISSING:
                self.unknown(attrs, called)
            elif value is not _OUTSIDE:
                self.attributes(value, attrs)
        for root, attrs in info.lookups:   # getattr(x, computed name)
            value = self.lookup(root, local, info, ns)
            if value is _SELF_VALUE and not attrs:
                assert ns.owner is not None, "self/cls is known only in a method of a known class"
                self.hierarchy(ns.owner, None, whole=True)
                continue
            if value is not _MISSING and value is not _OUTSIDE and value is not _SELF_VALUE:
                for attr in attrs:
                    value = getattr(value, attr, _MISSING) if isinstance(value, types.ModuleType) else _MISSING
            if value is _OUTSIDE or (isinstance(value, types.ModuleType) and not self.in_roots(value.__name__)):
                continue
            if isinstance(value, types.ModuleType) and value.__file__:
                self.add(f"{value.__name__}:*", _digest_file(Path(value.__file__)))
            else:
                self.fallbacks.add(ns.module)

    def lookup(self, root: str | None, local: dict, info: _Analysis, ns: _Namespace):
        """The value of name ``root`` in a node: a value, _SELF_VALUE (``self``/``cls`` of a method
        of a known class), _OUTSIDE (imported from outside the roots) or _MISSING (not known)."""
        if root is None:
            return _MISSING
        if root == "super()":
            return _SELF_VALUE if ns.owner is not None else _MISSING
        if root in local:
            value = local[root][0]
            return _OUTSIDE if value is _MISSING and local[root][1] is None else value
        if root in info.bound:
            if root in _SELF and ns.owner is not None:
                return _SELF_VALUE
            made = [(r, attrs) for r, attrs in info.made_by.get(root) or () if r != root]   # not x = x.f()
            if made and all(r is not None and r not in info.bound and self.outside(self.lookup(r, local, info, ns), attrs)
                            for r, attrs in made):
                return _OUTSIDE   # ``opt = torch.optim.Adam(...)``: ``opt.step()`` is not effcode's
            return _MISSING
        return ns.closure.get(root, ns.globals.get(root, getattr(builtins, root, _MISSING)))

    def outside(self, value, attrs: tuple[str, ...]) -> bool:
        """Whether calling ``value.attrs...`` makes an object that is not the roots': a class outside the
        roots, or a function outside them other than those that copy or load objects."""
        if value is _OUTSIDE:
            return True
        for attr in attrs:
            if not isinstance(value, types.ModuleType):
                return False
            value = getattr(value, attr, _MISSING)
        if value is _MISSING or isinstance(value, types.ModuleType):
            return False
        module = _module_of(value) if isinstance(value, (type, types.FunctionType, types.BuiltinFunctionType)) else ""
        if not module or self.in_roots(module):
            return False
        return isinstance(value, type) or not (module.split(".")[0] in _LOADERS or
                                               getattr(value, "__name__", "") in ("load", "loads", "copy", "deepcopy"))

    def hierarchy(self, cls: type, attr: str | None, *, whole: bool) -> None:
        """``self.attr`` in a method of ``cls``: that member of ``cls``, its bases and its subclasses
        (all of them, whole, for ``getattr(self, computed)``)."""
        todo, classes = [cls], []
        while todo:
            c = todo.pop()
            if c not in classes:
                classes.append(c)
                try:
                    todo += c.__subclasses__()
                except TypeError:
                    pass
        classes += list(cls.__mro__[1:])
        for c in classes:
            if not self.in_roots(_module_of(c)):
                continue
            if whole:
                self.cls(c)
            elif attr is not None and attr in vars(c):
                self.value(vars(c)[attr])

    def read(self, name: str, ns: _Namespace) -> None:
        if name in ns.closure:
            self.value(ns.closure[name])
        elif name in ns.globals:
            self.value(ns.globals[name], name=name, home=ns.module)

    def attributes(self, value, attrs: tuple[str, ...]) -> None:
        """Follow ``value.a.b...``: through modules (in the roots), to a class, or to the member of an
        object's class."""
        for attr in attrs:
            if isinstance(value, types.ModuleType):
                if not self.in_roots(value.__name__):
                    return
                found = getattr(value, attr, _MISSING)
                if found is _MISSING or isinstance(found, types.ModuleType):
                    sub = self.import_module(f"{value.__name__}.{attr}")
                    found = sub if sub is not None else found
                if found is _MISSING:
                    return
                if not isinstance(found, types.ModuleType):
                    self.value(found, name=attr, home=value.__name__)
                value = found
            elif isinstance(value, type):
                return   # the class is reached whole
            else:
                owner = type(value)
                if self.in_roots(_module_of(owner)):
                    member = inspect.getattr_static(owner, attr, _MISSING)
                    if member is not _MISSING and (callable(member) or isinstance(
                            member, (property, staticmethod, classmethod))):
                        self.value(member)
                return

    def unknown(self, attrs: tuple[str, ...], called: bool) -> None:
        """Attributes read on objects the source cannot name (``x.a.b()``): the properties of those
        names, and for the last one, if called, every method of that name, in every class of the roots."""
        if self._index is None:
            self._index = _method_index(self.roots)
        for i, attr in enumerate(attrs):
            method = called and i == len(attrs) - 1
            for module, qualname, path, node, is_property in self._index.get(attr, ()):
                if not (method or is_property) or not self.in_roots(module):
                    continue
                key = ("method", module, qualname, attr)
                if key in self.seen:
                    continue
                self.seen.add(key)
                owner = self.import_module(module)
                cls = owner
                for part in qualname.split("."):
                    cls = getattr(cls, part, None)
                member = vars(cls).get(attr) if isinstance(cls, type) else None
                if member is not None and not isinstance(member, (type, types.ModuleType)):
                    self.value(member, force=True)
                    continue
                source = _source(path)
                if source is not None:
                    self.node(source, node, _Namespace(vars(owner) if owner else {}, {}, module),
                              f"{module}:{qualname}.{attr}")

    def module(self, name: str) -> None:
        """All the top-level code of module ``name``."""
        module = self.import_module(name)
        path = getattr(module, "__file__", None) or _module_file(name)
        source = _source(path)
        if source is None:
            return
        namespace = _Namespace(vars(module) if module else {}, {}, name)
        for stmt in source.tree.body:
            value = getattr(module, stmt.name, None) if isinstance(stmt, _DEFS) else None
            if value is not None and _module_of(value) == name:
                self.value(value)
            else:
                self.node(source, stmt, namespace, f"{name}:<module>")

    def finish(self) -> None:
        for module in sorted(self.fallbacks):
            for name, path in module_closure(module).items():
                self.entries.setdefault(f"{name}:*", []).append(_digest_file(path))


def _full(cell) -> bool:
    try:
        cell.cell_contents
    except ValueError:
        return False
    return True


def _absolute(level: int, module: str, importer: str, is_package: bool) -> str:
    node = ast.ImportFrom(module=module or None, names=[], level=level)
    return _resolve(node, importer, is_package)


def _walk(target: "str | Callable") -> _Reach:
    if isinstance(target, str):
        reach = _Reach({target.split(".")[0], PACKAGE})
        reach.module(target)
    else:
        function = _target_function(target)
        module = _module_of(function) or _module_of(type(function))
        reach = _Reach({module.split(".")[0], PACKAGE})
        reach.value(function, force=True)
    reach.finish()
    return reach


def reach(target: "str | Callable") -> set[str]:
    """What :func:`code_hash` of ``target`` covers, as labels: ``module:qualname`` for functions,
    classes, methods and module-level values; ``module:*`` for a whole file (a computed import or
    ``getattr`` brought in a module closure, or a value assigned where no statement shows);
    ``module:<module>`` for a module given by name; ``data:FOLDER`` for a packaged data folder."""
    return set(_walk(target).entries)


#: code_hash of a function, remembered under :func:`_memo_key` with the stamp of the files it was computed from
_remembered: dict[tuple, tuple[tuple, str]] = {}


def _memo_key(target) -> tuple | None:
    """What the reach of a function depends on besides the files: its code, the identity of the code its
    closure cells hold (data in cells is not hashed), and the registries' contents.  None: not a function."""
    function = _target_function(target)
    code = getattr(function, "__code__", None)
    if code is None:
        return None
    cells = tuple(id(cell.cell_contents) for cell in (function.__closure__ or ()) if _full(cell)
                  and (callable(cell.cell_contents) or isinstance(cell.cell_contents, types.ModuleType)
                       or hasattr(cell.cell_contents, "names")))
    return code, cells, Registry.changes


def _files_stamp(roots: frozenset[str]) -> tuple:
    """(path, modification time, size) of every file of the ``roots`` packages (data files included)."""
    stamp = []
    for root in sorted(roots):
        path = _module_file(root)
        if path is None:
            continue
        files = sorted(path.parent.rglob("*")) if path.name == "__init__.py" else [path]
        for file in files:
            if "__pycache__" not in file.parts and file.is_file():
                stat = file.stat()
                stamp.append((str(file), stat.st_mtime_ns, stat.st_size))
    return tuple(stamp)


def code_hash(target: "str | Callable") -> str:
    """A sha256 (hex) of effcode's version and of the source of the code ``target`` can run (see the
    module docstring).  ``target`` is a function (any callable) or a module name.

    The hash of a function is remembered, in this process, until a file of the packages it reaches into
    (effcode's and its own) or a registry changes, or its closure holds other code: a run's many steps
    with one compute function pay the walk once."""
    from .. import __version__

    key = _memo_key(target)
    if key is not None:
        function = _target_function(target)
        roots = frozenset({(_module_of(function) or "").split(".")[0], PACKAGE})
        stamp = _files_stamp(roots)
        remembered = _remembered.get(key)
        if remembered is not None and remembered[0] == stamp:
            return remembered[1]
    digest = hashlib.sha256(f"effcode {__version__}\n".encode())
    for label, digests in sorted(_walk(target).entries.items()):
        digest.update(f"{label} {' '.join(sorted(digests))}\n".encode())
    if key is not None:
        _remembered[key] = (stamp, digest.hexdigest())
    return digest.hexdigest()
