"""Large newline-aligned chunks of input, from the core's LineReader.

A pipe hands out at most its buffer (64 KiB) per read; parsing that little at a time costs more
than the parse, so small chunks are joined until ``chunk_bytes`` or ``linger`` seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import BinaryIO

from dativo_protocol.jsonl import Chunk, LineReader


def coalesced_chunks(
    stream: BinaryIO,
    *,
    chunk_bytes: int,
    max_line_bytes: int,
    linger: float = 0.5,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[Chunk]:
    # a file hands out whole chunks in one read; a pipe what it holds (joined below)
    reader = LineReader(stream, max_line_bytes=max_line_bytes, chunk_bytes=chunk_bytes)
    parts: list[bytes] = []
    size = 0
    first = 0
    count = 0
    started = 0.0
    for chunk in reader.chunks():
        if not parts:
            first, started = chunk.first_line, clock()
        parts.append(chunk.data)
        size += len(chunk.data)
        count += chunk.line_count
        if size >= chunk_bytes or not chunk.complete or clock() - started >= linger:
            yield Chunk(first, parts[0] if len(parts) == 1 else b"".join(parts), count)
            parts, size, count = [], 0, 0
    if parts:
        yield Chunk(first, parts[0] if len(parts) == 1 else b"".join(parts), count)
