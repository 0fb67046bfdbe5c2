"""Progress bars on a terminal only (effcode.progress): nothing is printed when standard error is not a
terminal or under CI, whatever the caller asked for; a bar is drawn on a terminal."""

import io
import sys

from effcode.gabor import fit_gabors, synthetic_gabors
from effcode.progress import interactive, progress_bar


class Terminal(io.StringIO):
    """A standard error that says it is a terminal, and keeps what was written to it."""

    def isatty(self) -> bool:
        return True


def on_terminal(monkeypatch) -> Terminal:
    """Standard error replaced by a terminal, outside CI (inside the test itself: pytest's output
    capture puts its own standard error back between a fixture's setup and the test)."""
    stream = Terminal()
    monkeypatch.setattr(sys, "stderr", stream)
    monkeypatch.delenv("CI", raising=False)
    return stream


def test_nothing_is_printed_when_stderr_is_not_a_terminal(capsys):
    filters = synthetic_gabors(6, (12, 12), random_state=0)[0]
    fit_gabors(filters, n_iter=6, progress=True)
    assert list(progress_bar(range(5), progress=True, desc="work")) == [0, 1, 2, 3, 4]
    captured = capsys.readouterr()
    assert not interactive()
    assert captured.err == "" and captured.out == ""


def test_a_bar_is_drawn_on_a_terminal_unless_declined(monkeypatch):
    terminal = on_terminal(monkeypatch)
    assert interactive()
    list(progress_bar(range(5), desc="work"))
    assert "work" in terminal.getvalue() and "5/5" in terminal.getvalue()
    declined = len(terminal.getvalue())
    list(progress_bar(range(5), progress=False, desc="quiet"))
    assert len(terminal.getvalue()) == declined


def test_nothing_is_printed_under_ci_even_on_a_terminal(monkeypatch):
    terminal = on_terminal(monkeypatch)
    monkeypatch.setenv("CI", "true")
    assert not interactive()
    list(progress_bar(range(5), progress=True, desc="work"))
    assert terminal.getvalue() == ""
