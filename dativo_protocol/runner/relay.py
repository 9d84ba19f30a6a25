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
from dataclasses import dataclass, field
from typing import Any

from dativo_protocol import codec

CHUNK = 1 << 20
F_SETPIPE_SZ = 1031
_NEEDLES = (b'"STATE"', b'"state"')


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


@dataclass
class Scan:
    """What the runner learned from the tap's output."""

    byte_count: int = 0
    lines: int = 0
    saw_state: bool = False
    last_state: Any = None
    #: the target stopped reading before the tap's output ended
    target_gone: bool = False
    #: the tap's output did not end with a newline
    unterminated: bool = False
    zero_copy: bool = False
    _carry: bytearray = field(default_factory=bytearray)

    def _state_in(self, line: bytes | bytearray) -> bool:
        if not any(n in line for n in _NEEDLES):
            return False
        try:
            msg = codec.loads(line)
        except codec.JSONDecodeError:
            return False
        if isinstance(msg, dict) and str(msg.get("type", "")).upper() == "STATE":
            self.last_state = msg.get("value")
            self.saw_state = True
            return True
        return False

    def feed(self, buf: bytearray, n: int) -> None:
        self.byte_count += n
        newlines = buf.count(b"\n", 0, n)
        self.lines += newlines
        if not newlines:
            self._carry += buf[:n]
            return
        first = buf.find(b"\n", 0, n)
        last = buf.rfind(b"\n", 0, n)
        found = self._last_state_between(buf, first + 1, last)
        if not found and self._carry:
            self._carry += buf[:first]
            self._state_in(self._carry)
        elif not found and first > 0:
            self._state_in(buf[:first])
        self._carry = bytearray(buf[last + 1 : n])

    def _last_state_between(self, buf: bytearray, lo: int, hi: int) -> bool:
        """Find the last STATE line whose bytes lie in ``buf[lo:hi]`` (complete lines)."""
        end = hi
        while end > lo:
            pos = max(buf.rfind(needle, lo, end) for needle in _NEEDLES)
            if pos < 0:
                return False
            start = buf.rfind(b"\n", lo, pos) + 1 or lo
            stop = buf.find(b"\n", pos, hi)
            if stop < 0:
                stop = hi
            if self._state_in(buf[start:stop]):
                return True
            end = start
        return False

    def finish(self) -> None:
        if self._carry.strip():
            self.unterminated = True
            self._state_in(self._carry)
        self._carry = bytearray()


def relay(src: int, dst: int, scan: Scan) -> None:
    """Move everything from ``src`` to ``dst`` until EOF (or the reader goes away).

    Closes both fds when done, so the target sees EOF and the tap sees EPIPE.
    """
    try:
        tee = _libc_tee() if hasattr(os, "splice") else None
        if tee is not None and _relay_zero_copy(src, dst, scan, tee):
            return
        _relay_copy(src, dst, scan)
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
