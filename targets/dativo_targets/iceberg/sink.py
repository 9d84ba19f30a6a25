"""The Iceberg sink of the target kit: one table per stream, one snapshot per table per checkpoint.

Everything that touches the catalog runs on one background thread, in submission order:
opening the catalog (importing PyIceberg and SQLAlchemy takes ~0.55 s of CPU), loading or
creating each stream's table, and the checkpoint commits. Parquet data files of append-only
streams are encoded on two writer threads (every 16 MiB while the loop parses on, and the rest
when a checkpoint is handed over), so encoding overlaps with the commits. The loop's thread only
buffers Arrow batches and hands work over, so start-up and commits overlap with parsing (the
kit's ``PipelinedSink``). The first background failure is raised on the loop's thread at its
next call into the sink (or by the commit it belongs to), and every later background job is
skipped.
"""

from __future__ import annotations

import concurrent.futures
import logging
import os
import signal
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

from dativo_protocol.errors import ConfigError, DativoError, DestinationError

from . import checkpoint
from .datafiles import write_data_files
from .files import FileChanges, commit_files, current_files
from .layout import parse_sort
from .maintenance import expire_quietly
from .merge import merge_changes
from .schema import conform, evolve
from .settings import IcebergSettings
from .stream_state import (
    Prepared,
    StreamState,
    Taken,
    Written,
    conform_schema,
    delete_quietly,
    metadata_size,
    shape,
    table_of,
    written_now,
)
from .tables import COMMIT_ATTEMPTS, check_layout, load_or_create

if TYPE_CHECKING:
    import pyarrow as pa
    from pyiceberg.catalog import Catalog
    from pyiceberg.table import Table

    from dativo_targets.kit.sink import StreamSchema

log = logging.getLogger(__name__)
T = TypeVar("T")

#: append-only streams write this much Arrow data as Parquet in the background, while the kit
#: parses the next input, instead of all at commit time
PREWRITE_BYTES = 16 * 1024 * 1024
#: threads encoding data files (the Parquet encoder releases the GIL)
WRITER_THREADS = 2
#: TEST ONLY: ``<checkpoint>:<tables>`` makes the process SIGKILL itself in checkpoint
#: ``<checkpoint>`` of the run after committing ``<tables>`` of its tables (0: before the
#: first), so tests can kill a real process inside a pipelined or multi-table commit
TEST_KILL_ENV = "DATIVO_ICEBERG_TEST_KILL"


