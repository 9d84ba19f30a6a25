"""One Parquet file being written: row-group buffering and rolling bookkeeping."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from dativo_targets.parquet.publish import Handle, Publisher


@dataclass(slots=True)
class FileOptions:
    compression: str
    compression_level: int | None
    row_group_rows: int
    max_rows: int
    max_bytes: int
    dictionary: str = "strings"


def string_columns(schema: pa.Schema) -> list[str]:
    """Dotted paths of the string columns (structs walked): the columns worth a dictionary.
    Ids, numbers and timestamps rarely repeat: dictionary-encoding them costs time and space."""
    out: list[str] = []

    def walk(f: pa.Field, path: str) -> None:
        if pa.types.is_string(f.type) or pa.types.is_large_string(f.type):
            out.append(path)
        elif pa.types.is_struct(f.type):
            for i in range(f.type.num_fields):
                child = f.type.field(i)
                walk(child, f"{path}.{child.name}")

    for f in schema:
        walk(f, f.name)
    return out


def repetitive(column: str, sample: pa.RecordBatch) -> bool:
    """True when the values of ``column`` (a dotted path) repeat in ``sample``: at most half
    of them are distinct. Names, ids and free text rarely repeat: for them the writer would
    build a dictionary only to drop it once it outgrows its page."""
    first, *rest = column.split(".")
    arr: pa.Array = sample.column(first)
    for name in rest:
        arr = arr.field(name)
    n = len(arr) - arr.null_count
    return n == 0 or int(pc.count_distinct(arr).as_py()) * 2 <= int(n)


def dictionary_columns(schema: pa.Schema, sample: pa.RecordBatch | None) -> list[str]:
    """The string columns to dictionary-encode: those that repeat in the file's first batch."""
    columns = string_columns(schema)
    if sample is None or not sample.num_rows:
        return columns
    return [c for c in columns if repetitive(c, sample)]


@dataclass(slots=True)
class OpenFile:
    """A Parquet file under a temporary name (or an unfinished upload)."""

    handle: Handle
    writer: Any
    options: FileOptions
    rows: int = 0
    nbytes: int = 0
    buffered: list[pa.RecordBatch] = field(default_factory=list)
    buffered_rows: int = 0

    @classmethod
    def create(
        cls,
        publisher: Publisher,
        final: str,
        schema: pa.Schema,
        options: FileOptions,
        sample: pa.RecordBatch | None = None,
    ) -> OpenFile:
        """A new file for batches of ``schema``; ``sample`` (its first batch) tells which
        string columns repeat enough for a dictionary (``dictionary="strings"``)."""
        # imported here, on the writer thread: it overlaps with the first parse (~15 ms)
        import pyarrow.parquet as pq

        use_dictionary: bool | list[str] = options.dictionary == "all"
        if options.dictionary == "strings":
            use_dictionary = dictionary_columns(schema, sample)
        handle = publisher.open(final)
        writer = pq.ParquetWriter(
            handle.stream,
            schema,
            compression=options.compression,
            compression_level=options.compression_level,
            use_dictionary=use_dictionary,
            write_statistics=True,
        )
        return cls(handle, writer, options)

    def write(self, batch: pa.RecordBatch) -> None:
        self.buffered.append(batch)
        self.buffered_rows += batch.num_rows
        self.rows += batch.num_rows
        self.nbytes += batch.nbytes
        if self.buffered_rows >= self.options.row_group_rows:
            self._write_buffer()

    def _write_buffer(self) -> None:
        if self.buffered:
            table = pa.Table.from_batches(self.buffered)
            self.writer.write_table(table, row_group_size=self.options.row_group_rows)
            self.buffered, self.buffered_rows = [], 0

    @property
    def full(self) -> bool:
        return self.rows >= self.options.max_rows or self.nbytes >= self.options.max_bytes

    def discard(self, publisher: Publisher) -> None:
        """Drop the unfinished file (no footer is written to it, now or at garbage collection)."""
        self.writer.is_open = False
        publisher.discard(self.handle)

    def close(self, publisher: Publisher) -> Handle:
        """Write the footer; the file is complete but not published."""
        self._write_buffer()
        self.writer.close()
        publisher.finish(self.handle)
        return self.handle
