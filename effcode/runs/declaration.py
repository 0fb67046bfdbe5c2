"""What an experiment declares about itself, apart from the code that computes it.

A :class:`Declaration` holds an experiment's number, name, title, description and config: its
defaults, its quick values and the declarations (:class:`~effcode.runs.config.Key`) of its keys.
It imports nothing heavy, so the command line can list the experiments and check a config
against it without importing the experiments (and torch, matplotlib and scikit-learn with them;
:mod:`effcode.runs.catalogue` keeps declarations as JSON). An experiment
(:class:`effcode.experiments.base.Experiment`) is a declaration with its compute and plot steps.

The config of a run is built in three layers, each checked against the declared keys::

    config = check(defaults ← quick values (with ``quick``) ← overrides)

where ``a ← b`` replaces the entries of ``a`` named in ``b`` (a dict value merges entry by entry).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..registry import Registry
from .config import SHARED_KEYS, Key, check_config, merge_config

#: keys every experiment config has, with their defaults (``image_fraction``: effcode.data.IMAGE_FRACTION, kept
#: literal so that listing experiments does not import the data stack; a test checks they match)
COMMON_DEFAULTS = {"seed": 0, "source": "default", "image_fraction": 0.5}


@dataclass(frozen=True, kw_only=True)
class Declaration:
    """An experiment's number, name, title, description and config declaration."""

    number: str
    name: str
    title: str
    description: str
    defaults: dict
    quick: dict
    #: declarations (type, range, units, meaning) of the config keys that are not in ``SHARED_KEYS``,
    #: or that mean something else here
    keys: dict[str, Key] = field(default_factory=dict)

    @property
    def slug(self) -> str:
        return f"{self.number}_{self.name}"

    @property
    def specs(self) -> dict[str, Key]:
        """The declaration of each config key that has one: the experiment's own, else the shared one."""
        names = {**COMMON_DEFAULTS, **self.defaults}
        found = {name: self.keys.get(name) or SHARED_KEYS.get(name) for name in names}
        return {name: key for name, key in found.items() if key is not None}

    def config(self, *, quick: bool = False, overrides: dict | None = None) -> dict:
        """Defaults, then the quick settings (``quick``), then ``overrides``; every value is checked
        against its declared type and range before anything runs (one-line :class:`InputError`)."""
        defaults, specs = {**COMMON_DEFAULTS, **self.defaults}, self.specs
        where = f"experiment {self.number} config"
        config = merge_config(defaults, self.quick if quick else {}, where=f"experiment {self.number} quick",
                              keys=specs)
        config = merge_config(config, overrides or {}, where=where, keys=specs)
        return check_config(config, specs, where=where)


def find_declaration(registry: Registry, key) -> Declaration:
    """The declaration in ``registry`` (number -> declaration) named by ``key``: a number ("1", "01"),
    a slug ("01_sparse_coding") or a name ("sparse_coding"); an unknown key is a one-line
    :class:`~effcode.errors.InputError` listing the known numbers."""
    key = str(key)
    if key.isdigit():
        key = f"{int(key):02d}"
    for number in registry.names():
        declaration = registry.get(number)
        if key in (declaration.number, declaration.slug, declaration.name):
            return declaration
    return registry.get(key)  # raises with the list of known numbers
