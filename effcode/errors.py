"""Exception types raised by effcode.

Every error caused by what a user passed in (a source name, a config key, an
array of the wrong shape) is an :class:`InputError`.  The command line prints
such errors as one line, without a traceback, unless ``--debug`` is given.
"""


class EffcodeError(Exception):
    """Base class of every error effcode raises on purpose."""


class InputError(EffcodeError, ValueError):
    """A user-supplied input is invalid; the message names it and what was expected."""


class InputTypeError(InputError, TypeError):
    """A user-supplied array holds something that is not a number (also a :class:`TypeError`, as
    Python's own conversions raise)."""


class DivergenceError(EffcodeError, FloatingPointError):
    """Training produced NaN or Inf; the message names the step and the likely cause."""


class CorruptFileError(InputError):
    """A file effcode wrote earlier is unreadable or does not match its checksum; the message names it."""


class MissingEntryError(CorruptFileError, KeyError):
    """A run's file lacks an entry its reader needs (written by an older effcode); the message names the file,
    the entry and the experiment to rerun.  Also a :class:`KeyError`, as a missing entry of a dict raises."""

    def __str__(self) -> str:   # KeyError's own str() quotes the message
        return str(self.args[0])


class IntegrityWarning(UserWarning):
    """A cached file was corrupt and is being recomputed (or a checkpoint ignored)."""
