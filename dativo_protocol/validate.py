"""Conformance checking of a Singer message stream (the library behind ``dativo validate``).

Rules, in the order they are checked for each line:

1. the line is a JSON object with a string ``type`` (else MalformedLineError), is not longer than
   the limit (LineTooLongError) and, if it is the last line and has no newline, parses
   (TruncatedStreamError);
2. the message envelope is well-formed (:func:`dativo_protocol.singer.envelope_problem`): SCHEMA
   has ``stream``, an object ``schema`` and a ``key_properties`` list naming schema properties;
   RECORD has ``stream`` and an object ``record``; STATE's ``value`` is a JSON object;
   ACTIVATE_VERSION has an integer ``version``; BATCH has an ``encoding`` and a ``manifest``;
3. RECORD, ACTIVATE_VERSION and BATCH come after a SCHEMA for their stream
   (RecordBeforeSchemaError);
4. each record is valid against its stream's JSON Schema (compiled once per schema) and has every
   key property, not null (RecordValidationError).

Unknown message types are tolerated (Singer says so) with one warning per type. Violations name
the line, the stream, the field and the rule, never a value.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from dativo_protocol.batch_files import BatchOpener, iter_records, open_local
from dativo_protocol.errors import (
    DativoError,
    ExitCode,
    LineTooLongError,
    MalformedLineError,
    ProtocolError,
    RecordBeforeSchemaError,
    RecordValidationError,
    TruncatedStreamError,
)
from dativo_protocol.jsonl import DEFAULT_MAX_LINE_BYTES, MESSAGE_CHUNK_BYTES, MessageReader
from dativo_protocol.schema_check import compile_check, is_date_time
from dativo_protocol.singer import (
    ACTIVATE_VERSION,
    BATCH,
    MESSAGE_TYPES,
    RECORD,
    SCHEMA,
    STATE,
    envelope_problem,
)

_READ_ERRORS = (MalformedLineError, LineTooLongError, TruncatedStreamError)
_PRINTABLE_TYPE = re.compile(r"[A-Z][A-Z0-9_]{0,39}\Z")


@dataclass(slots=True)
class Violation:
    """One broken rule: where (line, stream) and why; ``error`` carries the exit code."""

    error: DativoError

    @property
    def line(self) -> int | None:
        return self.error.line

    @property
    def stream(self) -> str | None:
        return self.error.stream

    @property
    def reason(self) -> str:
        return self.error.message

    def to_dict(self) -> dict[str, Any]:
        return self.error.to_dict()


@dataclass(slots=True)
class StreamSummary:
    schemas: int = 0
    records: int = 0
    versions: int = 0
    batches: int = 0
    batch_records: int = 0
    key_properties: list[str] = field(default_factory=list)
    first_line: int = 0
    last_line: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "schemas": self.schemas,
            "records": self.records,
            "activate_versions": self.versions,
            "batches": self.batches,
            "batch_records": self.batch_records,
            "key_properties": self.key_properties,
            "first_line": self.first_line,
            "last_line": self.last_line,
        }


@dataclass(slots=True)
class Report:
    lines: int = 0
    messages: int = 0
    states: int = 0
    unknown_types: int = 0
    streams: dict[str, StreamSummary] = field(default_factory=dict)
    violations: list[Violation] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations

    @property
    def exit_code(self) -> ExitCode:
        return self.violations[0].error.exit_code if self.violations else ExitCode.OK

    def to_dict(self) -> dict[str, Any]:
        return {
            "valid": self.ok,
            "lines": self.lines,
            "messages": self.messages,
            "states": self.states,
            "unknown_types": self.unknown_types,
            "streams": {name: s.to_dict() for name, s in self.streams.items()},
            "violations": [v.to_dict() for v in self.violations],
        }


@dataclass(slots=True)
class _Stream:
    summary: StreamSummary
    schema: Any = None
    check: Callable[[Any], str | None] | None = None
    keys: tuple[str, ...] = ()


class _StopValidation(Exception):
    pass


class StreamValidator:
    """Checks messages one at a time; feed it with :meth:`message` and read :attr:`report`."""

    def __init__(
        self,
        *,
        collect_all: bool = False,
        batch_files: bool = False,
        batch_opener: BatchOpener = open_local,
        logger: logging.Logger | None = None,
    ) -> None:
        self.collect_all = collect_all
        self.batch_files = batch_files
        self.batch_opener = batch_opener
        self.report = Report()
        self._streams: dict[str, _Stream] = {}
        self._warned: set[str] = set()
        self._log = logger or logging.getLogger("dativo.validate")

    # ------------------------------------------------------------------ outcome
    def violation(self, error: DativoError) -> None:
        """Record a violation; stops validation (raises internally) unless collecting all."""
        self.report.violations.append(Violation(error))
        if not self.collect_all:
            raise _StopValidation

    def _stream(self, name: str, line: int) -> _Stream:
        state = self._streams.get(name)
        if state is None:
            state = _Stream(StreamSummary(first_line=line))
            self._streams[name] = state
            self.report.streams[name] = state.summary
        state.summary.last_line = line
        return state

    # ------------------------------------------------------------------ messages
    def message(self, msg: dict[str, Any], line: int) -> None:
        self.report.messages += 1
        kind = msg["type"]
        if kind == RECORD:
            self._record(msg, line)
        elif kind in MESSAGE_TYPES:
            problem = envelope_problem(msg)
            if problem:
                stream = msg.get("stream")
                self.violation(
                    ProtocolError(
                        problem, line=line, stream=stream if isinstance(stream, str) else None
                    )
                )
            elif kind == SCHEMA:
                self._schema(msg, line)
            elif kind == STATE:
                self.report.states += 1
            else:
                self._needs_schema(msg, line, kind)
        else:
            self.report.unknown_types += 1
            if kind not in self._warned:
                self._warned.add(kind)
                shown = kind if _PRINTABLE_TYPE.match(kind) else "(not printable)"
                self._log.warning("line %d: unknown message type %s tolerated", line, shown)

    def _schema(self, msg: dict[str, Any], line: int) -> None:
        name: str = msg["stream"]
        state = self._stream(name, line)
        state.summary.schemas += 1
        schema = msg["schema"]
        keys = msg["key_properties"]
        props = schema.get("properties")
        if isinstance(props, dict):
            for key in keys:
                if key not in props:
                    self.violation(
                        ProtocolError(
                            f"key property '{key}' is not a property of the schema",
                            line=line,
                            stream=name,
                        )
                    )
        state.keys = tuple(keys)
        state.summary.key_properties = list(keys)
        if state.check is not None and schema == state.schema:
            return
        try:
            state.check = compile_check(schema)
            state.schema = schema
        except ValueError as exc:
            state.check, state.schema = None, None
            self.violation(ProtocolError(f"SCHEMA message: {exc}", line=line, stream=name))

    def _needs_schema(self, msg: dict[str, Any], line: int, kind: str) -> None:
        name: str = msg["stream"]
        state = self._streams.get(name)
        if state is None or state.check is None:
            self.violation(
                RecordBeforeSchemaError(
                    f"{kind} message before any valid SCHEMA of its stream", line=line, stream=name
                )
            )
            return
        state.summary.last_line = line
        if kind == ACTIVATE_VERSION:
            state.summary.versions += 1
        elif kind == BATCH:
            state.summary.batches += 1
            if self.batch_files:
                self._batch(msg, line, state)

    def _batch(self, msg: dict[str, Any], line: int, state: _Stream) -> None:
        """Check the records in the BATCH message's files like RECORDs (the files the opener
        reaches: local ones by default)."""
        name: str = msg["stream"]
        for index, uri in enumerate(msg["manifest"], 1):
            try:
                raw = self.batch_opener(uri)
                if raw is None:
                    if "remote-batch" not in self._warned:
                        self._warned.add("remote-batch")
                        self._log.warning("line %d: remote BATCH files are not checked", line)
                    continue
                with raw:
                    self._batch_file(msg, raw, index, line, state)
            except ProtocolError as exc:
                self.violation(
                    ProtocolError(f"BATCH file {index}: {exc.message}", line=line, stream=name)
                )

    def _batch_file(
        self, msg: dict[str, Any], raw: BinaryIO, index: int, line: int, state: _Stream
    ) -> None:
        name: str = msg["stream"]
        for number, record in iter_records(raw, msg["encoding"], stream=name):
            state.summary.batch_records += 1
            problem = _record_problem(state, record)
            if problem is not None:
                self.violation(
                    RecordValidationError(
                        f"BATCH file {index}, record {number}: {problem}",
                        line=line,
                        stream=name,
                    )
                )

    def _record(self, msg: dict[str, Any], line: int) -> None:
        name: Any = msg.get("stream")
        record: Any = msg.get("record")
        if (
            type(name) is not str
            or type(record) is not dict
            or (len(msg) > 3 and not _extras_ok(msg))
        ):
            problem = envelope_problem(msg)
            if problem:
                stream = name if isinstance(name, str) else None
                self.violation(ProtocolError(problem, line=line, stream=stream))
                return
        state = self._streams.get(name)
        if state is None or state.check is None:
            self.violation(
                RecordBeforeSchemaError(
                    "RECORD before any valid SCHEMA of its stream", line=line, stream=name
                )
            )
            return
        summary = state.summary
        summary.records += 1
        summary.last_line = line
        problem = _record_problem(state, record)
        if problem is not None:
            self.violation(RecordValidationError(problem, line=line, stream=name))


def _record_problem(state: _Stream, record: Any) -> str | None:
    """Why ``record`` breaks its stream's schema or key properties, or None."""
    check = state.check
    if check is None:
        return "no valid SCHEMA for its stream"
    problem = check(record)
    if problem is None and state.keys:
        if not isinstance(record, dict):
            return "the record is not a JSON object"
        for key in state.keys:
            if record.get(key) is None:
                what = "null" if key in record else "missing"
                return f"key property '{key}' is {what}"
    return problem


