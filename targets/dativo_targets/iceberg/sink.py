"""The Iceberg sink of the target kit: one table per stream, one snapshot per table per checkpoint."""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dativo_protocol.errors import ConfigError, DativoError, DestinationError

from . import checkpoint
from .files import FileChanges, commit_files, current_files, write_data_files
from .layout import SortField, apply_layout, parse_partition, parse_sort
from .maintenance import expire_quietly
from .merge import dedupe_last, merge_changes
from .schema import conform, evolve, table_arrow_schema
from .settings import IcebergSettings, LoadMethod

if TYPE_CHECKING:
    import pyarrow as pa
    from pyiceberg.catalog import Catalog
    from pyiceberg.manifest import DataFile
    from pyiceberg.table import Table

    from dativo_targets.kit.sink import StreamSchema
    from dativo_targets.kit.worker import Worker

log = logging.getLogger(__name__)

#: attempts of a whole checkpoint commit on one table when PyIceberg's own retries give up
COMMIT_ATTEMPTS = 5
#: append-only streams write this much Arrow data as Parquet in the background, while the kit
#: parses the next input, instead of all at commit time
PREWRITE_BYTES = 16 * 1024 * 1024


@dataclass(slots=True)
class _Stream:
    stream: str
    name: str
    table: Table
    keys: tuple[str, ...]
    load_method: LoadMethod
    sort: list[SortField]
    pending: list[pa.RecordBatch] = field(default_factory=list)
    pending_bytes: int = 0
    #: data files already written in the background for this checkpoint (append-only)
    prewritten: list[DataFile] = field(default_factory=list)
    prewritten_rows: int = 0
    #: index into ``pending`` of the last ACTIVATE_VERSION: the next commit keeps only rows
    #: written since the previous one (overwrite load method: 0 at the run start)
    activated_at: int | None = None
    #: data files this run committed since the stream's last replacement (kept by the next one)
    version_files: set[str] = field(default_factory=set)
    commits: int = 0


@dataclass(frozen=True, slots=True)
class _Prepared:
    before: pa.Table  # rows written before the activation: the version that becomes current
    after: pa.Table  # rows written after it (all rows when there is no activation)
    replace: bool


