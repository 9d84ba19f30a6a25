"""When to commit, and STATE emission only after the commit that covers it."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any, BinaryIO

from dativo_protocol import codec
from dativo_targets.kit.deadletter import DeadLetter
from dativo_targets.kit.metrics import Metrics
from dativo_targets.kit.sink import Sink


class Checkpointer:
    """Counts what was written since the last commit and commits on thresholds.

    A STATE seen in the input becomes *pending*; it is emitted on ``output`` right after the
    next successful commit (every record before it has been written by then). A STATE that
    arrives when nothing is uncommitted is emitted at once.
    """

    def __init__(
        self,
        sink: Sink,
        output: BinaryIO,
        metrics: Metrics,
        *,
        max_rows: int,
        max_bytes: int,
        interval: float,
        dead_letter: DeadLetter | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sink = sink
        self.output = output
        self.metrics = metrics
        self.max_rows, self.max_bytes, self.interval = max_rows, max_bytes, interval
        self.dead_letter = dead_letter
        self.clock = clock
        self.rows = 0
        self.bytes = 0
        self.dirty = False
        self.pending: Mapping[str, Any] | None = None
        self.has_pending = False
        self.per_stream: Counter[str] = Counter()
        self.last_commit = clock()
        self.commits = 0
        self.states_emitted = 0

    def wrote(self, stream: str, rows: int) -> None:
        self.rows += rows
        self.per_stream[stream] += rows
        self.dirty = True

    def consumed(self, nbytes: int) -> None:
        self.bytes += nbytes

    def touched(self) -> None:
        """Something other than records needs a commit (ACTIVATE_VERSION, dead letters)."""
        self.dirty = True

    def state(self, value: Mapping[str, Any]) -> None:
        self.pending, self.has_pending = value, True
        if not self.dirty and not (self.dead_letter and self.dead_letter.dirty):
            self._emit()

    def due(self) -> bool:
        return (
            self.rows >= self.max_rows
            or self.bytes >= self.max_bytes
            or (self.dirty and self.clock() - self.last_commit >= self.interval)
        )

    def maybe_commit(self) -> None:
        if self.due():
            self.commit()

    def commit(self) -> None:
        """Commit what was written (if anything), then emit the pending STATE."""
        if self.dirty or (self.dead_letter and self.dead_letter.dirty):
            started = self.clock()
            if self.dead_letter is not None:
                self.dead_letter.commit()
            self.sink.commit(self.pending if self.has_pending else None)
            took = self.clock() - started
            self.commits += 1
            for stream, n in sorted(self.per_stream.items()):
                self.metrics.counter("record_count", n, stream=stream)
            self.metrics.timer("flush_duration", took, rows=self.rows)
            self.per_stream.clear()
        self.rows = self.bytes = 0
        self.dirty = False
        self.last_commit = self.clock()
        if self.has_pending:
            self._emit()

    def _emit(self) -> None:
        self.output.write(codec.dumps_line(self.pending))
        self.output.flush()
        self.states_emitted += 1
        self.pending, self.has_pending = None, False
