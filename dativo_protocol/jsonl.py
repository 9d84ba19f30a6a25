"""JSONL message streams: a chunked line reader, a message reader and a buffered writer.

(Newline-aligned blocks of bytes for batch parsers come from :mod:`dativo_protocol.blocks`.)

The reader is the hot path of every target: it reads large blocks, splits them into lines in C
(``bytes.split``) and parses each line with orjson, so it runs close to a bare
``for line in f: orjson.loads(line)`` loop (``bench/parse.py`` measures it).

Errors name the line number and the reason, never the line's content (it may hold secrets):

- a line that is not JSON, not a JSON object, or has no string ``type`` -> MalformedLineError;
- a final line without newline that does not parse -> TruncatedStreamError (the producer died
  mid-write);
- a line longer than ``max_line_bytes`` -> LineTooLongError, raised as soon as the limit is
  passed, without buffering the rest of the line.

Readers are resumable: after one of these errors, iterating again continues with the next line
(``dativo validate --all`` uses this to report every violation).
"""

from __future__ import annotations

from collections.abc import Iterator
from operator import length_hint
from typing import Any, BinaryIO

from dativo_protocol import codec
from dativo_protocol.errors import (
    LineTooLongError,
    MalformedLineError,
    ProtocolError,
    TruncatedStreamError,
)

DEFAULT_MAX_LINE_BYTES = 64 * 1024 * 1024
DEFAULT_CHUNK_BYTES = 8 * 1024 * 1024
#: the message reader's block size: smaller blocks keep the lines it parses in the CPU cache
MESSAGE_CHUNK_BYTES = 64 * 1024
#: the writer hands its buffer to the stream once it holds this many bytes
WRITE_BUFFER_BYTES = 1024 * 1024

#: the upper-case Singer message types; anything else is normalised (or tolerated) off the fast path
KNOWN_TYPES = frozenset({"SCHEMA", "RECORD", "STATE", "ACTIVATE_VERSION", "BATCH"})

_loads = codec.loads
_JSONDecodeError = codec.JSONDecodeError


