"""The ingest loop: Singer messages in, Arrow batches to a sink, STATE out after commits."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from dativo_protocol import codec
from dativo_protocol.blocks import Block, BlockReader
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
    record_parts,
)
from dativo_targets.kit import batchfiles, scan
from dativo_targets.kit.checkpoint import Checkpointer
from dativo_targets.kit.deadletter import DeadLetter
from dativo_targets.kit.decode import fast_records, rows_to_batch
from dativo_targets.kit.metrics import Metrics
from dativo_targets.kit.settings import KitSettings
from dativo_targets.kit.sink import Sink
from dativo_targets.kit.streams import StreamState, build_stream

#: the row path hands batches of at most this many records to the sink
ROW_BATCH = 50_000
#: lines per block the native decoder may stop at one by one (each such line alone takes the
#: line path, and the decoder goes on after it); past that, what is left of a piece or run
#: takes the slower paths whole, as every refused run did before
MAX_STOPS = 8


@dataclass(slots=True)
class RunStats:
    """What a run did (also logged at the end)."""

    lines: int = 0
    records: Counter[str] = field(default_factory=Counter)
    #: lines of record runs that took the line-by-line path (0 when Arrow parsed everything)
    row_path_lines: int = 0
    commits: int = 0
    states_emitted: int = 0
    dead_letters: int = 0
    seconds: float = 0.0
    #: input buffers allocated because a view of the previous one was still held (0 = reused)
    fresh_buffers: int = 0

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
        #: native stops left in the current block (see MAX_STOPS)
        self.stops_left = MAX_STOPS

    # ------------------------------------------------------------------ input
    def run(self, stream: BinaryIO) -> None:
        reader = BlockReader(
            stream,
            chunk_bytes=self.settings.read_chunk_bytes,
            max_line_bytes=self.settings.max_line_bytes,
        )
        try:
            for block in reader:
                self._block(block)
                self.stats.lines = block.last_line
        finally:
            self.stats.fresh_buffers = reader.fresh_buffers
        self.ckpt.commit()

    def _block(self, block: Block) -> None:
        """One block of input, in *pieces* that end where a commit may fall (the whole block
        when it fits in the next commit). Nothing made here may keep a view of ``block.buf``
        (the reader reuses it), so views live only in this call."""
        self.ckpt.consumed(block.size)
        self.stops_left = MAX_STOPS
        buf, size, view = block.buf, block.size, block.view()
        pos, line, left = 0, block.first_line, block.line_count
        while left:
            end, n = self._piece_end(buf, pos, size, left)
            self._piece(scan.Segment(True, line, view[pos:end], n, buf, pos))
            self.ckpt.maybe_commit()
            pos, line, left = end, line + n, left - n

    def _piece(self, piece: scan.Segment) -> None:
        """A piece whole if it can be, else split into record runs and control lines."""
        if self._whole_piece(piece):
            return
        end = piece.start + piece.data.nbytes
        for seg in scan.split(
            piece.base,
            end,
            piece.first_line,
            piece.line_count,
            self._run_lines(),
            start=piece.start,
        ):
            if seg.records:
                self._records(seg)
            else:
                self._lines(seg, control=True)
            self.ckpt.maybe_commit()

    def _run_lines(self) -> int:
        """How long a record run may grow before a STATE line ends it: about half the rows
        the next commit waits for, so commits follow ``flush_max_rows``."""
        return max(1, (self.settings.flush_max_rows - self.ckpt.rows) // 2)

    def _piece_end(self, buf: scan.Data, pos: int, size: int, left: int) -> tuple[int, int]:
        """Where the piece of ``buf[pos:size]`` (``left`` lines) starting at ``pos`` ends, and
        its line count: at the end, if the next commit can take every line; else after the
        first STATE line past about :meth:`_run_lines` lines, found from a byte estimate
        (no scan of the whole block, no count beyond the piece)."""
        room = self.settings.flush_max_rows - self.ckpt.rows
        if left <= room:
            return size, left
        guess = pos + (size - pos) * self._run_lines() // left
        at = scan.next_state_line(buf, guess, size, start=pos)
        end = buf.find(b"\n", at, size) + 1 if at >= 0 else 0
        if end <= 0 or end >= size:
            return size, left
        return end, buf.count(b"\n", pos, end)

    def _whole_piece(self, piece: scan.Segment) -> bool:
        """The common case first: a piece of only RECORD and STATE lines of one known stream,
        parsed at once with no scan at all. False (nothing done) when that does not hold:
        the piece is then split into runs and control lines."""
        if self.settings.validation == "strict" or scan.starts_with_control(
            piece.base, piece.start
        ):
            return False
        return self._fast_run(piece, self._piece)

    def _records(self, seg: scan.Segment) -> None:
        """A run of RECORD (and STATE) lines: Arrow parse of the whole run, else grouped by
        stream, else line by line."""
        if self.settings.validation != "strict" and (
            self._fast_run(seg, self._records) or self._grouped(seg)
        ):
            return
        self._lines(seg)

    def _fast_run(self, seg: scan.Segment, rest: Callable[[scan.Segment], None]) -> bool:
        """One Arrow parse of a run of one stream's RECORD lines (and STATE lines).

        When the native decoder stops at a line after the first (a value it is unsure of, a
        line of another type), the lines before it are written, that line alone takes the line
        path (exact errors, dead letter) and ``rest`` takes the lines after it, in order (from
        the line itself when it is a RECORD of another stream); at most ``MAX_STOPS`` times per
        block."""
        name = scan.first_stream(seg.data)
        st = self.streams.get(name) if name is not None else None
        if st is None:
            return False
        run = fast_records(seg.data, seg.line_count, st, partial=self.stops_left > 0)
        if run is None:
            return False
        done, after = (seg, None) if run.stop is None else scan.cut(seg, *run.stop)
        state_at = None
        if run.last_state is not None:
            state_at = scan.last_state_line(done, run.last_state)
            if state_at is None:
                return False  # an unusual STATE layout: a slower path reads it
        for batch in run.batches:
            self._write(st, batch)
        if state_at is not None:
            self._state_at(done, state_at)
        if after is not None:
            self.stops_left -= 1
            other = scan.record_stream(after.data)
            if other is None or other == st.name:
                line, after = scan.cut_first(after)
                self._lines(line, control=scan.starts_with_control(line.base, line.start))
            # (records of another stream: the decoder goes on with that stream)
            if after.line_count:
                rest(after)
        return True

    def _grouped(self, seg: scan.Segment) -> bool:
        """Interleaved streams: one Arrow parse per stream (order across streams does not
        matter inside a run: no commit falls in it)."""
        data = bytes(seg.data)
        grouped = scan.group_by_stream(data)
        if grouped is None or len(grouped[0]) < 2:
            return False
        groups, state_index, state_line = grouped
        runs = []
        for name, lines in groups.items():
            st = self.streams.get(name)
            run = None if st is None else fast_records(b"\n".join(lines) + b"\n", len(lines), st)
            if st is None or run is None:
                return False
            runs.append((st, run))
        for st, run in runs:
            for batch in run.batches:
                self._write(st, batch)
        if state_index is not None:
            self._state_line(state_line, seg.first_line + state_index)
        return True

    def _state_line(self, line: bytes, line_no: int) -> None:
        self._message("STATE", parse_line(line, line_no), line_no)

    def _state_at(self, seg: scan.Segment, offset: int) -> None:
        """The STATE line at ``offset`` of ``seg.base`` (its number is counted only for an
        error)."""
        data, start = seg.base, seg.start
        try:
            self._state_line(scan.line_at(data, offset, start + seg.data.nbytes), 0)
        except DativoError as exc:
            exc.line = seg.first_line + data.count(b"\n", start, offset)
            raise

    def _write(self, st: StreamState, batch: Any) -> None:
        if batch.num_rows:
            self.sink.write(st.name, batch)
            self.ckpt.wrote(st.name, batch.num_rows)
            self.stats.records[st.name] += batch.num_rows

    # ------------------------------------------------------------------ row path
    def _lines(self, seg: scan.Segment, *, control: bool = False) -> None:
        data = bytes(seg.data)
        lines = data.split(b"\n")
        terminated = data.endswith(b"\n")
        if terminated:
            lines.pop()
        if not control:
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
        _, record, st = record_parts(msg, self.streams, line_no)
        return st, record

    def _flush_rows(self, st: StreamState, rows: list[dict[str, Any]], line_nos: list[int]) -> None:
        """Convert and write the buffered rows (emptied); reject the ones that do not fit."""
        for batch in self._convert(st, rows, line_nos):
            self._write(st, batch)
        rows.clear()
        line_nos.clear()

    def _convert(
        self,
        st: StreamState,
        rows: list[dict[str, Any]],
        line_nos: list[int],
        *,
        batch_line: int | None = None,
        what: str = "",
    ) -> list[Any]:
        """Batches of the valid ``rows``; invalid ones fail the run or go to the dead letter.
        ``batch_line``/``what`` locate rows read from a BATCH file (``line_nos`` = file lines).
        """
        out = []
        rows, line_nos = list(rows), list(line_nos)
        while rows:
            try:
                out.append(rows_to_batch(rows, st, line_nos))
                break
            except RecordValidationError as exc:
                if exc.line is None or exc.line not in line_nos:
                    raise
                bad = line_nos.index(exc.line)
                reason, line = exc.message, exc.line
                if batch_line is not None:
                    reason, line = f"{what}, line {exc.line}: {reason}", batch_line
                if self.dead_letter is None:
                    raise RecordValidationError(reason, stream=st.name, line=line) from None
                if bad:
                    out.append(rows_to_batch(rows[:bad], st, line_nos[:bad]))
                self._invalid(st, line, reason, rows[bad])
                del rows[: bad + 1], line_nos[: bad + 1]
        return out

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
        line_nos: list[int] = []
        for n, line in batchfiles.jsonl_file(data):
            try:
                record = codec.loads(line)
            except codec.JSONDecodeError:
                raise ProtocolError(f"{what}, line {n}: not valid JSON", line=line_no) from None
            if not isinstance(record, dict):
                raise ProtocolError(f"{what}, line {n}: not a JSON object", line=line_no)
            if self.settings.validation == "strict":
                reason = st.check()(record)
                if reason is not None:
                    self._invalid(st, line_no, f"{what}, line {n}: {reason}", record)
                    continue
            rows.append(record)
            line_nos.append(n)
        return self._convert(st, rows, line_nos, batch_line=line_no, what=what)


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
        first = ckpt.settle()  # a commit still in flight failed first: that is the error
        sink.abort()
        if dead_letter is not None:
            dead_letter.abort()
        if first is not None:
            raise first from None
        raise
    finally:
        sink.close()
    stats = loop.stats
    stats.commits, stats.states_emitted = ckpt.commits, ckpt.states_emitted
    stats.seconds = clock() - started
    return stats