class IcebergSink:
    """Implements the kit's ``Sink`` protocol on a PyIceberg catalog."""

    def __init__(
        self, settings: IcebergSettings, catalog: Catalog, run_id: str | None = None
    ) -> None:
        self.settings = settings
        self.catalog = catalog
        self.run_id = run_id or uuid.uuid4().hex
        self.checkpoints = 0
        self._streams: dict[str, _Stream] = {}
        self._committed_state: Mapping[str, Any] | None = None
        self._worker: Worker | None = None

    # ------------------------------------------------------------------ Sink protocol
    def open_stream(self, stream: str, schema: StreamSchema) -> None:
        keys = tuple(schema.key_properties or ())
        method = self.settings.load_method_for(stream)
        if method == "upsert" and not keys:
            raise ConfigError(
                "load_method 'upsert' needs key_properties in the stream's SCHEMA", stream=stream
            )
        known = self._streams.get(stream)
        if known is not None:
            self._drain()  # background writes finish on the schema they started with
            evolve(known.table, schema.arrow, keys, stream)
            known.keys = keys
            return
        table = self._load_or_create(stream, schema.arrow, keys)
        self._streams[stream] = _Stream(
            stream=stream,
            name=self.settings.table_name(stream),
            table=table,
            keys=keys,
            load_method=method,
            sort=parse_sort(self.settings.sort_for(stream), stream),
            activated_at=0 if method == "overwrite" else None,
        )

    def write(self, stream: str, batch: pa.RecordBatch) -> None:
        s = self._stream(stream)
        s.pending.append(batch)
        s.pending_bytes += batch.nbytes
        if (
            s.pending_bytes >= PREWRITE_BYTES
            and s.load_method == "append-only"
            and s.activated_at is None
        ):
            self._prewrite(s)

    def activate_version(self, stream: str, version: int) -> None:
        # the table's rows become those written since the previous activation (or the run start)
        s = self._stream(stream)
        if s.activated_at is not None:  # a second activation before the commit supersedes rows
            del s.pending[: s.activated_at]
            s.version_files.clear()
        s.activated_at = len(s.pending)

    def commit(self, state: Mapping[str, Any] | None) -> None:
        self._drain()
        touched = sorted(
            (
                s
                for s in self._streams.values()
                if s.pending or s.prewritten or s.activated_at is not None
            ),
            key=lambda s: s.name,
        )
        if not touched:
            return
        # shape every batch first: bad data fails the checkpoint before any table commits
        prepared = [(stream, self._prepare(stream)) for stream in touched]
        self.checkpoints += 1
        props = checkpoint.summary_properties(
            state_id=self.settings.state_id,
            run_id=self.run_id,
            checkpoint=self.checkpoints,
            tables=[s.name for s in touched],
            state=state,
            previous_state=self._committed_state,
        )
        for stream, data in prepared:  # a fixed order: see checkpoint.py for the recovery rule
            self._commit_stream(stream, data, props)
        if state is not None:
            self._committed_state = state

    def abort(self) -> None:
        if self._worker is not None:
            self._worker.stop()  # finishes queued writes, drops their errors
            self._worker = None
        for stream in self._streams.values():
            _delete_quietly(stream.table, stream.prewritten)
            stream.prewritten.clear()
            stream.pending.clear()

    def close(self) -> None:
        if self._worker is not None:
            self._worker.stop()
            self._worker = None
        self._streams.clear()

    # ------------------------------------------------------------------ background writes
    def _prewrite(self, s: _Stream) -> None:
        import pyarrow as pa

        batches, table = s.pending, s.table
        s.pending, s.pending_bytes = [], 0

        def job() -> None:
            target = table.schema().as_arrow()
            parts = [conform(pa.Table.from_batches([b]), target, s.keys, s.stream) for b in batches]
            data = self._shape(s, parts, target)
            s.prewritten.extend(write_data_files(table, data))
            s.prewritten_rows += data.num_rows

        if self._worker is None:
            from dativo_targets.kit.worker import Worker

            self._worker = Worker("iceberg-writer", max_pending=2)
        self._worker.submit(job)

    def _drain(self) -> None:
        if self._worker is not None:
            self._worker.drain()

    # ------------------------------------------------------------------ internals
    def _stream(self, stream: str) -> _Stream:
        try:
            return self._streams[stream]
        except KeyError:
            raise DestinationError("write before open_stream", stream=stream) from None

    def _load_or_create(self, stream: str, arrow_schema: pa.Schema, keys: tuple[str, ...]) -> Table:
        from pyiceberg.exceptions import (
            CommitFailedException,
            NoSuchTableError,
            TableAlreadyExistsError,
        )

        identifier = (self.settings.namespace, self.settings.table_name(stream))
        try:
            table = self.catalog.load_table(identifier)
        except NoSuchTableError:
            try:
                return self._create(stream, identifier, arrow_schema, keys)
            except (TableAlreadyExistsError, CommitFailedException):
                table = self.catalog.load_table(identifier)  # another writer created it first
        for attempt in range(1, COMMIT_ATTEMPTS + 1):
            try:
                return evolve(table, arrow_schema, keys, stream)
            except CommitFailedException:  # another writer evolved it at the same moment
                if attempt == COMMIT_ATTEMPTS:
                    raise DestinationError(
                        "schema update kept conflicting with concurrent writers", stream=stream
                    ) from None
                table = table.refresh()
        raise AssertionError("unreachable")  # pragma: no cover

    def _create(
        self,
        stream: str,
        identifier: tuple[str, str],
        arrow_schema: pa.Schema,
        keys: tuple[str, ...],
    ) -> Table:
        schema = table_arrow_schema(arrow_schema, keys, stream)
        partition = parse_partition(self.settings.partition_for(stream), stream)
        sort = parse_sort(self.settings.sort_for(stream), stream)
        txn = self.catalog.create_table_transaction(
            identifier, schema=schema, properties=self.settings.properties_for(stream)
        )
        if keys:
            with txn.update_schema() as update:
                update.set_identifier_fields(*keys)
        apply_layout(txn, partition, sort, stream)
        txn.commit_transaction()
        log.info("created Iceberg table %s", ".".join(identifier))
        return self.catalog.load_table(identifier)  # the transaction's table is a staged one

    def _prepare(self, stream: _Stream) -> _Prepared:
        """Pending batches in the table's exact Arrow schema, split at the activation point."""
        import pyarrow as pa

        target = stream.table.schema().as_arrow()
        parts = [
            conform(pa.Table.from_batches([b]), target, stream.keys, stream.stream)
            for b in stream.pending
        ]
        cut = stream.activated_at
        if stream.load_method == "upsert" or cut is None:
            cut = 0  # upsert merges all rows of the checkpoint (see docs: ACTIVATE_VERSION)
        return _Prepared(
            self._shape(stream, parts[:cut], target),
            self._shape(stream, parts[cut:], target),
            replace=stream.activated_at is not None,
        )

    @staticmethod
    def _shape(stream: _Stream, parts: list[pa.Table], target: pa.Schema) -> pa.Table:
        import pyarrow as pa

        data = pa.concat_tables(parts) if parts else target.empty_table()
        if stream.load_method == "upsert" and stream.keys:
            data = dedupe_last(data, stream.keys)
        if stream.sort and data.num_rows:
            order = [(f.column, "descending" if f.descending else "ascending") for f in stream.sort]
            data = data.sort_by(order)
        return data

    def _commit_stream(self, stream: _Stream, data: _Prepared, props: Mapping[str, str]) -> None:
        from pyiceberg.exceptions import CommitFailedException, ValidationException

        from .txn import MemoTransaction

        started = time.perf_counter()
        rows = data.before.num_rows + data.after.num_rows + stream.prewritten_rows
        for attempt in range(1, COMMIT_ATTEMPTS + 1):
            table = stream.table.refresh() if attempt > 1 else stream.table
            txn = MemoTransaction(table)
            changes = FileChanges()
            try:
                changes = self._changes(stream, table, data)
                commit_files(txn, changes, props)
                stream.table = txn.commit_transaction()
                break
            except (CommitFailedException, ValidationException) as exc:
                _delete_quietly(table, _written_now(stream, changes))
                if attempt == COMMIT_ATTEMPTS:
                    _delete_quietly(table, stream.prewritten)
                    raise DestinationError(
                        f"commit to table {stream.name} kept conflicting with concurrent writers "
                        f"({attempt} attempts): {type(exc).__name__}",
                        stream=stream.stream,
                        detail=str(exc),
                    ) from None
                log.warning("commit to %s conflicted (attempt %d), retrying", stream.name, attempt)
                time.sleep(0.05 * attempt)
            except DativoError:
                _delete_quietly(table, changes.added)
                raise
            except OSError as exc:
                _delete_quietly(table, changes.added)
                raise DestinationError(
                    f"writing table {stream.name} failed: {type(exc).__name__}",
                    stream=stream.stream,
                    detail=str(exc),
                ) from None
        if data.replace:
            stream.version_files = set(changes.new_version_files)
            stream.activated_at = None
        else:
            stream.version_files.update(changes.new_version_files)
        stream.pending.clear()
        stream.pending_bytes = 0
        stream.prewritten = []
        stream.prewritten_rows = 0
        stream.commits += 1
        log.info(
            "committed %d rows to %s in %.0f ms (%d files added, %d removed, %d rows rewritten, "
            "metadata %d bytes)",
            rows,
            stream.name,
            (time.perf_counter() - started) * 1000,
            len(changes.added),
            len(changes.removed),
            changes.rows_rewritten,
            _metadata_size(stream.table),
        )
        every = self.settings.expire_snapshots_every
        if every and stream.commits % every == 0:
            expire_quietly(stream.table, self.settings.snapshot_keep_last)

    def _changes(self, stream: _Stream, table: Table, data: _Prepared) -> FileChanges:
        if stream.load_method == "upsert":
            changes = merge_changes(table, data.after, stream.keys)
            changes.new_version_files = [f.file_path for f in changes.added]
        else:
            kept = write_data_files(table, data.before)
            new = stream.prewritten + write_data_files(table, data.after)
            changes = FileChanges(
                added=kept + new,
                rows_added=data.before.num_rows + data.after.num_rows + stream.prewritten_rows,
            )
            changes.new_version_files = [f.file_path for f in new]
        if data.replace:
            rewritten = {f.file_path for f in changes.removed}
            changes.removed.extend(
                f
                for f in current_files(table)
                if f.file_path not in stream.version_files and f.file_path not in rewritten
            )
        return changes


def _written_now(stream: _Stream, changes: FileChanges) -> list[DataFile]:
    """Files of a failed attempt that the next attempt will not reuse (not the prewritten ones)."""
    keep = {f.file_path for f in stream.prewritten}
    return [f for f in changes.added if f.file_path not in keep]


def _delete_quietly(table: Table, files: list[DataFile]) -> None:
    """Remove data files written for a commit that did not land (they are referenced by nothing)."""
    for data_file in files:
        with contextlib.suppress(Exception):  # best effort: an orphan file is harmless
            table.io.delete(data_file.file_path)


def _metadata_size(table: Table) -> int:
    """Bytes of the table's current metadata.json (what every commit rewrites)."""
    try:
        return len(table.io.new_input(table.metadata_location))
    except Exception:  # noqa: BLE001 - only for the log line
        return -1
