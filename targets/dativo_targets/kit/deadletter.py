"""Dead-letter output: rejected records with the reason, committed with the data."""

from __future__ import annotations

import os
import uuid
from collections import defaultdict
from typing import Any

from dativo_protocol import codec
from dativo_protocol.errors import DestinationError


class DeadLetter:
    """Buffers rejected records per stream; :meth:`commit` writes one JSONL file per stream
    (``<path>/<stream>/<run>-<n>.jsonl``, lines ``{stream, line, reason, record}``)."""

    def __init__(self, path: str, storage_options: dict[str, Any] | None = None) -> None:
        self.path = path.rstrip("/")
        self.storage_options = storage_options or {}
        self._run = uuid.uuid4().hex[:12]
        self._seq = 0
        self._pending: dict[str, list[bytes]] = defaultdict(list)
        self.count = 0

    def add(self, stream: str, line: int | None, reason: str, record: Any) -> None:
        entry = {"stream": stream, "line": line, "reason": reason, "record": record}
        self._pending[stream].append(codec.dumps_line(entry))
        self.count += 1

    @property
    def dirty(self) -> bool:
        return bool(self._pending)

    def commit(self) -> None:
        import fsspec

        if not self._pending:
            return
        fs, root = fsspec.core.url_to_fs(self.path, **self.storage_options)
        try:
            for stream, lines in self._pending.items():
                self._seq += 1
                folder = f"{root}/{stream}"
                final = f"{folder}/{self._run}-{self._seq:05d}.jsonl"
                fs.makedirs(folder, exist_ok=True)
                if fs.protocol in ("file", ("file", "local")) or "file" in fs.protocol:
                    tmp = f"{folder}/.{self._run}-{self._seq:05d}.tmp"
                    with open(tmp, "wb") as f:
                        f.writelines(lines)
                        f.flush()
                        os.fsync(f.fileno())
                    os.replace(tmp, final)
                else:  # object stores: a single PUT is atomic
                    fs.pipe(final, b"".join(lines))
        except OSError as exc:
            raise DestinationError(f"cannot write dead-letter records: {exc}") from None
        self._pending.clear()

    def abort(self) -> None:
        self._pending.clear()
