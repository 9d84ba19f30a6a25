"""Airbyte (configured) catalog <-> Singer catalog.

=============================================  ==============================================
Airbyte                                        Singer (stream metadata, empty breadcrumb)
=============================================  ==============================================
``name``, ``namespace``                        ``tap_stream_id`` = ``namespace-name`` (or
                                               ``name``), ``stream`` = name,
                                               ``schema-name`` = namespace
``json_schema``                                ``schema``
``source_defined_primary_key`` (paths)         ``table-key-properties`` (``a.b`` for nested)
``default_cursor_field`` (path)                ``valid-replication-keys`` ([``a.b``])
``supported_sync_modes`` = only one mode       ``forced-replication-method``
configured stream present                      ``selected: true`` (absent: ``false``)
configured ``sync_mode``                       ``replication-method`` (full_refresh <->
                                               FULL_TABLE, incremental <-> INCREMENTAL;
                                               LOG_BASED -> incremental)
configured ``cursor_field``                    ``replication-key``
configured ``primary_key``                     ``table-key-properties``
everything else (``is_resumable``, ...)        ``airbyte`` (a dict, kept verbatim)
=============================================  ==============================================

Key and cursor fields also get field metadata ``inclusion: automatic``; other fields
``available``. A Singer catalog made by :func:`singer_from_airbyte` converts back to the same
Airbyte catalog.
"""

from __future__ import annotations

from typing import Any

from dativo_protocol.airbyte import mapping
from dativo_protocol.catalog.airbyte import (
    AirbyteCatalog,
    AirbyteStream,
    ConfiguredAirbyteCatalog,
    ConfiguredAirbyteStream,
    SyncMode,
)
from dativo_protocol.catalog.singer import CatalogEntry, MetadataEntry, SingerCatalog

SYNC_TO_METHOD: dict[str, str] = {"full_refresh": "FULL_TABLE", "incremental": "INCREMENTAL"}
METHOD_TO_SYNC: dict[str, SyncMode] = {
    "FULL_TABLE": "full_refresh",
    "INCREMENTAL": "incremental",
    "LOG_BASED": "incremental",
}
EXTRA_KEY = "airbyte"
_STREAM_MAPPED = {
    "name",
    "namespace",
    "json_schema",
    "source_defined_primary_key",
    "default_cursor_field",
}
_CONFIGURED_MAPPED = {"stream", "sync_mode", "cursor_field", "primary_key"}


# ---------------------------------------------------------------------- Airbyte -> Singer
def singer_from_airbyte(catalog: AirbyteCatalog | ConfiguredAirbyteCatalog) -> SingerCatalog:
    """A Singer catalog; for a configured catalog its streams are selected with their modes."""
    if isinstance(catalog, ConfiguredAirbyteCatalog):
        return SingerCatalog(streams=[_entry(c.stream, c) for c in catalog.streams])
    return SingerCatalog(streams=[_entry(s, None) for s in catalog.streams])


def _entry(stream: AirbyteStream, configured: ConfiguredAirbyteStream | None) -> CatalogEntry:
    raw = stream.to_dict()
    md: dict[str, Any] = {"inclusion": "available"}
    if stream.namespace is not None:
        md["schema-name"] = stream.namespace
    if "source_defined_primary_key" in raw:
        md["table-key-properties"] = mapping.paths_to_properties(stream.source_defined_primary_key)
    if "default_cursor_field" in raw:
        cursor = stream.default_cursor_field or []
        md["valid-replication-keys"] = [mapping.path_to_property(cursor)] if cursor else []
    modes = stream.supported_sync_modes
    if len(set(modes)) == 1:
        md["forced-replication-method"] = SYNC_TO_METHOD[modes[0]]
    extra = {k: v for k, v in raw.items() if k not in _STREAM_MAPPED}
    if configured is not None:
        md["selected"] = True
        md["replication-method"] = SYNC_TO_METHOD[configured.sync_mode]
        if configured.cursor_field:
            md["replication-key"] = mapping.path_to_property(configured.cursor_field)
        if configured.primary_key is not None:
            md["table-key-properties"] = mapping.paths_to_properties(configured.primary_key)
            extra["source_defined_primary_key"] = raw.get("source_defined_primary_key")
        rest = {k: v for k, v in configured.to_dict().items() if k not in _CONFIGURED_MAPPED}
        extra["configured"] = rest
    md[EXTRA_KEY] = extra
    automatic = {
        mapping.path_to_property(p)
        for p in [*_key_paths(stream, configured), *_cursor_paths(stream, configured)]
    }
    metadata = [MetadataEntry(breadcrumb=(), metadata=md)]
    props = stream.json_schema.get("properties")
    for name in props if isinstance(props, dict) else ():
        inclusion = "automatic" if name in automatic else "available"
        metadata.append(
            MetadataEntry(breadcrumb=("properties", name), metadata={"inclusion": inclusion})
        )
    return CatalogEntry(
        tap_stream_id=mapping.singer_stream_id(stream.name, stream.namespace),
        stream=stream.name,
        schema=stream.json_schema,
        metadata=metadata,
    )


