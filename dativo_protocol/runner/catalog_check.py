"""Validation of a discovered Singer catalog: precise structural checks naming the stream, then
the catalog model of :mod:`dativo_protocol.catalog.singer`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dativo_protocol.catalog.singer import load_singer_catalog
from dativo_protocol.errors import ConfigError, ProtocolError


def validate_catalog(doc: Any, *, source: str) -> dict[str, Any]:
    """Check the Singer catalog shape; returns it as a dict or raises :class:`ProtocolError`."""

    def bad(where: str, why: str) -> ProtocolError:
        return ProtocolError(f"catalog from {source}: {where}: {why}")

    if not isinstance(doc, Mapping):
        raise bad("document", "must be a JSON object with 'streams'")
    streams = doc.get("streams")
    if not isinstance(streams, list):
        raise bad("streams", "must be a list")
    seen: set[str] = set()
    for index, stream in enumerate(streams):
        where = f"streams[{index}]"
        if not isinstance(stream, Mapping):
            raise bad(where, "must be an object")
        stream_id = stream.get("tap_stream_id") or stream.get("stream")
        if not isinstance(stream_id, str) or not stream_id:
            raise bad(where, "needs 'tap_stream_id' or 'stream' (a non-empty string)")
        where = f"{where} ({stream_id})"
        if stream_id in seen:
            raise bad(where, "duplicate tap_stream_id")
        seen.add(stream_id)
        if not isinstance(stream.get("schema"), Mapping):
            raise bad(where, "'schema' must be a JSON Schema object")
        metadata = stream.get("metadata", [])
        if not isinstance(metadata, list):
            raise bad(where, "'metadata' must be a list")
        for m_index, item in enumerate(metadata):
            if (
                not isinstance(item, Mapping)
                or not isinstance(item.get("breadcrumb"), list)
                or not isinstance(item.get("metadata"), Mapping)
            ):
                raise bad(
                    f"{where}.metadata[{m_index}]",
                    "needs 'breadcrumb' (list) and 'metadata' (object)",
                )
        key_properties = stream.get("key_properties")
        if key_properties is not None and not (
            isinstance(key_properties, list) and all(isinstance(k, str) for k in key_properties)
        ):
            raise bad(where, "'key_properties' must be a list of strings")
    try:
        load_singer_catalog(doc)
    except ConfigError as exc:
        raise bad("document", exc.message) from None
    return dict(doc)
