"""JSON Schema → Arrow: one row per mapping rule of docs/schema-mapping.md."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest

from dativo_protocol.errors import ConfigError, SchemaError
from dativo_protocol.schema.arrow import ArrowOptions, FieldNote, json_schema_to_arrow

UTC_US = pa.timestamp("us", tz="UTC")
JSON = {b"dativo.encoding": b"json"}


def _field(prop: dict[str, Any], options: ArrowOptions | None = None, **defs: Any) -> pa.Field:
    schema: dict[str, Any] = {"type": "object", "properties": {"f": prop}}
    if defs:
        schema["$defs"] = defs
    return json_schema_to_arrow(schema, options=options).schema.field("f")


# (rule, property schema, expected Arrow type, expected field metadata or None)
RULES: list[tuple[str, dict[str, Any], pa.DataType, dict[bytes, bytes] | None]] = [
    ("integer", {"type": "integer"}, pa.int64(), None),
    ("nullable integer", {"type": ["null", "integer"]}, pa.int64(), None),
    ("number", {"type": "number"}, pa.float64(), None),
    ("integer|number widens", {"type": ["integer", "number"]}, pa.float64(), None),
    ("boolean", {"type": "boolean"}, pa.bool_(), None),
    ("string", {"type": "string"}, pa.string(), None),
    ("uuid format stays string", {"type": "string", "format": "uuid"}, pa.string(), None),
    ("date-time", {"type": ["string", "null"], "format": "date-time"}, UTC_US, None),
    ("date", {"type": "string", "format": "date"}, pa.date32(), None),
    ("time", {"type": "string", "format": "time"}, pa.time64("us"), None),
    (
        "multipleOf 0.01 unbounded",
        {"type": "number", "multipleOf": 0.01},
        pa.decimal128(38, 2),
        None,
    ),
    (
        "multipleOf with exclusive bounds (pipelinewise numeric(10,2))",
        {
            "type": ["null", "number"],
            "multipleOf": 0.01,
            "maximum": 1e8,
            "exclusiveMaximum": True,
            "minimum": -1e8,
            "exclusiveMinimum": True,
        },
        pa.decimal128(10, 2),
        None,
    ),
    (
        "multipleOf with inclusive draft-6 bounds",
        {"type": "number", "multipleOf": 0.001, "minimum": 0, "maximum": 999.999},
        pa.decimal128(6, 3),
        None,
    ),
    ("multipleOf not a power of ten", {"type": "number", "multipleOf": 0.5}, pa.float64(), None),
    (
        "multipleOf 1e-38 is too wide: float64",
        {"type": "number", "multipleOf": 1e-38},
        pa.float64(),
        {b"dativo.decimal": b"float"},
    ),
    (
        "singer.decimal with precision/scale",
        {"type": ["null", "string"], "format": "singer.decimal", "precision": 12, "scale": 4},
        pa.decimal128(12, 4),
        None,
    ),
    (
        "x-singer.decimal (singer-sdk)",
        {"type": "string", "format": "x-singer.decimal", "precision": 20, "scale": 0},
        pa.decimal128(20, 0),
        None,
    ),
    (
        "singer.decimal with scale_precision (pipelinewise)",
        {
            "type": "string",
            "format": "singer.decimal",
            "additionalProperties": {"scale_precision": "(9,3)"},
        },
        pa.decimal128(9, 3),
        None,
    ),
    (
        "singer.decimal with unknown scale: float64 from strings",
        {"type": "string", "format": "singer.decimal"},
        pa.float64(),
        {b"dativo.encoding": b"number-string", b"dativo.decimal": b"float"},
    ),
    (
        "object with properties",
        {"type": "object", "properties": {"a": {"type": "integer"}}},
        pa.struct([pa.field("a", pa.int64())]),
        None,
    ),
    ("object without properties", {"type": "object"}, pa.string(), JSON),
    (
        "additionalProperties-only map",
        {"type": "object", "additionalProperties": {"type": "string"}},
        pa.string(),
        JSON,
    ),
    (
        "array of strings",
        {"type": "array", "items": {"type": "string"}},
        pa.list_(pa.string()),
        None,
    ),
    ("array without items", {"type": "array"}, pa.string(), JSON),
    (
        "array of free objects: list of JSON strings",
        {"type": "array", "items": {"type": "object"}},
        pa.list_(pa.field("item", pa.string(), metadata=JSON)),
        None,
    ),
    ("mixed union string|integer", {"type": ["string", "integer"]}, pa.string(), JSON),
    ("empty schema", {}, pa.string(), JSON),
    ("null only", {"type": "null"}, pa.string(), None),
    (
        "anyOf nullable pattern",
        {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}]},
        UTC_US,
        None,
    ),
    (
        "anyOf date-time|string (singer-sdk) becomes string",
        {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "string"}]},
        pa.string(),
        None,
    ),
    ("oneOf mixed types", {"oneOf": [{"type": "string"}, {"type": "object"}]}, pa.string(), JSON),
    (
        "anyOf objects merge their properties",
        {
            "anyOf": [
                {"type": "object", "properties": {"a": {"type": "integer"}}},
                {"type": "object", "properties": {"b": {"type": "string"}}},
            ]
        },
        pa.struct([pa.field("a", pa.int64()), pa.field("b", pa.string())]),
        None,
    ),
    (
        "missing type inferred from properties",
        {"properties": {"a": {"type": "boolean"}}},
        pa.struct([pa.field("a", pa.bool_())]),
        None,
    ),
    (
        "missing type inferred from items",
        {"items": {"type": "integer"}},
        pa.list_(pa.int64()),
        None,
    ),
    ("enum of strings", {"enum": ["a", "b", None]}, pa.string(), None),
    ("enum of mixed types", {"enum": ["a", 1]}, pa.string(), JSON),
    ("const integer", {"const": 3}, pa.int64(), None),
    (
        "allOf merges",
        {
            "allOf": [
                {"type": "object", "properties": {"a": {"type": "integer"}}},
                {"properties": {"b": {"type": "boolean"}}},
            ]
        },
        pa.struct([pa.field("a", pa.int64()), pa.field("b", pa.bool_())]),
        None,
    ),
]


@pytest.mark.parametrize(("rule", "prop", "expected", "meta"), RULES, ids=[r[0] for r in RULES])
def test_mapping_rule(rule: str, prop: dict[str, Any], expected: pa.DataType, meta: Any) -> None:
    f = _field(prop)
    assert f.type == expected, rule
    assert f.nullable  # nullability default: every field nullable
    assert (f.metadata or None) == meta


def test_local_refs_defs_and_definitions() -> None:
    schema = {
        "type": "object",
        "properties": {
            "a": {"$ref": "#/$defs/money"},
            "b": {"$ref": "#/definitions/tags"},
            "c": {"$ref": "#/properties/a"},
        },
        "$defs": {"money": {"type": "number", "multipleOf": 0.01}},
        "definitions": {"tags": {"type": "array", "items": {"type": "string"}}},
    }
    got = json_schema_to_arrow(schema).schema
    assert got.field("a").type == pa.decimal128(38, 2)
    assert got.field("b").type == pa.list_(pa.string())
    assert got.field("c").type == pa.decimal128(38, 2)


def test_recursive_ref_becomes_json_string() -> None:
    schema = {
        "type": "object",
        "properties": {"tree": {"$ref": "#/$defs/node"}},
        "$defs": {
            "node": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "children": {"type": "array", "items": {"$ref": "#/$defs/node"}},
                },
            }
        },
    }
    tree = json_schema_to_arrow(schema).schema.field("tree")
    children = tree.type.field("children")
    assert children.type.value_field.type == pa.string()
    assert children.type.value_field.metadata == JSON


@pytest.mark.parametrize(
    ("schema", "reason"),
    [
        (
            {"type": "object", "properties": {"a": {"$ref": "https://example.com/x.json"}}},
            r"only local \$ref",
        ),
        ({"type": "object", "properties": {"a": {"$ref": "#/$defs/nope"}}}, "points to nothing"),
        ({"type": "object", "properties": {"a": {"type": "strng"}}}, "unknown JSON Schema type"),
        ({"type": "object"}, "must be an object with properties"),
        ({"type": "string"}, "must be an object with properties"),
    ],
)
def test_schema_errors_are_config_errors(schema: dict[str, Any], reason: str) -> None:
    with pytest.raises(SchemaError, match=reason) as info:
        json_schema_to_arrow(schema, stream="orders")
    assert isinstance(info.value, ConfigError)
    assert info.value.stream == "orders"
    assert info.value.exit_code == 3


def test_error_names_the_field_path() -> None:
    schema = {
        "type": "object",
        "properties": {"a": {"type": "object", "properties": {"b": {"type": "bogus"}}}},
    }
    with pytest.raises(SchemaError, match=r"field 'a\.b'"):
        json_schema_to_arrow(schema)


def test_key_properties_are_non_null_and_must_exist() -> None:
    schema = {
        "type": "object",
        "properties": {"id": {"type": ["null", "integer"]}, "x": {"type": "string"}},
    }
    mapped = json_schema_to_arrow(schema, key_properties=["id"])
    assert not mapped.schema.field("id").nullable
    assert mapped.schema.field("x").nullable
    relaxed = json_schema_to_arrow(
        schema, key_properties=["id"], options=ArrowOptions(key_properties_not_null=False)
    )
    assert relaxed.schema.field("id").nullable
    with pytest.raises(SchemaError, match="key properties not in the schema: nope"):
        json_schema_to_arrow(schema, key_properties=["nope"])


def test_nullability_from_schema_option() -> None:
    schema = {
        "type": "object",
        "required": ["a", "b"],
        "properties": {
            "a": {"type": "integer"},
            "b": {"type": ["null", "integer"]},
            "c": {"type": "integer"},
            "l": {"type": "array", "items": {"type": "integer"}},
        },
    }
    got = json_schema_to_arrow(schema, options=ArrowOptions(nullability="schema")).schema
    assert [got.field(n).nullable for n in "abcl"] == [False, True, True, True]
    assert not got.field("l").type.value_field.nullable


def test_options_timestamp_unit_and_decimals() -> None:
    ts = _field({"type": "string", "format": "date-time"}, ArrowOptions(timestamp_unit="ms"))
    assert ts.type == pa.timestamp("ms", tz="UTC")
    dec = _field({"type": "number", "multipleOf": 0.01}, ArrowOptions(decimals="float"))
    assert dec.type == pa.float64()
    wide = _field({"type": "number", "multipleOf": 1e-38}, ArrowOptions(wide_decimals="string"))
    assert wide.type == pa.string()
    assert wide.metadata == {b"dativo.encoding": b"decimal-string"}


def test_sanitized_names_keep_source_names_at_every_level() -> None:
    schema = {
        "type": "object",
        "properties": {
            "Order ID": {"type": "integer"},
            "order-id": {"type": "integer"},
            "1st": {"type": "object", "properties": {"a.b": {"type": "string"}}},
            "ok": {"type": "string"},
        },
    }
    mapped = json_schema_to_arrow(schema, options=ArrowOptions(field_names="sanitize"))
    assert mapped.schema.names == ["Order_ID", "order_id_2", "_1st", "ok"]
    assert mapped.source_names["order_id_2"] == "order-id"
    keyed = json_schema_to_arrow(
        schema, key_properties=["order-id"], options=ArrowOptions(field_names="sanitize")
    )
    assert keyed.key_columns == ("order_id_2",)
    assert not keyed.schema.field("order_id_2").nullable
    assert FieldNote(("_1st", "a_b"), "renamed", "a.b") in mapped.notes
    kept = json_schema_to_arrow(schema)
    assert kept.schema.names == ["Order ID", "order-id", "1st", "ok"]
    assert not kept.paths("renamed")


def test_notes_tell_loaders_what_to_prepare() -> None:
    schema = {
        "type": "object",
        "properties": {
            "ts": {"type": "string", "format": "date-time"},
            "price": {"type": "number", "multipleOf": 0.01},
            "doc": {"type": "object"},
            "lines": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"at": {"type": "string", "format": "date"}, "x": {}},
                },
            },
        },
    }
    mapped = json_schema_to_arrow(schema)
    assert mapped.timestamp_fields == (("ts",),)
    assert mapped.decimal_fields == (("price",),)
    assert mapped.json_fields == (("doc",), ("lines", "[]", "x"))
    assert mapped.paths("date") == (("lines", "[]", "at"),)


def test_notes_survive_a_parquet_round_trip(tmp_path) -> None:
    import pyarrow.parquet as pq

    from dativo_protocol.schema.arrow import notes_for

    schema = {
        "type": "object",
        "properties": {"doc": {"type": "object"}, "n": {"type": "array", "items": {}}},
    }
    mapped = json_schema_to_arrow(schema)
    pq.write_table(mapped.schema.empty_table(), tmp_path / "t.parquet")
    assert notes_for(pq.read_schema(tmp_path / "t.parquet")) == mapped.notes


def test_schema_visitor_package_loads_no_pyarrow() -> None:
    import subprocess
    import sys

    code = (
        "import sys, dativo_protocol.schema as s\n"
        "s.normalize({'type': 'object', 'properties': {'a': {'type': 'integer'}}})\n"
        "print('pyarrow' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_custom_visitor_sees_normalised_types() -> None:
    from dativo_protocol.schema import SchemaVisitor, normalize, visit
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

    class ToSql(SchemaVisitor[str]):
        def __init__(self) -> None:
            self.path: list[str] = []
            self.seen: list[str] = []

        def before_property(self, prop: Property) -> None:
            self.path.append(prop.name)

        def after_property(self, prop: Property) -> None:
            self.path.pop()

        def object(self, node: ObjectNode, properties: list[str]) -> str:
            return f"STRUCT({', '.join(properties)})" if properties else "JSON"

        def property(self, prop: Property, result: str) -> str:
            self.seen.append(".".join(self.path))
            return f"{prop.name} {result}{'' if prop.schema.nullable else ' NOT NULL'}"

        def array(self, node: ArrayNode, items: str | None) -> str:
            return f"{items}[]" if items else "JSON"

        def string(self, node: StringNode) -> str:
            return "TIMESTAMPTZ" if node.format == "date-time" else "TEXT"

        def integer(self, node: IntegerNode) -> str:
            return "BIGINT"

        def number(self, node: NumberNode) -> str:
            spec = node.decimal
            return f"DECIMAL({spec.precision},{spec.scale})" if spec else "DOUBLE"

        def boolean(self, node: BooleanNode) -> str:
            return "BOOLEAN"

        def null(self, node: NullNode) -> str:
            return "TEXT"

        def union(self, node: UnionNode) -> str:
            return "JSON"

        def any(self, node: AnyNode) -> str:
            return "JSON"

    schema = {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "at": {"anyOf": [{"type": "null"}, {"type": "string", "format": "date-time"}]},
            "price": {"type": "number", "multipleOf": 0.01, "minimum": 0, "maximum": 99.99},
            "tags": {"type": ["null", "array"], "items": {"type": "string"}},
            "o": {"$ref": "#/$defs/o"},
        },
        "$defs": {"o": {"properties": {"ok": {"type": "boolean"}, "x": {}}}},
    }
    visitor = ToSql()
    assert visit(normalize(schema), visitor) == (
        "STRUCT(id BIGINT NOT NULL, at TIMESTAMPTZ, price DECIMAL(4,2) NOT NULL, tags TEXT[], "
        "o STRUCT(ok BOOLEAN NOT NULL, x JSON) NOT NULL)"
    )
    assert visitor.seen == ["id", "at", "price", "tags", "o.ok", "o.x", "o"]
