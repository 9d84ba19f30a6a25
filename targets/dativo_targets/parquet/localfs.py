"""The few filesystem calls target-parquet makes, for local folders, without fsspec.

Importing fsspec costs ~25 ms of start-up (it pulls in asyncio); a local destination needs only
listing, opening, moving and removing files, which ``os`` does. Other URLs (s3://, memory://,
chained ``::`` URLs) and local destinations with ``storage_options`` go through fsspec.
"""

from __future__ import annotations

import os
import shutil
from typing import IO, Any

PROTOCOL = "file://"


def local_root(url: str, storage_options: dict[str, Any]) -> str | None:
    """The absolute folder of a plain local destination (a path or ``file://`` URL), else
    ``None`` (fsspec handles it)."""
    if storage_options:
        return None
    if url.startswith(PROTOCOL):
        url = url[len(PROTOCOL) :]
    elif "://" in url or "::" in url:
        return None
    return os.path.abspath(os.path.expanduser(url))


class LocalFS:
    """The subset of ``fsspec.AbstractFileSystem`` the Parquet sink and publisher use."""

    protocol = ("file", "local")

    def exists(self, path: str) -> bool:
        return os.path.exists(path)

    def find(self, path: str) -> list[str]:
        """Every file below ``path`` (recursively), sorted."""
        return sorted(
            os.path.join(folder, name) for folder, _, names in os.walk(path) for name in names
        )

    def open(self, path: str, mode: str = "rb") -> IO[Any]:
        return open(path, mode)

    def makedirs(self, path: str, exist_ok: bool = False) -> None:
        os.makedirs(path, exist_ok=exist_ok)

    def mv(self, source: str, target: str) -> None:
        os.replace(source, target)

    def rm(self, path: str, recursive: bool = False) -> None:
        if recursive and os.path.isdir(path):
            shutil.rmtree(path)
        else:
            os.remove(path)
