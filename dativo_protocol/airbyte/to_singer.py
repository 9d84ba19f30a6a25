"""Streaming Airbyte -> Singer conversion: feed one Airbyte message, get zero or more Singer ones.

=================  ============================================================================
Airbyte            Singer
=================  ============================================================================
RECORD             SCHEMA (before the stream's first RECORD, from the catalog) + RECORD
STATE              STATE whose value is the complete state (:mod:`dativo_protocol.airbyte.state`)
CATALOG            nothing; its streams become the schemas of later RECORDs
LOG                a log record on stderr (level mapped)
TRACE ERROR        an error log now; :meth:`AirbyteToSinger.finish` raises ``ConnectorError``
TRACE other        debug log
CONTROL            ``on_control(config)`` callback (e.g. persist to a file); never logged
SPEC, CONN_STATUS  info log (not part of a ``read``)
unknown type       debug log
=================  ============================================================================

Without a catalog (and no CATALOG message), a RECORD of an unknown stream raises
:class:`RecordBeforeSchemaError`, unless ``allow_schemaless`` is set: then the SCHEMA is
``{"type": "object"}`` with no key properties.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from dativo_protocol.airbyte import mapping
from dativo_protocol.airbyte.messages import (
    AirbyteCatalogMessage,
    AirbyteConnectionStatus,
    AirbyteControl,
    AirbyteLog,
    AirbyteRecord,
    AirbyteSpec,
    AirbyteState,
    AirbyteTrace,
    JSONDict,
    Number,
    parse_message,
)
from dativo_protocol.airbyte.state import StateAccumulator, singer_value
from dativo_protocol.catalog.airbyte import (
    AirbyteCatalog,
    AirbyteStream,
    ConfiguredAirbyteCatalog,
    ConfiguredAirbyteStream,
    load_airbyte_catalog,
)
from dativo_protocol.errors import (
    ConfigError,
    ConnectorError,
    ProtocolError,
    RecordBeforeSchemaError,
)

#: the logger that carries the source's own LOG messages to stderr
SOURCE_LOGGER = "dativo.source"
LOG_LEVELS = {
    "FATAL": logging.CRITICAL,
    "ERROR": logging.ERROR,
    "WARN": logging.WARNING,
    "WARNING": logging.WARNING,
    "INFO": logging.INFO,
    "DEBUG": logging.DEBUG,
    "TRACE": logging.DEBUG,
}


@dataclass(slots=True)
class _StreamInfo:
    singer_id: str
    schema_message: JSONDict | None
    announced: bool = False


def schema_message(
    stream: AirbyteStream, configured: ConfiguredAirbyteStream | None = None
) -> JSONDict:
    """The Singer SCHEMA for an Airbyte stream (keys and cursor from the configured stream)."""
    if configured is not None:
        keys = configured.effective_primary_key()
        cursor = (
            configured.effective_cursor_field() if configured.sync_mode == "incremental" else []
        )
    else:
        keys = list(stream.source_defined_primary_key or [])
        cursor = list(stream.default_cursor_field or []) if stream.source_defined_cursor else []
    message: JSONDict = {
        "type": "SCHEMA",
        "stream": mapping.singer_stream_id(stream.name, stream.namespace),
        "schema": stream.json_schema,
        "key_properties": mapping.paths_to_properties(keys),
    }
    if cursor:
        message["bookmark_properties"] = [mapping.path_to_property(cursor)]
    return message


class AirbyteToSinger:
    """Converts an Airbyte message stream to Singer, one message at a time.

    ``catalog``: an Airbyte catalog or configured catalog (or its dict). ``initial_state``: the
    Airbyte ``--state`` list the source was started with, so every STATE emitted still carries
    the streams this run did not touch. ``on_control`` receives new connector configs.
    """

    def __init__(
        self,
        catalog: AirbyteCatalog | ConfiguredAirbyteCatalog | Mapping[str, Any] | None = None,
        *,
        initial_state: Iterable[Mapping[str, Any]] = (),
        allow_schemaless: bool = False,
        on_control: Callable[[JSONDict], None] | None = None,
        logger: logging.Logger | None = None,
        source_logger: logging.Logger | None = None,
    ) -> None:
        self._streams: dict[tuple[str, str | None], _StreamInfo] = {}
        self._allow_schemaless = allow_schemaless
        self._on_control = on_control
        self._log = logger or logging.getLogger("dativo.airbyte")
        self._source_log = source_logger or logging.getLogger(SOURCE_LOGGER)
        self._state = StateAccumulator(initial_state)
        self._errors: list[str] = []
        self._last_emitted_at: Number | None = None
        self._last_time = ""
        self.counts: dict[str, int] = {}
        if catalog is not None:
            self.add_catalog(catalog)

    # ------------------------------------------------------------------ catalog
    def add_catalog(
        self, catalog: AirbyteCatalog | ConfiguredAirbyteCatalog | Mapping[str, Any]
    ) -> None:
        """Learn the schemas of a catalog (a later catalog overrides an earlier stream)."""
        if isinstance(catalog, Mapping):
            catalog = load_airbyte_catalog(catalog)
        if isinstance(catalog, ConfiguredAirbyteCatalog):
            for configured in catalog.streams:
                self._learn(configured.stream, configured)
        else:
            for stream in catalog.streams:
                self._learn(stream, None)

    def _learn(self, stream: AirbyteStream, configured: ConfiguredAirbyteStream | None) -> None:
        key = (stream.name, stream.namespace)
        message = schema_message(stream, configured)
        self._check_unique(key, message["stream"])
        known = self._streams.get(key)
        # an unchanged schema is not announced twice; a changed one before the next record
        announced = known is not None and known.announced and known.schema_message == message
        self._streams[key] = _StreamInfo(message["stream"], message, announced)

    # ------------------------------------------------------------------ feeding
    def feed_line(self, line: bytes, lineno: int | None = None) -> list[JSONDict]:
        """One stdout line of an Airbyte connector. Non-message lines are ignored (debug log)."""
        from dativo_protocol import codec

        try:
            envelope = codec.loads(line)
        except codec.JSONDecodeError:
            self._log.debug("line %s: not JSON, ignored (%d bytes)", lineno, len(line))
            return []
        if not isinstance(envelope, dict) or not isinstance(envelope.get("type"), str):
            self._log.debug("line %s: not an Airbyte message, ignored", lineno)
            return []
        return self.feed(envelope, lineno)

    def feed(self, envelope: Mapping[str, Any], lineno: int | None = None) -> list[JSONDict]:
        """One Airbyte message envelope (a dict) -> the Singer messages it becomes."""
        if envelope.get("type") == "RECORD":
            return self._record(envelope, lineno)
        message = parse_message(envelope, lineno)
        if isinstance(message, AirbyteState):
            return [self._state_message(envelope["state"])]
        if isinstance(message, AirbyteLog):
            level = LOG_LEVELS.get(message.level.upper(), logging.INFO)
            self._source_log.log(level, "%s", message.message)
            if message.stack_trace:
                self._source_log.debug("%s", message.stack_trace)
        elif isinstance(message, AirbyteTrace):
            self._trace(message)
        elif isinstance(message, AirbyteControl):
            self._control(message)
        elif isinstance(message, AirbyteCatalogMessage):
            self.add_catalog(message.catalog)
        elif isinstance(message, AirbyteSpec | AirbyteConnectionStatus):
            self._log.info(
                "line %s: %s message ignored in a message stream", lineno, envelope["type"]
            )
        else:
            self._log.debug("line %s: message type %s ignored", lineno, envelope["type"])
        return []

    def finish(self) -> list[JSONDict]:
        """End of input: raises ``ConnectorError`` if the source reported a TRACE ERROR."""
        if self._errors:
            first = self._errors[0]
            more = f" (and {len(self._errors) - 1} more)" if len(self._errors) > 1 else ""
            raise ConnectorError(f"the Airbyte source reported an error: {first}{more}")
        return []

    @property
    def state(self) -> list[JSONDict]:
        """The complete Airbyte state so far (what the source takes back as ``--state``)."""
        return self._state.as_list()

    # ------------------------------------------------------------------ per type
    def _record(self, envelope: Mapping[str, Any], lineno: int | None) -> list[JSONDict]:
        payload = envelope.get("record")
        if not isinstance(payload, Mapping):
            raise ProtocolError("RECORD message needs an object under 'record'", line=lineno)
        name = payload.get("stream")
        data = payload.get("data")
        emitted_at = payload.get("emitted_at")
        namespace = payload.get("namespace")
        if not isinstance(name, str) or not isinstance(data, dict):
            try:
                AirbyteRecord.from_dict(payload)  # raises the precise reason
            except ProtocolError as exc:
                exc.line = lineno
                raise
            raise ProtocolError("invalid RECORD", line=lineno)  # pragma: no cover
        info = self._streams.get((name, namespace))
        if info is None:
            info = self._unknown_stream(name, namespace, lineno)
        out: list[JSONDict] = []
        if not info.announced:
            if info.schema_message is not None:
                out.append(info.schema_message)
            info.announced = True
        if emitted_at != self._last_emitted_at or self._last_emitted_at is None:
            self._last_time = self._time(emitted_at, info.singer_id, lineno)
            self._last_emitted_at = emitted_at
        out.append(
            {
                "type": "RECORD",
                "stream": info.singer_id,
                "record": data,
                "time_extracted": self._last_time,
            }
        )
        self.counts[info.singer_id] = self.counts.get(info.singer_id, 0) + 1
        return out

    @staticmethod
    def _time(emitted_at: Any, stream: str, lineno: int | None) -> str:
        if isinstance(emitted_at, bool) or not isinstance(emitted_at, int | float):
            raise ProtocolError("RECORD needs a numeric 'emitted_at'", stream=stream, line=lineno)
        try:
            return mapping.emitted_at_to_time_extracted(emitted_at)
        except (OverflowError, ValueError):
            raise ProtocolError(
                "RECORD 'emitted_at' is out of range", stream=stream, line=lineno
            ) from None

    def _unknown_stream(self, name: str, namespace: Any, lineno: int | None) -> _StreamInfo:
        if namespace is not None and not isinstance(namespace, str):
            raise ProtocolError("RECORD 'namespace' must be a string or null", line=lineno)
        singer_id = mapping.singer_stream_id(name, namespace)
        self._check_unique((name, namespace), singer_id, lineno)
        if not self._allow_schemaless:
            raise RecordBeforeSchemaError(
                "record of a stream that is in no catalog, so it has no schema",
                stream=singer_id,
                line=lineno,
                hint="pass the configured catalog (--catalog) or allow schemaless streams",
            )
        schema: JSONDict = {
            "type": "SCHEMA",
            "stream": singer_id,
            "schema": {"type": "object"},
            "key_properties": [],
        }
        info = _StreamInfo(singer_id, schema)
        self._streams[(name, namespace)] = info
        return info

    def _check_unique(
        self, key: tuple[str, str | None], singer_id: str, lineno: int | None = None
    ) -> None:
        for other, info in self._streams.items():
            if other != key and info.singer_id == singer_id:
                error = ConfigError if lineno is None else ProtocolError
                raise error(
                    f"Airbyte streams {_label(other)} and {_label(key)} would both be the "
                    "Singer stream of this name",
                    stream=singer_id,
                    line=lineno,
                )

    def _state_message(self, payload: Mapping[str, Any]) -> JSONDict:
        self._state.update(payload)  # already validated by parse_message
        return {"type": "STATE", "value": singer_value(self._state.as_list())}

    def _trace(self, trace: AirbyteTrace) -> None:
        if trace.type == "ERROR":
            text = f"{trace.failure_type()}: {trace.error_message()}"
            self._errors.append(text)
            self._log.error("Airbyte source error: %s", text)
        else:
            self._log.debug("TRACE %s", trace.type)

    def _control(self, control: AirbyteControl) -> None:
        if control.type != "CONNECTOR_CONFIG" or control.config is None:
            self._log.debug("CONTROL %s ignored", control.type)
            return
        if self._on_control is None:
            self._log.warning(
                "the source sent an updated connector config (CONTROL CONNECTOR_CONFIG) that "
                "nobody persists; pass a control output file to keep it"
            )
            return
        self._on_control(control.config)


def _label(key: tuple[str, str | None]) -> str:
    name, namespace = key
    return f"'{namespace}.{name}'" if namespace else f"'{name}'"
