"""Apply a job's stream selection and metadata to a Singer catalog (Meltano's `select` rules).

Patterns are ``stream`` or ``stream.field`` with shell globs; a leading ``!`` excludes. With no
pattern every stream and field is selected. Fields the tap marks ``inclusion: automatic`` stay
selected. ``metadata`` maps a stream glob to stream-level metadata (``replication-method``,
``replication-key``, ...).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from fnmatch import fnmatchcase
from typing import Any

from dativo_protocol.errors import ConfigError


def _parse(patterns: Iterable[str]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    include: list[tuple[str, str]] = []
    exclude: list[tuple[str, str]] = []
    for raw in patterns:
        text = raw.strip()
        negate = text.startswith("!")
        text = text.removeprefix("!")
        if not text:
            raise ConfigError(f"streams.select: empty pattern {raw!r}")
        stream, _, prop = text.partition(".")
        (exclude if negate else include).append((stream, prop or "*"))
    return include or [("*", "*")], exclude


def _metadata_entry(entries: list[dict[str, Any]], breadcrumb: list[str]) -> dict[str, Any]:
    for entry in entries:
        if list(entry.get("breadcrumb", [])) == breadcrumb:
            meta: dict[str, Any] = entry.setdefault("metadata", {})
            return meta
    new: dict[str, Any] = {}
    entries.append({"breadcrumb": breadcrumb, "metadata": new})
    return new


def apply_selection(
    catalog: Mapping[str, Any],
    select: Iterable[str] = (),
    metadata: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """A copy of ``catalog`` with ``selected`` set on every stream and field."""
    include, exclude = _parse(select)
    out = copy.deepcopy(dict(catalog))
    streams = out.get("streams")
    if not isinstance(streams, list):
        raise ConfigError("the tap's catalog has no `streams` list")
    chosen = 0
    for stream in streams:
        sid = str(stream.get("tap_stream_id") or stream.get("stream"))
        entries = stream.setdefault("metadata", [])
        top = _metadata_entry(entries, [])
        on = any(fnmatchcase(sid, s) for s, _ in include) and not any(
            fnmatchcase(sid, s) and p == "*" for s, p in exclude
        )
        top["selected"] = on
        chosen += on
        for pattern, values in (metadata or {}).items():
            if fnmatchcase(sid, pattern):
                top.update(values)
        props = (stream.get("schema") or {}).get("properties") or {}
        for prop in props:
            meta = _metadata_entry(entries, ["properties", prop])
            if meta.get("inclusion") == "automatic":
                meta["selected"] = on
                continue
            meta["selected"] = on and (
                any(fnmatchcase(sid, s) and fnmatchcase(prop, p) for s, p in include)
                and not any(fnmatchcase(sid, s) and fnmatchcase(prop, p) for s, p in exclude)
            )
    if not chosen:
        names = ", ".join(sorted(str(s.get("tap_stream_id") or s.get("stream")) for s in streams))
        raise ConfigError(
            f"streams.select matches no stream of the tap (it has: {names or 'none'})"
        )
    return out


def selected_streams(catalog: Mapping[str, Any]) -> list[str]:
    out = []
    for stream in catalog.get("streams", []):
        for entry in stream.get("metadata", []):
            if not entry.get("breadcrumb") and entry.get("metadata", {}).get("selected"):
                out.append(str(stream.get("tap_stream_id") or stream.get("stream")))
    return out
