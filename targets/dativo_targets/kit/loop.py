"""The ingest loop: Singer messages in, Arrow batches to a sink, STATE out after commits."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from dativo_protocol.errors import (
    DativoError,
    ProtocolError,
    RecordBeforeSchemaError,
    RecordValidationError,
)
from dativo_protocol.jsonl import parse_line
from dativo_protocol.log import get_logger
from dativo_protocol.singer import (
    ActivateVersionMessage,
    BatchMessage,
    SchemaMessage,
    StateMessage,
)
from dativo_targets.kit import batchfiles, scan
from dativo_targets.kit.checkpoint import Checkpointer
from dativo_targets.kit.chunks import coalesced_chunks
from dativo_targets.kit.deadletter import DeadLetter
from dativo_targets.kit.decode import (
    ARROW_ERRORS,
    conversion_reason,
    fast_records,
    first_bad,
    rows_to_batch,
)
from dativo_targets.kit.metrics import Metrics
from dativo_targets.kit.settings import KitSettings
from dativo_targets.kit.sink import Sink
from dativo_targets.kit.streams import StreamState, build_stream

#: the row path hands batches of at most this many records to the sink
ROW_BATCH = 50_000


@dataclass(slots=True)
class RunStats:
    """What a run did (also logged at the end)."""

    lines: int = 0
    records: Counter[str] = field(default_factory=Counter)
    row_path_lines: int = 0
    commits: int = 0
    states_emitted: int = 0
    dead_letters: int = 0
    seconds: float = 0.0

    @property
    def total_records(self) -> int:
        return sum(self.records.values())


def _with_line(exc: DativoError, line: int, stream: str | None = None) -> DativoError:
    exc.line = line
    if exc.stream is None:
        exc.stream = stream
    return exc


class _Loop:
    def __init__(
        self,
        sink: Sink,
        settings: KitSettings,
        ckpt: Checkpointer,
        dead_letter: DeadLetter | None,
        log: logging.Logger,
    ) -> None:
        self.sink = sink
        self.settings = settings
        self.ckpt = ckpt
        self.dead_letter = dead_letter
        self.log = log
        self.streams: dict[str, StreamState] = {}
        self.stats = RunStats()
        self.warned: set[str] = set()

    # ------------------------------------------------------------------ input
    def run(self, stream: BinaryIO) -> None:
        for chunk in coalesced_chunks(
            stream,
            chunk_bytes=self.settings.read_chunk_bytes,
            max_line_bytes=self.settings.max_line_bytes,
        ):
            self.ckpt.consumed(len(chunk.data))
            for seg in scan.split(chunk.data, chunk.first_line):
                if seg.records:
                    self._records(seg)
                else:
                    self._lines(seg)
            self.stats.lines = chunk.last_line
            self.ckpt.maybe_commit()
        self.ckpt.commit()

    def _records(self, seg: scan.Segment) -> None:
        name = scan.first_stream(seg.data)
        st = self.streams.get(name) if name is not None else None
        if st is not None and self.settings.validation != "strict":
            batches = fast_records(seg.data, seg.line_count, st)
            if batches is not None:
                for batch in batches:
                    self._write(st, batch)
                return
        self._lines(seg)

    def _write(self, st: StreamState, batch: Any) -> None:
        if batch.num_rows:
            self.sink.write(st.name, batch)
            self.ckpt.wrote(st.name, batch.num_rows)
            self.stats.records[st.name] += batch.num_rows

    # ------------------------------------------------------------------ row path
    def _lines(self, seg: scan.Segment) -> None:
        data = bytes(seg.data)
        lines = data.split(b"\n")
        terminated = data.endswith(b"\n")
        if terminated:
            lines.pop()
        self.stats.row_path_lines += len(lines)
        rows: list[dict[str, Any]] = []
        line_nos: list[int] = []
        current: StreamState | None = None
        last = len(lines) - 1
        for i, line in enumerate(lines):
            if not line.strip():
                continue
            line_no = seg.first_line + i
            msg = parse_line(line, line_no, terminated=terminated or i < last)
            kind = msg["type"]
            if kind != "RECORD":
                if current is not None:
                    self._flush_rows(current, rows, line_nos)
                self._message(kind, msg, line_no)
                continue
            st, record = self._record_envelope(msg, line_no)
            if current is not st or len(rows) >= ROW_BATCH:
                if current is not None:
                    self._flush_rows(current, rows, line_nos)
                current = st
            if self.settings.validation == "strict":
                reason = st.check()(record)
                if reason is not None:
                    self._invalid(st, line_no, reason, record)
                    continue
            rows.append(record)
            line_nos.append(line_no)
        if current is not None:
            self._flush_rows(current, rows, line_nos)

    def _record_envelope(self, msg: dict[str, Any], line_no: int) -> tuple[StreamState, Any]:
        stream, record = msg.get("stream"), msg.get("record")
        if not isinstance(stream, str) or not isinstance(record, dict):
            raise ProtocolError(
                "a RECORD needs 'stream' (a string) and 'record' (an object)", line=line_no
            )
        st = self.streams.get(stream)
        if st is None:
            raise RecordBeforeSchemaError(
                "RECORD before any SCHEMA for its stream", stream=stream, line=line_no
            )
        return st, record

    def _flush_rows(self, st: StreamState, rows: list[dict[str, Any]], line_nos: list[int]) -> None:
        """Convert and write the buffered rows (emptied); reject the ones that do not fit."""
        while rows:
            try:
                batch = rows_to_batch(rows, st)
            except ARROW_ERRORS:
                bad = first_bad(rows, st)
                if bad:
                    self._write(st, rows_to_batch(rows[:bad], st))
                record, line_no = rows[bad], line_nos[bad]
                reason = None if self.settings.validation == "off" else st.check()(record)
                self._invalid(st, line_no, reason or conversion_reason(record, st), record)
                del rows[: bad + 1], line_nos[: bad + 1]
                continue
            self._write(st, batch)
            rows.clear()
            line_nos.clear()

    def _invalid(self, st: StreamState, line_no: int | None, reason: str, record: Any) -> None:
        if self.dead_letter is None:
            raise RecordValidationError(reason, stream=st.name, line=line_no)
        self.dead_letter.add(st.name, line_no, reason, record)
        self.stats.dead_letters += 1
        self.log.warning(
            "stream '%s', line %s: record sent to dead letter: %s", st.name, line_no, reason
        )

    # ------------------------------------------------------------------ other messages
    def _message(self, kind: str, msg: dict[str, Any], line_no: int) -> None:
        try:
            if kind == "SCHEMA":
                self._schema(SchemaMessage.from_dict(msg))
            elif kind == "STATE":
                self.ckpt.state(StateMessage.from_dict(msg).value)
            elif kind == "ACTIVATE_VERSION":
                av = ActivateVersionMessage.from_dict(msg)
                self._known(av.stream)
                self.sink.activate_version(av.stream, av.version)
                self.ckpt.touched()
            elif kind == "BATCH":
                self._batch(BatchMessage.from_dict(msg), line_no)
            elif kind not in self.warned:
                self.warned.add(kind)
                self.log.warning("line %d: unknown message type ignored (reported once)", line_no)
        except DativoError as exc:
            raise _with_line(
                exc, line_no, msg.get("stream") if isinstance(msg.get("stream"), str) else None
            ) from None

    def _known(self, stream: str) -> StreamState:
        st = self.streams.get(stream)
        if st is None:
            raise RecordBeforeSchemaError("message before any SCHEMA for its stream", stream=stream)
        return st

    def _schema(self, msg: SchemaMessage) -> None:
        keys = tuple(msg.key_properties)
        old = self.streams.get(msg.stream)
        if (
            old is not None
            and old.schema.json_schema == msg.schema
            and old.schema.key_properties == keys
        ):
            return
        st = build_stream(
            msg.stream,
            msg.schema,
            keys,
            tuple(msg.bookmark_properties or ()),
            self.settings.validation,
        )
        self.sink.open_stream(msg.stream, st.schema)
        self.streams[msg.stream] = st

    def _batch(self, msg: BatchMessage, line_no: int) -> None:
        st = self._known(msg.stream)
        for url, what in batchfiles.manifest(msg):
            batches, data = batchfiles.read_file(
                url, msg, st, dict(self.settings.batch_storage_options)
            )
            if batches is None:
                batches = self._batch_rows(st, data, what, line_no)
            for batch in batches:
                self._write(st, batch)

    def _batch_rows(self, st: StreamState, data: bytes, what: str, line_no: int) -> list[Any]:
        rows: list[dict[str, Any]] = []
        for n, line in batchfiles.jsonl_file(data):
            try:
                record = parse_line(b'{"type":"RECORD","record":' + line + b"}", n)["record"]
            except ProtocolError:
                raise ProtocolError(f"{what}, line {n}: not a JSON object", line=line_no) from None
            if not isinstance(record, dict):
                raise ProtocolError(f"{what}, line {n}: not a JSON object", line=line_no)
            if self.settings.validation == "strict":
                reason = st.check()(record)
                if reason is not None:
                    self._invalid(st, line_no, f"{what}, line {n}: {reason}", record)
                    continue
            rows.append(record)
        out = []
        while rows:
            try:
                out.append(rows_to_batch(rows, st))
                break
            except ARROW_ERRORS:
                bad = first_bad(rows, st)
                if bad:
                    out.append(rows_to_batch(rows[:bad], st))
                record = rows[bad]
                reason = None if self.settings.validation == "off" else st.check()(record)
                self._invalid(
                    st, line_no, f"{what}: {reason or conversion_reason(record, st)}", record
                )
                del rows[: bad + 1]
        return out


def run_target(
    input: BinaryIO,
    output: BinaryIO,
    sink: Sink,
    settings: KitSettings,
    *,
    dead_letter: DeadLetter | None = None,
    logger: logging.Logger | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> RunStats:
    """Read Singer messages from ``input`` into ``sink``; emit STATE lines on ``output``.

    ``dead_letter`` is required when ``settings.on_invalid_record == "dead_letter"``. On any
    error the sink's uncommitted data is discarded (``abort``) and the error propagates; no
    STATE after the last commit is emitted. Returns what the run did.
    """
    log = logger or get_logger("target")
    metrics = Metrics(get_logger("metrics"), enabled=settings.metrics)
    if settings.on_invalid_record == "dead_letter" and dead_letter is None:
        from dativo_protocol.errors import ConfigError

        raise ConfigError("on_invalid_record=dead_letter needs dead_letter_path")
    ckpt = Checkpointer(
        sink,
        output,
        metrics,
        max_rows=settings.flush_max_rows,
        max_bytes=settings.flush_max_bytes,
        interval=settings.flush_interval_seconds,
        dead_letter=dead_letter if settings.on_invalid_record == "dead_letter" else None,
        clock=clock,
    )
    loop = _Loop(sink, settings, ckpt, ckpt.dead_letter, log)
    started = clock()
    try:
        loop.run(input)
    except BaseException:
        sink.abort()
        if dead_letter is not None:
            dead_letter.abort()
        raise
    finally:
        sink.close()
    stats = loop.stats
    stats.commits, stats.states_emitted = ckpt.commits, ckpt.states_emitted
    stats.seconds = clock() - started
    return stats
