"""The pipe between tap and target, and how the runner sees the tap's STATE lines in it.

The target reads the tap's bytes through OS pipes; Python never copies them on the way. On Linux
the relay moves them with ``tee(2)`` (duplicate into a side pipe, no copy) and ``splice(2)`` (move
into the target's pipe, no copy), then reads the side copy only to find the tap's STATE lines
(a ``bytes.rfind`` per chunk) and count lines. Elsewhere, or when the kernel refuses, it falls
back to read + scan + write.

Knowing the tap's last STATE is what lets the runner decide success: the run succeeded only if
the target acknowledged (echoed) that state, whatever the exit codes say.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dativo_protocol import codec

CHUNK = 1 << 20
F_SETPIPE_SZ = 1031
#: a line can be a STATE message only if it has this (the JSON parse decides)
_TYPE_STATE = re.compile(rb'"type"\s*:\s*"(?i:state)"')
#: false ``STATE`` hits in one chunk before the rest of it gets the regex scan
_MAX_MISSES = 8


def enlarge_pipe(fd: int, size: int = CHUNK) -> None:
    """Ask for a bigger pipe buffer (fewer wake-ups); silently keeps the default if refused."""
    with contextlib.suppress(OSError):
        fcntl.fcntl(fd, F_SETPIPE_SZ, size)


def _libc_tee() -> Any:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        tee = libc.tee
    except (OSError, AttributeError):
        return None
    tee.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_size_t, ctypes.c_uint]
    tee.restype = ctypes.c_ssize_t
    return tee


#: counts the newlines in ``buf[:end]``
NewlineCounter = Callable[[bytearray, int], int]


def _count_py(buf: bytearray, end: int) -> int:
    return buf.count(b"\n", 0, end)


def newline_counter() -> NewlineCounter:
    """The native newline count when the ``native`` extra is installed (memchr, without the
    GIL: ~4x ``bytes.count``, which was most of the relay's CPU), else ``bytes.count``."""
    try:
        from dativo_native import count_newlines
    except ImportError:
        return _count_py

    def count_native(buf: bytearray, end: int) -> int:
        with memoryview(buf) as view:
            return count_newlines(view[:end])

    return count_native


@dataclass
class Scan:
    """What the runner learned from the tap's output.

    Per chunk it costs one newline count (:func:`newline_counter`) and one ``bytes.rfind`` for
    ``STATE`` (the needle is upper case, as the Singer spec and every SDK write it), and a JSON
    parse only for a line that really is a STATE message. Message types are case-insensitive,
    so a tap whose first message type is not upper case gets a case-insensitive regex scan
    instead (slower, still one pass). Records that mention ``STATE`` (a column of that name) cost
    a few line checks per chunk, then the same regex scan for the rest of the chunk.
    """

    byte_count: int = 0
    lines: int = 0
    saw_state: bool = False
    last_state: Any = None
    #: the target stopped reading before the tap's output ended
    target_gone: bool = False
    #: the tap's output did not end with a newline
    unterminated: bool = False
    zero_copy: bool = False
    #: the relay itself failed (an OS error other than the target going away)
    error: str | None = None
    #: the tap writes its message types in upper case (decided on its first non-blank line at
    #: the start of a chunk; until then, and if not, every chunk gets the regex scan)
    upper_case: bool | None = None
    #: the start of the line the last chunk ended in
    _carry: bytearray = field(default_factory=bytearray)
    _count: NewlineCounter = field(default_factory=newline_counter, repr=False)

    def feed(self, buf: bytearray, n: int) -> None:
        """Account for ``buf[:n]``, the next bytes of the tap's output."""
        self.byte_count += n
        last = buf.rfind(b"\n", 0, n)
        if last < 0:
            self._carry += memoryview(buf)[:n]
            return
        self.lines += self._count(buf, last + 1)
        first = buf.find(b"\n", 0, last + 1)
        if self.upper_case is None:
            self.upper_case = _upper_case_type(self._carry + buf[:first])
        # the last STATE wins: look at the complete lines after the first newline, then at the
        # line that the previous chunk began
        if not self._last_state_between(buf, first + 1, last):
            if self._carry:
                self._carry += memoryview(buf)[:first]
                self._state_line(self._carry, 0, len(self._carry))
            elif first > 0:
                self._state_line(buf, 0, first)
        self._carry.clear()
        self._carry += memoryview(buf)[last + 1 : n]

    def finish(self) -> None:
        """The tap's output ended: account for an unterminated last line."""
        if self._carry.strip():
            self.unterminated = True
            self._state_line(self._carry, 0, len(self._carry))
        self._carry = bytearray()

    def _last_state_between(self, buf: bytearray, lo: int, hi: int) -> bool:
        """Find the last STATE line whose bytes lie in ``buf[lo:hi]`` (complete lines)."""
        if not self.upper_case:
            return self._regex_scan(buf, lo, hi)
        end = hi
        for _ in range(_MAX_MISSES):
            pos = buf.rfind(b"STATE", lo, end)
            if pos < 0:
                return False
            start = buf.rfind(b"\n", lo, pos) + 1 or lo
            if self._state_line(buf, start, hi):
                return True
            end = start
        return self._regex_scan(buf, lo, end)

    def _regex_scan(self, buf: bytearray, lo: int, hi: int) -> bool:
        starts = [
            buf.rfind(b"\n", lo, m.start()) + 1 or lo for m in _TYPE_STATE.finditer(buf, lo, hi)
        ]
        return any(self._state_line(buf, start, hi) for start in reversed(starts))

    def _state_line(self, buf: bytearray, start: int, hi: int) -> bool:
        """If the line at ``buf[start:]`` (ending at a newline or ``hi``) is a STATE, keep it."""
        stop = buf.find(b"\n", start, hi)
        if stop < 0:
            stop = hi
        if _TYPE_STATE.search(buf, start, stop) is None:
            return False
        try:
            msg = codec.loads(memoryview(buf)[start:stop])
        except codec.JSONDecodeError:
            return False
        if isinstance(msg, dict) and str(msg.get("type", "")).upper() == "STATE":
            self.last_state = msg.get("value")
            self.saw_state = True
            return True
        return False


def _upper_case_type(line: bytearray) -> bool | None:
    """Does the tap's first line carry its message type in upper case? (None: a blank line)"""
    if not line.strip():
        return None
    try:
        msg = codec.loads(line)
    except codec.JSONDecodeError:
        return False
    kind = msg.get("type") if isinstance(msg, dict) else None
    return isinstance(kind, str) and kind == kind.upper()


def relay(src: int, dst: int, scan: Scan) -> None:
    """Move everything from ``src`` to ``dst`` until EOF (or the reader goes away).

    Closes both fds when done, so the target sees EOF and the tap sees EPIPE.
    """
    try:
        tee = _libc_tee() if hasattr(os, "splice") else None
        if tee is not None and _relay_zero_copy(src, dst, scan, tee):
            return
        _relay_copy(src, dst, scan)
    except OSError as exc:
        scan.error = f"{type(exc).__name__}: {exc.strerror}"
    finally:
        scan.finish()
        for fd in (src, dst):
            with contextlib.suppress(OSError):
                os.close(fd)


def _relay_zero_copy(src: int, dst: int, scan: Scan, tee: Any) -> bool:
    """tee + splice; returns False (before moving anything) if the kernel refuses."""
    side_r, side_w = os.pipe2(os.O_CLOEXEC)
    enlarge_pipe(side_w)
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    try:
        while True:
            n = tee(src, side_w, CHUNK, 0)
            if n < 0:
                err = ctypes.get_errno()
                if err == errno.EINTR:
                    continue
                if err in (errno.EINVAL, errno.ENOSYS) and scan.byte_count == 0:
                    return False
                raise OSError(err, os.strerror(err))
            if n == 0:
                return True
            scan.zero_copy = True
            moved = 0
            try:
                while moved < n:
                    moved += os.splice(src, dst, n - moved)
            except BrokenPipeError:
                scan.target_gone = True
                return True
            got = 0
            while got < n:
                got += os.readv(side_r, [view[got:n]])
            scan.feed(buf, n)
    finally:
        os.close(side_r)
        os.close(side_w)


def _relay_copy(src: int, dst: int, scan: Scan) -> None:
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    while True:
        n = os.readv(src, [view])
        if n == 0:
            return
        try:
            sent = 0
            while sent < n:
                sent += os.write(dst, view[sent:n])
        except BrokenPipeError:
            scan.target_gone = True
            return
        scan.feed(buf, n)
