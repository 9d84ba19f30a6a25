"""Reading the files of a Singer BATCH message.

A BATCH message (singer-sdk's batch extension) points at files holding bare records: JSON lines
(optionally gzip-compressed) or Parquet. The core opens local ``file://`` URIs only
(:func:`open_local`): it has no cloud code. A caller that may reach remote stores passes its
own :data:`BatchOpener` (the ``dativo`` CLI passes one built on fsspec).
"""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import unquote, urlsplit

from dativo_protocol import codec
from dativo_protocol.errors import ProtocolError
from dativo_protocol.jsonl import LineReader


def local_path(uri: str) -> Path | None:
    """The local path of a ``file://`` URI (or a bare path); None for remote URIs."""
    parts = urlsplit(uri)
    if parts.scheme == "file":
        return Path(unquote(parts.path))
    if parts.scheme == "":
        return Path(uri)
    return None


#: opens one manifest URI for reading; None when this opener cannot reach it (remote URIs);
#: raises ProtocolError when the file is missing or unreadable
BatchOpener = Callable[[str], BinaryIO | None]


def open_local(uri: str) -> BinaryIO | None:
    """The :data:`BatchOpener` of the core: local files, None for remote URIs."""
    path = local_path(uri)
    if path is None:
        return None
    if not path.is_file():
        raise ProtocolError("BATCH manifest file does not exist")
    return open(path, "rb")


def iter_records(
    raw: BinaryIO, encoding: dict[str, Any], *, stream: str | None = None
) -> Iterator[tuple[int, Any]]:
    """``(record_number, record)`` for each record of one open batch file (1-based numbers).

    Raises ProtocolError (naming the record, never content) when a record is not JSON or the
    file is not the format it claims.
    """
    fmt = encoding.get("format")
    if fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(raw)
        except (pa.ArrowInvalid, OSError):
            raise ProtocolError(
                "BATCH file is not a readable Parquet file", stream=stream
            ) from None
        for number, record in enumerate(table.to_pylist(), 1):
            yield number, record
        return
    body: BinaryIO = raw
    if encoding.get("compression") == "gzip":
        body = gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[assignment]
    try:
        for number, line in LineReader(body):
            try:
                yield number, codec.loads(line)
            except codec.JSONDecodeError as exc:
                raise ProtocolError(
                    f"BATCH file line {number}: {codec.describe_decode_error(exc)}", stream=stream
                ) from None
    except (gzip.BadGzipFile, EOFError):
        raise ProtocolError("BATCH file is not readable gzip", stream=stream) from None
