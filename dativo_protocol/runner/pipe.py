"""One attempt of a run: tap | target as child processes, state stored as the target acks it.

The runner decides success itself. An attempt succeeded only when every child exited 0, the
target read all of the tap's output, and the target acknowledged (printed) the last STATE the
tap emitted; exit codes alone prove nothing (a singer-sdk tap exits 0 after SIGTERM). Every
STATE the target prints on stdout is stored before the next one is read, so the stored state
never runs ahead of what the target committed.

On failure the other processes are stopped (SIGTERM, SIGKILL after the grace period), all are
reaped, and the error names the failing side with its last stderr lines (redacted).
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from dativo_protocol import codec
from dativo_protocol.errors import (
    ConnectorError,
    DativoError,
    Interrupted,
    StateError,
    TransientError,
)
from dativo_protocol.redact import Redactor
from dativo_protocol.runner.children import Child, describe_exit, spawn
from dativo_protocol.runner.relay import Scan, enlarge_pipe, relay
from dativo_protocol.runner.state_store import StateStore

log = logging.getLogger("dativo.runner")
POLL = 0.05
TRANSIENT_EXIT = 7


@dataclass(frozen=True)
class Leg:
    """One process of the pipeline: its role, display name, argv, complete env and cwd."""

    role: str
    name: str
    argv: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)
    cwd: Any = None


class StopRequest:
    """Set by signal handlers (or an orchestrator): first request stops cleanly, second kills."""

    def __init__(self) -> None:
        self.count = 0
        self.event = threading.Event()

    def request(self) -> None:
        self.count += 1
        self.event.set()

    @property
    def requested(self) -> bool:
        return self.event.is_set()


@dataclass(frozen=True)
class Limits:
    run: float | None = None
    idle: float | None = None
    stop: float = 30.0


@dataclass
class Progress:
    elapsed: float
    messages: int
    bytes: int
    states_stored: int
    extracted: dict[str, int]
    loaded: dict[str, int]


@dataclass
class AttemptResult:
    error: DativoError | None
    scan: Scan
    states_stored: int
    last_stored: Any
    extracted: dict[str, int]
    loaded: dict[str, int]
    exit_codes: dict[str, int]
    duration: float

    @property
    def ok(self) -> bool:
        return self.error is None


class _StateWriter:
    """Reads the target's stdout and stores the states it prints, in order.

    One thread parses lines, another stores. When states arrive faster than the backend
    stores them (an fsync or an S3 PUT per state), the storer skips to the newest one: each
    state a target prints covers everything before it, so storing the latest is enough and
    the stored state still never runs ahead of what the target acknowledged.
    """

    def __init__(self, store: StateStore, state_id: str) -> None:
        self.store = store
        self.state_id = state_id
        self.acked = 0
        self.stored = 0
        self.last: Any = None
        self.error: DativoError | None = None
        self.ignored = 0
        self._pending: Any = None
        self._has_pending = False
        self._eof = False
        self._cond = threading.Condition()

    def read(self, stream: IO[bytes]) -> None:
        try:
            with stream:
                for raw in iter(stream.readline, b""):
                    value = self._parse(raw)
                    if value is None:
                        continue
                    with self._cond:
                        self._pending, self._has_pending = value, True
                        self.acked += 1
                        self._cond.notify()
        finally:
            with self._cond:
                self._eof = True
                self._cond.notify()

    def _parse(self, raw: bytes) -> dict[str, Any] | None:
        line = raw.strip()
        if not line:
            return None
        try:
            msg = codec.loads(line)
        except codec.JSONDecodeError:
            self.ignored += 1
            return None
        if not isinstance(msg, dict):
            self.ignored += 1
            return None
        if str(msg.get("type", "")).upper() == "STATE" and "value" in msg:
            value = msg["value"]  # a STATE message
        else:
            value = msg  # Singer targets print the bare state value
        if not isinstance(value, dict):
            self.ignored += 1
            return None
        return value

    def store_loop(self) -> None:
        while True:
            with self._cond:
                while not self._has_pending and not self._eof:
                    self._cond.wait()
                if not self._has_pending:
                    return
                value, self._pending, self._has_pending = self._pending, None, False
            if self.error is not None:
                continue  # keep draining; nothing more is stored after a failure
            try:
                self.store.put(self.state_id, value)
            except DativoError as exc:
                self.error = exc
                continue
            except Exception as exc:  # noqa: BLE001 - a backend bug must not look like success
                self.error = StateError(f"cannot store state: {type(exc).__name__}")
                continue
            self.stored += 1
            self.last = value


def _pipe() -> tuple[int, int]:
    r, w = os.pipe2(os.O_CLOEXEC)
    enlarge_pipe(w)
    return r, w


def _child_error(child: Child, code: int) -> DativoError:
    tail = child.stderr_tail()
    text = f"{child.role} {child.name!r} {describe_exit(code)}"
    text += f"; its last stderr lines:\n{tail}" if tail else " (no stderr output)"
    if code == TRANSIENT_EXIT:
        return TransientError(text)
    return ConnectorError(text)


class _ExitWatch:
    """Sleeps between polls, waking as soon as a child exits (Linux pidfds).

    Without it the end of a run would be noticed up to a poll interval late (25 ms on average,
    about 2% of a one-second pipeline). Elsewhere, or if the kernel refuses, it just sleeps.
    """

    def __init__(self, children: Sequence[Child]) -> None:
        self.fds: dict[str, int] = {}
        self._poll = select.poll()
        try:
            for child in children:
                self.fds[child.role] = fd = os.pidfd_open(child.pid)
                self._poll.register(fd, select.POLLIN)
        except (AttributeError, OSError):
            self.close()

    def wait(self, exited: dict[str, int], timeout: float) -> None:
        for role in [role for role in self.fds if role in exited]:
            fd = self.fds.pop(role)  # stays readable once its process exited: stop watching
            self._poll.unregister(fd)
            os.close(fd)
        if self.fds:
            self._poll.poll(timeout * 1000)
        else:
            time.sleep(timeout)

    def close(self) -> None:
        for fd in self.fds.values():
            with contextlib.suppress(OSError):
                os.close(fd)
        self.fds = {}
        self._poll = select.poll()


class Pipeline:
    """Runs tap -> [mapper ->] target once. Not reusable."""

    def __init__(
        self,
        tap: Leg,
        target: Leg,
        *,
        store: StateStore,
        state_id: str,
        redactor: Redactor,
        limits: Limits,
        stop: StopRequest,
        mapper: Leg | None = None,
        echo: Callable[[str], None] | None = None,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> None:
        self.legs = [tap, *([mapper] if mapper else []), target]
        self.store = store
        self.state_id = state_id
        self.redactor = redactor
        self.limits = limits
        self.stop = stop
        self.echo = echo
        self.on_progress = on_progress

    # ------------------------------------------------------------------ start
    def _start(
        self, scan: Scan, writer: _StateWriter
    ) -> tuple[list[Child], list[threading.Thread]]:
        children: list[Child] = []
        threads: list[threading.Thread] = []
        tap_leg, *middle, target_leg = self.legs
        a_r, a_w = _pipe()
        b_r, b_w = _pipe()
        try:
            children.append(self._spawn(tap_leg, subprocess.DEVNULL, a_w))
            os.close(a_w)
            a_w = -1
            upstream = b_r
            for leg in middle:
                m_r, m_w = _pipe()
                children.append(self._spawn(leg, upstream, m_w))
                os.close(upstream)
                os.close(m_w)
                if upstream == b_r:
                    b_r = -1
                upstream = m_r
            target = self._spawn(target_leg, upstream, subprocess.PIPE)
            children.append(target)
            os.close(upstream)
            b_r = -1
        except BaseException:
            for fd in (a_r, a_w, b_r, b_w):
                if fd >= 0:
                    with contextlib.suppress(OSError):
                        os.close(fd)
            for child in children:
                child.signal(signal.SIGKILL)
                child.proc.wait()
            raise
        if target.proc.stdout is None:  # pragma: no cover - we asked for a pipe
            raise RuntimeError("no stdout pipe")
        threads.append(
            threading.Thread(target=relay, args=(a_r, b_w, scan), name="dativo-relay", daemon=True)
        )
        threads.append(
            threading.Thread(
                target=writer.read, args=(target.proc.stdout,), name="dativo-acks", daemon=True
            )
        )
        threads.append(threading.Thread(target=writer.store_loop, name="dativo-state", daemon=True))
        for thread in threads:
            thread.start()
        return children, threads

    def _spawn(self, leg: Leg, stdin: int, stdout: int) -> Child:
        child = spawn(
            leg.role,
            leg.name,
            leg.argv,
            env=leg.env,
            cwd=leg.cwd,
            stdin=stdin,
            stdout=stdout,
            redactor=self.redactor,
            echo=self.echo,
        )
        log.debug("started %s %s, pid %d", leg.role, leg.name, child.pid)
        return child

    # ------------------------------------------------------------------ run
    def run(self) -> AttemptResult:
        started = time.monotonic()
        scan = Scan()
        writer = _StateWriter(self.store, self.state_id)
        children, threads = self._start(scan, writer)
        exits = _ExitWatch(children)
        tap = children[0]
        codes: dict[str, int] = {}
        failure: DativoError | None = None
        interrupted = False
        kill_at: float | None = None
        last_bytes, last_change = -1, started
        next_progress = started + 1.0
        try:
            while len(codes) < len(children):
                now = time.monotonic()
                for child in reversed(children):  # downstream first: its death explains upstream's
                    if child.role in codes:
                        continue
                    code = child.proc.poll()
                    if code is None:
                        continue
                    codes[child.role] = code
                    if code != 0 and failure is None and not interrupted:
                        if child is tap and scan.target_gone:
                            continue  # a consequence: the target stopped reading first
                        failure = _child_error(child, code)
                        kill_at = self._stop_others(children, codes, child, now)
                if writer.error is not None and failure is None:
                    failure = writer.error
                    kill_at = self._terminate_all(children, codes, now)
                if self.stop.requested and not interrupted and failure is None:
                    interrupted = True
                    if self.stop.count > 1:
                        kill_at = now
                    else:
                        tap.signal(signal.SIGTERM)  # the tap stops cleanly; the target drains
                        kill_at = now + self.limits.stop
                if self.stop.count > 1 and kill_at is not None and kill_at > now:
                    kill_at = now
                if failure is None and not interrupted:
                    failure = self._check_time(now, started, scan, last_change)
                    if failure is not None:
                        kill_at = self._terminate_all(children, codes, now)
                if scan.byte_count != last_bytes:
                    last_bytes, last_change = scan.byte_count, now
                if kill_at is not None and now >= kill_at:
                    for child in children:
                        if child.role not in codes:
                            child.signal(signal.SIGKILL)
                if self.on_progress is not None and now >= next_progress:
                    next_progress = now + 1.0
                    self.on_progress(self._progress(now - started, scan, writer, children))
                exits.wait(codes, POLL)
        except BaseException:
            for child in children:
                child.signal(signal.SIGKILL)
            for child in children:
                child.proc.wait()
            raise
        finally:
            exits.close()
            for child in children:  # leftovers of a connector's process group are orphans
                child.signal(signal.SIGKILL)
            for thread in threads:
                thread.join()
            for child in children:
                child.reader.join(timeout=5)
        if failure is None and interrupted:
            failure = Interrupted(
                f"stopped by a signal; state stored up to the target's last acknowledged STATE"
                f" ({writer.stored} stored in this attempt)"
            )
        if failure is None:
            failure = self._judge(children, codes, scan, writer)
        return AttemptResult(
            error=failure,
            scan=scan,
            states_stored=writer.stored,
            last_stored=writer.last,
            extracted=children[0].metrics.snapshot(),
            loaded=children[-1].metrics.snapshot(),
            exit_codes=codes,
            duration=time.monotonic() - started,
        )

    def _stop_others(
        self, children: Sequence[Child], codes: dict[str, int], failed: Child, now: float
    ) -> float:
        if failed is children[0]:
            # the tap failed: the target sees EOF, keeps what it committed and acks its state
            return now + self.limits.stop
        return self._terminate_all(children, codes, now)

    def _terminate_all(self, children: Sequence[Child], codes: dict[str, int], now: float) -> float:
        for child in children:
            if child.role not in codes:
                child.signal(signal.SIGTERM)
        return now + self.limits.stop

    def _check_time(
        self, now: float, started: float, scan: Scan, last_change: float
    ) -> DativoError | None:
        if self.limits.run is not None and now - started > self.limits.run:
            return TransientError(f"the run exceeded its timeout of {self.limits.run:g}s")
        if self.limits.idle is not None and now - last_change > self.limits.idle:
            return TransientError(
                f"the tap printed nothing for {self.limits.idle:g}s (idle timeout)"
            )
        return None

    def _judge(
        self, children: Sequence[Child], codes: dict[str, int], scan: Scan, writer: _StateWriter
    ) -> DativoError | None:
        target = children[-1]
        if scan.error is not None:
            return ConnectorError(f"the pipe between tap and target failed: {scan.error}")
        if scan.target_gone:
            return ConnectorError(
                f"target {target.name!r} stopped reading before the end of the tap's output"
                + (f"; its last stderr lines:\n{target.stderr_tail()}" if target.tail else "")
            )
        if scan.saw_state and (writer.stored == 0 or writer.last != scan.last_state):
            return ConnectorError(
                f"target {target.name!r} exited 0 without acknowledging the tap's last STATE;"
                " the stored state stays at the last acknowledged one"
            )
        return None

    def _progress(
        self, elapsed: float, scan: Scan, writer: _StateWriter, children: Sequence[Child]
    ) -> Progress:
        return Progress(
            elapsed=elapsed,
            messages=scan.lines,
            bytes=scan.byte_count,
            states_stored=writer.stored,
            extracted=children[0].metrics.snapshot(),
            loaded=children[-1].metrics.snapshot(),
        )
