"""Typed configuration (issue 14, item 6): every experiment key is declared (type, range, units,
meaning), `effcode list -v` shows the declarations, and wrong, out-of-range or empty values are refused
in one line before anything runs."""

import math

import pytest

from effcode.cli import main
from effcode.errors import InputError
from effcode.experiments import EXPERIMENTS, get_experiment
from effcode.experiments.base import Experiment
from effcode.runs import parse_assignments
from effcode.runs.config import SHARED_KEYS, UNITLESS, Key, merge_config

ALL = [EXPERIMENTS.get(number) for number in EXPERIMENTS.names()]


def declaration_problems(exp: Experiment) -> list[str]:
    """What is missing from the declarations of ``exp``'s config keys, and defaults outside their range."""
    problems, specs = [], exp.specs
    for name, value in {"seed": 0, "source": "default", **exp.defaults}.items():
        spec = specs.get(name)
        if spec is None:
            problems.append(f"{name}: no declaration")
            continue
        if not spec.description.strip():
            problems.append(f"{name}: no description")
        if not spec.units.strip():
            problems.append(f"{name}: no units (say {' / '.join(UNITLESS)} where there is no physical unit)")
        try:
            spec.validate(value, name)
            if name in exp.quick:
                spec.validate(exp.quick[name], name)
        except InputError as exc:
            problems.append(str(exc))
    return problems


def outside(spec: Key) -> list:
    """Values just outside ``spec``'s numeric range (as one value, or as a list's last element)."""
    kind = spec.item if spec.kind in (list, dict) else spec.kind
    if kind not in (int, float):
        return []
    step = 1 if kind is int else 1e-6
    values = []
    if spec.low is not None:
        values.append(spec.low if spec.low_open else spec.low - step)
    if spec.high is not None:
        values.append(spec.high + step)
    values = [int(v) if kind is int else float(v) for v in values]
    if spec.kind is list:
        return [[v] for v in values]
    if spec.kind is dict:
        return []   # dict entries: see test_dict_entries_merge_and_are_checked
    return values


def test_the_checker_finds_undeclared_keys_and_missing_units():
    exp = Experiment(number="99", name="probe", title="", description="", compute=None, plot=None,
                     defaults={"n_filters": 8, "mystery": 1.0, "width": 3.0, "ratio": 5.0},
                     quick={"n_filters": 0},
                     keys={"width": Key(float, "", "width of something", low=0.0),
                           "ratio": Key(float, "dimensionless", "a ratio", low=0.0, high=1.0)})
    problems = declaration_problems(exp)
    assert any(p.startswith("mystery: no declaration") for p in problems)
    assert any(p.startswith("width: no units") for p in problems)
    assert "ratio must be in [0, 1], got 5.0" in problems
    assert "n_filters must be >= 1, got 0" in problems
    with pytest.raises(InputError, match="undeclared key"):
        exp.config()


@pytest.mark.parametrize("exp", ALL, ids=lambda e: e.slug)
def test_every_key_is_declared_with_meaning_units_and_a_range_its_defaults_respect(exp):
    assert declaration_problems(exp) == []
    for name, spec in exp.specs.items():
        numeric = (spec.item if spec.kind in (list, dict) else spec.kind) in (int, float)
        if numeric:
            assert spec.low is not None or spec.high is not None or spec.check is not None, \
                f"{exp.number} {name}: a number without a range"
        if spec.kind is str:
            assert spec.choices is not None or spec.check is not None, f"{exp.number} {name}: free text"
        assert spec.range_text and spec.type_name
    exp.config(), exp.config(quick=True)


@pytest.mark.parametrize("exp", ALL, ids=lambda e: e.slug)
def test_values_outside_every_range_are_refused_in_one_line(exp):
    refused = 0
    for name, spec in exp.specs.items():
        for value in outside(spec):
            with pytest.raises(InputError) as caught:
                exp.config(overrides={name: value})
            message = str(caught.value)
            assert "\n" not in message and f"experiment {exp.number} config key {name!r}" in message
            refused += 1
    assert refused >= 1


