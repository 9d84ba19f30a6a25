"""When to commit, and STATE emission only after the commit that covers it.

Commits are *pipelined* for sinks that offer ``begin_commit`` (see ``PipelinedSink``): the loop
hands checkpoint N to the sink and goes on parsing checkpoint N+1 while a committer thread
finishes N and then emits N's STATE. At most ``max_commits_in_flight`` commits (a sink
attribute; 1 if absent) are in flight: with 1, checkpoint N+1 starts committing only after N
landed; with more, a sink that commits in order (one thread) lets a slow start-up or a slow
commit catch up over several checkpoints. Every STATE line is written by the committer thread, in
input order, after the commit that covers it; a failed commit stops it, so no STATE after the
failure goes out, and the failure is raised on the loop's thread at its next checkpoint (or by
:meth:`Checkpointer.settle` when the loop stops for another reason).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any, BinaryIO

from dativo_protocol import codec
from dativo_targets.kit.deadletter import DeadLetter
from dativo_targets.kit.metrics import Metrics
from dativo_targets.kit.sink import Sink
from dativo_targets.kit.worker import Worker


class Checkpointer:
    """Counts what was written since the last commit and commits on thresholds.

    A STATE seen in the input becomes *pending*; it is emitted on ``output`` right after the
    next successful commit (every record before it has been written by then). A STATE that
    arrives when nothing is uncommitted is emitted as soon as every earlier commit has landed.
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
        self._begin: Callable[[Mapping[str, Any] | None], Callable[[], None]] | None = getattr(
            sink, "begin_commit", None
        )
        self._committer: Worker | None = None
        self._in_flight = max(1, int(getattr(sink, "max_commits_in_flight", 1)))
        self._slots = threading.BoundedSemaphore(self._in_flight)

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
            self._take_pending_state()

    def due(self) -> bool:
        return (
            self.rows >= self.max_rows
            or self.bytes >= self.max_bytes
            or (self.dirty and self.clock() - self.last_commit >= self.interval)
        )

    def maybe_commit(self) -> None:
        """Start a commit if a threshold is reached (pipelined sinks: without waiting for it)."""
        if self.due():
            self._commit()

    def commit(self) -> None:
        """Commit what was written (if anything), emit the pending STATE, and wait until every
        commit has landed and its STATE is out (the end of the input)."""
        self._commit()
        if self._committer is not None:
            committer, self._committer = self._committer, None
            try:
                committer.drain()
            finally:
                committer.stop()

    def settle(self) -> BaseException | None:
        """The loop stopped on an error: let an in-flight commit finish (its data is durable, so
        its STATE goes out) and stop the committer. Returns that commit's error, if it failed:
        it happened before the error being handled and is the one to report. Never raises."""
        committer, self._committer = self._committer, None
        if committer is None:
            return None
        try:
            committer.drain()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            return exc
        finally:
            committer.stop()
        return None

    # ------------------------------------------------------------------ internals
    def _commit(self) -> None:
        if self.dirty or (self.dead_letter and self.dead_letter.dirty):
            if self._begin is not None:
                self._take_slot()
            started = self.clock()
            if self.dead_letter is not None:
                self.dead_letter.commit()
            state = self.pending if self.has_pending else None
            rows, per_stream = self.rows, dict(self.per_stream)
            self.pending, self.has_pending = None, False
            if self._begin is None:
                self.sink.commit(state)
                self._landed(started, rows, per_stream, state)
            else:
                try:
                    finish = self._begin(state)
                except BaseException:
                    self._slots.release()
                    raise

                def land() -> None:
                    try:
                        finish()
                    finally:
                        self._slots.release()
                    self._landed(started, rows, per_stream, state)

                self._background(land)
            self.commits += 1
            self.per_stream.clear()
        self.rows = self.bytes = 0
        self.dirty = False
        self.last_commit = self.clock()
        if self.has_pending:
            self._take_pending_state()

    def _landed(
        self,
        started: float,
        rows: int,
        per_stream: Mapping[str, int],
        state: Mapping[str, Any] | None,
    ) -> None:
        for stream, n in sorted(per_stream.items()):
            self.metrics.counter("record_count", n, stream=stream)
        self.metrics.timer("flush_duration", self.clock() - started, rows=rows)
        if state is not None:
            self._emit(state)

    def _take_slot(self) -> None:
        """Wait until fewer than ``max_commits_in_flight`` commits are in flight; re-raise a
        failed commit's error instead of waiting for one that will never land."""
        while not self._slots.acquire(timeout=0.05):
            if self._committer is not None:
                self._committer.check()

    def _take_pending_state(self) -> None:
        """Emit the pending STATE after every commit already started (at once if none)."""
        state = self.pending
        self.pending, self.has_pending = None, False
        if self._committer is None:
            self._emit(state)
        else:
            self._background(lambda: self._emit(state))

    def _background(self, job: Callable[[], None]) -> None:
        if self._committer is None:
            self._committer = Worker("committer", max_pending=4)
        self._committer.submit(job)

    def _emit(self, state: Mapping[str, Any] | None) -> None:
        self.output.write(codec.dumps_line(state))
        self.output.flush()
        self.states_emitted += 1
