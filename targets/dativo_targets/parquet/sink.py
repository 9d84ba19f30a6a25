"""The Parquet sink: rolling, partitioned files published atomically at each commit."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pyarrow as pa

from dativo_protocol.errors import DestinationError, SchemaEvolutionError
from dativo_protocol.log import get_logger
from dativo_protocol.schema.evolution import conform_batch, diff_schemas
from dativo_targets.kit.sink import StreamSchema
from dativo_targets.kit.worker import Worker
from dativo_targets.parquet import layout
from dativo_targets.parquet.files import FileOptions, OpenFile
from dativo_targets.parquet.localfs import LocalFS, local_root
from dativo_targets.parquet.publish import Handle, LocalPublisher, Publisher, publisher_for
from dativo_targets.parquet.settings import ParquetSettings

T = TypeVar("T")

#: batches (about 10k rows each) queued for the writer thread before the loop waits: enough to
#: ride out a commit's file closing without holding much memory
WRITER_QUEUE = 8


@dataclass(slots=True)
class _Stream:
    name: str
    folder: str  # relative to the root
    schema: pa.Schema
    files: dict[str, OpenFile] = field(default_factory=dict)
    version: int | None = None
    replace_pending: bool = False


@contextlib.contextmanager
def _destination(what: str) -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise DestinationError(f"{what}: {reason}") from None


class ParquetSink:
    """Implements :class:`dativo_targets.kit.sink.Sink` for Parquet files."""

    def __init__(self, settings: ParquetSettings, *, fs: Any = None) -> None:
        self.settings = settings
        options = settings.fs_options()
        local = local_root(settings.destination_path, options) if fs is None else None
        with _destination("cannot open destination_path"):
            if local is not None:
                fs, root = LocalFS(), local
            elif fs is None:
                import fsspec

                fs, root = fsspec.core.url_to_fs(settings.destination_path, **options)
            else:
                root = settings.destination_path
        self.fs = fs
        self.root = root.rstrip("/")
        self.publisher: Publisher = publisher_for(fs, self.root)
        self.options = FileOptions(
            compression=settings.compression,
            compression_level=settings.compression_level,
            row_group_rows=settings.row_group_rows,
            max_rows=settings.file_max_rows,
            max_bytes=settings.file_max_bytes,
            dictionary=settings.dictionary,
        )
        self.run = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + uuid.uuid4().hex[:8]
        self.seq = 0
        self.streams: dict[str, _Stream] = {}
        self.pending: list[Handle] = []
        self.published: list[str] = []
        #: files closed for a commit whose finish has not run yet (abort discards them)
        self.closing: list[list[Handle]] = []
        self.worker = Worker("parquet-writer", max_pending=WRITER_QUEUE)
        self.log = get_logger("parquet")

    # ------------------------------------------------------------------ Sink
    def open_stream(self, stream: str, schema: StreamSchema) -> None:
        self._drain()
        new = schema.arrow
        layout.check_partitions(self.settings.partition_by, new)
        current = self.streams.get(stream)
        folder = current.folder if current else layout.stream_folder(stream)
        previous = current.schema if current else self._existing_schema(folder)
        target = new
        if previous is not None:
            diff = diff_schemas(previous, new)
            if not diff.compatible:
                if self.settings.on_incompatible_schema == "fail":
                    raise SchemaEvolutionError(
                        "incompatible schema change: "
                        + "; ".join(c.describe() for c in diff.incompatible),
                        stream=stream,
                        hint="set on_incompatible_schema=new_folder to write it to a new folder",
                    )
                folder = layout.schema_folder(stream, new)
                self.log.warning("stream '%s': incompatible schema, writing to %s", stream, folder)
            else:
                target = diff.unified
        if current is not None:
            self._roll_all(current)
        self.streams[stream] = _Stream(
            stream, folder, target, version=current.version if current else None
        )

    def write(self, stream: str, batch: pa.RecordBatch) -> None:
        st = self.streams[stream]
        self._submit(lambda: self._write(st, batch))

    def activate_version(self, stream: str, version: int) -> None:
        self._drain()
        st = self.streams[stream]
        self._roll_all(st)
        st.version = version
        st.replace_pending = True

    def commit(self, state: Mapping[str, Any] | None) -> None:
        self.begin_commit(state)()

    def begin_commit(self, state: Mapping[str, Any] | None) -> Callable[[], None]:
        """Close every open file on the writer thread, after the batches queued before this
        call, and return the *finish*: wait for that, then fsync and publish the files. Batches
        written after this call go to new files of the next commit, so parsing goes on while a
        commit finishes (``kit.sink.PipelinedSink``)."""
        replace = [st for st in self.streams.values() if st.replace_pending]
        for st in replace:
            st.replace_pending = False
        closed: list[Handle] = []
        self.closing.append(closed)

        def close_all() -> None:
            for st in self.streams.values():
                self._roll_all(st)
            closed.extend(self.pending)
            self.pending.clear()

        with _destination("cannot write files"):
            wait = self.worker.submit_waitable(close_all)

        def finish() -> None:
            with _destination("cannot write files"):
                wait()
            try:
                self._publish(closed, replace)
            finally:
                self.closing.remove(closed)

        return finish

    def _publish(self, handles: list[Handle], replace: list[_Stream]) -> None:
        """Make closed files visible (each one atomically), then drop replaced versions. Files
        not published when this fails are discarded."""
        done = 0
        try:
            with _destination("cannot publish files"):
                folders = set()
                for handle in handles:
                    self.publisher.publish(handle)
                    done += 1
                    self.published.append(handle.final)
                    folders.add(handle.final.rsplit("/", 1)[0])
                if isinstance(self.publisher, LocalPublisher):
                    self.publisher.sync(folders)
                for st in replace:
                    self._replace_old_versions(st)
        except BaseException:
            for handle in handles[done:]:
                self.publisher.discard(handle)
            raise

    def abort(self) -> None:
        self.worker.stop()
        for st in self.streams.values():
            for f in st.files.values():
                f.discard(self.publisher)
            st.files.clear()
        for handle in [h for handles in self.closing for h in handles] + self.pending:
            self.publisher.discard(handle)
        self.pending.clear()
        self.closing.clear()
        self.publisher.cleanup()

    def close(self) -> None:
        self.worker.stop()
        self.publisher.cleanup()

    # ------------------------------------------------------------------ internals
    def _submit(self, job: Callable[[], None]) -> None:
        with _destination("cannot write files"):
            self.worker.submit(job)

    def _drain(self) -> None:
        with _destination("cannot write files"):
            self.worker.drain()

    def _write(self, st: _Stream, batch: pa.RecordBatch) -> None:
        if not batch.schema.equals(st.schema, check_metadata=False):
            batch = conform_batch(batch, st.schema)
        for key, part in layout.split_by_partition(batch, self.settings.partition_by):
            f = st.files.get(key)
            if f is None:
                if len(st.files) >= self.settings.max_open_files:
                    self._roll(st, max(st.files, key=lambda k: st.files[k].rows))
                f = st.files[key] = self._open(st, key, part)
            f.write(part)
            if f.full:
                self._roll(st, key)

    def _open(self, st: _Stream, key: str, sample: pa.RecordBatch) -> OpenFile:
        self.seq += 1
        folder = f"{self.root}/{st.folder}" + (f"/{key}" if key else "")
        final = f"{folder}/{layout.file_name(self.run, self.seq, st.version)}"
        return OpenFile.create(self.publisher, final, st.schema, self.options, sample)

    def _roll(self, st: _Stream, key: str) -> None:
        self.pending.append(st.files.pop(key).close(self.publisher))

    def _roll_all(self, st: _Stream) -> None:
        for key in list(st.files):
            self._roll(st, key)

    def _stream_files(self, folder: str) -> list[str]:
        path = f"{self.root}/{folder}"
        if not self.fs.exists(path):
            return []
        return sorted(p for p in self.fs.find(path) if p.endswith(".parquet"))

    def _existing_schema(self, folder: str) -> pa.Schema | None:
        """The schema of the newest file of an earlier run (cross-run evolution check)."""
        with _destination("cannot list destination"):
            files = self._stream_files(folder)
            if not files:
                return None
            import pyarrow.parquet as pq

            newest = max(files, key=lambda p: p.rsplit("/", 1)[-1])
            with self.fs.open(newest, "rb") as f:
                schema: pa.Schema = pq.read_schema(f)
        return schema

    def _replace_old_versions(self, st: _Stream) -> None:
        """Delete the stream's files of other versions and untagged files of earlier runs."""
        keep = set(self.published)
        for path in self._stream_files(st.folder):
            version = layout.file_version(path)
            older_run = self.run not in path.rsplit("/", 1)[-1]
            if (version is not None and version != st.version) or (
                version is None and older_run and path not in keep
            ):
                self.fs.rm(path)