@pytest.mark.parametrize("exp", ALL, ids=lambda e: e.slug)
def test_empty_sweeps_are_refused(exp):
    for name, spec in exp.specs.items():
        if spec.kind is not list:
            continue
        if spec.min_items == 0:
            assert exp.config(overrides={name: []})[name] == []
            continue
        with pytest.raises(InputError, match=rf"key {name!r} needs at least {spec.min_items} value\(s\) "
                                             r"\(an empty sweep runs nothing\), got \[\]"):
            exp.config(overrides={name: []})


@pytest.mark.parametrize("number, name, value", [("06", "levels", []), ("06", "objectives", []),
                                                 ("11", "seeds", []), ("11", "seeds", [3]),
                                                 ("07", "factors", []), ("12", "multiples_ica", [])])
def test_the_issue_s_empty_sweeps(number, name, value):
    with pytest.raises(InputError, match="an empty sweep runs nothing"):
        get_experiment(number).config(overrides={name: value})


def test_n_seeds_zero_and_r2_threshold_two_are_refused():
    with pytest.raises(InputError, match=r"experiment 05 config key 'r2_threshold' must be in \[0, 1\], got 2.0"):
        get_experiment("05").config(overrides={"r2_threshold": 2.0})
    with pytest.raises(InputError, match="key 'n_seeds' must be >= 1, got 0"):
        get_experiment("01").config(overrides={"n_seeds": 0})


@pytest.mark.parametrize("number, name, value, message", [
    ("01", "objective", "l9", "must be one of .*l1"),
    ("06", "objectives", ["l1", "l9"], "element 1 must be one of"),
    ("06", "base_lam", {"l9": 1.0}, "entry name must be one of"),
    ("01", "source", "no_such_set", "must name a registered image set"),
    ("05", "population", "cells", "must be one of measured_rf, filters, basis"),
    ("05", "rf_stimulus", "pink_noise", "must be one of hartley, white_noise"),
    ("05", "interval_level", 0.0, r"must be in \(0, 1\), got 0.0"),
    ("05", "interval_level", 1.0, r"must be in \(0, 1\), got 1.0"),
    ("13", "n_permutations", 9, "must be >= 10, got 9"),
    ("06", "backend", "spark", "must be one of joblib, dask"),
    ("06", "scheduler", "foo", "dask scheduler address"),
    ("06", "n_jobs", 0, r"must be -1 \(every core\) or >= 1, got 0"),
    ("02", "algorithm", "jade", "must be one of fastica, infomax"),
    ("01", "n_steps", None, "expects int, got None"),
    ("01", "lam", math.inf, "must be a finite number"),
    ("01", "n_filters", 8.5, "expects int"),
    ("01", "seed", True, "expects int"),
])
def test_choices_types_and_special_values_are_refused(number, name, value, message):
    with pytest.raises(InputError, match=message):
        get_experiment(number).config(overrides={name: value})


def test_the_scorer_keys_choose_measured_receptive_fields_and_max_relative_se_is_gone():
    from effcode.experiments.common import POPULATION_KEYS, SCORER_DEFAULTS, scorer_settings

    for number in ("05", "06", "07", "13"):
        cfg = get_experiment(number).config()
        assert (cfg["population"], cfg["rf_stimulus"]) == ("measured_rf", "hartley")
        assert cfg["interval_level"] == 0.95 and cfg["n_permutations"] == 1999
        # the scorer gets every scorer key but those that choose the array it scores
        assert set(scorer_settings(cfg)) == set(SCORER_DEFAULTS) - set(POPULATION_KEYS)
        with pytest.raises(InputError, match=f"unknown experiment {number} config key 'max_relative_se'"):
            get_experiment(number).config(overrides={"max_relative_se": 0.2})
    assert get_experiment("05").config(overrides={"population": "basis"})["population"] == "basis"


