"""Schema evolution: what is added, kept, widened, and what is refused."""

from __future__ import annotations

import pyarrow as pa
import pytest

from dativo_protocol.errors import ConfigError, SchemaEvolutionError
from dativo_protocol.schema.arrow import json_schema_to_arrow
from dativo_protocol.schema.convert import records_to_batch
from dativo_protocol.schema.evolution import (
    EvolutionOptions,
    conform_batch,
    diff_schemas,
    evolve,
)

JSON = {b"dativo.encoding": b"json"}


def _s(*fields: pa.Field) -> pa.Schema:
    return pa.schema(list(fields))


# (case, old type, new type, change kind or None when unchanged, unified type)
LEAVES = [
    ("same", pa.int64(), pa.int64(), None, pa.int64()),
    ("int32 → int64 widens", pa.int32(), pa.int64(), "widened", pa.int64()),
    ("int8 → int16 widens", pa.int8(), pa.int16(), "widened", pa.int16()),
    ("uint32 → int64 widens", pa.uint32(), pa.int64(), "widened", pa.int64()),
    ("int64 → int32 keeps int64", pa.int64(), pa.int32(), "narrowed", pa.int64()),
    ("float32 → float64 widens", pa.float32(), pa.float64(), "widened", pa.float64()),
    (
        "decimal precision up",
        pa.decimal128(10, 2),
        pa.decimal128(12, 2),
        "widened",
        pa.decimal128(12, 2),
    ),
    (
        "decimal precision down keeps old",
        pa.decimal128(12, 2),
        pa.decimal128(10, 2),
        "narrowed",
        pa.decimal128(12, 2),
    ),
    ("null → string widens", pa.null(), pa.string(), "widened", pa.string()),
    ("large_string is string", pa.large_string(), pa.string(), None, pa.large_string()),
    ("string → int64", pa.string(), pa.int64(), "incompatible", pa.string()),
    ("int64 → float64 refused by default", pa.int64(), pa.float64(), "incompatible", pa.int64()),
    ("int64 → string", pa.int64(), pa.string(), "incompatible", pa.int64()),
    (
        "decimal scale change",
        pa.decimal128(10, 2),
        pa.decimal128(10, 3),
        "incompatible",
        pa.decimal128(10, 2),
    ),
    (
        "timestamp unit change",
        pa.timestamp("us", "UTC"),
        pa.timestamp("ms", "UTC"),
        "incompatible",
        pa.timestamp("us", "UTC"),
    ),
    (
        "timestamp zone change",
        pa.timestamp("us", "UTC"),
        pa.timestamp("us"),
        "incompatible",
        pa.timestamp("us", "UTC"),
    ),
    ("date → timestamp", pa.date32(), pa.timestamp("us", "UTC"), "incompatible", pa.date32()),
    (
        "struct → string",
        pa.struct([("a", pa.int64())]),
        pa.string(),
        "incompatible",
        pa.struct([("a", pa.int64())]),
    ),
    (
        "list → struct",
        pa.list_(pa.int64()),
        pa.struct([("a", pa.int64())]),
        "incompatible",
        pa.list_(pa.int64()),
    ),
]


@pytest.mark.parametrize(
    ("case", "old", "new", "kind", "unified"), LEAVES, ids=[c[0] for c in LEAVES]
)
def test_leaf_type_changes(
    case: str, old: pa.DataType, new: pa.DataType, kind: str | None, unified: pa.DataType
) -> None:
    diff = diff_schemas(_s(pa.field("x", old)), _s(pa.field("x", new)))
    assert [c.kind for c in diff.changes] == ([kind] if kind else []), case
    assert diff.unified.field("x").type == unified, case
    assert diff.compatible == (kind != "incompatible")


def test_int_to_float_allowed_on_request() -> None:
    diff = diff_schemas(
        _s(pa.field("x", pa.int64())),
        _s(pa.field("x", pa.float64())),
        options=EvolutionOptions(allow_int_to_float=True),
    )
    assert [(c.kind, c.old, c.new) for c in diff.changes] == [("widened", "int64", "double")]
    assert diff.unified.field("x").type == pa.float64()


def test_added_and_missing_columns_are_nullable_and_never_dropped() -> None:
    old = _s(
        pa.field("id", pa.int64(), nullable=False), pa.field("gone", pa.string(), nullable=False)
    )
    new = _s(
        pa.field("id", pa.int64(), nullable=False), pa.field("fresh", pa.bool_(), nullable=False)
    )
    diff = evolve(old, new)
    assert diff.unified.names == ["id", "gone", "fresh"]
    assert [diff.unified.field(n).nullable for n in diff.unified.names] == [False, True, True]
    assert [(c.path, c.kind) for c in diff.changes] == [
        (("gone",), "missing"),
        (("fresh",), "added"),
    ]


def test_nullability_relaxes_but_never_tightens() -> None:
    relaxed = diff_schemas(
        _s(pa.field("a", pa.int64(), nullable=False)), _s(pa.field("a", pa.int64()))
    )
    assert [c.kind for c in relaxed.changes] == ["relaxed"]
    assert relaxed.unified.field("a").nullable
    kept = diff_schemas(
        _s(pa.field("a", pa.int64())), _s(pa.field("a", pa.int64(), nullable=False))
    )
    assert kept.changes == ()
    assert kept.unified.field("a").nullable


