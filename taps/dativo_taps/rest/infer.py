"""A JSON Schema for API records, inferred from a sample when config gives none."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from dativo_protocol.schema.jsonschema import json_type

_DATETIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?(Z|[+-][0-9]{2}:?[0-9]{2})\Z"
)


def _kind(value: Any) -> str:
    kind = json_type(value)
    return "date-time" if kind == "string" and _DATETIME.match(value) else kind


def _merge(a: str | None, b: str) -> str:
    if a is None or a == "null" or a == b:
        return b
    if b == "null":
        return a
    if {a, b} == {"integer", "number"}:
        return "number"
    if {a, b} == {"date-time", "string"}:
        return "string"
    return "any"


def _schema(kind: str) -> dict[str, Any]:
    if kind == "date-time":
        return {"type": ["string", "null"], "format": "date-time"}
    if kind == "array":
        return {"type": ["array", "null"], "items": {}}
    if kind == "any":
        return {}
    if kind == "null":
        return {"type": ["string", "null"]}
    return {"type": [kind, "null"]}


def infer_schema(records: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    kinds: dict[str, str] = {}
    for record in records:
        for key, value in record.items():
            kinds[key] = _merge(kinds.get(key), _kind(value))
    return {"type": "object", "properties": {k: _schema(v) for k, v in kinds.items()}}