def _extras_ok(msg: dict[str, Any]) -> bool:
    """Fast path for RECORD's optional fields; False means: let the envelope check decide."""
    extracted = msg.get("time_extracted")
    if extracted is not None and (type(extracted) is not str or not is_date_time(extracted)):
        return False
    version = msg.get("version")
    return version is None or type(version) is int


def validate_stream(
    stream: BinaryIO,
    *,
    collect_all: bool = False,
    batch_files: bool = False,
    batch_opener: BatchOpener = open_local,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    chunk_bytes: int = MESSAGE_CHUNK_BYTES,
    logger: logging.Logger | None = None,
) -> Report:
    """Check a Singer stream; stops at the first violation unless ``collect_all``.

    ``batch_files`` also checks the records in the files of BATCH messages that
    ``batch_opener`` opens (local files by default; the runner passes an fsspec opener).
    """
    validator = StreamValidator(
        collect_all=collect_all, batch_files=batch_files, batch_opener=batch_opener, logger=logger
    )
    reader = MessageReader(stream, max_line_bytes=max_line_bytes, chunk_bytes=chunk_bytes)
    check = validator.message
    try:
        while True:
            try:
                for msg in reader:
                    check(msg, reader.line_no)
                break
            except _READ_ERRORS as exc:
                validator.violation(exc)
    except _StopValidation:  # stopped at the first violation: report the lines checked
        validator.report.lines = reader.line_no
    else:
        validator.report.lines = reader.lines_read
    return validator.report
