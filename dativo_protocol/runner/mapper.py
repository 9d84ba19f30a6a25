"""Stream maps as a Singer filter process (``dativo map``), built on singer-sdk's mapper.

The runner puts this between a tap and a target when a job has ``stream_maps`` and a side
lacks the ``stream-maps`` capability. The expression language, aliasing, filtering, hashing
(``md5()``/``sha256()``), ``__key_properties__``, ``__source__``, ``__else__`` and flattening
are singer-sdk's :class:`~singer_sdk.mapper.PluginMapper`; this module only moves messages:

- SCHEMA: registered with the mapper, re-emitted once per output stream with its transformed
  schema and key properties;
- RECORD: transformed per output stream (dropped when filtered out); records of streams with
  no map are copied through as the original bytes (no re-serialisation);
- STATE and unknown message types: copied through unchanged, in order, and stdout is flushed
  after each STATE so the target sees it promptly;
- ACTIVATE_VERSION: re-emitted per output stream; BATCH: refused (its files bypass the mapper).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dativo_protocol import codec
from dativo_protocol.errors import (
    ConfigError,
    MalformedLineError,
    ProtocolError,
)
from dativo_protocol.singer import record_parts

log = logging.getLogger("dativo.map")

#: keys of a maps file besides ``stream_maps`` that singer-sdk's mapper reads
MAPPER_KEYS = frozenset(
    {
        "stream_maps",
        "stream_map_config",
        "faker_config",
        "flattening_enabled",
        "flattening_max_depth",
        "flattening_max_key_length",
        "flattening_separator",
    }
)


@dataclass
class MapStats:
    lines_in: int = 0
    records_in: int = 0
    records_out: int = 0
    states: int = 0
    per_stream_out: dict[str, int] = field(default_factory=dict)


def _sdk() -> Any:
    try:
        from singer_sdk import exceptions, mapper
    except ImportError:  # pragma: no cover - the sdk extra is part of `all`
        raise ConfigError(
            "stream maps need singer-sdk", hint="pip install 'dativo-protocol[sdk]'"
        ) from None
    return mapper, exceptions


def validate_map_config(config: Any) -> dict[str, Any]:
    """Check the maps document's shape: ``{"stream_maps": {...}, "stream_map_config": {...}}``."""
    if not isinstance(config, Mapping):
        raise ConfigError("stream map config must be a JSON object")
    unknown = sorted(set(config) - MAPPER_KEYS)
    if unknown:
        raise ConfigError(
            f"stream map config: unknown key {unknown[0]!r}",
            hint=f"allowed keys: {', '.join(sorted(MAPPER_KEYS))}",
        )
    maps = config.get("stream_maps")
    if not isinstance(maps, Mapping):
        raise ConfigError(
            "stream map config needs 'stream_maps': an object of stream name -> map",
            hint='e.g. {"stream_maps": {"users": {"email": "md5(email)", "ssn": null}}}',
        )
    for name, stream_map in maps.items():
        if (
            stream_map is not None
            and stream_map != "__NULL__"
            and not isinstance(stream_map, Mapping)
        ):
            raise ConfigError(f"stream map config: stream_maps.{name}: must be an object or null")
    if not isinstance(config.get("stream_map_config", {}), Mapping):
        raise ConfigError("stream map config: stream_map_config must be an object")
    return dict(config)


