"""Large newline-aligned blocks of input, read into one reused buffer.

For consumers that parse many lines at once (pyarrow.json, the native decoder): the target
kit's loop parses a block at a time (``read_chunk_bytes``, tens of MiB). Line by line, use
:class:`dativo_protocol.jsonl.MessageReader` instead. The reader fills a
``bytearray`` with ``readinto1`` (one read per call: a file fills the block at once, a pipe
hands out what it holds), hands out its part up to the last newline, and moves the unfinished
last line to the front before it reads again. There is no ``bytes`` object per read, no join,
no slice copy; the lines of a block are counted once.

A block is only valid until the next one is requested: the next read overwrites the buffer.
The reader makes that safe: before it writes into the buffer again it checks that nothing
still points into it (Python refuses to resize a ``bytearray`` while a ``memoryview`` or an
Arrow buffer made from it is alive). If something does, the reader moves on to a new buffer
and leaves the old one to its holder (counted in :attr:`BlockReader.fresh_buffers`), so a
consumer that keeps a zero-copy view only costs an allocation, never a corrupted block.

Errors name the line number, never its content:

- a line longer than ``max_line_bytes`` -> LineTooLongError, raised as soon as the limit is
  passed (the rest of the line is read and dropped, never buffered); the complete lines before
  it are handed out first;
- the final line of a stream without newline comes as a block of its own with
  ``complete == False`` (the caller decides whether it is truncated).
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from dativo_protocol.errors import LineTooLongError

_NL = 10


@dataclass(slots=True)
class Block:
    """Lines ``first_line`` .. ``last_line`` in ``buf[:size]``: whole lines ending with a
    newline, except the final line of a stream that has none (``complete`` is then false).
    ``buf`` belongs to the reader: valid until the next block is requested."""

    first_line: int
    buf: bytearray
    size: int
    line_count: int

    @property
    def complete(self) -> bool:
        return self.size > 0 and self.buf[self.size - 1] == _NL

    @property
    def last_line(self) -> int:
        return self.first_line + self.line_count - 1

    def view(self) -> memoryview:
        return memoryview(self.buf)[: self.size]


class BlockReader:
    """Iterates :class:`Block` s of ``stream``; resumable after a LineTooLongError (iterating
    again continues with the next line).

    A pipe delivers little per read (64 KiB); the reader keeps reading until the block holds
    ``chunk_bytes``, or ``linger`` seconds passed since its first read (then it hands out the
    whole lines it has), or the input ends.
    """

    def __init__(
        self,
        stream: BinaryIO,
        *,
        chunk_bytes: int,
        max_line_bytes: int,
        linger: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if chunk_bytes < 1 or max_line_bytes < 1:
            raise ValueError("chunk_bytes and max_line_bytes must be positive")
        self._stream = stream
        self._readinto: Callable[[memoryview], int | None] | None = getattr(
            stream, "readinto1", None
        ) or getattr(stream, "readinto", None)
        self._chunk = chunk_bytes
        self._max = max_line_bytes
        self._linger = linger
        self._clock = clock
        self._buf = bytearray()
        self._pos = 0  # start of the data not handed out yet
        self._filled = 0  # end of the data read
        self._line_start = 0  # start of the unfinished line (after the last newline), >= _pos
        self._next_line = 1  # number of the first line not handed out yet
        self._eof = False
        self._skipping = False  # dropping the rest of an over-long line
        #: buffers allocated because a consumer still held a view of the previous one
        self.fresh_buffers = 0

    @property
    def lines_read(self) -> int:
        """How many lines were handed out (or refused) so far."""
        return self._next_line - 1

    def __iter__(self) -> Iterator[Block]:
        while True:
            block = self._next_block()
            if block is None:
                return
            yield block

    # ------------------------------------------------------------------ blocks
    def _next_block(self) -> Block | None:
        self._fill()
        buf, filled, cut = self._buf, self._filled, self._line_start
        if filled - cut > self._max and cut == 0:
            raise self._refuse(partial=True)
        if cut == 0:  # no newline: the input ended (after an unterminated last line, or empty)
            if filled == 0:
                return None
            self._pos = filled
            return self._hand_out(filled, 1)
        if cut > self._max:
            long_at = self._first_long(cut)
            if long_at == 0:
                self._pos = buf.find(b"\n", 0, cut) + 1
                raise self._refuse(partial=False)
            if long_at > 0:
                cut = long_at
        self._pos = cut
        return self._hand_out(cut, buf.count(b"\n", 0, cut))

    def _hand_out(self, size: int, lines: int) -> Block:
        block = Block(self._next_line, self._buf, size, lines)
        self._next_line += lines
        return block

    def _refuse(self, *, partial: bool) -> LineTooLongError:
        """The error for the line at the front; a partial one is dropped with its rest."""
        line = self._next_line
        self._next_line += 1
        if partial:
            self._pos = self._line_start = self._filled
            self._skipping = not self._eof
        return LineTooLongError(
            f"line is longer than the limit of {self._max} bytes",
            line=line,
            hint="raise max_line_bytes if such lines are expected",
        )

    def _first_long(self, end: int) -> int:
        """Offset of the first line in ``buf[:end]`` longer than the limit, or -1."""
        buf, limit, pos = self._buf, self._max, 0
        while pos < end:
            nl = buf.find(b"\n", pos, min(end, pos + limit + 1))
            if nl < 0:
                return pos
            pos = nl + 1
        return -1

    # ------------------------------------------------------------------ buffer
    def _fill(self) -> None:
        """Move the unconsumed data to the front, then read until a block is ready: enough
        bytes (or ``linger`` passed) and a newline, an over-long unfinished line, or EOF."""
        self._compact()
        started: float | None = None
        while True:
            if self._filled - self._line_start > self._max or self._eof:
                return
            if self._line_start and (
                self._filled >= self._chunk
                or (started is not None and self._clock() - started >= self._linger)
            ):
                return
            if self._filled == len(self._buf):
                self._grow()
            if not self._read():
                self._eof = True
                self._skipping = False  # an over-long last line ends here
            elif started is None:
                started = self._clock()

    def _read(self) -> bool:
        """One read into the free end of the buffer; False at EOF."""
        buf, start = self._buf, self._filled
        with memoryview(buf) as view:
            if self._readinto is not None:
                n = self._readinto(view[start:]) or 0
            else:
                data = self._stream.read(len(buf) - start)
                n = len(data)
                view[start : start + n] = data
            if not n:
                return False
            if self._skipping:  # drop the rest of an over-long line, up to its newline
                nl = buf.find(b"\n", start, start + n)
                if nl < 0:
                    return True
                self._skipping = False
                rest = start + n - nl - 1
                view[start : start + rest] = view[nl + 1 : start + n]
                n = rest
        end = start + n
        self._filled = end
        nl = buf.rfind(b"\n", start, end)
        if nl >= 0:
            self._line_start = nl + 1
        return True

    def _reusable(self) -> bool:
        """True when nothing holds a view of the buffer (a resize is refused while one does)."""
        try:
            self._buf.append(0)
        except BufferError:
            return False
        self._buf.pop()
        return True

    def _compact(self) -> None:
        pos, filled = self._pos, self._filled
        keep = filled - pos
        if self._eof and not keep:
            self._pos = self._filled = self._line_start = 0
            return
        if not self._buf:
            self._buf = bytearray(self._first_size())
        elif not self._reusable():
            fresh = bytearray(max(self._chunk, len(self._buf)))
            fresh[:keep] = memoryview(self._buf)[pos:filled]
            self._buf = fresh
            self.fresh_buffers += 1
        elif pos:
            with memoryview(self._buf) as view:
                view[:keep] = view[pos:filled]
        self._pos, self._filled = 0, keep
        self._line_start = self._buf.rfind(b"\n", 0, keep) + 1 if keep else 0

    def _first_size(self) -> int:
        """A block, or the rest of a smaller regular file (small inputs stay cheap: a new
        buffer costs a page fault per 4 KiB)."""
        try:
            fd = self._stream.fileno()
            info = os.fstat(fd)
            if stat.S_ISREG(info.st_mode):
                left = info.st_size - os.lseek(fd, 0, os.SEEK_CUR)
                return max(4096, min(self._chunk, left + 1))
        except (OSError, AttributeError, ValueError):  # no file descriptor (BytesIO and such)
            pass
        return self._chunk

    def _grow(self) -> None:
        """A full buffer without a complete block: make room (up to a block, or to reach the
        line limit)."""
        size = len(self._buf)
        bigger = bytearray(max(size + 1, min(2 * size, max(self._chunk, self._max + 1))))
        bigger[: self._filled] = memoryview(self._buf)[: self._filled]
        self._buf = bigger
