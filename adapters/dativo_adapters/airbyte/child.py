"""The Airbyte connector as a child process.

Each run gets a private directory (mode 0700) holding the files the connector reads (config,
catalog, state: mode 0600, secrets inside) and its ``TMPDIR`` (the CDK copies the config there
and leaves it behind when killed); the directory is wiped when the run ends, however it ends.
The connector's stderr is forwarded line by line to our log, redacted, and its last lines are
kept for the error message when it fails.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
import threading
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, BinaryIO, cast

from dativo_protocol import codec
from dativo_protocol.errors import ConnectorError
from dativo_protocol.redact import Redactor

log = logging.getLogger("dativo.connector")
#: longest stderr line forwarded as is (the rest is cut)
MAX_STDERR_LINE = 2000
#: how long a connector may take to exit after its stdout ended or we gave up on it
EXIT_GRACE_SECONDS = 10.0


class Workspace:
    """A private directory for one run of a connector."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.tmpdir = root / "tmp"
        self.tmpdir.mkdir(mode=0o700)

    def write(self, name: str, data: Any) -> Path:
        """Write ``data`` as JSON to ``name`` with mode 0600; returns the path."""
        return codec.write_private(self.root / name, data, exclusive=True)


@contextmanager
def workspace() -> Iterator[Workspace]:
    root = Path(tempfile.mkdtemp(prefix="tap-airbyte-"))  # mode 0700
    try:
        yield Workspace(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


class Connector:
    """A started connector: read ``stdout``, then :meth:`close`."""

    def __init__(self, argv: Sequence[str], ws: Workspace, redactor: Redactor, name: str) -> None:
        self.name = name
        self._redactor = redactor
        self._tail: deque[str] = deque(maxlen=5)
        self._stopped = False
        env = {**os.environ, "TMPDIR": str(ws.tmpdir), "PYTHONUNBUFFERED": "1"}
        try:
            self._proc = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
                cwd=ws.root,  # same process group: `dativo` stopping the tap's group stops it too
            )
        except OSError as exc:
            raise ConnectorError(f"cannot start {name}: {exc.strerror}") from None
        if self._proc.stdout is None or self._proc.stderr is None:  # pragma: no cover
            raise ConnectorError(f"{name} started without pipes")
        self.stdout: BinaryIO = cast(BinaryIO, self._proc.stdout)
        self._stderr = threading.Thread(
            target=self._forward, args=(self._proc.stderr,), daemon=True
        )
        self._stderr.start()

    def _forward(self, stream: IO[bytes]) -> None:
        for raw in stream:
            text = raw.decode("utf-8", "replace").rstrip()
            if not text:
                continue
            if len(text) > MAX_STDERR_LINE:
                text = text[:MAX_STDERR_LINE] + " [cut]"
            text = self._redactor.redact(text)
            self._tail.append(text)
            log.info("%s: %s", self.name, text)

    def stop(self, grace: float = 1.0) -> None:
        """We give up on the connector (our side failed): give it ``grace`` seconds to end on
        its own (then its exit status still counts), else SIGTERM, then SIGKILL."""
        try:
            self._proc.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            pass
        self._stopped = True
        self.stdout.close()
        try:
            self._proc.terminate()
            self._proc.wait(timeout=EXIT_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            self._proc.kill()
        except ProcessLookupError:
            pass

    def close(self) -> ConnectorError | None:
        """Wait for the connector to exit; the error to report when it failed on its own."""
        try:
            code = self._proc.wait(timeout=EXIT_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            self.stop()
            code = self._proc.wait()
            self._stderr.join(timeout=EXIT_GRACE_SECONDS)
            return ConnectorError(
                f"{self.name} did not exit within {EXIT_GRACE_SECONDS:g}s after its output ended"
            )
        self._stderr.join(timeout=EXIT_GRACE_SECONDS)
        if code == 0 or self._stopped:
            return None
        how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
        last = f"; its last stderr line: {self._tail[-1]}" if self._tail else ""
        return ConnectorError(f"the connector {self.name} {how}{last}")


def run_to_end(
    argv: Sequence[str], ws: Workspace, redactor: Redactor, name: str
) -> tuple[bytes, ConnectorError | None]:
    """Run a short command (spec, check, discover): its stdout and its failure, if any."""
    proc = Connector(argv, ws, redactor, name)
    out = proc.stdout.read()
    proc.stdout.close()
    return out, proc.close()
