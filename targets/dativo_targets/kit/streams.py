"""What the loop knows about each stream: its schema, how to parse it fast, how to check it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import pyarrow as pa

from dativo_protocol.schema.arrow import ArrowOptions, json_schema_to_arrow
from dativo_protocol.schema_check import Check, compile_check
from dativo_targets.kit.arrowconv import NotFastParseable, parse_schema
from dativo_targets.kit.native import NativeDecoder, build_decoder
from dativo_targets.kit.sink import StreamSchema

Validation = Literal["off", "fast", "strict"]


@dataclass(slots=True)
class StreamState:
    """One stream: the sink's schema plus the parse schemas of the fast path.

    ``record_parse`` is the schema pyarrow.json reads a bare record with (``None`` in strict
    mode, which has no fast path, and when the stream has fields it cannot read, e.g.
    JSON-encoded objects: those go line by line);
    ``envelope_parse`` wraps it in a RECORD message. Parse schemas are all nullable; ``checked``
    says which fields must not be null (in ``fast``/``strict`` mode: required fields whose type
    excludes null, and key properties), checked vectorised after the parse.
    """

    schema: StreamSchema
    record_parse: pa.Schema | None
    envelope_parse: pa.Schema | None
    #: ``schema.arrow`` with the nullability the validation mode checks (row path)
    checked: pa.Schema
    #: the native decoder (first fast path), ``None`` when unavailable for this stream
    native: NativeDecoder | None = None
    _check: Check | None = field(default=None)

    @property
    def name(self) -> str:
        return self.schema.stream

    def check(self) -> Check:
        """The compiled JSON Schema check of the stream's records (compiled on first use)."""
        if self._check is None:
            self._check = compile_check(self.schema.json_schema)
        return self._check


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
    record_parse: pa.Schema | None = None
    envelope: pa.Schema | None = None
    native: NativeDecoder | None = None
    # strict checks every record's JSON Schema one by one (RECORD lines and BATCH jsonl files
    # alike): no fast path may bypass it, so a strict stream gets none
    if validation != "strict":
        try:
            record_parse = parse_schema(checked.schema)
            envelope = pa.schema(
                [
                    ("type", pa.string()),
                    ("stream", pa.string()),
                    ("record", pa.struct(list(record_parse))),
                ]
            )
        except NotFastParseable:
            record_parse = envelope = None
        native = build_decoder(checked.schema, mapped.schema)
    return StreamState(
        schema=schema,
        record_parse=record_parse,
        envelope_parse=envelope,
        checked=checked.schema,
        native=native,
    )
