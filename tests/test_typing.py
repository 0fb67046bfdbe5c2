"""Types: mypy finds no error in the package at the strictness pyproject.toml states, and every
public function (each package's ``__all__``) is fully annotated.

mypy's settings are ``[tool.mypy]`` in pyproject.toml: its defaults plus ``check_untyped_defs``, and no
module exempt.  The ``test`` extra installs
mypy; without it the mypy test is skipped with that reason.
"""

import importlib
import importlib.util
import inspect
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import effcode

ROOT = Path(__file__).resolve().parents[1]
#: the packages whose ``__all__`` is effcode's public API: ``effcode.SUBPACKAGES`` and ``effcode.runs``
PUBLIC_MODULES = ("effcode", *(f"effcode.{name}" for name in (*effcode.SUBPACKAGES, "runs")))


def public_functions() -> dict[str, object]:
    found = {}
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isfunction(obj):
                found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return found


def missing_annotations(function) -> list[str]:
    """The parameters (and ``return``) of ``function`` that have no annotation."""
    signature = inspect.signature(function)
    missing = [p.name for p in signature.parameters.values() if p.annotation is inspect.Parameter.empty]
    return missing + (["return"] if signature.return_annotation is inspect.Signature.empty else [])


def test_missing_annotations_are_found():
    def partly(a: int, b, *args, c: str = "", **kwargs: float):
        return a

    assert missing_annotations(partly) == ["b", "args", "return"]
    assert missing_annotations(effcode.learners.make_learner) == []


def test_public_functions_are_found_in_every_package():
    functions = public_functions()
    assert "effcode.gabor.fit.fit_gabors" in functions and "effcode.storage.atomic.write_json" in functions
    assert len(functions) > 100


def test_every_public_function_is_fully_annotated():
    missing = {name: gaps for name, function in public_functions().items() if (gaps := missing_annotations(function))}
    assert not missing, "annotate " + "; ".join(f"{name}: {', '.join(gaps)}" for name, gaps in sorted(missing.items()))


def test_mypy_settings_state_the_strictness():
    settings = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    assert settings["files"] == ["effcode"]
    assert settings["check_untyped_defs"] is True
    exempt = [module for override in settings.get("overrides", []) if override.get("ignore_errors")
              for module in override["module"]]
    assert exempt == [], f"modules exempt from mypy: {exempt} (none should be)"


@pytest.mark.skipif(importlib.util.find_spec("mypy") is None,
                    reason="mypy is not installed: pip install -e '.[test]'")
def test_mypy_finds_no_error_in_the_package(tmp_path):
    result = subprocess.run([sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "cache")], cwd=ROOT,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"mypy (settings: pyproject.toml [tool.mypy]):\n{result.stdout[-6000:]}"
