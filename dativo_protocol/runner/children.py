"""Connector child processes: spawning, stderr tails and METRIC counters.

Each child runs in its own session (a terminal's Ctrl-C reaches only the runner, which forwards
a clean stop) and, where ``setpriv`` exists, with a parent-death signal so it cannot outlive a
killed runner. Its stderr is read line by line: every line is redacted, the last few are kept
for error reports, and singer-sdk ``METRIC:`` counters (``record_count`` per stream) are summed.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import shutil
import signal
import subprocess
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from dativo_protocol import codec
from dativo_protocol.errors import ConfigError
from dativo_protocol.redact import Redactor

TAIL_LINES = 20
MAX_LINE = 400
_METRIC = b"METRIC: "


@dataclass
class Metrics:
    """Counters from a child's METRIC lines, summed per stream."""

    records: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def feed(self, line: bytes) -> None:
        at = line.find(_METRIC)
        if at < 0:
            return
        try:
            metric = codec.loads(line[at + len(_METRIC) :])
        except codec.JSONDecodeError:
            return
        if not isinstance(metric, dict) or metric.get("metric") != "record_count":
            return
        tags = metric.get("tags") or {}
        stream = tags.get("stream") or tags.get("endpoint") or "(unknown)"
        value = metric.get("value")
        if isinstance(value, int) and not isinstance(value, bool):
            with self.lock:
                self.records[str(stream)] = self.records.get(str(stream), 0) + value

    def snapshot(self) -> dict[str, int]:
        with self.lock:
            return dict(self.records)


@dataclass
class Child:
    role: str
    name: str
    proc: subprocess.Popen[bytes]
    metrics: Metrics
    tail: collections.deque[str]
    reader: threading.Thread

    @property
    def pid(self) -> int:
        return self.proc.pid

    def signal(self, sig: signal.Signals) -> None:
        """Signal the child's whole process group (it leads its own session)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, sig)

    def stderr_tail(self) -> str:
        self.reader.join(timeout=5)
        return "\n".join(f"  [{self.role}] {line}" for line in self.tail)


def _read_stderr(
    stream: IO[bytes],
    role: str,
    redactor: Redactor,
    metrics: Metrics,
    tail: collections.deque[str],
    echo: Callable[[str], None] | None,
) -> None:
    with stream:
        for raw in iter(stream.readline, b""):
            metrics.feed(raw)
            text = redactor.redact(raw.rstrip(b"\r\n").decode("utf-8", "replace"))
            if len(text) > MAX_LINE:
                text = text[:MAX_LINE] + " [...]"
            tail.append(text)
            if echo is not None:
                echo(f"[{role}] {text}")


def _deathsig_prefix() -> list[str]:
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "KILL", "--"] if setpriv else []


def spawn(
    role: str,
    name: str,
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: Path | None,
    stdin: int,
    stdout: int,
    redactor: Redactor,
    echo: Callable[[str], None] | None = None,
) -> Child:
    full_env = dict(env)  # the complete environment (launch.Invocation.env)
    try:
        proc = subprocess.Popen(
            [*_deathsig_prefix(), *argv],
            stdin=stdin,
            stdout=stdout,
            stderr=subprocess.PIPE,
            env=full_env,
            cwd=cwd,
            start_new_session=True,
        )
    except OSError as exc:
        raise ConfigError(f"cannot start {role} {name!r}: {exc.strerror}") from None
    if proc.stderr is None:  # pragma: no cover - we asked for a pipe
        raise RuntimeError("no stderr pipe")
    metrics = Metrics()
    tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
    reader = threading.Thread(
        target=_read_stderr,
        args=(proc.stderr, role, redactor, metrics, tail, echo),
        name=f"dativo-{role}-stderr",
        daemon=True,
    )
    reader.start()
    return Child(role=role, name=name, proc=proc, metrics=metrics, tail=tail, reader=reader)


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


def log_child(logger: logging.Logger, child: Child, argv: Any) -> None:
    logger.debug("started %s %s (pid %d): %s", child.role, child.name, child.pid, argv)
