"""One Parquet file being written: row-group buffering and rolling bookkeeping."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from dativo_targets.kit.dictionary import DictionaryMode, use_dictionary
from dativo_targets.parquet.publish import Handle, Publisher


@dataclass(slots=True)
class FileOptions:
    compression: str
    compression_level: int | None
    row_group_rows: int
    max_rows: int
    max_bytes: int
    dictionary: DictionaryMode = "strings"


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

        handle = publisher.open(final)
        writer = pq.ParquetWriter(
            handle.stream,
            schema,
            compression=options.compression,
            compression_level=options.compression_level,
            use_dictionary=use_dictionary(options.dictionary, schema, sample),
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
