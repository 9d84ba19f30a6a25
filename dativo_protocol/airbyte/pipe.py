"""Run a converter over a byte stream: the body of ``dativo convert``.

Output goes through :class:`~dativo_protocol.jsonl.MessageWriter` and is flushed after every
STATE (so a target downstream can commit up to it) and at the end. On an error, what was
converted before it is flushed and the error propagates (it names the line, never its content).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import BinaryIO

from dativo_protocol import codec
from dativo_protocol.airbyte.from_singer import SingerToAirbyte
from dativo_protocol.airbyte.to_singer import AirbyteToSinger
from dativo_protocol.errors import TruncatedStreamError
from dativo_protocol.jsonl import DEFAULT_MAX_LINE_BYTES, LineReader, MessageReader, MessageWriter


@dataclass
class Summary:
    lines: int = 0
    records: dict[str, int] = field(default_factory=dict)
    states: int = 0


def airbyte_to_singer(
    source: BinaryIO,
    sink: BinaryIO,
    converter: AirbyteToSinger,
    *,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
) -> Summary:
    """Airbyte messages on ``source`` -> Singer messages on ``sink``.

    Lines that are not Airbyte messages are skipped (the protocol allows them), except a final
    line without newline that is not JSON: the stream was cut short (``TruncatedStreamError``).
    """
    writer = MessageWriter(sink)
    summary = Summary()
    reader = LineReader(source, max_line_bytes=max_line_bytes)
    pretty = _PrettyJoiner(max_line_bytes)
    try:
        for first, lines, terminated in reader.batches():
            for lineno, raw in enumerate(lines, first):
                if not raw or raw.isspace():
                    continue
                if not terminated and not _is_json(raw):
                    raise TruncatedStreamError(
                        "the last line has no newline and is not valid JSON: the stream looks "
                        "truncated",
                        line=lineno,
                    )
                line = pretty.feed(raw, lineno)
                if line is None:
                    continue
                for message in converter.feed_line(line, pretty.first_line or lineno):
                    writer.write(message)
                    if message["type"] == "STATE":
                        summary.states += 1
                        writer.flush()
        if pretty.pending:
            raise TruncatedStreamError(
                "the stream ended inside a pretty-printed message", line=pretty.first_line
            )
        for message in converter.finish():
            writer.write(message)
    finally:
        summary.lines = reader.lines_read
        summary.records = dict(converter.counts)
        writer.flush()
    return summary


def singer_to_airbyte(
    source: BinaryIO,
    sink: BinaryIO,
    converter: SingerToAirbyte,
    *,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
) -> Summary:
    """Singer messages on ``source`` (strict: malformed lines are errors) -> Airbyte on ``sink``."""
    writer = MessageWriter(sink)
    summary = Summary()
    reader = MessageReader(source, max_line_bytes=max_line_bytes)
    try:
        for message in reader:
            for out in converter.feed(message, reader.line_no):
                writer.write(out)
                if out["type"] == "STATE":
                    summary.states += 1
                    writer.flush()
    finally:
        summary.lines = reader.lines_read
        summary.records = dict(converter.counts)
        writer.flush()
    return summary


class _PrettyJoiner:
    """Joins a pretty-printed message (older CDKs: a line ``{``, indented lines, a line ``}``)
    back into one line; every other line passes through unchanged."""

    __slots__ = ("_limit", "_parts", "_size", "first_line")

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._parts: list[bytes] = []
        self._size = 0
        self.first_line: int | None = None

    @property
    def pending(self) -> bool:
        return bool(self._parts)

    def feed(self, line: bytes, lineno: int) -> bytes | None:
        stripped = line.rstrip()
        if not self._parts:
            self.first_line = None
            if stripped != b"{":
                return line
            self.first_line = lineno
        self._parts.append(line)
        self._size += len(line)
        if stripped == b"}" or self._size > self._limit:
            joined = b"\n".join(self._parts)
            self._parts.clear()
            self._size = 0
            return joined
        return None


def _is_json(line: bytes) -> bool:
    try:
        codec.loads(line)
    except codec.JSONDecodeError:
        return False
    return True