class IcebergSink:
    """Implements the kit's ``PipelinedSink`` protocol on a PyIceberg catalog.

    ``catalog``: an open catalog, or None to open the one ``settings`` describe in the
    background (the console script does that, so start-up overlaps with parsing).
    """

    #: checkpoints handed over but not yet committed (the background thread commits them in
    #: order): the catalog start-up (~0.6 s of PyIceberg and SQLAlchemy imports) and a slow
    #: commit are absorbed over a few checkpoints instead of stalling the loop; the memory
    #: bound is this many checkpoints of Arrow data (1M benchmark rows: 270 MB peak RSS)
    max_commits_in_flight = 6

    def __init__(
        self,
        settings: IcebergSettings,
        catalog: Catalog | None = None,
        run_id: str | None = None,
    ) -> None:
        self.settings = settings
        self.run_id = run_id or uuid.uuid4().hex
        self.checkpoints = 0
        self._streams: dict[str, StreamState] = {}
        self._committed_state: Mapping[str, Any] | None = None
        self._failed: BaseException | None = None
        self._stopping = False
        self._kill_at = _test_kill(os.environ.get(TEST_KILL_ENV))
        self._bg = ThreadPoolExecutor(1, thread_name_prefix="iceberg")
        #: Parquet encoding of data files, so that it overlaps with the commits on ``_bg``; two
        #: threads, so the rows buffered while the catalog opens are encoded on both cores
        self._writer = ThreadPoolExecutor(WRITER_THREADS, thread_name_prefix="iceberg-writer")
        self._writes: list[Future[Any]] = []
        if catalog is None:
            from .catalog import open_catalog

            self._catalog = self._submit(lambda: open_catalog(settings))
        else:
            self._catalog = Future()
            self._catalog.set_result(catalog)

    # ------------------------------------------------------------------ Sink protocol
    def open_stream(self, stream: str, schema: StreamSchema) -> None:
        self._check()
        keys = tuple(schema.key_properties or ())
        method = self.settings.load_method_for(stream)
        if method == "upsert" and not keys:
            raise ConfigError(
                "load_method 'upsert' needs key_properties in the stream's SCHEMA", stream=stream
            )
        check_layout(self.settings, stream, schema.arrow)
        known = self._streams.get(stream)
        if known is not None:  # after the writes queued so far, on the schema they started with
            self._wait_writes()
            self._submit(lambda: self._evolve(known, schema.arrow, keys)).result()
            known.keys = keys
            return
        s = StreamState(
            stream=stream,
            name=self.settings.table_name(stream),
            keys=keys,
            load_method=method,
            sort=parse_sort(self.settings.sort_for(stream), stream),
            activated_at=0 if method == "overwrite" else None,
        )
        self._streams[stream] = s
        s.loaded = self._submit(lambda: self._load(s, schema.arrow, keys))

    def write(self, stream: str, batch: pa.RecordBatch) -> None:
        self._check()
        s = self._stream(stream)
        s.pending.append(batch)
        s.pending_bytes += batch.nbytes
        if (
            s.pending_bytes >= PREWRITE_BYTES
            and s.load_method == "append-only"
            and s.activated_at is None
        ):
            self._write_ahead(s)

    def activate_version(self, stream: str, version: int) -> None:
        # the table's rows become those written since the previous activation (or the run start)
        s = self._stream(stream)
        if s.activated_at is not None:  # a second activation before the commit supersedes rows
            del s.pending[: s.activated_at]
            dropped, s.prewrites_before = s.prewrites_before, []
            self._submit(lambda: self._delete(s, dropped), writer=True)
            s.reset_version = True
        s.prewrites_before.extend(s.prewrites)
        s.prewrites = []
        s.activated_at = len(s.pending)

    def begin_commit(self, state: Mapping[str, Any] | None) -> Callable[[], None]:
        """Take the checkpoint and commit it in the background; the result waits for it."""
        self._check()
        taken = []
        for s in sorted(self._streams.values(), key=lambda s: s.name):
            if s.pending and s.load_method == "append-only" and s.activated_at is None:
                self._write_ahead(s)  # encoded on the writer thread while earlier commits run
            if s.pending or s.prewrites or s.prewrites_before or s.activated_at is not None:
                taken.append(
                    Taken(
                        s, s.pending, s.prewrites, s.prewrites_before, s.activated_at,
                        s.reset_version,
                    )
                )  # fmt: skip
                s.pending, s.pending_bytes, s.prewrites, s.prewrites_before = [], 0, [], []
                s.activated_at, s.reset_version = None, False
        if not taken:
            return _nothing
        done = self._submit(lambda: self._commit_checkpoint(taken, state))
        return lambda: done.result()

    def commit(self, state: Mapping[str, Any] | None) -> None:
        self.begin_commit(state)()

    def abort(self) -> None:
        """Skip queued work, wait for the running job, remove files no commit references."""
        self._stopping = True
        self._writer.shutdown(wait=True)
        self._bg.shutdown(wait=True)
        for s in self._streams.values():
            for future in s.prewrites + s.prewrites_before:
                if future.done() and future.exception() is None:
                    delete_quietly(s.table, future.result().files)
            s.prewrites, s.prewrites_before, s.pending = [], [], []

    def close(self) -> None:
        self._writer.shutdown(wait=True)
        self._bg.shutdown(wait=True)
        self._streams.clear()

    # ------------------------------------------------------------------ background thread
    def _write_ahead(self, s: StreamState) -> None:
        batches, s.pending, s.pending_bytes = s.pending, [], 0
        s.prewrites.append(self._submit(lambda: self._prewrite(s, batches), writer=True))

    def _submit(self, job: Callable[[], T], *, writer: bool = False) -> Future[T]:
        def run() -> T:
            if self._failed is not None:
                raise self._failed
            if self._stopping:
                raise DestinationError("the target is stopping")
            try:
                return job()
            except BaseException as exc:
                self._failed = exc
                raise

        if not writer:
            return self._bg.submit(run)
        future = self._writer.submit(run)
        self._writes = [f for f in self._writes if not f.done()]
        self._writes.append(future)
        return future

    def _wait_writes(self) -> None:
        """Wait for every data-file write submitted so far (they run in parallel)."""
        concurrent.futures.wait(self._writes)
        self._writes = []
        self._check()

    def _check(self) -> None:
        """Raise the first background failure on the loop's thread."""
        if self._failed is not None:
            raise self._failed

    def _drain(self) -> None:
        """Wait for every job submitted so far."""
        self._wait_writes()
        self._submit(_nothing).result()

    def _load(self, s: StreamState, arrow_schema: pa.Schema, keys: tuple[str, ...]) -> None:
        from .recovery import undo_incomplete

        catalog, settings = self._catalog.result(), self.settings
        table = load_or_create(catalog, settings, s.stream, arrow_schema, keys)
        s.table = undo_incomplete(catalog, settings.namespace, settings.state_id, table)

    def _evolve(self, s: StreamState, arrow_schema: pa.Schema, keys: tuple[str, ...]) -> None:
        s.table = evolve(table_of(s), arrow_schema, keys, s.stream)

    def _prewrite(self, s: StreamState, batches: list[pa.RecordBatch]) -> Written:
        import pyarrow as pa

        if s.loaded is not None:
            s.loaded.result()  # the table is loaded on the other thread
        table = table_of(s)
        target = conform_schema(s, table)
        parts = [conform(pa.Table.from_batches([b]), target, s.keys, s.stream) for b in batches]
        data = shape(s, parts, target)
        return Written(write_data_files(table, data, self.settings.dictionary), data.num_rows)

    def _delete(self, s: StreamState, futures: list[Future[Written]]) -> None:
        for future in futures:
            delete_quietly(s.table, future.result().files)

    def _commit_checkpoint(self, taken: list[Taken], state: Mapping[str, Any] | None) -> None:
        prepared: list[tuple[StreamState, Prepared]] = []
        committed = 0
        try:
            # shape every batch first: bad data fails the checkpoint before any table commits
            for item in taken:
                prepared.append((item.stream, self._prepare(item)))
            self.checkpoints += 1
            props = checkpoint.summary_properties(
                state_id=self.settings.state_id,
                run_id=self.run_id,
                checkpoint=self.checkpoints,
                tables=[item.stream.name for item in taken],
                state=state,
                previous_state=self._committed_state,
            )
            for stream, data in prepared:  # a fixed order: see checkpoint.py for recovery
                if self._kill_at == (self.checkpoints, committed):
                    os.kill(os.getpid(), signal.SIGKILL)
                self._commit_stream(stream, data, props)
                committed += 1
        except BaseException:
            for item in taken[committed:]:  # files of tables this checkpoint did not reach
                for future in item.prewrites + item.prewrites_before:
                    if future.exception() is None:
                        delete_quietly(item.stream.table, future.result().files)
            raise
        if state is not None:
            self._committed_state = state

    def _prepare(self, item: Taken) -> Prepared:
        """Pending batches in the table's exact Arrow schema, split at the activation point."""
        import pyarrow as pa

        stream = item.stream
        target = conform_schema(stream, table_of(stream))
        before = [f.result() for f in item.prewrites_before]
        after = [f.result() for f in item.prewrites]
        parts = [
            conform(pa.Table.from_batches([b]), target, stream.keys, stream.stream)
            for b in item.pending
        ]
        cut = item.activated_at
        if stream.load_method == "upsert" or cut is None:
            cut = 0  # upsert merges all rows of the checkpoint (see docs: ACTIVATE_VERSION)
        return Prepared(
            shape(stream, parts[:cut], target),
            shape(stream, parts[cut:], target),
            replace=item.activated_at is not None,
            reset_version=item.reset_version,
            written_before=[f for w in before for f in w.files],
            written_after=[f for w in after for f in w.files],
            written_rows=sum(w.rows for w in before + after),
        )

    def _commit_stream(self, stream: StreamState, data: Prepared, props: Mapping[str, str]) -> None:
        from pyiceberg.exceptions import CommitFailedException, ValidationException

        from .txn import MemoTransaction

        started, started_cpu = time.perf_counter(), time.thread_time()
        rows = data.before.num_rows + data.after.num_rows + data.written_rows
        if data.reset_version:
            stream.version_files.clear()
        base = table_of(stream)
        for attempt in range(1, COMMIT_ATTEMPTS + 1):
            table = base.refresh() if attempt > 1 else base
            txn = MemoTransaction(table)
            changes = FileChanges()
            try:
                changes = self._changes(stream, table, data)
                commit_files(txn, changes, props)
                stream.table = txn.commit_transaction()
                break
            except (CommitFailedException, ValidationException) as exc:
                delete_quietly(table, written_now(data, changes))
                if attempt == COMMIT_ATTEMPTS:
                    delete_quietly(table, data.written)
                    raise DestinationError(
                        f"commit to table {stream.name} kept conflicting with concurrent writers "
                        f"({attempt} attempts): {type(exc).__name__}",
                        stream=stream.stream,
                        detail=str(exc),
                    ) from None
                log.warning("commit to %s conflicted (attempt %d), retrying", stream.name, attempt)
                time.sleep(0.05 * attempt)
            except DativoError:
                delete_quietly(table, changes.added)
                raise
            except OSError as exc:
                delete_quietly(table, changes.added)
                raise DestinationError(
                    f"writing table {stream.name} failed: {type(exc).__name__}",
                    stream=stream.stream,
                    detail=str(exc),
                ) from None
        if data.replace:
            stream.version_files = set(changes.new_version_files)
        else:
            stream.version_files.update(changes.new_version_files)
        stream.commits += 1
        log.info(
            "committed %d rows to %s in %.0f ms (%.0f ms CPU; %d files added, %d removed, %d rows rewritten, "
            "metadata %d bytes)",
            rows,
            stream.name,
            (time.perf_counter() - started) * 1000,
            (time.thread_time() - started_cpu) * 1000,
            len(changes.added),
            len(changes.removed),
            changes.rows_rewritten,
            metadata_size(table_of(stream)),
        )
        every = self.settings.expire_snapshots_every
        if every and stream.commits % every == 0:
            expire_quietly(table_of(stream), self.settings.snapshot_keep_last)

    def _changes(self, stream: StreamState, table: Table, data: Prepared) -> FileChanges:
        if stream.load_method == "upsert":
            changes = merge_changes(table, data.after, stream.keys, self.settings.dictionary)
            changes.new_version_files = [f.file_path for f in changes.added]
        else:
            dictionary = self.settings.dictionary
            kept = data.written_before + write_data_files(table, data.before, dictionary)
            new = data.written_after + write_data_files(table, data.after, dictionary)
            changes = FileChanges(
                added=kept + new,
                rows_added=data.before.num_rows + data.after.num_rows + data.written_rows,
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

    # ------------------------------------------------------------------ internals
    def _stream(self, stream: str) -> StreamState:
        try:
            return self._streams[stream]
        except KeyError:
            raise DestinationError("write before open_stream", stream=stream) from None


def _nothing() -> None:
    return None


def _test_kill(value: str | None) -> tuple[int, int] | None:
    if not value:
        return None
    checkpoint_number, _, tables = value.partition(":")
    return int(checkpoint_number), int(tables or 0)
