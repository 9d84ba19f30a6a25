"""The small, exact mappings shared by the Airbyte <-> Singer converters and catalogs.

- stream identity: Airbyte ``(name, namespace)`` <-> Singer stream id ``namespace-name``
  (``name`` alone when the namespace is null), the convention of tap-postgres' tap_stream_id;
- time: Airbyte ``emitted_at`` (epoch milliseconds, int or float) <-> Singer ``time_extracted``
  (RFC 3339, UTC, microseconds);
- field paths: Airbyte paths (``["a", "b"]``) <-> Singer property names (``"a.b"``), resolved
  against the stream's JSON schema on the way back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from dativo_protocol.airbyte.messages import Number

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)
PATH_SEPARATOR = "."


def singer_stream_id(name: str, namespace: str | None) -> str:
    """The Singer stream (tap_stream_id) for an Airbyte stream."""
    return f"{namespace}-{name}" if namespace else name


# ------------------------------------------------------------------------------------ time
def emitted_at_to_time_extracted(emitted_at: Number) -> str:
    """``1700000000123`` -> ``"2023-11-14T22:13:20.123000Z"``. Exact to the microsecond."""
    micros = emitted_at * 1000 if isinstance(emitted_at, int) else round(emitted_at * 1000)
    moment = EPOCH + timedelta(microseconds=micros)
    return moment.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def time_extracted_to_emitted_at(value: str) -> Number:
    """RFC 3339 (``Z`` or an offset; naive means UTC) -> epoch ms.

    Whole milliseconds come back as an int (the protocol's type), sub-millisecond precision
    as a float. Raises ``ValueError`` on a malformed timestamp.
    """
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    micros = (moment - EPOCH) // _MICRO
    whole, rest = divmod(micros, 1000)
    return whole if rest == 0 else micros / 1000


# ----------------------------------------------------------------------------------- paths
def path_to_property(path: Sequence[str]) -> str:
    """An Airbyte field path as one Singer property name (nested paths joined with ``.``)."""
    return PATH_SEPARATOR.join(path)


def paths_to_properties(paths: Sequence[Sequence[str]] | None) -> list[str]:
    """Airbyte ``primary_key`` (list of paths, composite and nested) -> Singer key names."""
    return [path_to_property(p) for p in paths or () if p]


def property_to_path(prop: str, schema: Mapping[str, Any] | None) -> list[str]:
    """Inverse of :func:`path_to_property`, using the schema to tell ``"a.b"`` from a/b.

    A top-level property named ``prop`` wins; otherwise, if splitting on ``.`` walks existing
    nested properties all the way, that path; otherwise ``[prop]``.
    """
    props = _properties(schema)
    if prop in props or PATH_SEPARATOR not in prop:
        return [prop]
    parts = prop.split(PATH_SEPARATOR)
    node: Mapping[str, Any] | None = schema
    for part in parts:
        children = _properties(node)
        if part not in children:
            return [prop]
        child = children[part]
        node = child if isinstance(child, Mapping) else None
    return parts


def properties_to_paths(
    props: Sequence[str] | None, schema: Mapping[str, Any] | None
) -> list[list[str]]:
    return [property_to_path(p, schema) for p in props or ()]


def _properties(schema: Mapping[str, Any] | None) -> Mapping[str, Any]:
    if not isinstance(schema, Mapping):
        return {}
    props = schema.get("properties")
    if isinstance(props, Mapping):
        return props
    for combo in ("anyOf", "oneOf"):  # nullable objects: {"anyOf": [{"type": "null"}, {...}]}
        for option in schema.get(combo) or ():
            found = _properties(option)
            if found:
                return found
    return {}
