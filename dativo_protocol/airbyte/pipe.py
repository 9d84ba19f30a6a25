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
from dativo_protocol.jsonl import (
    DEFAULT_MAX_LINE_BYTES,
    MESSAGE_CHUNK_BYTES,
    LineReader,
    MessageReader,
    MessageWriter,
)


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
    summary = Summary()
    # 1 MiB blocks keep a batch's lines and its output in the CPU cache
    reader = LineReader(source, max_line_bytes=max_line_bytes, chunk_bytes=MESSAGE_CHUNK_BYTES)
    out: list[bytes] = []
    try:
        for first, lines, terminated in reader.batches():
            if not terminated and not converter.in_pretty_message and not _is_json(lines[-1]):
                raise TruncatedStreamError(
                    "the last line has no newline and is not valid JSON: the stream looks "
                    "truncated",
                    line=first + len(lines) - 1,
                )
            states = converter.convert_lines(lines, first, out)
            sink.write(b"".join(out))
            out.clear()
            if states:  # a target downstream may commit up to this STATE: hand it over now
                summary.states += states
                sink.flush()
        for message in converter.finish():
            out.append(codec.dumps_line(message))
    finally:
        sink.write(b"".join(out))  # what was converted before an error
        sink.flush()
        summary.lines = reader.lines_read
        summary.records = converter.counts
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


def _is_json(line: bytes) -> bool:
    try:
        codec.loads(line)
    except codec.JSONDecodeError:
        return False
    return True
