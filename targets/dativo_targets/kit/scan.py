"""Split a chunk into runs of RECORD lines and the rare other messages, by byte scan.

A line that starts with ``{"type":"<not RECORD or STATE>"`` (the layout singer-sdk and
singer-python write) is a *control* line; everything between control lines is a *record run*:
RECORD lines and the STATE lines among them (only the last STATE of a run matters: STATEs are
emitted after the commit that covers them, and a commit never falls inside a run). The scan may
miss control lines written differently (another key first, odd spacing): the decoder verifies
every run (row count, ``type`` and ``stream`` columns) and falls back to the line-by-line path
when anything is off, so the scan only decides speed, never correctness.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

_CONTROL_AFTER_NL = re.compile(rb'\n\{"type": ?"(?!RECORD"|STATE")')
_CONTROL_AT_START = re.compile(rb'\{"type": ?"(?!RECORD"|STATE")')
_STATE_AFTER_NL = re.compile(rb'\n\{"type": ?"STATE"')
_RECORD_PREFIX = re.compile(rb'\{"type": ?"RECORD", ?"stream": ?"([^"\\]*)"')
_STATE_PREFIX = re.compile(rb'\{"type": ?"STATE"')


@dataclass(slots=True)
class Segment:
    """Whole lines ``data`` starting at ``first_line``; ``records`` marks a record run."""

    records: bool
    first_line: int
    data: memoryview
    line_count: int


def split(data: bytes, first_line: int, max_run_lines: int = 1 << 62) -> Iterator[Segment]:
    """Segments of a newline-aligned chunk, in order. A record run ends after the first STATE
    line that makes it at least ``max_run_lines`` long (so commits can follow the flush
    settings), and before every control line."""
    view = memoryview(data)
    events = [(m.start() + 1, False) for m in _CONTROL_AFTER_NL.finditer(data)]
    if _CONTROL_AT_START.match(data):
        events.insert(0, (0, False))
    if max_run_lines < len(data):
        events += [(start, True) for start in state_lines(data)]
        events.sort()
    pos = 0
    line = first_line
    for start, is_state in events:
        end = data.find(b"\n", start)
        end = len(data) if end < 0 else end + 1
        if is_state:
            n = data.count(b"\n", pos, end)
            if n >= max_run_lines:
                yield Segment(True, line, view[pos:end], n)
                line += n
                pos = end
            continue
        if start > pos:
            n = data.count(b"\n", pos, start)
            yield Segment(True, line, view[pos:start], n)
            line += n
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
    """The ``stream`` of the first RECORD line of a run, if the scan can see it."""
    m = _RECORD_PREFIX.search(bytes(data[:65536]))
    return m.group(1).decode("utf-8", "replace") if m else None


def state_lines(data: Any) -> list[int]:
    """Start offsets of the lines of a run that the scan sees as STATE messages."""
    starts = [m.start() + 1 for m in _STATE_AFTER_NL.finditer(data)]
    if _STATE_PREFIX.match(data):
        starts.insert(0, 0)
    return starts


def line_at(data: bytes, start: int) -> bytes:
    end = data.find(b"\n", start)
    return data[start:] if end < 0 else data[start:end]


def group_by_stream(data: bytes) -> tuple[dict[str, list[bytes]], int | None, bytes] | None:
    """The RECORD lines of a run grouped by stream (in order within each stream), and the index
    and bytes of its last STATE line, if every line has the usual layout; else ``None``."""
    groups: dict[str, list[bytes]] = {}
    last_state: int | None = None
    state = b""
    lines = data.split(b"\n")
    if lines and not lines[-1]:
        lines.pop()
    match_record, match_state = _RECORD_PREFIX.match, _STATE_PREFIX.match
    for i, line in enumerate(lines):
        m = match_record(line)
        if m is not None:
            name = m.group(1).decode("utf-8", "replace")
            group = groups.get(name)
            if group is None:
                group = groups[name] = []
            group.append(line)
        elif match_state(line):
            last_state, state = i, line
        else:
            return None
    return groups, last_state, state
