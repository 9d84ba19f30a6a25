"""JSON Schema → Arrow schema, for the Parquet and Iceberg targets.

The only module of the schema package (with ``evolution`` and ``convert``) that imports pyarrow;
``import dativo_protocol`` never loads it. Rules, each with an example, are in
``docs/schema-mapping.md``. In short:

========================================  =============================================
JSON Schema                               Arrow
========================================  =============================================
``integer``                               ``int64``
``number``                                ``float64``
``number`` + ``multipleOf: 0.01``         ``decimal128(38, 2)`` (precision from bounds)
``format: singer.decimal`` (p, s)         ``decimal128(p, s)``
``string`` / ``format: date-time``        ``string`` / ``timestamp[us, tz=UTC]``
``format: date`` / ``format: time``       ``date32`` / ``time64[us]``
``boolean``                               ``bool``
object with properties                    ``struct``
array with ``items``                      ``list<item>`` (item type from the schema)
object without properties, maps, arrays   ``string`` holding JSON (``dativo.encoding=json``)
without ``items``, mixed unions, ``{}``
========================================  =============================================

Fields carry what loaders need in their Arrow metadata (``dativo.encoding``,
``dativo.source_name``, ``dativo.decimal``); :class:`MappedSchema` exposes it as
:class:`FieldNote` objects, and :func:`notes_for` reads it back from any Arrow schema (e.g. the
schema of an existing Parquet file).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import pyarrow as pa

from dativo_protocol.errors import SchemaError
from dativo_protocol.schema.jsonschema import normalize
from dativo_protocol.schema.names import sanitize_names
from dativo_protocol.schema.nodes import (
    AnyNode,
    ArrayNode,
    BooleanNode,
    IntegerNode,
    NullNode,
    NumberNode,
    ObjectNode,
    Property,
    StringNode,
    UnionNode,
)
from dativo_protocol.schema.visitor import SchemaVisitor, visit

__all__ = [
    "DECIMAL_META",
    "ENCODING_META",
    "ITEM",
    "MAX_DECIMAL128_PRECISION",
    "MIN_UNBOUNDED_INTEGER_DIGITS",
    "SOURCE_NAME_META",
    "ArrowOptions",
    "FieldNote",
    "MappedSchema",
    "NoteKind",
    "json_schema_to_arrow",
    "notes_for",
]

ENCODING_META = b"dativo.encoding"
"""Field metadata key: ``json`` (string holding JSON), ``number-string`` (float from JSON
strings), ``decimal-string`` (exact decimal kept as its text)."""
SOURCE_NAME_META = b"dativo.source_name"
"""Field metadata key: the record key of a renamed field."""
DECIMAL_META = b"dativo.decimal"
"""Field metadata key: ``float`` when an exact decimal was mapped to float64 (too wide)."""
ITEM = "[]"
"""Path element that stands for the elements of a list in :attr:`FieldNote.path`."""
MAX_DECIMAL128_PRECISION = 38
MIN_UNBOUNDED_INTEGER_DIGITS = 18
"""A decimal without bounds gets ``decimal128(38, s)`` only if that leaves this many digits
before the point; otherwise it counts as too wide (see ``ArrowOptions.wide_decimals``)."""

NoteKind = Literal[
    "json",
    "timestamp",
    "date",
    "time",
    "decimal",
    "number_string",
    "decimal_string",
    "decimal_as_float",
    "renamed",
]
TimestampUnit = Literal["s", "ms", "us", "ns"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ArrowOptions:
    """Choices of the mapping. Defaults suit both targets (Iceberg rejects ns and non-UTC).

    - ``timestamp_unit``: unit of ``format: date-time`` columns (always UTC).
    - ``decimals``: ``"decimal"`` maps exact decimals to ``decimal128``; ``"float"`` to float64.
    - ``wide_decimals``: decimals that do not fit ``decimal128(38)`` or whose scale is unknown
      become ``"float"`` (float64, noted ``decimal_as_float``) or ``"string"`` (exact text).
    - ``nullability``: ``"all"`` makes every field nullable (Singer taps rarely list
      ``required`` and often send nulls anyway); ``"schema"`` makes a field non-null when it
      is ``required`` and its type excludes ``null``.
    - ``key_properties_not_null``: key properties are non-null top-level columns either way.
    - ``field_names``: ``"keep"`` (lossless) or ``"sanitize"`` (see ``schema.names``).
    """

    timestamp_unit: TimestampUnit = "us"
    decimals: Literal["decimal", "float"] = "decimal"
    wide_decimals: Literal["float", "string"] = "float"
    nullability: Literal["all", "schema"] = "all"
    key_properties_not_null: bool = True
    field_names: Literal["keep", "sanitize"] = "keep"


@dataclass(frozen=True, slots=True)
class FieldNote:
    """Something a loader must know about one field. ``path`` uses Arrow names, with
    :data:`ITEM` for list elements, e.g. ``("order", "lines", "[]", "price")``."""

    path: tuple[str, ...]
    kind: NoteKind
    source_name: str | None = None

    @property
    def dotted(self) -> str:
        return ".".join(self.path)


@dataclass(frozen=True, slots=True)
class MappedSchema:
    """The Arrow schema of a stream plus the notes loaders need to prepare data for it."""

    schema: pa.Schema
    stream: str | None = None
    key_properties: tuple[str, ...] = ()
    notes: tuple[FieldNote, ...] = field(default=())

    def paths(self, kind: NoteKind) -> tuple[tuple[str, ...], ...]:
        return tuple(n.path for n in self.notes if n.kind == kind)

    @property
    def json_fields(self) -> tuple[tuple[str, ...], ...]:
        """Fields stored as strings holding JSON: serialize values with orjson."""
        return self.paths("json")

    @property
    def timestamp_fields(self) -> tuple[tuple[str, ...], ...]:
        """Fields whose JSON strings must be parsed as ISO 8601 date-times."""
        return self.paths("timestamp")

    @property
    def decimal_fields(self) -> tuple[tuple[str, ...], ...]:
        """``decimal128`` fields: parse from the JSON text to stay exact."""
        return self.paths("decimal")

    @property
    def key_columns(self) -> tuple[str, ...]:
        """The Arrow names of the key properties (they differ only when names are sanitized)."""
        arrow_name = {source: name for name, source in self.source_names.items()}
        return tuple(arrow_name[k] for k in self.key_properties)

    @property
    def source_names(self) -> dict[str, str]:
        """Top-level Arrow name → record key, for every top-level column."""
        out: dict[str, str] = {}
        for f in self.schema:
            meta = f.metadata or {}
            source = meta.get(SOURCE_NAME_META)
            out[f.name] = source.decode() if source is not None else f.name
        return out


def json_schema_to_arrow(
    schema: Mapping[str, Any],
    *,
    stream: str | None = None,
    key_properties: Iterable[str] = (),
    options: ArrowOptions | None = None,
) -> MappedSchema:
    """Map a stream's JSON Schema (the ``schema`` of a Singer SCHEMA message) to Arrow.

    Raises :class:`~dativo_protocol.errors.SchemaError` when the schema is not an object with
    properties, a key property is missing, or the schema itself is malformed.
    """
    opts = options or ArrowOptions()
    keys = tuple(key_properties)
    root = normalize(schema, stream=stream)
    if not isinstance(root, ObjectNode) or not root.properties:
        raise SchemaError(
            "the stream schema must be an object with properties; nothing here maps to columns",
            stream=stream,
        )
    names = {p.name for p in root.properties}
    missing = [k for k in keys if k not in names]
    if missing:
        raise SchemaError(
            f"key properties not in the schema: {', '.join(missing)}",
            stream=stream,
        )
    root_type = visit(root, _ToArrow(opts, keys)).type
    arrow_schema = pa.schema([root_type.field(i) for i in range(root_type.num_fields)])
    return MappedSchema(arrow_schema, stream, keys, notes_for(arrow_schema))


def notes_for(schema: pa.Schema) -> tuple[FieldNote, ...]:
    """The :class:`FieldNote` list of any Arrow schema, from its types and field metadata."""
    notes: list[FieldNote] = []
    for f in schema:
        _note_field(f, (f.name,), notes)
    return tuple(notes)


def _note_field(f: pa.Field, path: tuple[str, ...], notes: list[FieldNote]) -> None:
    meta = f.metadata or {}
    source = meta.get(SOURCE_NAME_META)
    if source is not None:
        notes.append(FieldNote(path, "renamed", source.decode()))
    encoding = meta.get(ENCODING_META)
    t = f.type
    if encoding == b"json":
        notes.append(FieldNote(path, "json"))
    elif encoding == b"number-string":
        notes.append(FieldNote(path, "number_string"))
    elif encoding == b"decimal-string":
        notes.append(FieldNote(path, "decimal_string"))
    if meta.get(DECIMAL_META) == b"float":
        notes.append(FieldNote(path, "decimal_as_float"))
    if pa.types.is_timestamp(t):
        notes.append(FieldNote(path, "timestamp"))
    elif pa.types.is_date(t):
        notes.append(FieldNote(path, "date"))
    elif pa.types.is_time(t):
        notes.append(FieldNote(path, "time"))
    elif pa.types.is_decimal(t):
        notes.append(FieldNote(path, "decimal"))
    elif pa.types.is_struct(t):
        for i in range(t.num_fields):
            child = t.field(i)
            _note_field(child, (*path, child.name), notes)
    elif pa.types.is_list(t) or pa.types.is_large_list(t):
        _note_field(t.value_field, (*path, ITEM), notes)


def _col(arrow_type: pa.DataType, meta: dict[bytes, bytes] | None = None) -> pa.Field:
    """A nameless field: the result of visiting a type (named later by ``property``)."""
    return pa.field("", arrow_type, metadata=meta or None)


_JSON: dict[bytes, bytes] = {ENCODING_META: b"json"}


class _ToArrow(SchemaVisitor[pa.Field]):
    """Builds Arrow fields bottom-up; ``property`` names them and sets their nullability."""

    def __init__(self, options: ArrowOptions, keys: tuple[str, ...]) -> None:
        self.options = options
        self.keys = keys
        self.depth = 0

    # fields ------------------------------------------------------------------------------
    def before_property(self, prop: Property) -> None:
        self.depth += 1

    def after_property(self, prop: Property) -> None:
        self.depth -= 1

    def before_items(self, node: ArrayNode) -> None:
        self.depth += 1

    def after_items(self, node: ArrayNode) -> None:
        self.depth -= 1

    def field_nullable(self, prop: Property) -> bool:
        if self.depth == 1 and prop.name in self.keys and self.options.key_properties_not_null:
            return False
        if self.options.nullability == "all":
            return True
        return prop.schema.nullable or not prop.required

    def property(self, prop: Property, result: pa.Field) -> pa.Field:
        return result.with_name(prop.name).with_nullable(self.field_nullable(prop))

    def rename(self, fields: list[pa.Field]) -> list[pa.Field]:
        if self.options.field_names == "keep":
            return fields
        out = []
        for f, new in zip(fields, sanitize_names(f.name for f in fields), strict=True):
            if new != f.name:
                meta = {**(f.metadata or {}), SOURCE_NAME_META: f.name.encode()}
                f = f.with_name(new).with_metadata(meta)
            out.append(f)
        return out

    # types -------------------------------------------------------------------------------
    def object(self, node: ObjectNode, properties: list[pa.Field]) -> pa.Field:
        if not properties:
            return _col(pa.string(), _JSON)
        return _col(pa.struct(self.rename(properties)))

    def array(self, node: ArrayNode, items: pa.Field | None) -> pa.Field:
        if items is None or node.items is None:
            return _col(pa.string(), _JSON)
        nullable = self.options.nullability == "all" or node.items.nullable
        return _col(pa.list_(items.with_name("element").with_nullable(nullable)))

    def string(self, node: StringNode) -> pa.Field:
        if node.format == "date-time":
            return _col(pa.timestamp(self.options.timestamp_unit, tz="UTC"))
        if node.format == "date":
            return _col(pa.date32())
        if node.format == "time":
            return _col(pa.time64("us"))
        return _col(pa.string())

    def integer(self, node: IntegerNode) -> pa.Field:
        return _col(pa.int64())

    def number(self, node: NumberNode) -> pa.Field:
        spec = node.decimal
        float_meta = {ENCODING_META: b"number-string"} if node.as_string else {}
        if spec is None or self.options.decimals == "float":
            return _col(pa.float64(), float_meta)
        precision, scale = spec.precision, spec.scale
        unbounded_fits = scale is not None and (
            MAX_DECIMAL128_PRECISION - scale >= MIN_UNBOUNDED_INTEGER_DIGITS
        )
        if precision is None and unbounded_fits:
            precision = MAX_DECIMAL128_PRECISION
        if (
            scale is not None
            and precision is not None
            and scale <= precision <= MAX_DECIMAL128_PRECISION
        ):
            return _col(pa.decimal128(max(precision, 1), scale))
        if self.options.wide_decimals == "string":
            return _col(pa.string(), {ENCODING_META: b"decimal-string"})
        return _col(pa.float64(), {**float_meta, DECIMAL_META: b"float"})

    def boolean(self, node: BooleanNode) -> pa.Field:
        return _col(pa.bool_())

    def null(self, node: NullNode) -> pa.Field:
        return _col(pa.string())

    def union(self, node: UnionNode) -> pa.Field:
        return _col(pa.string(), _JSON)

    def any(self, node: AnyNode) -> pa.Field:
        return _col(pa.string(), _JSON)
