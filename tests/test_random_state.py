"""One keyword for seeds: every public function takes ``random_state``; ``seed=`` is a deprecated
alias that warns (FutureWarning) and gives the same result."""

import importlib
import inspect
import warnings

import numpy as np
import pytest

from effcode.errors import InputError
from effcode.gabor import synthetic_gabors
from effcode.v1 import bootstrap_median, nxny_distance

PACKAGES = ["data", "encoding", "gabor", "learners", "plots", "v1", "runs", "experiments"]
#: public names whose ``seed`` is a recorded value or a config key, not an argument that seeds a draw:
#: ``provenance(seed=)`` and ``Run.record_image_subset(seed=)`` write the run's seed, ``ReceptiveFields.seed``
#: is the seed a measurement used (a field of the result), ``run_experiment(seed=)`` is the config key
#: that ``--seed`` sets
RECORDED_SEED = {"provenance", "Run", "ReceptiveFields", "run_experiment"}


def public_callables():
    for package in PACKAGES:
        module = importlib.import_module(f"effcode.{package}")
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isfunction(obj):
                yield f"{package}.{name}", name, obj
            elif inspect.isclass(obj):
                for attr, member in vars(obj).items():
                    if inspect.isfunction(member) and (attr == "__init__" or not attr.startswith("_")):
                        yield f"{package}.{name}.{attr}", name, member


def test_no_public_function_takes_seed_and_every_random_state_function_has_the_alias():
    with_seed, without_alias = [], []
    for label, name, function in public_callables():
        parameters = inspect.signature(function).parameters
        if "seed" in parameters and name not in RECORDED_SEED:
            with_seed.append(label)
        # estimators always took random_state (scikit-learn's name); functions took seed, so they keep the alias
        if "random_state" in parameters and not label.endswith(".__init__") and not hasattr(function, "__wrapped__"):
            without_alias.append(label)
    assert with_seed == []
    assert without_alias == []


def test_seed_alias_warns_and_gives_the_same_result():
    values = np.random.default_rng(0).lognormal(size=200)
    expected = bootstrap_median(values, 300, random_state=7)
    with pytest.warns(FutureWarning, match="`seed` is deprecated, use `random_state`"):
        assert bootstrap_median(values, 300, seed=7) == expected
    assert bootstrap_median(values, 300, random_state=8) != expected   # the seed is used, not ignored
    with pytest.warns(FutureWarning):
        old = synthetic_gabors(5, (12, 12), seed=3)
    new = synthetic_gabors(5, (12, 12), random_state=3)
    np.testing.assert_array_equal(old[0], new[0])


def test_random_state_does_not_warn_and_both_keywords_are_refused():
    nx, ny = np.random.default_rng(1).uniform(0.1, 1.5, size=(2, 30))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nxny_distance(nx, ny, n_bootstrap=50, random_state=2)
    with pytest.raises(InputError, match="give random_state only"):
        nxny_distance(nx, ny, n_bootstrap=50, seed=1, random_state=2)
