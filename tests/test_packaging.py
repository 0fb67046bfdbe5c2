"""Packaging: the conda environment and pyproject agree, CI runs the README's test command, and the
scaffolding (licence, citation, changelog, one version, py.typed, data licences) holds."""

import re
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"pytorch": "torch"}  # conda-forge name -> PyPI name


def _split(requirement: str) -> tuple[str, str]:
    name, spec = re.match(r"^([A-Za-z0-9_.\-]+)\s*(.*)$", requirement.strip()).groups()
    return name.lower(), spec.replace(" ", "")


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = dict(_split(r) for r in project["dependencies"] + project["optional-dependencies"]["test"])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = {}
    for dep in env["dependencies"]:
        if isinstance(dep, str) and not dep.startswith(("python", "pip")):
            name, spec = _split(dep)
            conda[CONDA_NAMES.get(name, name)] = spec
    assert conda == wanted


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci_lines = [line for line in (ROOT / ".ci" / "run").read_text().splitlines()
                if line.strip() and not line.startswith(("#", "set ", "cd "))]
    assert len(ci_lines) == 1
    assert ci_lines[0].strip() in readme


def test_scaffolding_files_exist_and_name_the_licence():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"]["text"] == "MIT"
    licence = (ROOT / "LICENSE").read_text()
    assert licence.startswith("MIT License") and "Copyright (c) 2026 effcode developers" in licence
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert "keepachangelog.com" in changelog and "## [Unreleased]" in changelog
    assert (ROOT / "effcode" / "py.typed").is_file()


def test_requires_python_matches_what_the_tests_import():
    # the tests import tomllib, new in Python 3.11
    assert tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"] == ">=3.11"


def test_citation_cff_has_the_required_keys_and_the_version():
    import effcode

    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert {"cff-version", "message", "title", "authors"} <= set(citation)
    assert citation["cff-version"] == "1.2.0"
    assert citation["version"] == effcode.__version__
    assert citation["license"] == "MIT"
    assert all("name" in a or "family-names" in a for a in citation["authors"])


def test_one_version_everywhere():
    import subprocess
    import sys
    from importlib.metadata import version

    import effcode

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "effcode.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+", effcode.__version__)
    assert version("effcode") == effcode.__version__
    cli = subprocess.run([sys.executable, "-m", "effcode", "--version"], capture_output=True, text=True,
                         check=True)
    assert cli.stdout.strip() == f"effcode {effcode.__version__}"
    assert f"## [{effcode.__version__}]" in (ROOT / "CHANGELOG.md").read_text()


def test_wheel_ships_py_typed_data_and_licence(tmp_path):
    import shutil
    import subprocess
    import sys
    import zipfile

    pytest.importorskip("setuptools")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "effcode", tmp_path / "effcode", ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "--no-build-isolation", "-q",
                    "-w", "dist"], cwd=tmp_path, check=True, capture_output=True)
    import effcode

    wheel, = (tmp_path / "dist").glob("effcode-*.whl")
    assert wheel.name.startswith(f"effcode-{effcode.__version__}-")
    names = set(zipfile.ZipFile(wheel).namelist())
    data = {p.name for p in (ROOT / "effcode" / "v1" / "data").iterdir() if p.is_file()}
    assert "effcode/py.typed" in names
    assert {f"effcode/v1/data/{name}" for name in data} <= names
    assert any(n.endswith(".dist-info/licenses/LICENSE") or n.endswith(".dist-info/LICENSE") for n in names)


def test_every_packaged_data_file_has_a_licence_statement():
    folder = ROOT / "effcode" / "v1" / "data"
    readme = (folder / "README.md").read_text()
    table = readme.split("## Licences", 1)[1].split("\n## ", 1)[0]
    rows = {line.split("|")[1].strip(" `"): line.split("|")[-2].strip()
            for line in table.splitlines() if line.startswith("| `")}
    assert set(rows) == {p.name for p in folder.iterdir() if p.is_file()}
    assert all(rows.values())
    assert "GPL" not in rows["ringach2002_nxny_hist.csv"]
