"""The contract between the kit's ingest loop and a destination (a *sink*)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import pyarrow as pa

    from dativo_protocol.schema.arrow import FieldNote


@dataclass(frozen=True, slots=True)
class StreamSchema:
    """A stream's schema as the loop knows it: the SCHEMA message and its Arrow mapping.

    ``arrow`` is the schema of every batch :meth:`Sink.write` receives for the stream (built by
    ``dativo_protocol.schema.arrow.json_schema_to_arrow``); ``notes`` are its field notes.
    """

    stream: str
    json_schema: Mapping[str, Any]
    arrow: pa.Schema
    notes: tuple[FieldNote, ...] = ()
    key_properties: tuple[str, ...] = ()
    bookmark_properties: tuple[str, ...] = field(default=())


class Sink(Protocol):
    """A destination. The loop calls it from one thread, in input order.

    - ``open_stream``: on the first SCHEMA of a stream and each SCHEMA that changes it. A sink
      refuses an incompatible change by raising (e.g. ``SchemaEvolutionError``).
    - ``write``: a batch of records (matching ``schema.arrow``); buffered, not durable yet.
    - ``activate_version``: ACTIVATE_VERSION; the stream's data before it is replaced once the
      next commit succeeds.
    - ``commit``: make everything written so far durable and visible, atomically where the
      destination allows. ``state`` is the latest STATE value covered by the commit (``None``
      if none); a sink may store it with the data. The loop emits that STATE after ``commit``
      returns, and calls ``commit`` only when something was written or activated since the
      last one.
    - ``abort``: discard everything not committed (error or interrupt). Must not raise.
    - ``close``: release resources after the final commit or abort.
    """

    def open_stream(self, stream: str, schema: StreamSchema) -> None: ...

    def write(self, stream: str, batch: pa.RecordBatch) -> None: ...

    def activate_version(self, stream: str, version: int) -> None: ...

    def commit(self, state: Mapping[str, Any] | None) -> None: ...

    def abort(self) -> None: ...

    def close(self) -> None: ...


class PipelinedSink(Sink, Protocol):
    """A sink whose commits overlap with the parsing of the next checkpoint.

    ``begin_commit(state)`` takes everything written so far into one commit and returns a
    *finish* callable; it must return quickly (start the work on a thread of the sink's own,
    or leave it all to ``finish``). The kit calls ``finish`` on its committer thread (one
    commit at a time, in order) and emits ``state`` when it returns; an exception from it is
    the commit's failure. Meanwhile the loop keeps calling ``open_stream``/``write``/
    ``activate_version`` for the next checkpoint on its own thread. It calls ``begin_commit``
    again while at most ``max_commits_in_flight - 1`` earlier ``finish`` calls are pending
    (an optional attribute, 1 if absent: then only after the previous ``finish`` returned);
    a sink that allows more must commit in ``begin_commit`` order. ``commit(state)`` stays the synchronous
    form (``begin_commit(state)()``). ``abort`` is called after the in-flight ``finish`` ended.
    """

    def begin_commit(self, state: Mapping[str, Any] | None) -> Callable[[], None]: ...
