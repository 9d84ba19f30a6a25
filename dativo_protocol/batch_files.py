"""Reading the files of a Singer BATCH message (local ``file://`` URIs).

A BATCH message (singer-sdk's batch extension) points at files holding bare records: JSON lines
(optionally gzip-compressed) or Parquet. Remote URIs (``s3://`` ...) are not opened here: the
protocol core has no cloud code.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
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


def iter_records(
    path: Path, encoding: dict[str, Any], *, stream: str | None = None
) -> Iterator[tuple[int, Any]]:
    """``(record_number, record)`` for each record of one batch file (1-based numbers).

    Raises ProtocolError (naming the file number and record, never content) when the file is
    missing or a record is not JSON.
    """
    fmt = encoding.get("format")
    if not path.is_file():
        raise ProtocolError("BATCH manifest file does not exist", stream=stream)
    if fmt == "parquet":
        import pyarrow.parquet as pq

        for number, record in enumerate(pq.read_table(path).to_pylist(), 1):
            yield number, record
        return
    opener: Any = gzip.open if encoding.get("compression") == "gzip" else open
    with opener(path, "rb") as raw:
        stream_io: BinaryIO = raw
        for number, line in LineReader(stream_io):
            try:
                yield number, codec.loads(line)
            except codec.JSONDecodeError as exc:
                raise ProtocolError(
                    f"BATCH file line {number}: {codec.describe_decode_error(exc)}", stream=stream
                ) from None
