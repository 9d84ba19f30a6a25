"""Atomic publication of finished files.

Readers never see a file that is not whole:

- local disk: files are written under ``<root>/_dativo_tmp/<pid>-<run>/`` and renamed into place
  at commit (``os.replace`` is atomic); a run killed before its commit leaves only that folder,
  which the next run removes (once its process is gone).
- S3: files are written straight to their key as a multipart upload that is completed only at
  commit (``close``); until then no object exists. ``abort`` cancels the upload. Uploads of a
  killed run never complete (an S3 lifecycle rule for incomplete multipart uploads reclaims
  their parts).
- other fsspec filesystems: written under ``_dativo_tmp`` and moved at commit.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from dataclasses import dataclass
from typing import Any, BinaryIO

from dativo_protocol.procs import alive

TMP_DIR = "_dativo_tmp"


@dataclass(slots=True)
class Handle:
    """An unpublished file: the stream to write to and where it will appear."""

    stream: BinaryIO
    final: str
    temp: str | None


class Publisher:
    """Base: write to a temporary path on ``fs``, move into place at publish."""

    def __init__(self, fs: Any, root: str) -> None:
        self.fs = fs
        self.root = root.rstrip("/")
        self.run = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.tmp = f"{self.root}/{TMP_DIR}/{self.run}"
        self._seq = 0

    def _temp_path(self) -> str:
        self._seq += 1
        return f"{self.tmp}/{self._seq:06d}.tmp"

    def open(self, final: str) -> Handle:
        temp = self._temp_path()
        self.fs.makedirs(self.tmp, exist_ok=True)
        return Handle(self.fs.open(temp, "wb"), final, temp)

    def finish(self, handle: Handle) -> None:
        """The file's bytes are all written (not visible yet)."""
        handle.stream.close()

    def publish(self, handle: Handle) -> None:
        if handle.temp is None:
            raise ValueError("handle without a temporary path")
        parent = handle.final.rsplit("/", 1)[0]
        self.fs.makedirs(parent, exist_ok=True)
        self.fs.mv(handle.temp, handle.final)

    def discard(self, handle: Handle) -> None:
        with contextlib.suppress(Exception):
            handle.stream.close()
        if handle.temp is not None:
            with contextlib.suppress(Exception):
                self.fs.rm(handle.temp)

    def cleanup(self) -> None:
        """Remove this run's temporary folder (after commit/abort)."""
        with contextlib.suppress(Exception):
            if self.fs.exists(self.tmp):
                self.fs.rm(self.tmp, recursive=True)


class LocalPublisher(Publisher):
    def open(self, final: str) -> Handle:
        os.makedirs(self.tmp, exist_ok=True)
        temp = self._temp_path()
        return Handle(open(temp, "wb"), final, temp)

    def finish(self, handle: Handle) -> None:
        handle.stream.close()

    def publish(self, handle: Handle) -> None:
        """fsync the closed file (here, not when it is closed: the writer thread goes on
        while a commit waits for the disk), then rename it into place."""
        if handle.temp is None:
            raise ValueError("handle without a temporary path")
        fd = os.open(handle.temp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        parent = os.path.dirname(handle.final)
        os.makedirs(parent, exist_ok=True)
        os.replace(handle.temp, handle.final)

    def sync(self, folders: set[str]) -> None:
        """fsync the folders that received files, so the renames survive a power cut."""
        for folder in folders:
            with contextlib.suppress(OSError):
                fd = os.open(folder, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)

    def remove_stale(self) -> None:
        """Remove temporary folders of earlier runs whose process is gone."""
        base = os.path.join(self.root, TMP_DIR)
        if not os.path.isdir(base):
            return
        for name in os.listdir(base):
            pid_text = name.split("-", 1)[0]
            if pid_text.isdigit() and int(pid_text) != os.getpid() and not alive(int(pid_text)):
                shutil.rmtree(os.path.join(base, name), ignore_errors=True)

    def cleanup(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)
        with contextlib.suppress(OSError):
            os.rmdir(os.path.join(self.root, TMP_DIR))


class S3Publisher(Publisher):
    """Multipart uploads completed at publish (s3fs ``close``), cancelled at discard."""

    def open(self, final: str) -> Handle:
        return Handle(self.fs.open(final, "wb"), final, None)

    def finish(self, handle: Handle) -> None:
        handle.stream.flush()  # upload what is buffered as parts; do not complete yet

    def publish(self, handle: Handle) -> None:
        handle.stream.close()

    def discard(self, handle: Handle) -> None:
        with contextlib.suppress(Exception):
            handle.stream.discard()  # type: ignore[attr-defined]
            handle.stream.closed = True  # type: ignore[misc]  # nothing left to upload at exit

    def cleanup(self) -> None:
        pass


def publisher_for(fs: Any, root: str) -> Publisher:
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    if protocol in ("file", "local"):
        pub: Publisher = LocalPublisher(fs, root)
        pub.remove_stale()  # type: ignore[attr-defined]
        return pub
    if protocol in ("s3", "s3a"):
        return S3Publisher(fs, root)
    return Publisher(fs, root)
