"""What a stream holds between checkpoints, and the pieces of one checkpoint's commit.

Owned by :class:`.sink.IcebergSink`: the loop's thread fills a :class:`StreamState`'s pending
batches, ``begin_commit`` takes them as a :class:`Taken`, and the background thread shapes
them into a :class:`Prepared` and commits it.
"""

from __future__ import annotations

import contextlib
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dativo_protocol.errors import DestinationError

from .datafiles import file_schema
from .files import FileChanges
from .layout import SortField
from .merge import dedupe_last
from .settings import LoadMethod

if TYPE_CHECKING:
    import pyarrow as pa
    from pyiceberg.manifest import DataFile
    from pyiceberg.table import Table


@dataclass(slots=True)
class Written:
    """Data files a background job wrote for the next checkpoint (not committed yet)."""

    files: list[DataFile]
    rows: int


@dataclass(slots=True)
class StreamState:
    """One stream's table and what it holds until the next checkpoint."""

    stream: str
    name: str
    keys: tuple[str, ...]
    load_method: LoadMethod
    sort: list[SortField]
    # --- the loop's thread: what the next checkpoint holds
    pending: list[pa.RecordBatch] = field(default_factory=list)
    pending_bytes: int = 0
    #: data files being written in the background for the next checkpoint (append-only)
    prewrites: list[Future[Written]] = field(default_factory=list)
    #: index into ``pending`` of the last ACTIVATE_VERSION: the next commit keeps only rows
    #: written since the previous one (overwrite load method: 0 at the run start)
    activated_at: int | None = None
    #: background writes of rows that came before that ACTIVATE_VERSION
    prewrites_before: list[Future[Written]] = field(default_factory=list)
    #: a second ACTIVATE_VERSION superseded this run's earlier version files
    reset_version: bool = False
    #: the background job that loads or creates the table
    loaded: Future[None] | None = None
    # --- the background thread
    table: Table | None = None
    #: data files this run committed since the stream's last replacement (kept by the next one)
    version_files: set[str] = field(default_factory=set)
    commits: int = 0
    #: the table's data-file Arrow schema, and the Iceberg schema it was derived from
    file_schema: tuple[Any, pa.Schema] | None = None


@dataclass(slots=True)
class Taken:
    """One stream's share of a checkpoint, taken from the loop's thread by ``begin_commit``."""

    stream: StreamState
    pending: list[pa.RecordBatch]
    prewrites: list[Future[Written]]
    prewrites_before: list[Future[Written]]
    activated_at: int | None
    reset_version: bool


@dataclass(slots=True)
class Prepared:
    before: pa.Table  # rows written before the activation: the version that becomes current
    after: pa.Table  # rows written after it (all rows when there is no activation)
    replace: bool
    reset_version: bool = False
    written_before: list[DataFile] = field(default_factory=list)  # background-written files
    written_after: list[DataFile] = field(default_factory=list)
    written_rows: int = 0

    @property
    def written(self) -> list[DataFile]:
        return self.written_before + self.written_after


def table_of(s: StreamState) -> Table:
    if s.table is None:  # pragma: no cover - jobs run after the stream's load job succeeded
        raise DestinationError("table not loaded", stream=s.stream)
    return s.table


def conform_schema(s: StreamState, table: Table) -> pa.Schema:
    """The Arrow schema that batches of ``s`` are conformed to, derived once per table schema."""
    schema = table.schema()
    known = s.file_schema
    if known is None or known[0] is not schema:
        known = s.file_schema = (schema, file_schema(table))
    return known[1]


def shape(stream: StreamState, parts: list[pa.Table], target: pa.Schema) -> pa.Table:
    import pyarrow as pa

    data = pa.concat_tables(parts) if parts else target.empty_table()
    if stream.load_method == "upsert" and stream.keys:
        data = dedupe_last(data, stream.keys)
    if stream.sort and data.num_rows:
        order = [(f.column, "descending" if f.descending else "ascending") for f in stream.sort]
        data = data.sort_by(order)
    return data


def written_now(data: Prepared, changes: FileChanges) -> list[DataFile]:
    """Files of a failed attempt that the next attempt will not reuse (not the prewritten ones)."""
    keep = {f.file_path for f in data.written}
    return [f for f in changes.added if f.file_path not in keep]


def delete_quietly(table: Table | None, files: list[DataFile]) -> None:
    """Remove data files written for a commit that did not land (they are referenced by nothing)."""
    if table is None:
        return
    for data_file in files:
        with contextlib.suppress(Exception):  # best effort: an orphan file is harmless
            table.io.delete(data_file.file_path)


def metadata_size(table: Table) -> int:
    """Bytes of the table's current metadata.json (what every commit rewrites)."""
    try:
        return len(table.io.new_input(table.metadata_location))
    except Exception:  # noqa: BLE001 - only for the log line
        return -1
