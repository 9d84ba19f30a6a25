"""BATCH messages: manifest files (jsonl or parquet, local or any fsspec URL) into Arrow."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from dativo_protocol.errors import ProtocolError, RecordValidationError
from dativo_protocol.singer import BatchMessage
from dativo_targets.kit.arrowconv import convert_array
from dativo_targets.kit.decode import ARROW_ERRORS, fast_bare_records
from dativo_targets.kit.streams import StreamState


def _open(url: str, compression: str | None, options: dict[str, Any]) -> bytes:
    import fsspec

    comp = "gzip" if compression == "gzip" else None
    try:
        with fsspec.open(url, "rb", compression=comp, **options) as f:
            data: bytes = f.read()
    except (OSError, ValueError) as exc:
        raise ProtocolError(f"cannot read BATCH file: {type(exc).__name__}") from None
    return data


def jsonl_file(data: bytes) -> Iterator[tuple[int, bytes]]:
    for n, line in enumerate(data.split(b"\n"), 1):
        if line.strip():
            yield n, line


def parquet_batches(data: bytes, st: StreamState, where: str) -> Iterator[pa.RecordBatch]:
    import pyarrow.parquet as pq

    target = st.schema.arrow
    try:
        table = pq.read_table(pa.BufferReader(data))
    except (*ARROW_ERRORS, OSError):  # type: ignore[misc]
        raise ProtocolError(f"{where} is not a readable Parquet file") from None
    for batch in table.to_batches():
        columns = []
        for f in target:
            if f.name in batch.schema.names:
                try:
                    columns.append(convert_array(batch.column(f.name), f.type))
                except ARROW_ERRORS:
                    raise RecordValidationError(
                        f"{where}: column '{f.name}' does not fit type {f.type}",
                        stream=st.name,
                    ) from None
            else:
                columns.append(pa.nulls(batch.num_rows, f.type))
        yield pa.RecordBatch.from_arrays(columns, schema=target)


def manifest(msg: BatchMessage) -> list[tuple[str, str]]:
    """``(url, description)`` of each file of a BATCH message."""
    if msg.format not in ("jsonl", "parquet"):
        raise ProtocolError(f"unsupported BATCH format {msg.format!r}", stream=msg.stream)
    return [(url, f"BATCH file {i}") for i, url in enumerate(msg.manifest, 1)]


def read_file(
    url: str, msg: BatchMessage, st: StreamState, options: dict[str, Any]
) -> tuple[list[pa.RecordBatch] | None, bytes]:
    """The fast read of one manifest file: (batches or None for the row path, raw bytes)."""
    data = _open(url, msg.compression, options)
    if msg.format == "parquet":
        return list(parquet_batches(data, st, url.rsplit("/", 1)[-1])), data
    return fast_bare_records(data, st), data
