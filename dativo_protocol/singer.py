"""Singer messages: type names, builders, typed views of the rare types, envelope checks.

Records stay plain dicts on the hot path (``record_message`` builds one; readers hand them out
as parsed). SCHEMA, STATE, ACTIVATE_VERSION and BATCH are rare, so they also have slotted
dataclasses with ``from_dict``/``to_dict``. :func:`envelope_problem` checks a message's envelope
(required fields and their types) against compiled JSON Schemas, on demand.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from dativo_protocol.errors import ProtocolError, RecordBeforeSchemaError
from dativo_protocol.schema_check import compile_check

SCHEMA = "SCHEMA"
RECORD = "RECORD"
STATE = "STATE"
ACTIVATE_VERSION = "ACTIVATE_VERSION"
BATCH = "BATCH"
MESSAGE_TYPES = frozenset({SCHEMA, RECORD, STATE, ACTIVATE_VERSION, BATCH})

BATCH_FORMATS = ("jsonl", "parquet")
BATCH_COMPRESSIONS = ("gzip", "none")

_STRINGS = {"type": "array", "items": {"type": "string"}}
_STREAM = {"type": "string", "minLength": 1}

#: JSON Schemas of the message envelopes (what a conforming producer must send)
ENVELOPES: dict[str, dict[str, Any]] = {
    SCHEMA: {
        "type": "object",
        "required": ["stream", "schema", "key_properties"],
        "properties": {
            "stream": _STREAM,
            "schema": {"type": "object"},
            "key_properties": _STRINGS,
            "bookmark_properties": {"type": ["array", "null"], "items": {"type": "string"}},
        },
    },
    RECORD: {
        "type": "object",
        "required": ["stream", "record"],
        "properties": {
            "stream": _STREAM,
            "record": {"type": "object"},
            "version": {"type": ["integer", "null"]},
            "time_extracted": {"type": ["string", "null"], "format": "date-time"},
        },
    },
    STATE: {
        "type": "object",
        "required": ["value"],
        "properties": {"value": {"type": "object"}},
    },
    ACTIVATE_VERSION: {
        "type": "object",
        "required": ["stream", "version"],
        "properties": {"stream": _STREAM, "version": {"type": "integer"}},
    },
    BATCH: {
        "type": "object",
        "required": ["stream", "encoding", "manifest"],
        "properties": {
            "stream": _STREAM,
            "encoding": {
                "type": "object",
                "required": ["format"],
                "properties": {
                    "format": {"enum": list(BATCH_FORMATS)},
                    "compression": {"enum": [*BATCH_COMPRESSIONS, None]},
                },
            },
            "manifest": {"type": "array", "items": {"type": "string", "minLength": 1}},
        },
    },
}


@functools.cache
def _envelope_checks() -> dict[str, Callable[[Any], str | None]]:
    """Compiled once per process, on first use (nothing is compiled at import)."""
    return {kind: compile_check(schema) for kind, schema in ENVELOPES.items()}


def envelope_problem(msg: Mapping[str, Any]) -> str | None:
    """Why ``msg`` (type already upper-case) is not a well-formed Singer message, or None.

    Unknown types have no envelope and pass. The reason names the field, never its value.
    """
    check = _envelope_checks().get(msg.get("type", ""))
    if check is None:
        return None
    problem = check(msg)
    return f"{msg['type']} message: {problem}" if problem else None


def _require(msg: Mapping[str, Any]) -> None:
    problem = envelope_problem(msg)
    if problem:
        raise ProtocolError(problem, stream=_stream_name(msg))


def _stream_name(msg: Mapping[str, Any]) -> str | None:
    stream = msg.get("stream")
    return stream if isinstance(stream, str) else None


_S = TypeVar("_S")


def record_parts(
    msg: Mapping[str, Any], streams: Mapping[str, _S], line: int | None
) -> tuple[str, dict[str, Any], _S]:
    """``(stream, record, streams[stream])`` of a RECORD message, for readers that keep
    something per stream since its SCHEMA. A bad envelope raises ProtocolError, a stream
    without a SCHEMA so far RecordBeforeSchemaError (both name the line, never a value)."""
    stream, record = msg.get("stream"), msg.get("record")
    if not isinstance(stream, str) or not isinstance(record, dict):
        raise ProtocolError("RECORD needs a string 'stream' and an object 'record'", line=line)
    try:
        return stream, record, streams[stream]
    except KeyError:
        raise RecordBeforeSchemaError(
            "RECORD before its SCHEMA", stream=stream, line=line
        ) from None


# ------------------------------------------------------------------------------ builders
def record_message(
    stream: str,
    record: dict[str, Any],
    *,
    version: int | None = None,
    time_extracted: str | None = None,
) -> dict[str, Any]:
    msg: dict[str, Any] = {"type": RECORD, "stream": stream, "record": record}
    if version is not None:
        msg["version"] = version
    if time_extracted is not None:
        msg["time_extracted"] = time_extracted
    return msg


def schema_message(
    stream: str,
    schema: Mapping[str, Any],
    key_properties: Sequence[str] = (),
    *,
    bookmark_properties: Sequence[str] | None = None,
) -> dict[str, Any]:
    return SchemaMessage(
        stream,
        dict(schema),
        list(key_properties),
        None if bookmark_properties is None else list(bookmark_properties),
    ).to_dict()


def state_message(value: Mapping[str, Any]) -> dict[str, Any]:
    return {"type": STATE, "value": dict(value)}


def activate_version_message(stream: str, version: int) -> dict[str, Any]:
    return {"type": ACTIVATE_VERSION, "stream": stream, "version": version}


def batch_message(
    stream: str, manifest: Sequence[str], *, format: str = "jsonl", compression: str = "none"
) -> dict[str, Any]:
    return BatchMessage(
        stream, manifest=list(manifest), format=format, compression=compression
    ).to_dict()


# ------------------------------------------------------------------------------ typed views
@dataclass(slots=True)
class SchemaMessage:
    stream: str
    schema: dict[str, Any]
    key_properties: list[str] = field(default_factory=list)
    bookmark_properties: list[str] | None = None

    @classmethod
    def from_dict(cls, msg: Mapping[str, Any]) -> SchemaMessage:
        _require({**msg, "type": SCHEMA})
        return cls(
            msg["stream"],
            msg["schema"],
            list(msg["key_properties"]),
            msg.get("bookmark_properties"),
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": SCHEMA,
            "stream": self.stream,
            "schema": self.schema,
            "key_properties": self.key_properties,
        }
        if self.bookmark_properties is not None:
            out["bookmark_properties"] = self.bookmark_properties
        return out


@dataclass(slots=True)
class RecordMessage:
    """For tests and tools; hot paths use plain dicts from :func:`record_message`."""

    stream: str
    record: dict[str, Any]
    version: int | None = None
    time_extracted: str | None = None

    @classmethod
    def from_dict(cls, msg: Mapping[str, Any]) -> RecordMessage:
        _require({**msg, "type": RECORD})
        return cls(msg["stream"], msg["record"], msg.get("version"), msg.get("time_extracted"))

    def to_dict(self) -> dict[str, Any]:
        return record_message(
            self.stream, self.record, version=self.version, time_extracted=self.time_extracted
        )


@dataclass(slots=True)
class StateMessage:
    value: dict[str, Any]

    @classmethod
    def from_dict(cls, msg: Mapping[str, Any]) -> StateMessage:
        _require({**msg, "type": STATE})
        return cls(msg["value"])

    def to_dict(self) -> dict[str, Any]:
        return {"type": STATE, "value": self.value}


@dataclass(slots=True)
class ActivateVersionMessage:
    stream: str
    version: int

    @classmethod
    def from_dict(cls, msg: Mapping[str, Any]) -> ActivateVersionMessage:
        _require({**msg, "type": ACTIVATE_VERSION})
        return cls(msg["stream"], msg["version"])

    def to_dict(self) -> dict[str, Any]:
        return activate_version_message(self.stream, self.version)


@dataclass(slots=True)
class BatchMessage:
    stream: str
    manifest: list[str]
    format: str = "jsonl"
    compression: str | None = "none"

    @classmethod
    def from_dict(cls, msg: Mapping[str, Any]) -> BatchMessage:
        _require({**msg, "type": BATCH})
        encoding = msg["encoding"]
        return cls(
            msg["stream"], list(msg["manifest"]), encoding["format"], encoding.get("compression")
        )

    def to_dict(self) -> dict[str, Any]:
        encoding: dict[str, Any] = {"format": self.format}
        if self.compression is not None:
            encoding["compression"] = self.compression
        return {
            "type": BATCH,
            "stream": self.stream,
            "encoding": encoding,
            "manifest": self.manifest,
        }


def from_dict(
    msg: Mapping[str, Any],
) -> SchemaMessage | RecordMessage | StateMessage | ActivateVersionMessage | BatchMessage:
    """The typed view of a message (strictly checked); ProtocolError for unknown types."""
    kind = str(msg.get("type", "")).upper()
    factory = _VIEWS.get(kind)
    if factory is None:
        raise ProtocolError("not a Singer message type", stream=_stream_name(msg))
    return factory({**msg, "type": kind})


_VIEWS: dict[
    str,
    Callable[
        [Mapping[str, Any]],
        SchemaMessage | RecordMessage | StateMessage | ActivateVersionMessage | BatchMessage,
    ],
] = {
    SCHEMA: SchemaMessage.from_dict,
    RECORD: RecordMessage.from_dict,
    STATE: StateMessage.from_dict,
    ACTIVATE_VERSION: ActivateVersionMessage.from_dict,
    BATCH: BatchMessage.from_dict,
}
