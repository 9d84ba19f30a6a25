"""Finding and opening the files of a file set, on any fsspec filesystem.

``path`` may be a file, a directory (read recursively), a glob, or any fsspec URL such as
``s3://bucket/exports/*.csv``. Files are returned in a stable (sorted) order with their
modification time.
"""

from __future__ import annotations

import datetime
import io
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any

from dativo_protocol.errors import ConfigError, ConnectionCheckError
from dativo_taps.csv.settings import FileSet

_GLOB_CHARS = ("*", "?", "[")


@dataclass(frozen=True)
class SourceFile:
    path: str  # as the user knows it (with the protocol for remote files)
    fs_path: str  # as the filesystem knows it
    mtime: datetime.datetime
    size: int


def storage_options(config: Mapping[str, Any], protocol: str) -> dict[str, Any]:
    options: dict[str, Any] = dict(config.get("storage_options") or {})
    if protocol in ("s3", "s3a"):
        s3 = dict(config.get("s3") or {})
        client_kwargs: dict[str, Any] = dict(options.pop("client_kwargs", {}) or {})
        for ours, theirs in (
            ("key", "key"),
            ("secret", "secret"),
            ("token", "token"),
            ("anon", "anon"),
        ):
            if s3.get(ours) is not None:
                options[theirs] = s3[ours]
        if s3.get("endpoint_url"):
            client_kwargs["endpoint_url"] = s3["endpoint_url"]
        if s3.get("region"):
            client_kwargs["region_name"] = s3["region"]
        if client_kwargs:
            options["client_kwargs"] = client_kwargs
    return options


def _protocol(path: str) -> str:
    return path.split("://", 1)[0] if "://" in path else "file"


def filesystem(path: str, config: Mapping[str, Any]) -> tuple[Any, str]:
    """(fsspec filesystem, path on it) for ``path``."""
    import fsspec.core

    protocol = _protocol(path)
    try:
        fs, fs_path = fsspec.core.url_to_fs(path, **storage_options(config, protocol))
    except ImportError as exc:
        raise ConfigError(f"no filesystem for {protocol}:// paths ({exc})") from None
    except ValueError as exc:
        raise ConfigError(f"cannot open {path}: {exc}") from None
    return fs, fs_path


def _mtime(info: Mapping[str, Any]) -> datetime.datetime:
    for key in ("mtime", "LastModified", "last_modified", "modified", "updated", "created"):
        value = info.get(key)
        if isinstance(value, datetime.datetime):
            return value if value.tzinfo else value.replace(tzinfo=datetime.UTC)
        if isinstance(value, int | float):
            return datetime.datetime.fromtimestamp(value, datetime.UTC)
        if isinstance(value, str):
            try:
                parsed = datetime.datetime.fromisoformat(value)
            except ValueError:
                continue
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)
    return datetime.datetime.now(datetime.UTC)


def _display(path: str, fs_path: str, fs: Any) -> str:
    if "://" not in path:
        return fs_path
    return str(fs.unstrip_protocol(fs_path))


def list_files(file_set: FileSet, config: Mapping[str, Any]) -> list[SourceFile]:
    """Every file of ``file_set``, sorted by path. Raises ConfigError if there is none."""
    fs, fs_path = filesystem(file_set.path, config)
    where = f"stream '{file_set.entity}'"
    try:
        if any(c in fs_path for c in _GLOB_CHARS):
            infos = fs.glob(fs_path, detail=True)
            entries = [info for info in infos.values() if info.get("type") != "directory"]
        elif fs.isdir(fs_path):
            found = fs.find(fs_path, detail=True)
            entries = [
                info
                for name, info in found.items()
                if info.get("type") != "directory" and name.lower().endswith(file_set.extensions)
            ]
        elif fs.exists(fs_path):
            entries = [fs.info(fs_path)]
        else:
            raise ConfigError(f"{where}: path does not exist: {file_set.path}")
    except (PermissionError, OSError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise ConfigError(f"{where}: path does not exist: {file_set.path}") from None
        raise ConnectionCheckError(f"{where}: cannot list {file_set.path}: {exc}") from None
    files = [
        SourceFile(
            path=_display(file_set.path, info["name"], fs),
            fs_path=info["name"],
            mtime=_mtime(info),
            size=int(info.get("size") or 0),
        )
        for info in entries
    ]
    if not files:
        raise ConfigError(f"{where}: no files match {file_set.path}")
    return sorted(files, key=lambda f: f.path)


@contextmanager
def open_text(file: SourceFile, file_set: FileSet, config: Mapping[str, Any]) -> Iterator[IO[str]]:
    """The file as text (decompressed if its name says so), newline handling left to csv."""
    from fsspec.utils import infer_compression

    fs, _ = filesystem(file_set.path, config)
    compression = infer_compression(file.fs_path)
    protocols = fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,)
    if compression is None and "file" in protocols:
        handle: IO[str] = open(file.fs_path, encoding=file_set.encoding, newline="")  # noqa: SIM115
        with handle:
            yield handle
        return
    from fsspec.core import OpenFile

    opened = OpenFile(fs, file.fs_path, mode="rb", compression=compression)
    with opened as raw:
        text = io.TextIOWrapper(raw, encoding=file_set.encoding, newline="")
        try:
            yield text
        finally:
            text.detach()
