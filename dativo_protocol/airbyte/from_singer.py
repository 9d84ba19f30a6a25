"""Streaming Singer -> Airbyte conversion: feed one Singer message, get zero or more Airbyte ones.

=================  ============================================================================
Singer             Airbyte
=================  ============================================================================
SCHEMA             nothing on the stream; collected into :meth:`SingerToAirbyte.catalog`
RECORD             RECORD (``stream``/``namespace`` from the catalog, ``time_extracted`` ->
                   ``emitted_at``; no ``time_extracted``: the conversion time)
STATE              STATE messages for the slots that changed (or the latest one when nothing
                   changed), see :mod:`dativo_protocol.airbyte.state`
ACTIVATE_VERSION   nothing (no Airbyte equivalent; warned once per stream)
BATCH              error: batch files cannot be expressed as Airbyte RECORDs
unknown type       debug log
=================  ============================================================================

A RECORD before its stream's SCHEMA raises :class:`RecordBeforeSchemaError`. A RECORD's
``version`` has no Airbyte equivalent and is dropped (warned once per stream).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from dativo_protocol.airbyte import mapping
from dativo_protocol.airbyte.messages import AirbyteState, JSONDict, Number, StreamDescriptor
from dativo_protocol.airbyte.state import StateAccumulator, StateKey, airbyte_states, state_key
from dativo_protocol.catalog.airbyte import (
    AirbyteCatalog,
    AirbyteStream,
    ConfiguredAirbyteCatalog,
    ConfiguredAirbyteStream,
)
from dativo_protocol.catalog.singer import SingerCatalog
from dativo_protocol.errors import ProtocolError, StateError
from dativo_protocol.singer import record_parts


@dataclass(slots=True)
class _Stream:
    name: str
    namespace: str | None
    schema: JSONDict
    key_properties: list[str]
    bookmark_properties: list[str]


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class SingerToAirbyte:
    """Converts a Singer message stream to Airbyte, one message at a time.

    ``catalog`` (a Singer catalog, or an Airbyte catalog / configured catalog) names the Airbyte
    stream and namespace of each Singer stream id; without it a Singer stream ``s`` becomes the
    Airbyte stream ``s`` with no namespace.
    """

    def __init__(
        self,
        catalog: SingerCatalog | AirbyteCatalog | ConfiguredAirbyteCatalog | None = None,
        *,
        now: Callable[[], int] = _now_ms,
        logger: logging.Logger | None = None,
    ) -> None:
        self._descriptors: dict[str, StreamDescriptor] = {}
        self._streams: dict[str, _Stream] = {}
        self._state = StateAccumulator()
        self._warned: set[tuple[str, str]] = set()
        self._now = now
        self._log = logger or logging.getLogger("dativo.airbyte")
        self._last_time: Any = None
        self._last_emitted_at: Number = 0
        self.counts: dict[str, int] = {}
        if catalog is not None:
            self.add_catalog(catalog)

    def add_catalog(
        self, catalog: SingerCatalog | AirbyteCatalog | ConfiguredAirbyteCatalog
    ) -> None:
        if isinstance(catalog, SingerCatalog):
            for entry in catalog.streams:
                namespace = entry.stream_metadata.get("schema-name")
                self._descriptors[entry.tap_stream_id] = StreamDescriptor(
                    entry.stream, namespace if isinstance(namespace, str) else None
                )
            return
        streams = [
            s.stream if isinstance(s, ConfiguredAirbyteStream) else s for s in catalog.streams
        ]
        for stream in streams:
            singer_id = mapping.singer_stream_id(stream.name, stream.namespace)
            self._descriptors[singer_id] = StreamDescriptor(stream.name, stream.namespace)

    def descriptor(self, singer_id: str) -> StreamDescriptor:
        return self._descriptors.get(singer_id) or StreamDescriptor(singer_id, None)

    # ------------------------------------------------------------------ feeding
    def feed(self, message: Mapping[str, Any], lineno: int | None = None) -> list[JSONDict]:
        kind = message.get("type")
        if not isinstance(kind, str):
            raise ProtocolError("Singer message needs a string 'type'", line=lineno)
        kind = kind.upper()
        if kind == "RECORD":
            return [self._record(message, lineno)]
        if kind == "STATE":
            return self._state_messages(message, lineno)
        if kind == "SCHEMA":
            self._schema(message, lineno)
        elif kind == "ACTIVATE_VERSION":
            self._warn_once(
                message.get("stream"), "ACTIVATE_VERSION has no Airbyte equivalent; dropped"
            )
        elif kind == "BATCH":
            raise ProtocolError(
                "BATCH messages cannot be converted to Airbyte",
                stream=_str_or_none(message.get("stream")),
                line=lineno,
                hint="run the tap without batch mode",
            )
        else:
            self._log.debug("line %s: Singer message type %s ignored", lineno, kind)
        return []

    def _schema(self, message: Mapping[str, Any], lineno: int | None) -> None:
        stream = message.get("stream")
        schema = message.get("schema")
        keys = message.get("key_properties", [])
        bookmarks = message.get("bookmark_properties") or []
        if not isinstance(stream, str) or not isinstance(schema, dict):
            raise ProtocolError(
                "SCHEMA needs a string 'stream' and an object 'schema'", line=lineno
            )
        if not _str_list(keys) or not _str_list(bookmarks):
            raise ProtocolError(
                "SCHEMA 'key_properties'/'bookmark_properties' must be lists of strings",
                stream=stream,
                line=lineno,
            )
        descriptor = self.descriptor(stream)
        self._streams[stream] = _Stream(
            descriptor.name, descriptor.namespace, schema, keys, bookmarks
        )

    def _record(self, message: Mapping[str, Any], lineno: int | None) -> JSONDict:
        stream, record, info = record_parts(message, self._streams, lineno)
        extracted = message.get("time_extracted")
        if extracted is None:
            emitted_at: Number = self._now()
        elif extracted == self._last_time:
            emitted_at = self._last_emitted_at
        else:
            emitted_at = self._emitted_at(extracted, stream, lineno)
        if "version" in message:
            self._warn_once(stream, "RECORD 'version' has no Airbyte equivalent; dropped")
        payload: JSONDict = {"stream": info.name, "data": record, "emitted_at": emitted_at}
        if info.namespace is not None:
            payload["namespace"] = info.namespace
        self.counts[stream] = self.counts.get(stream, 0) + 1
        return {"type": "RECORD", "record": payload}

    def _emitted_at(self, extracted: Any, stream: str, lineno: int | None) -> Number:
        if not isinstance(extracted, str):
            raise ProtocolError(
                "RECORD 'time_extracted' must be a string", stream=stream, line=lineno
            )
        try:
            emitted_at = mapping.time_extracted_to_emitted_at(extracted)
        except ValueError:
            raise ProtocolError(
                "RECORD 'time_extracted' is not an RFC 3339 timestamp", stream=stream, line=lineno
            ) from None
        self._last_time, self._last_emitted_at = extracted, emitted_at
        return emitted_at

    def _state_messages(self, message: Mapping[str, Any], lineno: int | None) -> list[JSONDict]:
        if "value" not in message:
            raise ProtocolError("STATE needs a 'value'", line=lineno)
        try:
            payloads = airbyte_states(message["value"])
        except StateError as exc:
            raise ProtocolError(exc.message, line=lineno) from None
        changed: list[StateKey] = []
        for payload in payloads:
            try:
                AirbyteState.from_dict(payload)
            except ProtocolError as exc:
                raise ProtocolError(f"invalid Airbyte state: {exc.message}", line=lineno) from None
            before = self._state.get(_key(payload, lineno))
            if before != payload:
                try:
                    changed.append(self._state.update(payload))
                except StateError as exc:
                    raise ProtocolError(exc.message, line=lineno) from None
        if not changed and payloads:
            changed.append(_key(payloads[-1], lineno))
        out = []
        for key in changed:
            latest = self._state.get(key)
            if latest is not None:
                out.append({"type": "STATE", "state": latest})
        return out

    # ------------------------------------------------------------------ catalogs
    def catalog(self) -> AirbyteCatalog:
        """An Airbyte catalog of every stream whose SCHEMA went through."""
        return AirbyteCatalog(streams=[self._airbyte_stream(s) for s in self._streams.values()])

    def configured_catalog(self) -> ConfiguredAirbyteCatalog:
        """A configured catalog (incremental where a bookmark property is known)."""
        streams = []
        for info in self._streams.values():
            stream = self._airbyte_stream(info)
            cursor = stream.default_cursor_field or []
            streams.append(
                ConfiguredAirbyteStream(
                    stream=stream,
                    sync_mode="incremental" if cursor else "full_refresh",
                    destination_sync_mode="append_dedup" if info.key_properties else "append",
                    cursor_field=cursor or None,
                    primary_key=stream.source_defined_primary_key,
                )
            )
        return ConfiguredAirbyteCatalog(streams=streams)

    @staticmethod
    def _airbyte_stream(info: _Stream) -> AirbyteStream:
        cursor = (
            mapping.property_to_path(info.bookmark_properties[0], info.schema)
            if info.bookmark_properties
            else None
        )
        fields: dict[str, Any] = {
            "name": info.name,
            "json_schema": info.schema,
            "supported_sync_modes": ["full_refresh", "incremental"] if cursor else ["full_refresh"],
            "source_defined_cursor": cursor is not None,
            "source_defined_primary_key": mapping.properties_to_paths(
                info.key_properties, info.schema
            ),
        }
        if cursor:
            fields["default_cursor_field"] = cursor
        if info.namespace is not None:
            fields["namespace"] = info.namespace
        return AirbyteStream.model_validate(fields)

    def _warn_once(self, stream: Any, text: str) -> None:
        key = (str(stream), text)
        if key not in self._warned:
            self._warned.add(key)
            self._log.warning("stream '%s': %s", stream, text)


def _key(payload: Mapping[str, Any], lineno: int | None) -> StateKey:
    try:
        return state_key(payload)
    except (KeyError, TypeError, AttributeError):
        raise ProtocolError("STATE value holds an invalid Airbyte state", line=lineno) from None


def _str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None
