"""What liftdb prints: colour only on a terminal and never with NO_COLOR; errors on one line."""

from __future__ import annotations

import io

import pytest

from runner import output
from runner.executor import Done


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("stream", "no_color", "expected"),
    [(Terminal(), None, True), (Terminal(), "1", False), (io.StringIO(), None, False)],
    ids=["terminal", "terminal with NO_COLOR", "pipe"],
)
def test_colour_only_on_a_terminal_without_no_color(monkeypatch, stream, no_color, expected):
    if no_color is None:
        monkeypatch.delenv("NO_COLOR", raising=False)
    else:
        monkeypatch.setenv("NO_COLOR", no_color)
    assert output.use_colour(stream) is expected
    line = output.step_line(Done(3, "create_things", "up", 12), output.use_colour(stream))
    assert ("\x1b[" in line) is expected
    assert line.replace("\x1b[32m", "").replace("\x1b[0m", "") == "00003 create_things up 12 ms"


def test_an_error_over_several_lines_becomes_one():
    message = "server closed the connection unexpectedly\n\tThis probably means the server died\n"
    assert output.error_line(message) == (
        "liftdb: error: server closed the connection unexpectedly"
        " This probably means the server died"
    )
