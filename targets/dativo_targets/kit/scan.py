"""Split a chunk into runs of RECORD lines and the rare other messages, by byte scan.

A line that starts with ``{"type":"<not RECORD>"`` (the layout singer-sdk and singer-python
write) is a *control* line; everything between control lines is a *record run*. The scan may
miss control lines written differently (another key first, odd spacing): the decoder verifies
every run (row count, ``type`` and ``stream`` columns) and falls back to the line-by-line path
when anything is off, so the scan only decides speed, never correctness.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

_CONTROL_AFTER_NL = re.compile(rb'\n\{"type": ?"(?!RECORD")')
_CONTROL_AT_START = re.compile(rb'\{"type": ?"(?!RECORD")')
_STREAM = re.compile(rb'"stream": ?"([^"\\]*)"')


@dataclass(slots=True)
class Segment:
    """Whole lines ``data`` starting at ``first_line``; ``records`` marks a record run."""

    records: bool
    first_line: int
    data: memoryview
    line_count: int


def split(data: bytes, first_line: int) -> Iterator[Segment]:
    """Segments of a newline-aligned chunk, in order."""
    view = memoryview(data)
    starts = [m.start() + 1 for m in _CONTROL_AFTER_NL.finditer(data)]
    if _CONTROL_AT_START.match(data):
        starts.insert(0, 0)
    pos = 0
    line = first_line
    for start in starts:
        if start > pos:
            n = data.count(b"\n", pos, start)
            yield Segment(True, line, view[pos:start], n)
            line += n
        end = data.find(b"\n", start)
        end = len(data) if end < 0 else end + 1
        yield Segment(False, line, view[start:end], 1)
        line += 1
        pos = end
    if pos < len(data):
        rest = view[pos:]
        n = data.count(b"\n", pos)
        if not data.endswith(b"\n"):
            n += 1
        yield Segment(True, line, rest, n)


def first_stream(data: memoryview) -> str | None:
    """The ``stream`` of the first line of a record run, if the scan can see it."""
    head = bytes(data[:4096])
    end = head.find(b"\n")
    m = _STREAM.search(head if end < 0 else head[:end])
    return m.group(1).decode("utf-8", "replace") if m else None
