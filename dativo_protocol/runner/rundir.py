"""A private temp folder per attempt: 0700, files 0600, wiped afterwards (even on errors).

Connectors get ``TMPDIR`` inside it, so what they leave behind (the Airbyte CDK copies its
config to a temp dir) is wiped too. A folder left by a runner that was SIGKILLed is wiped by
the next run, once its owner process is gone.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Any

from dativo_protocol import codec
from dativo_protocol.procs import alive

PREFIX = "dativo-run-"
OWNER = ".owner-pid"


def sweep_stale(root: Path | None = None) -> int:
    """Remove run folders whose runner died without cleaning up; returns how many."""
    base = root or Path(tempfile.gettempdir())
    removed = 0
    for folder in base.glob(f"{PREFIX}*"):
        try:
            if folder.stat().st_uid != os.getuid():
                continue
            pid = int((folder / OWNER).read_text())
        except (OSError, ValueError):
            continue
        if not alive(pid):
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed


class RunDir:
    def __init__(self, root: Path | None = None) -> None:
        self.path = Path(tempfile.mkdtemp(prefix=PREFIX, dir=root))
        os.chmod(self.path, 0o700)
        (self.path / OWNER).write_text(str(os.getpid()))
        self.tmp = self.path / "tmp"
        self.tmp.mkdir(mode=0o700)

    def write_json(self, name: str, data: Any) -> Path:
        return codec.write_private(self.path / name, data, exclusive=True)

    def env(self) -> dict[str, str]:
        tmp = str(self.tmp)
        return {"TMPDIR": tmp, "TMP": tmp, "TEMP": tmp}

    def close(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(self.path)

    def __enter__(self) -> RunDir:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
