"""The mapping and the evolution rules hold on a real PyIceberg table (SQLite catalog)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from dativo_protocol.errors import SchemaEvolutionError
from dativo_protocol.schema.arrow import json_schema_to_arrow
from dativo_protocol.schema.convert import records_to_batch
from dativo_protocol.schema.evolution import conform_batch, evolve

V1 = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "ts": {"type": "string", "format": "date-time"},
        "day": {"type": "string", "format": "date"},
        "at": {"type": "string", "format": "time"},
        "amount": {"type": "number", "multipleOf": 0.01, "minimum": 0, "maximum": 9999.99},
        "score": {"type": "number"},
        "ok": {"type": "boolean"},
        "o": {"type": "object", "properties": {"x": {"type": "string"}}},
        "doc": {"type": "object"},
        "lines": {
            "type": "array",
            "items": {"type": "object", "properties": {"k": {"type": "string"}}},
        },
    },
}
V2: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "amount": {"type": "number", "multipleOf": 0.01, "minimum": 0, "maximum": 999999.99},
        "o": {"type": "object", "properties": {"x": {"type": "string"}, "y": {"type": "integer"}}},
        "added": {"type": "string"},
    },
}


@pytest.fixture
def table(tmp_path: Path) -> Any:
    from pyiceberg.catalog.sql import SqlCatalog

    catalog = SqlCatalog(
        "t", uri=f"sqlite:///{tmp_path}/catalog.db", warehouse=f"file://{tmp_path}/wh"
    )
    catalog.create_namespace("ns")
    return catalog.create_table(
        "ns.orders", schema=json_schema_to_arrow(V1, key_properties=["id"]).schema
    )


def test_mapped_schema_creates_and_evolves_an_iceberg_table(table: Any) -> None:
    v1 = json_schema_to_arrow(V1, key_properties=["id"])
    record = {
        "id": 1,
        "ts": "2024-05-01T12:00:00+02:00",
        "day": "2024-05-01",
        "at": "08:30:00",
        "amount": "12.5",
        "score": 0.5,
        "ok": True,
        "o": {"x": "a"},
        "doc": {"free": [1, 2]},
        "lines": [{"k": "v"}],
    }
    table.append(pa.Table.from_batches([records_to_batch([record], v1)]))

    v2 = json_schema_to_arrow(V2, key_properties=["id"])
    diff = evolve(table.schema().as_arrow(), v2.schema, stream="orders")
    with table.update_schema() as update:
        update.union_by_name(diff.unified)
    batch = records_to_batch(
        [{"id": 2, "amount": 100000, "o": {"x": "b", "y": 3}, "added": "new"}], v2
    )
    table.append(pa.Table.from_batches([conform_batch(batch, table.schema().as_arrow())]))
    # or convert straight to the unified schema (the table's Arrow schema + the new notes)
    unified = evolve(table.schema().as_arrow(), v2.schema).unified
    direct = records_to_batch([{"id": 3, "o": {"x": "c", "y": None}, "added": "z"}], unified)
    table.append(pa.Table.from_batches([direct]))

    rows = sorted(table.scan().to_arrow().to_pylist(), key=lambda r: r["id"])
    assert rows[0] == {
        **record,
        "ts": dt.datetime(2024, 5, 1, 10, tzinfo=dt.UTC),
        "day": dt.date(2024, 5, 1),
        "at": dt.time(8, 30),
        "amount": Decimal("12.50"),
        "o": {"x": "a", "y": None},
        "doc": '{"free":[1,2]}',
        "added": None,
    }
    assert rows[1]["amount"] == Decimal("100000.00")
    assert rows[1]["o"] == {"x": "b", "y": 3}
    assert rows[1]["ts"] is None
    assert (rows[2]["o"], rows[2]["added"], rows[2]["doc"]) == ({"x": "c", "y": None}, "z", None)
    assert table.schema().find_field("id").required


def test_incompatible_change_is_refused_before_touching_the_table(table: Any) -> None:
    before = table.schema()
    bad = {"type": "object", "properties": {"id": {"type": "string"}, "o": {"type": "object"}}}
    with pytest.raises(SchemaEvolutionError, match=r"field 'id' incompatible: int64 -> string"):
        evolve(table.schema().as_arrow(), json_schema_to_arrow(bad).schema, stream="orders")
    assert table.schema() == before
