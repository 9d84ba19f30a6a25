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

#: a control line (or, with ``_EVENTS``, also a STATE line) where it starts a line
_CONTROLS = re.compile(rb'\{"type": ?"(SCHEMA|ACTIVATE_VERSION|BATCH)"')
_EVENTS = re.compile(rb'\{"type": ?"(SCHEMA|ACTIVATE_VERSION|BATCH|STATE)"')
_HEADS = (b'{"type":', b'{"type": ')
_RECORD_PREFIX = re.compile(rb'\{"type": ?"RECORD", ?"stream": ?"([^"\\]*)"')
_STATE_PREFIX = re.compile(rb'\{"type": ?"STATE"')
_STATE_LINE = re.compile(rb'\n\{"type": ?"STATE"')

Data = bytes | bytearray


@dataclass(slots=True)
class Segment:
    """Whole lines ``data`` starting at ``first_line``; ``records`` marks a record run."""

    records: bool
    first_line: int
    data: memoryview
    line_count: int
    base: Data = b""  # the block ``data`` is a view of
    start: int = 0  # offset of ``data`` in ``base``


def split(
    data: Data,
    size: int,
    first_line: int,
    line_count: int,
    max_run_lines: int = 1 << 62,
    *,
    start: int = 0,
) -> Iterator[Segment]:
    """Segments of the newline-aligned lines ``data[start:size]`` (``line_count`` of them),
    in order.
    A record run ends after the first STATE line that makes it at least ``max_run_lines`` long
    (so commits follow the flush settings), and before every control line.

    One regex pass finds the control (and, only when a run may need to end early, STATE) lines;
    lines are counted only between the places found."""
    view = memoryview(data)[:size]
    pattern = _EVENTS if max_run_lines < line_count else _CONTROLS
    events = [
        (at, m.group(1) == b"STATE")
        for m in pattern.finditer(data, start, size)
        if (at := m.start()) == start or data[at - 1] == 10
    ]
    if not events:
        yield Segment(True, first_line, view[start:], line_count, data, start)
        return
    pos = start  # start of the current run
    line = first_line
    counted, n = start, 0  # lines of the run up to offset ``counted``
    for at, is_state in events:
        end = data.find(b"\n", at, size)
        end = size if end < 0 else end + 1
        if is_state:
            n += data.count(b"\n", counted, end)
            counted = end
            if n >= max_run_lines:
                yield Segment(True, line, view[pos:end], n, data, pos)
                line += n
                pos = counted = end
                n = 0
            continue
        if at > pos:
            n += data.count(b"\n", counted, at)
            yield Segment(True, line, view[pos:at], n, data, pos)
            line += n
        yield Segment(False, line, view[at:end], 1, data, at)
        line += 1
        pos = counted = end
        n = 0
    if pos < size:
        yield Segment(True, line, view[pos:], first_line + line_count - line, data, pos)


def cut(seg: Segment, index: int, offset: int) -> tuple[Segment, Segment]:
    """``seg`` cut before its line ``index``, which starts at byte ``offset`` of ``seg.data``."""
    data, start = seg.data, seg.start
    return (
        Segment(True, seg.first_line, data[:offset], index, seg.base, start),
        Segment(
            True,
            seg.first_line + index,
            data[offset:],
            seg.line_count - index,
            seg.base,
            start + offset,
        ),
    )


def cut_first(seg: Segment) -> tuple[Segment, Segment]:
    """The first line of ``seg`` and the lines after it."""
    end = seg.base.find(b"\n", seg.start, seg.start + seg.data.nbytes)
    first, after = cut(seg, 1, seg.data.nbytes if end < 0 else end + 1 - seg.start)
    return first, after


def record_stream(data: memoryview) -> str | None:
    """The ``stream`` of the RECORD line that starts ``data`` (usual layout), if any."""
    m = _RECORD_PREFIX.match(data)
    return m.group(1).decode("utf-8", "replace") if m else None


def first_stream(data: memoryview) -> str | None:
    """The ``stream`` of the first RECORD line of a run, if the scan can see it."""
    m = _RECORD_PREFIX.search(data, 0, 65536)
    return m.group(1).decode("utf-8", "replace") if m else None


def line_at(data: Data, start: int, stop: int) -> bytes:
    """The line at offset ``start`` (without newline), within ``data[:stop]``."""
    end = data.find(b"\n", start, stop)
    return bytes(data[start:stop] if end < 0 else data[start:end])


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


def last_state_line(seg: Segment, row: int) -> int | None:
    """Offset in ``seg.base`` of the STATE line that is line ``row`` (0-based) of a record run,
    searched backwards from the run's end (``None`` if it is not laid out as usual)."""
    data, lo = seg.base, seg.start
    hi = lo + seg.data.nbytes
    pos = data.rfind(b'"STATE"', lo, hi)
    while pos >= 0:
        for head in _HEADS:
            begin = pos - len(head)
            if begin >= lo and data[begin:pos] == head and (begin == lo or data[begin - 1] == 10):
                lines_from_it = data.count(b"\n", begin, hi) + (0 if data[hi - 1] == 10 else 1)
                return begin if seg.line_count - lines_from_it == row else None
        pos = data.rfind(b'"STATE"', lo, pos)
    return None


def starts_with_control(data: Data, start: int = 0) -> bool:
    """True when the line at ``start`` is a SCHEMA/ACTIVATE_VERSION/BATCH message (usual
    layout)."""
    return _CONTROLS.match(data, start, start + 40) is not None


def next_state_line(data: Data, at: int, size: int, *, start: int = 0) -> int:
    """Offset of the first line starting at or after ``at`` (within ``data[start:size]``)
    that the scan sees as a STATE message, or -1."""
    if at <= start:
        if _STATE_PREFIX.match(data, start, size):
            return start
        at = start + 1
    m = _STATE_LINE.search(data, at - 1, size)
    return m.start() + 1 if m else -1