class StreamMapper:
    """Applies singer-sdk stream maps to a Singer message stream (bytes lines in, bytes out)."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        mapper_mod, exceptions = _sdk()
        self._sdk_errors: tuple[type[BaseException], ...] = (
            exceptions.StreamMapConfigError,
            exceptions.MapExpressionError,
        )
        self._remove = mapper_mod.RemoveRecordTransform
        self._same = mapper_mod.SameRecordTransform
        plugin_config = validate_map_config(config)
        plugin_config["stream_maps"] = dict(plugin_config["stream_maps"])  # the sdk pops __else__
        try:
            self._mapper = mapper_mod.PluginMapper(plugin_config=plugin_config, logger=log)
        except self._sdk_errors as exc:
            raise ConfigError(f"invalid stream maps: {exc}") from None
        #: source stream -> the maps that emit something (removed ones left out)
        self._maps: dict[str, list[Any]] = {}
        #: source streams copied through byte for byte
        self._passthrough: set[str] = set()
        self.stats = MapStats()

    # ---------------------------------------------------------------------- per message type
    def _schema(self, msg: dict[str, Any], raw: bytes, line_no: int) -> Iterable[bytes]:
        stream = msg.get("stream")
        schema = msg.get("schema")
        if not isinstance(stream, str) or not isinstance(schema, Mapping):
            raise ProtocolError("SCHEMA needs 'stream' and 'schema'", line=line_no)
        try:
            self._mapper.register_raw_stream_schema(
                stream, dict(schema), msg.get("key_properties") or []
            )
            maps = [m for m in self._mapper.stream_maps[stream] if not isinstance(m, self._remove)]
        except self._sdk_errors as exc:
            raise ConfigError(f"stream map: {exc}", stream=stream, line=line_no) from None
        self._maps[stream] = maps
        if (
            len(maps) == 1
            and type(maps[0]) is self._same
            and not maps[0].flattening_enabled
            and maps[0].stream_alias == stream
        ):
            self._passthrough.add(stream)
            yield raw if raw.endswith(b"\n") else raw + b"\n"
            return
        self._passthrough.discard(stream)
        for stream_map in maps:
            out = dict(msg)
            out["stream"] = stream_map.stream_alias
            out["schema"] = stream_map.transformed_schema
            out["key_properties"] = list(stream_map.transformed_key_properties or [])
            yield codec.dumps_line(out)

    def _record(self, msg: dict[str, Any], raw: bytes, line_no: int) -> Iterable[bytes]:
        stream, record, maps = record_parts(msg, self._maps, line_no)
        self.stats.records_in += 1
        if stream in self._passthrough:
            self._count(stream)
            yield raw if raw.endswith(b"\n") else raw + b"\n"
            return
        for stream_map in maps:
            try:
                mapped = stream_map.transform(record)
            except Exception as exc:  # noqa: BLE001 - expression errors of any kind
                raise ConfigError(
                    f"stream map for {stream_map.stream_alias!r} failed on a record: "
                    f"{type(exc).__name__}: {exc}",
                    stream=stream,
                    line=line_no,
                    hint="guard the expression, e.g. md5(email) if email else None",
                ) from None
            if mapped is None:
                continue
            out = dict(msg)
            out["stream"] = stream_map.stream_alias
            out["record"] = mapped
            self._count(stream_map.stream_alias)
            yield codec.dumps_line(out)

    def _activate_version(self, msg: dict[str, Any], raw: bytes, line_no: int) -> Iterable[bytes]:
        stream = msg.get("stream")
        maps = self._maps.get(stream) if isinstance(stream, str) else None
        if maps is None:  # no SCHEMA seen: nothing to rename, pass it on
            yield raw if raw.endswith(b"\n") else raw + b"\n"
            return
        for stream_map in maps:
            out = dict(msg)
            out["stream"] = stream_map.stream_alias
            yield codec.dumps_line(out)

    def _count(self, stream: str) -> None:
        self.stats.records_out += 1
        per = self.stats.per_stream_out
        per[stream] = per.get(stream, 0) + 1

    # -------------------------------------------------------------------------------- loop
    def run(
        self,
        lines: Iterable[bytes],
        write: Callable[[bytes], Any],
        flush: Callable[[], Any],
    ) -> MapStats:
        """Map every line of ``lines``; ``flush`` is called after each STATE and at the end."""
        stats = self.stats
        passthrough = self._passthrough  # updated in place by _schema
        per_stream = stats.per_stream_out
        loads = codec.loads
        line_no = 0
        for raw in lines:
            line_no += 1
            try:
                msg = loads(raw)
            except codec.JSONDecodeError as exc:
                if not raw.strip():
                    continue
                raise MalformedLineError(codec.describe_decode_error(exc), line=line_no) from None
            if not isinstance(msg, dict):
                raise ProtocolError("message is not a JSON object", line=line_no)
            kind = msg.get("type")
            if kind != "RECORD" and kind != "STATE":
                kind = str(kind or "").upper()
            if kind == "RECORD":
                stream = msg.get("stream")
                if stream in passthrough:  # the hot path: no re-serialisation
                    stats.records_in += 1
                    stats.records_out += 1
                    per_stream[stream] = per_stream.get(stream, 0) + 1
                    write(raw if raw[-1:] == b"\n" else raw + b"\n")
                    continue
                for out in self._record(msg, raw, line_no):
                    write(out)
            elif kind == "STATE":
                stats.states += 1
                write(raw if raw[-1:] == b"\n" else raw + b"\n")
                flush()
            elif kind == "SCHEMA":
                for out in self._schema(msg, raw, line_no):
                    write(out)
            elif kind == "ACTIVATE_VERSION":
                for out in self._activate_version(msg, raw, line_no):
                    write(out)
            elif kind == "BATCH":
                raise ConfigError(
                    "stream maps cannot be applied to BATCH messages (their files bypass the mapper)",
                    stream=str(msg.get("stream")),
                    line=line_no,
                    hint="run the tap without batch_config when the job has stream maps",
                )
            else:
                write(raw if raw[-1:] == b"\n" else raw + b"\n")
        stats.lines_in = line_no
        flush()
        return stats
