"""The progress line is drawn only on a terminal, and shows messages, rate and per-stream counts."""

from __future__ import annotations

import io

from dativo_protocol.runner.pipe import Progress
from dativo_protocol.runner.progress import ProgressLine


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _progress(elapsed: float, messages: int) -> Progress:
    return Progress(
        elapsed=elapsed,
        messages=messages,
        bytes=2_000_000,
        states_stored=3,
        extracted={"users": 90},
        loaded={"users": 80},
    )


def test_progress_on_a_terminal():
    out = _Tty()
    line = ProgressLine(out)
    line("demo", _progress(1.0, 1000))
    line("demo", _progress(2.0, 3000))
    text = out.getvalue()
    assert "demo:" in text
    assert "3,000 msgs (2,000/s)" in text
    assert "users=80" in text
    line.done()
    assert out.getvalue().endswith("\r\x1b[K")


def test_no_progress_when_not_a_terminal():
    out = io.StringIO()
    ProgressLine(out)("demo", _progress(1.0, 10))
    assert out.getvalue() == ""
