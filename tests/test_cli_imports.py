"""The command line starts light: listing, help and config errors import none of torch, matplotlib and
scikit-learn, because they read the experiments' declarations from a catalogue (effcode.runs.catalogue)."""

import json
import os
import subprocess
import sys

import pytest

from effcode.errors import InputError
from effcode.runs.catalogue import cached_declarations, key_record, read_catalogue, sources_digest, write_catalogue
from effcode.runs.config import Key
from effcode.runs.declaration import Declaration

HEAVY = ("torch", "matplotlib", "sklearn")

#: runs the command line in a fresh interpreter and prints its exit status and the heavy modules it imported
PROBE = """
import json, sys
from effcode.cli import main
try:
    status = main(sys.argv[1:])
except SystemExit as exit:
    status = exit.code
print(json.dumps({"status": status, "heavy": sorted(m for m in %r if m in sys.modules)}))
""" % (HEAVY,)


def _probe(argv, cache_dir) -> dict:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache_dir)}
    done = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, env=env, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_help_list_and_config_errors_import_none_of_torch_matplotlib_sklearn(tmp_path):
    _probe(["list"], tmp_path)   # writes the user's catalogue if the packaged one predates the sources
    cases = [(["--help"], 0), (["list"], 0), (["run", "--help"], 0), (["run", "01", "--set", "n_filters=abc"], 2),
             (["run", "99"], 2), (["run", "all", "--quick", "--set", "n_seeds=0"], 2)]
    for argv, status in cases:
        assert _probe(argv, tmp_path) == {"status": status, "heavy": []}, argv


def test_the_probe_sees_a_command_that_imports_the_experiments(tmp_path):
    assert _probe(["figures", "--results", str(tmp_path / "empty")], tmp_path) == {"status": 2, "heavy": sorted(HEAVY)}


def _declarations():
    from effcode.experiments import EXPERIMENTS

    return [EXPERIMENTS.get(n) for n in EXPERIMENTS.names()]


def test_the_catalogue_gives_back_every_declaration_as_the_experiments_declare_it(tmp_path):
    from effcode.cli import key_table

    live = _declarations()
    path = tmp_path / "catalogue.json"
    write_catalogue(path, live, digest="d")
    read = read_catalogue(path, digest="d")
    assert [d.slug for d in read] == [d.slug for d in live]
    for mine, theirs in zip(read, live):
        assert (mine.title, mine.description) == (theirs.title, theirs.description)
        assert mine.config() == theirs.config() and mine.config(quick=True) == theirs.config(quick=True)
        assert key_table(mine) == key_table(theirs)   # types, ranges (choices, checks), units, meanings
    assert read_catalogue(path, digest="other") is None
    assert read_catalogue(tmp_path / "absent.json", digest="d") is None


def test_a_catalogue_checks_configs_as_the_experiment_does(tmp_path):
    live = {d.number: d for d in _declarations()}
    write_catalogue(tmp_path / "c.json", live.values(), digest="d")
    read = {d.number: d for d in read_catalogue(tmp_path / "c.json", digest="d")}
    for number, overrides, message in [("01", {"n_filters": "abc"}, "expects int"),
                                       ("02", {"algorithm": "pca"}, "must be one of fastica, infomax"),
                                       ("06", {"n_jobs": 0}, "must be -1 (every core) or >= 1"),
                                       ("06", {"objectives": ["l1", "nope"]}, "must be one of"),
                                       ("01", {"source": "no-such-source"}, "no-such-source")]:
        for declaration in (read[number], live[number]):
            with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
                declaration.config(quick=True, overrides=overrides)


def test_cached_declarations_are_rebuilt_only_when_a_source_changes(tmp_path):
    source = tmp_path / "e01_probe.py"
    source.write_text("N_FILTERS = 8\n")
    packaged, user = tmp_path / "packaged.json", tmp_path / "cache" / "user.json"
    built = []

    def build():
        built.append(1)
        return [Declaration(number="01", name="probe", title=f"build {len(built)}", description="",
                            defaults={"n_filters": 8}, quick={})]

    def titles():
        return [d.title for d in cached_declarations(sources=[source], catalogues=[packaged, user], build=build)]

    assert titles() == ["build 1"] and titles() == ["build 1"] and len(built) == 1   # the user's catalogue
    source.write_text("N_FILTERS = 16\n")
    assert titles() == ["build 2"] and titles() == ["build 2"] and len(built) == 2
    write_catalogue(packaged, [Declaration(number="01", name="probe", title="packaged", description="",
                                           defaults={}, quick={})], digest=sources_digest([source]))
    assert titles() == ["packaged"] and len(built) == 2   # a current packaged catalogue comes first


def test_a_check_the_catalogue_could_not_import_back_is_refused():
    def local_check(value, where):
        """anything"""

    with pytest.raises(InputError, match="not a module-level function"):
        key_record(Key(int, "count", "n", check=local_check))