def _key_paths(
    stream: AirbyteStream, configured: ConfiguredAirbyteStream | None
) -> list[list[str]]:
    if configured is not None:
        return configured.effective_primary_key()
    return list(stream.source_defined_primary_key or [])


def _cursor_paths(
    stream: AirbyteStream, configured: ConfiguredAirbyteStream | None
) -> list[list[str]]:
    cursor = configured.effective_cursor_field() if configured else stream.default_cursor_field
    return [list(cursor)] if cursor else []


# ---------------------------------------------------------------------- Singer -> Airbyte
def airbyte_stream_from_singer(entry: CatalogEntry) -> AirbyteStream:
    md = entry.stream_metadata
    extra = dict(md.get(EXTRA_KEY) or {})
    extra.pop("configured", None)
    fields: dict[str, Any] = {
        "name": entry.stream,
        "json_schema": entry.schema_,
    }
    namespace = md.get("schema-name")
    if isinstance(namespace, str):
        fields["namespace"] = namespace
    own_pk = extra.pop("source_defined_primary_key", _MISSING)
    if own_pk is not _MISSING:
        if own_pk is not None:
            fields["source_defined_primary_key"] = own_pk
    elif "table-key-properties" in md:
        fields["source_defined_primary_key"] = mapping.properties_to_paths(
            md["table-key-properties"], entry.schema_
        )
    if "valid-replication-keys" in md:
        keys = md["valid-replication-keys"] or []
        fields["default_cursor_field"] = (
            mapping.property_to_path(keys[0], entry.schema_) if keys else []
        )
    if "supported_sync_modes" not in extra:
        forced = md.get("forced-replication-method")
        extra["supported_sync_modes"] = (
            [METHOD_TO_SYNC[forced]]
            if forced in METHOD_TO_SYNC
            else ["full_refresh", "incremental"]
        )
    return AirbyteStream.model_validate({**extra, **fields})


_MISSING: Any = object()


def airbyte_from_singer(catalog: SingerCatalog) -> AirbyteCatalog:
    """Every stream of a Singer catalog as an Airbyte catalog (``discover`` output)."""
    return AirbyteCatalog(streams=[airbyte_stream_from_singer(e) for e in catalog.streams])


def configured_from_singer(catalog: SingerCatalog) -> ConfiguredAirbyteCatalog:
    """The selected streams of a Singer catalog as an Airbyte configured catalog."""
    streams = []
    for entry in catalog.selected():
        md = entry.stream_metadata
        stream = airbyte_stream_from_singer(entry)
        rest = dict((md.get(EXTRA_KEY) or {}).get("configured") or {})
        method = entry.get_replication_method() or "FULL_TABLE"
        fields: dict[str, Any] = {
            "stream": stream,
            "sync_mode": METHOD_TO_SYNC.get(method, "full_refresh"),
        }
        key = entry.get_replication_key()
        if key:
            fields["cursor_field"] = mapping.property_to_path(key, entry.schema_)
        if "table-key-properties" in md and "source_defined_primary_key" in (
            md.get(EXTRA_KEY) or {}
        ):
            fields["primary_key"] = mapping.properties_to_paths(
                md["table-key-properties"], entry.schema_
            )
        rest.setdefault("destination_sync_mode", "append")
        streams.append(ConfiguredAirbyteStream.model_validate({**rest, **fields}))
    return ConfiguredAirbyteCatalog(streams=streams)