def test_nested_struct_and_list_changes_have_paths() -> None:
    old = _s(
        pa.field("o", pa.struct([("a", pa.int32()), ("b", pa.string())])),
        pa.field("l", pa.list_(pa.struct([("x", pa.int64())]))),
    )
    new = _s(
        pa.field("o", pa.struct([("a", pa.int64()), ("c", pa.bool_())])),
        pa.field("l", pa.list_(pa.struct([("x", pa.string())]))),
    )
    diff = diff_schemas(old, new)
    assert [(".".join(c.path), c.kind) for c in diff.changes] == [
        ("o.a", "widened"),
        ("o.b", "missing"),
        ("o.c", "added"),
        ("l.[].x", "incompatible"),
    ]
    assert diff.unified.field("o").type == pa.struct(
        [("a", pa.int64()), ("b", pa.string()), ("c", pa.bool_())]
    )


def test_incompatible_changes_raise_one_error_listing_all() -> None:
    old = json_schema_to_arrow(
        {
            "type": "object",
            "properties": {
                "id": {"type": "string"},
                "o": {"type": "object", "properties": {"a": {"type": "integer"}}},
            },
        }
    ).schema
    new = json_schema_to_arrow(
        {"type": "object", "properties": {"id": {"type": "integer"}, "o": {"type": "object"}}}
    ).schema
    with pytest.raises(SchemaEvolutionError) as info:
        evolve(old, new, stream="orders")
    err = info.value
    assert isinstance(err, ConfigError)
    assert err.exit_code == 3
    assert err.stream == "orders"
    assert "field 'id' incompatible: string -> int64" in err.message
    assert "field 'o' incompatible: struct -> string (JSON)" in err.message
    assert err.hint


def test_unified_schema_takes_new_metadata_and_conform_batch_fills_gaps() -> None:
    old_json = {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "price": {"type": "number", "multipleOf": 0.01, "minimum": 0, "maximum": 999.99},
            "o": {
                "type": "object",
                "properties": {"a": {"type": "string"}, "b": {"type": "integer"}},
            },
            "tags": {
                "type": "array",
                "items": {"type": "object", "properties": {"k": {"type": "string"}}},
            },
            "old": {"type": "string"},
        },
    }
    new_json = {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "price": {"type": "number", "multipleOf": 0.01, "minimum": 0, "maximum": 99999.99},
            "o": {
                "type": "object",
                "properties": {"a": {"type": "string"}, "c": {"type": "object"}},
            },
            "tags": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"k": {"type": "string"}, "v": {"type": "integer"}},
                },
            },
            "new": {"type": "boolean"},
        },
    }
    old = json_schema_to_arrow(old_json).schema
    new_mapped = json_schema_to_arrow(new_json)
    diff = evolve(old, new_mapped.schema)
    batch = records_to_batch(
        [
            {
                "id": 1,
                "price": "12345.67",
                "o": {"a": "x", "c": {"z": 1}},
                "tags": [{"k": "a", "v": 1}],
                "new": True,
            },
            {"id": 2, "o": None, "tags": None},
        ],
        new_mapped,
    )
    out = conform_batch(batch.slice(0), diff.unified)
    assert out.schema.equals(diff.unified, check_metadata=True)
    assert out.schema.field("o").type.field("c").metadata == JSON
    assert out.to_pylist() == [
        {
            "id": 1,
            "price": pa.scalar(12345.67).cast(pa.decimal128(7, 2)).as_py(),
            "o": {"a": "x", "b": None, "c": '{"z":1}'},
            "tags": [{"k": "a", "v": 1}],
            "old": None,
            "new": True,
        },
        {"id": 2, "price": None, "o": None, "tags": None, "old": None, "new": None},
    ]


def test_conform_batch_handles_sliced_batches() -> None:
    new = _s(pa.field("l", pa.list_(pa.int32())), pa.field("s", pa.struct([("a", pa.int32())])))
    unified = _s(
        pa.field("l", pa.list_(pa.int64())),
        pa.field("s", pa.struct([("a", pa.int64()), ("b", pa.string())])),
        pa.field("z", pa.bool_()),
    )
    batch = pa.RecordBatch.from_pylist(
        [{"l": [1], "s": {"a": 1}}, {"l": [2, 3], "s": None}, {"l": None, "s": {"a": 3}}],
        schema=new,
    )
    out = conform_batch(batch.slice(1), unified)
    assert out.to_pylist() == [
        {"l": [2, 3], "s": None, "z": None},
        {"l": None, "s": {"a": 3, "b": None}, "z": None},
    ]


def test_a_json_text_column_stays_json_text() -> None:
    old = _s(pa.field("x", pa.string(), metadata=JSON))
    new = _s(pa.field("x", pa.string()))
    diff = evolve(old, new)
    assert diff.changes == ()
    assert diff.unified.field("x").metadata == JSON
    # converting with the unified schema keeps the column consistently JSON
    assert records_to_batch([{"x": "a"}], diff.unified).column(0).to_pylist() == ['"a"']
    # an old column without metadata (as Iceberg returns it) takes the new description
    assert evolve(new, old).unified.field("x").metadata == JSON
