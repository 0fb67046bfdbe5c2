"""Every dotted ``effcode.`` name that README.md and the docs mention resolves to something importable."""

import importlib
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: a dotted name starting with ``effcode.`` (the trailing ``.`` of a sentence is stripped below)
NAME = re.compile(r"(?<![\w./-])effcode(?:\.[A-Za-z_][A-Za-z0-9_]*)+")

#: endings that make a match a file name, not a Python name
FILE_SUFFIXES = (".py", ".json", ".md", ".csv", ".npz", ".png", ".yaml", ".yml", ".rst", ".txt", ".toml")


def _documents() -> list[Path]:
    docs = ROOT / "docs"
    return [ROOT / "README.md", *sorted(docs.glob("*.md")), *sorted(docs.glob("*.rst"))]


def _documented_names() -> dict[str, list[str]]:
    """Each name -> the documents (relative paths) that mention it."""
    found: dict[str, list[str]] = {}
    for path in _documents():
        text = path.read_text(encoding="utf-8")
        for match in NAME.finditer(text):
            name = match.group(0).rstrip(".")
            following = text[match.end():match.end() + 1]
            if name.lower().endswith(FILE_SUFFIXES) or following in ("/", "\\"):
                continue
            found.setdefault(name, [])
            relative = str(path.relative_to(ROOT))
            if relative not in found[name]:
                found[name].append(relative)
    return found


def _resolve(name: str) -> None:
    """Import the longest importable module prefix of ``name`` and getattr the rest; raises if it fails."""
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        module_name = ".".join(parts[:cut])
        try:
            obj = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name is None or not (module_name + ".").startswith(error.name + "."):
                raise   # a real missing dependency inside the module, not a non-module prefix
            continue
        for attribute in parts[cut:]:
            obj = getattr(obj, attribute)
        return
    raise ModuleNotFoundError(name)


def test_the_scan_finds_names():
    names = _documented_names()
    assert "effcode.learners.SparseCoding" in names
    assert len(names) > 20


def test_every_documented_name_resolves():
    failures = []
    for name, documents in sorted(_documented_names().items()):
        try:
            _resolve(name)
        except (ImportError, AttributeError) as error:
            failures.append(f"{name} (in {', '.join(documents)}): {type(error).__name__}: {error}")
    assert not failures, "documented names that do not resolve:\n" + "\n".join(failures)


def test_the_learners_are_exported():
    from effcode.learners import ICA, ISA, SAILnet, SparseCNN, SparseCoding  # noqa: F401
