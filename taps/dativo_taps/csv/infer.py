"""Column types for CSV files: inferred from a sample, overridden by config.

Each column gets a JSON Schema and a converter from the CSV text. Inference is conservative:
a column is an integer/number/boolean/date/date-time only if every non-empty sampled value
is; date-times need a UTC offset (naive ones stay strings, since ``format: date-time`` means
RFC 3339). Integers with leading zeros (zip codes, ids) stay strings. Typed columns turn an
empty field into null; string columns keep empty strings.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dativo_protocol.errors import ConfigError

Converter = Callable[[str], Any]

_INT = re.compile(r"-?(0|[1-9][0-9]{0,17})\Z")
_NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?\Z")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
_DATETIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?(Z|[+-][0-9]{2}:?[0-9]{2})\Z"
)
_BOOLS = {"true": True, "false": False, "t": True, "f": False, "yes": True, "no": False,
          "1": True, "0": False, "y": True, "n": False}  # fmt: skip
_INFER_BOOLS = {"true", "false"}


_ALL_BOOLS = {
    form: value
    for word, value in _BOOLS.items()
    for form in (word, word.upper(), word.title(), f" {word}", f"{word} ")
}

#: str -> bool for every usual spelling; a KeyError (caught as a type mismatch) otherwise
to_bool = _ALL_BOOLS.__getitem__


def _is_date(value: str) -> bool:
    if not _DATE.match(value):
        return False
    try:
        datetime.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _is_datetime(value: str) -> bool:
    if not _DATETIME.match(value):
        return False
    try:
        datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


_CHECKS: dict[str, Callable[[str], bool]] = {
    "integer": lambda v: bool(_INT.match(v)),
    "number": lambda v: bool(_NUMBER.match(v)),
    "boolean": lambda v: v.lower() in _INFER_BOOLS,
    "date": _is_date,
    "date-time": _is_datetime,
}


def infer_kind(values: Iterable[str]) -> str:
    """The narrowest kind every non-empty value fits: integer, number, boolean, date,
    date-time, or string."""
    candidates = list(_CHECKS)
    seen = False
    for value in values:
        if value == "":
            continue
        seen = True
        candidates = [c for c in candidates if _CHECKS[c](value)]
        if not candidates:
            return "string"
    return candidates[0] if seen and candidates else "string"


def schema_for_kind(kind: str) -> dict[str, Any]:
    if kind in ("date", "date-time"):
        return {"type": ["string", "null"], "format": kind}
    if kind == "string":
        return {"type": ["string", "null"]}
    return {"type": [kind, "null"]}


def _types(schema: Mapping[str, Any]) -> list[str]:
    declared = schema.get("type", "string")
    return [declared] if isinstance(declared, str) else list(declared)


def converter_for(schema: Mapping[str, Any]) -> Converter | None:
    """How to turn CSV text into the schema's type (None: keep the text)."""
    types = [t for t in _types(schema) if t != "null"]
    if "string" in types or not types:
        return None
    if types[0] == "integer":
        return int
    if types[0] == "number":
        return float
    if types[0] == "boolean":
        return to_bool
    return None


def normalise_override(column: str, override: Any) -> dict[str, Any]:
    if isinstance(override, str):
        if override in ("date", "date-time"):
            return schema_for_kind(override)
        if override not in ("string", "integer", "number", "boolean"):
            raise ConfigError(f"schema_overrides.{column}: unknown type {override!r}")
        return schema_for_kind(override)
    if isinstance(override, Mapping) and "type" in override:
        return dict(override)
    raise ConfigError(f"schema_overrides.{column} must be a type name or a JSON Schema with 'type'")


@dataclass(frozen=True)
class ColumnPlan:
    """The schema of every column and the converters of the non-string ones."""

    properties: dict[str, dict[str, Any]]
    converters: dict[str, Converter]


def plan_columns(
    columns: Sequence[str],
    sample: Sequence[Sequence[str]],
    *,
    infer: bool,
    overrides: Mapping[str, Any],
) -> ColumnPlan:
    properties: dict[str, dict[str, Any]] = {}
    converters: dict[str, Converter] = {}
    unknown = sorted(set(overrides) - set(columns))
    if unknown:
        raise ConfigError(
            f"schema_overrides name columns the files do not have: {', '.join(unknown)}"
        )
    for index, column in enumerate(columns):
        if column in overrides:
            schema = normalise_override(column, overrides[column])
        elif infer:
            values = (row[index] for row in sample if index < len(row))
            schema = schema_for_kind(infer_kind(values))
        else:
            schema = {"type": ["string", "null"]}
        properties[column] = schema
        conv = converter_for(schema)
        if conv is not None:
            converters[column] = conv
    return ColumnPlan(properties=properties, converters=converters)


def clean_header(names: Sequence[str]) -> list[str]:
    """Unique, non-empty column names (``column_3`` for a blank one, ``a_2`` for a repeat)."""
    out: list[str] = []
    seen: set[str] = set()
    for i, raw in enumerate(names, start=1):
        name = raw.strip() or f"column_{i}"
        candidate, n = name, 2
        while candidate in seen:
            candidate, n = f"{name}_{n}", n + 1
        seen.add(candidate)
        out.append(candidate)
    return out
