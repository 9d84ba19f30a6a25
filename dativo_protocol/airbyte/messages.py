"""Airbyte protocol messages: parse and serialize, tolerant as the protocol asks.

Messages are slotted dataclasses with explicit ``from_dict``/``to_dict`` (no pydantic per record).
Unknown payload fields are kept in ``extra`` and written back; ``namespace`` may be absent or
null (both read as ``None`` and are written as absent); ``emitted_at`` may be an int or a float.
Non-JSON stdout lines and JSON lines that are not a message are ignored by :func:`parse_line`
(Airbyte: "non-message stdout lines are to be ignored"). A line that *is* a message of a known
type but lacks a required field raises :class:`~dativo_protocol.errors.ProtocolError`.

Serialized shapes follow airbytehq/airbyte-protocol v0.x (``airbyte_protocol.yaml``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

from dativo_protocol import codec
from dativo_protocol.errors import ProtocolError

JSONDict: TypeAlias = dict[str, Any]
Number: TypeAlias = int | float
StateType: TypeAlias = Literal["STREAM", "GLOBAL", "LEGACY"]

STATE_TYPES: tuple[str, ...] = ("STREAM", "GLOBAL", "LEGACY")


def _rest(payload: Mapping[str, Any], known: frozenset[str]) -> JSONDict:
    return {k: v for k, v in payload.items() if k not in known}


def _need(payload: Mapping[str, Any], key: str, kind: type | tuple[type, ...], what: str) -> Any:
    value = payload.get(key)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise ProtocolError(f"{what} needs '{key}' of type {_type_name(kind)}")
    return value


def _type_name(kind: type | tuple[type, ...]) -> str:
    if isinstance(kind, tuple):
        return " or ".join(k.__name__ for k in kind)
    return kind.__name__


def _opt_str(payload: Mapping[str, Any], key: str, what: str) -> str | None:
    value = payload.get(key)
    if value is not None and not isinstance(value, str):
        raise ProtocolError(f"{what} '{key}' must be a string or null")
    return value


# --------------------------------------------------------------------------------- RECORD
@dataclass(slots=True)
class AirbyteRecord:
    stream: str
    data: JSONDict
    emitted_at: Number
    namespace: str | None = None
    extra: JSONDict = field(default_factory=dict)  # e.g. ``meta``, unknown fields

    KNOWN = frozenset({"stream", "data", "emitted_at", "namespace"})

    @classmethod
    def from_dict(cls, p: Mapping[str, Any]) -> AirbyteRecord:
        return cls(
            stream=_need(p, "stream", str, "RECORD"),
            data=_need(p, "data", dict, "RECORD"),
            emitted_at=_need(p, "emitted_at", (int, float), "RECORD"),
            namespace=_opt_str(p, "namespace", "RECORD"),
            extra=_rest(p, cls.KNOWN),
        )

    def to_dict(self) -> JSONDict:
        out: JSONDict = {"stream": self.stream, "data": self.data, "emitted_at": self.emitted_at}
        if self.namespace is not None:
            out["namespace"] = self.namespace
        out.update(self.extra)
        return out


# ---------------------------------------------------------------------------------- STATE
@dataclass(slots=True, frozen=True)
class StreamDescriptor:
    name: str
    namespace: str | None = None

    @classmethod
    def from_dict(cls, p: Any) -> StreamDescriptor:
        if not isinstance(p, Mapping):
            raise ProtocolError("stream_descriptor must be an object")
        return cls(_need(p, "name", str, "stream_descriptor"), _opt_str(p, "namespace", "stream"))

    def to_dict(self) -> JSONDict:
        out: JSONDict = {"name": self.name}
        if self.namespace is not None:
            out["namespace"] = self.namespace
        return out


@dataclass(slots=True)
class StreamState:
    descriptor: StreamDescriptor
    stream_state: Any = None  # an object, or absent (None)
    extra: JSONDict = field(default_factory=dict)

    KNOWN = frozenset({"stream_descriptor", "stream_state"})

    @classmethod
    def from_dict(cls, p: Any) -> StreamState:
        if not isinstance(p, Mapping):
            raise ProtocolError("STATE stream must be an object")
        return cls(
            StreamDescriptor.from_dict(p.get("stream_descriptor")),
            p.get("stream_state"),
            _rest(p, cls.KNOWN),
        )

    def to_dict(self) -> JSONDict:
        out: JSONDict = {"stream_descriptor": self.descriptor.to_dict()}
        if self.stream_state is not None:
            out["stream_state"] = self.stream_state
        out.update(self.extra)
        return out


@dataclass(slots=True)
class GlobalState:
    shared_state: Any = None
    stream_states: list[StreamState] = field(default_factory=list)
    extra: JSONDict = field(default_factory=dict)

    KNOWN = frozenset({"shared_state", "stream_states"})

    @classmethod
    def from_dict(cls, p: Any) -> GlobalState:
        if not isinstance(p, Mapping):
            raise ProtocolError("STATE global must be an object")
        states = p.get("stream_states")
        if not isinstance(states, list):
            raise ProtocolError("STATE global needs 'stream_states' of type list")
        return cls(
            p.get("shared_state"),
            [StreamState.from_dict(s) for s in states],
            _rest(p, cls.KNOWN),
        )

    def to_dict(self) -> JSONDict:
        out: JSONDict = {}
        if self.shared_state is not None:
            out["shared_state"] = self.shared_state
        out["stream_states"] = [s.to_dict() for s in self.stream_states]
        out.update(self.extra)
        return out


@dataclass(slots=True)
class AirbyteState:
    """STATE of type STREAM (``stream``), GLOBAL (``global_``) or LEGACY (``data``).

    A STATE without ``type`` is LEGACY (protocol default). ``sourceStats``,
    ``destinationStats`` and the platform's ``id`` stay in ``extra``.
    """

    type: StateType
    stream: StreamState | None = None
    global_: GlobalState | None = None
    data: Any = None
    extra: JSONDict = field(default_factory=dict)

    KNOWN = frozenset({"type", "stream", "global", "data"})

    @classmethod
    def from_dict(cls, p: Mapping[str, Any]) -> AirbyteState:
        kind = p.get("type", "LEGACY")
        if kind not in STATE_TYPES:
            raise ProtocolError("STATE 'type' must be STREAM, GLOBAL or LEGACY")
        state = cls(type=kind, data=p.get("data"), extra=_rest(p, cls.KNOWN))
        if kind == "STREAM":
            state.stream = StreamState.from_dict(p.get("stream"))
        elif kind == "GLOBAL":
            state.global_ = GlobalState.from_dict(p.get("global"))
        elif not isinstance(state.data, dict):
            raise ProtocolError("LEGACY STATE needs 'data' of type object")
        return state

    def to_dict(self) -> JSONDict:
        out: JSONDict = {"type": self.type}
        if self.stream is not None:
            out["stream"] = self.stream.to_dict()
        if self.global_ is not None:
            out["global"] = self.global_.to_dict()
        if self.data is not None:
            out["data"] = self.data
        out.update(self.extra)
        return out


# ---------------------------------------------------------------- the other message types
@dataclass(slots=True)
class AirbyteLog:
    level: str
    message: str
    stack_trace: str | None = None
    extra: JSONDict = field(default_factory=dict)

    KNOWN = frozenset({"level", "message", "stack_trace"})

    @classmethod
    def from_dict(cls, p: Mapping[str, Any]) -> AirbyteLog:
        return cls(
            _need(p, "level", str, "LOG"),
            _need(p, "message", str, "LOG"),
            _opt_str(p, "stack_trace", "LOG"),
            _rest(p, cls.KNOWN),
        )

    def to_dict(self) -> JSONDict:
        out: JSONDict = {"level": self.level, "message": self.message}
        if self.stack_trace is not None:
            out["stack_trace"] = self.stack_trace
        out.update(self.extra)
        return out


@dataclass(slots=True)
class AirbyteSpec:
    connection_specification: JSONDict
    extra: JSONDict = field(default_factory=dict)  # documentationUrl, supportsDBT, ...

    KNOWN = frozenset({"connectionSpecification"})

    @classmethod
    def from_dict(cls, p: Mapping[str, Any]) -> AirbyteSpec:
        return cls(_need(p, "connectionSpecification", dict, "SPEC"), _rest(p, cls.KNOWN))

    def to_dict(self) -> JSONDict:
        return {"connectionSpecification": self.connection_specification, **self.extra}


@dataclass(slots=True)
class AirbyteConnectionStatus:
    status: str  # SUCCEEDED | FAILED
    message: str | None = None
    extra: JSONDict = field(default_factory=dict)

    KNOWN = frozenset({"status", "message"})

    @classmethod
    def from_dict(cls, p: Mapping[str, Any]) -> AirbyteConnectionStatus:
        return cls(
            _need(p, "status", str, "CONNECTION_STATUS"),
            _opt_str(p, "message", "CONNECTION_STATUS"),
            _rest(p, cls.KNOWN),
        )

    def to_dict(self) -> JSONDict:
        out: JSONDict = {"status": self.status}
        if self.message is not None:
            out["message"] = self.message
        out.update(self.extra)
        return out


@dataclass(slots=True)
class AirbyteCatalogMessage:
    """The ``catalog`` payload, kept as a dict; :mod:`dativo_protocol.catalog` models it."""

    catalog: JSONDict

    @classmethod
    def from_dict(cls, p: Mapping[str, Any]) -> AirbyteCatalogMessage:
        _need(p, "streams", list, "CATALOG")
        return cls(dict(p))

    def to_dict(self) -> JSONDict:
        return self.catalog


@dataclass(slots=True)
class AirbyteTrace:
    """TRACE of type ERROR, ESTIMATE, STREAM_STATUS or ANALYTICS (payload under its own key)."""

    type: str
    emitted_at: Number
    error: JSONDict | None = None  # {message, internal_message, stack_trace, failure_type}
    extra: JSONDict = field(default_factory=dict)  # estimate, stream_status, analytics, ...

    KNOWN = frozenset({"type", "emitted_at", "error"})

    @classmethod
    def from_dict(cls, p: Mapping[str, Any]) -> AirbyteTrace:
        error = p.get("error")
        if error is not None and not isinstance(error, dict):
            raise ProtocolError("TRACE 'error' must be an object")
        return cls(
            _need(p, "type", str, "TRACE"),
            _need(p, "emitted_at", (int, float), "TRACE"),
            error,
            _rest(p, cls.KNOWN),
        )

    def to_dict(self) -> JSONDict:
        out: JSONDict = {"type": self.type, "emitted_at": self.emitted_at}
        if self.error is not None:
            out["error"] = self.error
        out.update(self.extra)
        return out

    def error_message(self) -> str:
        """The user-facing error text (``message``; never ``internal_message``)."""
        err = self.error or {}
        message = err.get("message")
        return message if isinstance(message, str) and message else "the connector failed"

    def failure_type(self) -> str:
        value = (self.error or {}).get("failure_type")
        return value if isinstance(value, str) else "system_error"


@dataclass(slots=True)
class AirbyteControl:
    """CONTROL: today only CONNECTOR_CONFIG, a new connector config to persist."""

    type: str
    emitted_at: Number
    config: JSONDict | None = None  # connectorConfig.config
    extra: JSONDict = field(default_factory=dict)

    KNOWN = frozenset({"type", "emitted_at", "connectorConfig"})

    @classmethod
    def from_dict(cls, p: Mapping[str, Any]) -> AirbyteControl:
        holder = p.get("connectorConfig")
        config = holder.get("config") if isinstance(holder, Mapping) else None
        kind = _need(p, "type", str, "CONTROL")
        if kind == "CONNECTOR_CONFIG" and not isinstance(config, dict):
            raise ProtocolError("CONTROL CONNECTOR_CONFIG needs 'connectorConfig.config' object")
        return cls(
            kind, _need(p, "emitted_at", (int, float), "CONTROL"), config, _rest(p, cls.KNOWN)
        )

    def to_dict(self) -> JSONDict:
        out: JSONDict = {"type": self.type, "emitted_at": self.emitted_at}
        if self.config is not None:
            out["connectorConfig"] = {"config": self.config}
        out.update(self.extra)
        return out


@dataclass(slots=True)
class AirbyteOther:
    """A message of a type this library does not model; kept verbatim."""

    type: str
    body: JSONDict


Payload: TypeAlias = (
    AirbyteRecord
    | AirbyteState
    | AirbyteLog
    | AirbyteSpec
    | AirbyteConnectionStatus
    | AirbyteCatalogMessage
    | AirbyteTrace
    | AirbyteControl
)
AirbyteMessage: TypeAlias = Payload | AirbyteOther

#: message type -> (payload key in the envelope, payload class)
KINDS: dict[str, tuple[str, Any]] = {
    "RECORD": ("record", AirbyteRecord),
    "STATE": ("state", AirbyteState),
    "LOG": ("log", AirbyteLog),
    "SPEC": ("spec", AirbyteSpec),
    "CONNECTION_STATUS": ("connectionStatus", AirbyteConnectionStatus),
    "CATALOG": ("catalog", AirbyteCatalogMessage),
    "TRACE": ("trace", AirbyteTrace),
    "CONTROL": ("control", AirbyteControl),
}
_KEY_OF: dict[type, tuple[str, str]] = {cls: (t, key) for t, (key, cls) in KINDS.items()}


def parse_message(envelope: Mapping[str, Any], line: int | None = None) -> AirbyteMessage:
    """Parse an envelope ``{"type": T, <payload key>: {...}}`` into its payload object.

    Unknown types come back as :class:`AirbyteOther`. A known type with a bad payload raises
    :class:`ProtocolError` naming the line.
    """
    kind = envelope.get("type")
    if not isinstance(kind, str):
        raise ProtocolError("Airbyte message needs a string 'type'", line=line)
    spec = KINDS.get(kind)
    if spec is None:
        return AirbyteOther(kind, dict(envelope))
    key, cls = spec
    payload = envelope.get(key)
    if not isinstance(payload, Mapping):
        raise ProtocolError(f"{kind} message needs an object under '{key}'", line=line)
    try:
        message: AirbyteMessage = cls.from_dict(payload)
    except ProtocolError as exc:
        exc.line = line
        raise
    return message


def to_envelope(message: AirbyteMessage) -> JSONDict:
    """The message as an envelope dict, ready for ``codec.dumps_line``."""
    if isinstance(message, AirbyteOther):
        return message.body
    kind, key = _KEY_OF[type(message)]
    return {"type": kind, key: message.to_dict()}


def dumps_message(message: AirbyteMessage) -> bytes:
    """One JSONL line (with newline) for ``message``."""
    return codec.dumps_line(to_envelope(message))


def parse_line(line: bytes | str, lineno: int | None = None) -> AirbyteMessage | None:
    """Parse one stdout line of a connector; ``None`` for a line that is not a message.

    Not JSON, not an object, or no string ``type``: not a message (the protocol says to ignore
    it). A message of a known type with a bad payload: :class:`ProtocolError`.
    """
    try:
        envelope = codec.loads(line)
    except codec.JSONDecodeError:
        return None
    if not isinstance(envelope, dict) or not isinstance(envelope.get("type"), str):
        return None
    return parse_message(envelope, lineno)