class LineReader:
    """Reads a binary stream in large blocks and hands out whole lines.

    Iterating yields ``(line_no, line)`` with the newline removed, skipping blank lines (they
    still count); ``batches()`` yields lists of lines. For newline-aligned blocks of bytes
    (pyarrow.json and friends) use :class:`dativo_protocol.blocks.BlockReader`.
    """

    __slots__ = (
        "_carry",
        "_chunk_bytes",
        "_eof",
        "_long_next",
        "_max",
        "_next_line",
        "_pending",
        "_pending_len",
        "_read",
        "_skipping",
    )

    def __init__(
        self,
        stream: BinaryIO,
        *,
        max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
        chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    ) -> None:
        if max_line_bytes < 1 or chunk_bytes < 1:
            raise ValueError("max_line_bytes and chunk_bytes must be positive")
        # read1 returns what is available (a pipe does not wait for a full block); files give
        # whole blocks either way.
        self._read = getattr(stream, "read1", None) or stream.read
        self._max = max_line_bytes
        self._chunk_bytes = chunk_bytes
        self._pending: list[bytes] = []  # pieces of the current, unfinished line
        self._pending_len = 0
        self._next_line = 1  # number of the first line not handed out yet
        self._skipping = False  # discarding the rest of an over-long line
        self._eof = False
        # after an over-long line found among complete lines: the lines that follow it
        self._long_next = False
        self._carry: list[bytes] = []

    @property
    def max_line_bytes(self) -> int:
        return self._max

    @property
    def lines_read(self) -> int:
        """How many lines were handed out (or refused) so far."""
        return self._next_line - 1

    # ------------------------------------------------------------------ raw blocks
    def _blocks(self) -> Iterator[bytes]:
        """Blocks of raw input, after the skipped rest of an over-long line."""
        read, size = self._read, self._chunk_bytes
        while True:
            if self._pending_len > self._max:
                raise self._too_long(partial=True)
            if self._eof:
                return
            raw = read(size)
            if not raw:
                self._eof = True
                self._skipping = False  # an over-long last line ends here
                continue
            if self._skipping:
                cut = raw.find(b"\n")
                if cut < 0:
                    continue
                self._skipping = False
                raw = raw[cut + 1 :]
                if not raw:
                    continue
            yield raw

    def _too_long(self, *, partial: bool) -> LineTooLongError:
        line = self._next_line
        self._next_line += 1
        self._long_next = False
        if partial:  # drop what we hold of it and discard the rest up to its newline
            self._pending.clear()
            self._pending_len = 0
            self._skipping = True
        return LineTooLongError(
            f"line is longer than the limit of {self._max} bytes",
            line=line,
            hint="raise --max-line-bytes if such lines are expected",
        )

    def _stash(self, piece: bytes) -> None:
        """Keep the start of an unfinished line (checked against the limit before the next read)."""
        if piece:
            self._pending.append(piece)
            self._pending_len += len(piece)

    def _take_pending(self) -> bytes:
        data = b"".join(self._pending)
        self._pending.clear()
        self._pending_len = 0
        return data

    def _first_long(self, lines: list[bytes]) -> int:
        limit = self._max
        if max(map(len, lines)) <= limit:
            return -1
        return next(i for i, line in enumerate(lines) if len(line) > limit)

    def _final(self) -> bytes:
        return self._take_pending() if self._pending else b""

    # ------------------------------------------------------------------ line batches
    def batches(self) -> Iterator[tuple[int, list[bytes], bool]]:
        """``(first_line, lines, terminated)``: lists of lines without their newline.

        ``terminated`` is false only for the final line of a stream that lacks a newline (it may
        be truncated). Blank lines are included (as ``b""``) so numbering stays simple.
        """
        blocks = self._blocks()
        while True:
            if self._long_next:
                raise self._too_long(partial=False)
            if self._carry:
                lines, self._carry = self._carry, []
                check = True
            else:
                raw = next(blocks, None)
                if raw is None:
                    break
                lines = raw.split(b"\n")
                rest = lines.pop()  # after the last newline: the start of an unfinished line
                if lines and self._pending:
                    lines[0] = self._take_pending() + lines[0]
                self._stash(rest)
                if not lines:
                    continue
                check = len(raw) > self._max or len(lines[0]) > self._max
            first = self._next_line
            if check:
                long_at = self._first_long(lines)
                if long_at >= 0:
                    self._carry = lines[long_at + 1 :]
                    self._long_next = True
                    lines = lines[:long_at]
            self._next_line = first + len(lines)
            if lines:
                yield first, lines, True
        last = self._final()
        if last:
            first = self._next_line
            self._next_line += 1
            yield first, [last], False

    def __iter__(self) -> Iterator[tuple[int, bytes]]:
        for first, lines, _terminated in self.batches():
            for line_no, line in enumerate(lines, first):
                if line and not line.isspace():
                    yield line_no, line


# ---------------------------------------------------------------------------- parsing
def _diagnose(obj: Any, line_no: int) -> MalformedLineError:
    if not isinstance(obj, dict):
        kind = "an array" if isinstance(obj, list) else f"a JSON {type(obj).__name__}"
        return MalformedLineError(f"message is {kind}, not a JSON object", line=line_no)
    if "type" not in obj:
        return MalformedLineError("message has no 'type'", line=line_no)
    return MalformedLineError("message 'type' is not a string", line=line_no)


def _normalise_type(msg: Any, line_no: int) -> None:
    """Upper-case ``msg["type"]`` in place, or raise if ``msg`` is no message at all."""
    try:
        kind = msg["type"]
    except (KeyError, TypeError, IndexError):
        raise _diagnose(msg, line_no) from None
    if not isinstance(msg, dict) or not isinstance(kind, str):
        raise _diagnose(msg, line_no)
    msg["type"] = kind.upper()


def _decode_error(exc: _JSONDecodeError, line_no: int, terminated: bool) -> ProtocolError:
    reason = codec.describe_decode_error(exc)
    if not terminated:
        return TruncatedStreamError(
            f"the last line has no newline and is not valid JSON ({reason}): "
            "the stream looks truncated",
            line=line_no,
        )
    return MalformedLineError(reason, line=line_no)


