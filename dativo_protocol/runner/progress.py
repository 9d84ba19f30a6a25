"""Live progress on a terminal: messages and records/s per stream, redrawn once a second."""

from __future__ import annotations

import sys
import threading
from typing import IO

from dativo_protocol.runner.pipe import Progress


class ProgressLine:
    """Renders :class:`Progress` snapshots on one stderr line (only when stderr is a TTY)."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty()
        self._lock = threading.Lock()
        self._last: dict[str, tuple[float, int]] = {}
        self._dirty = False

    def __call__(self, job: str, progress: Progress) -> None:
        if not self.enabled:
            return
        prev_t, prev_n = self._last.get(job, (0.0, 0))
        dt = max(progress.elapsed - prev_t, 1e-6)
        rate = (progress.messages - prev_n) / dt
        self._last[job] = (progress.elapsed, progress.messages)
        streams = progress.loaded or progress.extracted
        per_stream = " ".join(f"{s}={n:,}" for s, n in sorted(streams.items())[:4])
        text = (
            f"{job}: {progress.elapsed:5.0f}s {progress.messages:,} msgs ({rate:,.0f}/s)"
            f" {progress.bytes / 1e6:,.1f} MB, {progress.states_stored} states"
            + (f" | {per_stream}" if per_stream else "")
        )
        with self._lock:
            self.stream.write("\r\x1b[K" + text[:200])
            self.stream.flush()
            self._dirty = True

    def done(self) -> None:
        with self._lock:
            if self._dirty:
                self.stream.write("\r\x1b[K")
                self.stream.flush()
                self._dirty = False