def test_accepted_values_scientific_notation_none_and_sources(tmp_path):
    e01 = get_experiment("01")
    assert e01.config(overrides=parse_assignments(["lam=1e-3"]))["lam"] == 0.001
    assert e01.config(overrides=parse_assignments(["lam=2"]))["lam"] == 2.0      # an int for a float
    assert get_experiment("03").config(overrides={"n_steps": None})["n_steps"] is None
    for source in ("dead_leaves", "noisy_photos:250", "vanhateren:/some/dir", str(tmp_path)):
        assert e01.config(overrides={"source": source})["source"] == source
    assert get_experiment("06").config(overrides=parse_assignments(["scheduler=tcp://10.0.0.1:8786"]))["scheduler"]
    assert get_experiment("06").config(overrides={"n_jobs": -1})["n_jobs"] == -1


def test_dict_entries_merge_and_are_checked():
    e06 = get_experiment("06")
    merged = e06.config(overrides=parse_assignments(["base_lam={l1: 3}"]))["base_lam"]
    assert merged == {"l1": 3.0, "cauchy": 2.0, "l0": 1.0}
    with pytest.raises(InputError, match=r"key 'base_lam' entry 'l0' must be >= 0, got -1.0"):
        e06.config(overrides={"base_lam": {"l0": -1.0}})
    with pytest.raises(InputError, match=r"key 'lam' entry 'l1' expects float"):
        get_experiment("13").config(overrides={"lam": {"l1": "high"}})
    with pytest.raises(InputError, match=r"write \{l1: 3\}, with a space after the colon"):
        parse_assignments(["base_lam={l1:3}"])


def test_choices_are_read_when_checked_so_a_users_objective_joins():
    names = ["l1"]
    key = Key(list, "name", "objectives", item=str, choices=lambda: names)
    with pytest.raises(InputError, match="element 0 must be one of l1; got 'mine'"):
        merge_config({"objectives": ["l1"]}, {"objectives": ["mine"]}, keys={"objectives": key})
    names.append("mine")
    assert merge_config({"objectives": ["l1"]}, {"objectives": ["mine"]}, keys={"objectives": key}) == {
        "objectives": ["mine"]}


def test_shared_keys_are_declared_once_and_experiments_may_narrow_them():
    assert get_experiment("01").specs["n_filters"] is SHARED_KEYS["n_filters"]
    e03 = get_experiment("03").specs["n_steps"]
    assert e03 is not SHARED_KEYS["n_steps"] and e03.none_means


def test_list_verbose_shows_a_table_of_every_key(capsys):
    assert main(["list", "-v"]) == 0
    out = capsys.readouterr().out
    assert out.count("key ") >= len(ALL)
    header = next(line for line in out.splitlines() if line.strip().startswith("key"))
    assert header.split() == ["key", "type", "default", "quick", "range", "units", "description"]
    for exp in ALL:
        section = out.split(exp.slug, 1)[1].split("\n\n", 1)[0]
        for name, spec in exp.specs.items():
            row = next(line for line in section.splitlines() if line.split()[:1] == [name])
            assert spec.units in row and spec.description in row and spec.type_name in row
    row = next(line for line in out.split("01_sparse_coding", 1)[1].splitlines() if line.split()[:1] == ["n_steps"])
    assert row.split()[:5] == ["n_steps", "int", "4800", "150", ">="]


def test_run_checks_every_experiment_before_any_runs(tmp_path, capsys):
    # experiment 03 allows n_steps None (its learner's default), experiment 01 does not: nothing may run
    status = main(["run", "03", "01", "--quick", "--set", "n_steps=null", "--results", str(tmp_path)])
    assert status == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "experiment 01 config key 'n_steps' expects int, got None" in err
    assert not any(tmp_path.iterdir())