def parse_line(line: bytes, line_no: int, *, terminated: bool = True) -> dict[str, Any]:
    """Parse one message line; its ``type`` comes back upper-case.

    ``terminated=False`` marks the final line of a stream that had no newline: if it does not
    parse, the stream was cut short (TruncatedStreamError).
    """
    try:
        msg = _loads(line)
    except _JSONDecodeError as exc:
        raise _decode_error(exc, line_no, terminated) from None
    try:
        known = msg["type"] in KNOWN_TYPES
    except (KeyError, TypeError, IndexError):
        known = False
    if not known or not isinstance(msg, dict):
        _normalise_type(msg, line_no)
    return msg  # type: ignore[no-any-return]


class MessageReader:
    """Iterates the messages (dicts) of a JSONL stream; ``line_no`` is the current message's line.

    Message types come back upper-case (Singer types are case-insensitive); unknown types are
    passed through for the caller to tolerate or refuse. Blank lines are skipped.
    """

    __slots__ = ("_it", "_last", "_lines", "_resume")

    def __init__(
        self,
        stream: BinaryIO,
        *,
        max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
        chunk_bytes: int = MESSAGE_CHUNK_BYTES,
    ) -> None:
        self._lines = LineReader(stream, max_line_bytes=max_line_bytes, chunk_bytes=chunk_bytes)
        # The current line number is derived from the position of the iterator over the
        # current batch (number of its last line - lines not yet taken), so the hot loop
        # does no per-line bookkeeping.
        self._it: Iterator[bytes] = iter(())
        self._last = 0
        #: lines left over from a batch interrupted by an error: (first_line, lines, terminated)
        self._resume: tuple[int, list[bytes], bool] | None = None

    @property
    def line_no(self) -> int:
        """Line number of the message last returned (or of the line that raised)."""
        return self._last - length_hint(self._it)

    @property
    def lines_read(self) -> int:
        return self._lines.lines_read

    def _batches(self) -> Iterator[tuple[int, list[bytes], bool]]:
        if self._resume is not None:
            resume, self._resume = self._resume, None
            yield resume
        yield from self._lines.batches()

    def __iter__(self) -> Iterator[dict[str, Any]]:
        loads = _loads
        known = KNOWN_TYPES
        for first, lines, terminated in self._batches():
            self._last = first + len(lines) - 1
            self._it = it = iter(lines)
            for line in it:
                try:
                    msg = loads(line)
                    if msg["type"] not in known:
                        _normalise_type(msg, self.line_no)
                except _JSONDecodeError as exc:
                    if not line or line.isspace():
                        continue
                    raise _decode_error(exc, self._save(terminated), terminated) from None
                except (KeyError, TypeError, IndexError):
                    raise _diagnose(msg, self._save(terminated)) from None
                except MalformedLineError:
                    self._save(terminated)
                    raise
                yield msg

    def _save(self, terminated: bool) -> int:
        """Keep the rest of the current batch for the next iteration; returns the line number."""
        line_no = self.line_no
        rest = list(self._it)
        if rest:
            self._resume = (line_no + 1, rest, terminated)
        self._last, self._it = line_no, iter(())
        return line_no


class MessageWriter:
    """Writes messages as orjson lines through an internal buffer; call ``flush()`` to hand
    everything to the stream (and flush it), e.g. right after a STATE."""

    __slots__ = ("_buf", "_size", "_stream")

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._buf: list[bytes] = []
        self._size = 0

    def write(self, msg: dict[str, Any]) -> None:
        data = codec.dumps_line(msg)
        self._buf.append(data)
        self._size += len(data)
        if self._size >= WRITE_BUFFER_BYTES:
            self._drain()

    def write_line(self, line: bytes) -> None:
        """Write an already-serialized message line (a trailing newline is added if missing)."""
        if not line.endswith(b"\n"):
            line += b"\n"
        self._buf.append(line)
        self._size += len(line)
        if self._size >= WRITE_BUFFER_BYTES:
            self._drain()

    def _drain(self) -> None:
        if self._buf:
            self._stream.write(b"".join(self._buf))
            self._buf.clear()
            self._size = 0

    def flush(self) -> None:
        self._drain()
        self._stream.flush()

    def __enter__(self) -> MessageWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.flush()
