"""What the loop knows about each stream: its schema, how to parse it fast, how to check it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import pyarrow as pa

from dativo_protocol.schema.arrow import ArrowOptions, json_schema_to_arrow
from dativo_protocol.schema_check import Check, compile_check
from dativo_targets.kit.arrowconv import NotFastParseable, parse_schema
from dativo_targets.kit.sink import StreamSchema

Validation = Literal["off", "fast", "strict"]


@dataclass(slots=True)
class StreamState:
    """One stream: the sink's schema plus the parse schemas of the fast path.

    ``record_parse`` is the schema pyarrow.json reads a bare record with (``None`` when the
    stream has fields it cannot read, e.g. JSON-encoded objects: those go line by line);
    ``envelope_parse`` wraps it in a RECORD message. In ``fast``/``strict`` mode a field that is
    required and not nullable in the JSON Schema is non-null in the parse schema, so pyarrow
    rejects its absence.
    """

    schema: StreamSchema
    record_parse: pa.Schema | None
    envelope_parse: pa.Schema | None
    #: the parse schema of the line-by-line path: JSON-encoded fields arrive as strings
    row_parse: pa.Schema
    json_paths: tuple[tuple[str, ...], ...]
    number_string_paths: tuple[tuple[str, ...], ...]
    _check: Check | None = field(default=None)

    @property
    def name(self) -> str:
        return self.schema.stream

    def check(self) -> Check:
        """The compiled JSON Schema check of the stream's records (compiled on first use)."""
        if self._check is None:
            self._check = compile_check(self.schema.json_schema)
        return self._check


def _row_type(f: pa.Field) -> pa.Field:
    try:
        return pa.field(f.name, parse_schema(pa.schema([f])).field(0).type, nullable=True)
    except NotFastParseable:
        pass
    t = f.type
    if pa.types.is_struct(t):
        return pa.field(f.name, pa.struct([_row_type(t.field(i)) for i in range(t.num_fields)]))
    if pa.types.is_list(t):
        return pa.field(f.name, pa.list_(_row_type(t.value_field)))
    return pa.field(f.name, pa.string())  # JSON-encoded: the row path serialises it


def build_stream(
    stream: str,
    json_schema: Mapping[str, Any],
    key_properties: tuple[str, ...],
    bookmark_properties: tuple[str, ...],
    validation: Validation,
) -> StreamState:
    """Map a SCHEMA message (SchemaError if it cannot be mapped)."""
    mapped = json_schema_to_arrow(json_schema, stream=stream, key_properties=key_properties)
    checked = mapped
    if validation != "off":
        checked = json_schema_to_arrow(
            json_schema,
            stream=stream,
            key_properties=key_properties,
            options=ArrowOptions(nullability="schema"),
        )
    schema = StreamSchema(
        stream=stream,
        json_schema=json_schema,
        arrow=mapped.schema,
        notes=mapped.notes,
        key_properties=key_properties,
        bookmark_properties=bookmark_properties,
    )
    record_parse: pa.Schema | None
    envelope: pa.Schema | None
    try:
        record_parse = parse_schema(checked.schema)
        envelope = pa.schema(
            [
                ("type", pa.string()),
                ("stream", pa.string()),
                pa.field("record", pa.struct(list(record_parse)), nullable=False),
            ]
        )
    except NotFastParseable:
        record_parse = envelope = None
    return StreamState(
        schema=schema,
        record_parse=record_parse,
        envelope_parse=envelope,
        row_parse=pa.schema([_row_type(f) for f in checked.schema]),
        json_paths=mapped.json_fields,
        number_string_paths=mapped.paths("number_string"),
    )
