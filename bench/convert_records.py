"""Benchmark: validated dicts → RecordBatch (``records_to_batch``) vs pyarrow's unchecked
``RecordBatch.from_pylist`` on the same records (12 fields: ints, floats, short strings, ISO
timestamps with offsets, a boolean, a nested object, a decimal, a list, some nulls).

    .venv/bin/python bench/convert_records.py [N]   # default 100_000 records

Prints records/s for both and the ratio (ours / from_pylist). from_pylist is the floor: it does
not validate (1.5 → 1 in int columns, None in non-null fields, unknown keys dropped) and cannot
parse timestamp strings, so for it timestamps are given as pre-parsed datetimes.
"""

from __future__ import annotations

import datetime as dt
import random
import sys
import time
from decimal import Decimal

import pyarrow as pa

from dativo_protocol.schema.arrow import json_schema_to_arrow
from dativo_protocol.schema.convert import records_to_batch

SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "user_id": {"type": ["null", "integer"]},
        "score": {"type": ["null", "number"]},
        "ratio": {"type": "number"},
        "name": {"type": ["null", "string"]},
        "country": {"type": "string"},
        "created_at": {"type": "string", "format": "date-time"},
        "updated_at": {"type": ["null", "string"], "format": "date-time"},
        "active": {"type": "boolean"},
        "price": {"type": ["null", "number"], "multipleOf": 0.01},
        "address": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "zip": {"type": ["null", "string"]}},
        },
        "tags": {"type": "array", "items": {"type": "string"}},
    },
}


def records(n: int) -> list[dict[str, object]]:
    rng = random.Random(7)
    base = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    out: list[dict[str, object]] = []
    for i in range(n):
        ts = (base + dt.timedelta(seconds=i)).isoformat()
        out.append(
            {
                "id": i,
                "user_id": None if i % 10 == 0 else rng.randrange(10**6),
                "score": rng.random() * 100,
                "ratio": rng.random(),
                "name": f"user{i}",
                "country": rng.choice(["DE", "FR", "US", "BR"]),
                "created_at": ts,
                "updated_at": None if i % 7 == 0 else ts.replace("+00:00", "+02:00"),
                "active": i % 2 == 0,
                "price": round(rng.random() * 1000, 2),
                "address": {"city": "Berlin", "zip": None if i % 5 == 0 else "10115"},
                "tags": ["a", "b"][: i % 3],
            }
        )
    return out


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    mapped = json_schema_to_arrow(SCHEMA, stream="bench")
    data = records(n)
    start = time.perf_counter()
    batch = records_to_batch(data, mapped)
    ours = time.perf_counter() - start

    loose = mapped.schema
    prepared = [
        {
            **r,
            "created_at": dt.datetime.fromisoformat(str(r["created_at"])),
            "updated_at": None
            if r["updated_at"] is None
            else dt.datetime.fromisoformat(str(r["updated_at"])),
            "price": None if r["price"] is None else Decimal(repr(r["price"])),
        }
        for r in data
    ]
    start = time.perf_counter()
    peer = pa.RecordBatch.from_pylist(prepared, schema=loose)
    floor = time.perf_counter() - start
    assert batch.num_rows == peer.num_rows == n
    print(f"records_to_batch      {n / ours:>12,.0f} rec/s  ({ours:.2f} s, validated)")
    print(
        f"RecordBatch.from_pylist {n / floor:>10,.0f} rec/s  ({floor:.2f} s, unchecked, pre-parsed)"
    )
    print(f"ratio ours/from_pylist  {floor / ours:.2f}")


if __name__ == "__main__":
    main()
