"""Where rows go: stream folders, Hive-style partition folders and file names.

``<root>/<stream>/<key>=<value>/.../part-<utc time>-<run>-<n>[-v<version>].parquet``
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence
from urllib.parse import quote

import pyarrow as pa
import pyarrow.compute as pc

from dativo_protocol.errors import ConfigError
from dativo_targets.parquet.settings import PartitionSpec

NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"
_VERSION = re.compile(r"-v(\d+)\.parquet$")


def stream_folder(stream: str) -> str:
    """A safe folder name for a stream (``/`` and other specials are escaped)."""
    return quote(stream, safe="-_.") or "_"


def schema_folder(stream: str, schema: pa.Schema) -> str:
    """The folder of an incompatible later schema (``on_incompatible_schema=new_folder``)."""
    digest = hashlib.sha256(str(schema).encode()).hexdigest()[:8]
    return f"{stream_folder(stream)}__{digest}"


def file_name(run: str, seq: int, version: int | None) -> str:
    tag = f"-v{version}" if version is not None else ""
    return f"part-{run}-{seq:05d}{tag}.parquet"


def file_version(path: str) -> int | None:
    m = _VERSION.search(path)
    return int(m.group(1)) if m else None


def _levels(spec: PartitionSpec, col: pa.ChunkedArray | pa.Array) -> list[tuple[str, pa.Array]]:
    t = col.type
    if spec.granularity == "value":
        text = pc.cast(col, pa.string()) if not pa.types.is_string(t) else col
        return [(spec.name or f"{spec.field}_value", text)]
    if not (pa.types.is_timestamp(t) or pa.types.is_date(t)):
        raise ConfigError(
            f"partition field '{spec.field}' must be a date-time or date column for "
            f"granularity '{spec.granularity}' (it is {t})"
        )
    if pa.types.is_date(t):
        col = pc.cast(col, pa.timestamp("s"))
    day = pc.strftime(col, format="%Y-%m-%d")
    base = spec.name or spec.field
    if spec.granularity == "day":
        return [(spec.name or f"{spec.field}_day", day)]
    return [(f"{base}_day", day), (f"{base}_hour", pc.strftime(col, format="%H"))]


def check_partitions(specs: Sequence[PartitionSpec], schema: pa.Schema) -> None:
    for spec in specs:
        if spec.field not in schema.names:
            raise ConfigError(f"partition field '{spec.field}' is not a column of the stream")


def partition_keys(batch: pa.RecordBatch, specs: Sequence[PartitionSpec]) -> pa.Array | None:
    """The relative partition folder of each row (``None`` when unpartitioned)."""
    if not specs:
        return None
    parts: list[pa.Array] = []
    for spec in specs:
        for key, values in _levels(spec, batch.column(spec.field)):
            escaped = pc.replace_substring_regex(values, r"[/\\%=]", "_")
            filled = pc.fill_null(escaped, NULL_PARTITION)
            parts.append(pc.binary_join_element_wise(f"{key}=", filled, ""))
    if len(parts) == 1:
        return parts[0]
    return pc.binary_join_element_wise(*parts, "/")


def split_by_partition(
    batch: pa.RecordBatch, specs: Sequence[PartitionSpec]
) -> Iterator[tuple[str, pa.RecordBatch]]:
    keys = partition_keys(batch, specs)
    if keys is None:
        yield "", batch
        return
    uniques = pc.unique(keys)
    if len(uniques) == 1:
        yield uniques[0].as_py(), batch
        return
    for key in uniques.to_pylist():
        yield key, batch.filter(pc.equal(keys, key))
