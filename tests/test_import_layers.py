"""effcode's import graph, read from the source (every import, those inside functions included): no circle,
and every arrow points down the layers.  A layer may import its own modules and those of the layers below."""

import ast
from pathlib import Path

import effcode

PACKAGE = Path(effcode.__file__).parent

#: the layers, bottom first; each names the top-level modules and subpackages of effcode in it
LAYERS = [
    {"effcode", "errors", "numba_cache", "progress"},
    {"validation", "registry"},
    {"storage", "stats", "gabor", "prox_kernels"},
    {"data", "objectives"},
    {"learners"},
    {"v1"},
    {"encoding", "plots"},
    {"runs"},
    {"experiments"},
    {"cli"},
    {"__main__"},
]


def module_name(path: Path) -> str:
    parts = ["effcode", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in PACKAGE.rglob("*.py")}


def imports(name: str) -> set[str]:
    """The effcode modules ``name`` imports, anywhere in its source."""
    path = MODULES[name]
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[:len(package) - node.level + 1] + ([node.module] if node.module else []))
            members = [f"{base}.{alias.name}" for alias in node.names]
            # ``from . import module`` imports that module (its package is only its parent)
            targets = members if all(m in MODULES for m in members) else [base, *members]
        else:
            continue
        found |= {target for target in targets if target in MODULES and target != name}
    return found


GRAPH = {name: imports(name) for name in MODULES}


def unit(name: str) -> str:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else "effcode"


def layer(name: str) -> int:
    return next(i for i, members in enumerate(LAYERS) if unit(name) in members)


def test_every_module_has_a_layer():
    assert {unit(name) for name in MODULES} <= set().union(*LAYERS)


def test_every_import_points_to_the_same_unit_or_a_lower_layer():
    upward = sorted(f"{a} -> {b}" for a, targets in GRAPH.items() for b in targets
                    if unit(a) != unit(b) and layer(b) >= layer(a))
    assert upward == []


def test_there_is_no_import_circle():
    """Tarjan's strongly connected components of the module graph: each must be a single module."""
    index, low, stack, on_stack, circles = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in GRAPH[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for name in sorted(GRAPH):
        if name not in index:
            visit(name)
    assert circles == []
