"""The standard benchmark input: a deterministic Singer stream and the same data as CSV.

    python bench/generate.py --records 100000      # writes bench/data/bench-100000.{jsonl,csv}

From another bench script (run from the repo root or bench/):

    from generate import ensure_input
    paths = ensure_input(100_000)   # Inputs(jsonl=Path, csv=Path, records=100000), cached by N

Stream ``bench``: one SCHEMA, N RECORDs of 12 fields (ints, floats, short strings, ISO
timestamps with offsets, a boolean, a nested object, some nulls) and a STATE every 10,000
records (and one at the end). The CSV has a header and the same rows; the nested object is a
JSON string there and nulls are empty cells. Same N, same bytes, on every machine.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

DATA = Path(__file__).resolve().parent / "data"
STREAM = "bench"
STATE_EVERY = 10_000
DEFAULT_RECORDS = 1_000_000

FIELDS = [
    "id",
    "account_id",
    "amount",
    "ratio",
    "name",
    "country",
    "status",
    "created_at",
    "updated_at",
    "active",
    "meta",
    "note",
]

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "account_id": {"type": "integer"},
        "amount": {"type": "number"},
        "ratio": {"type": ["number", "null"]},
        "name": {"type": "string"},
        "country": {"type": "string"},
        "status": {"type": ["string", "null"]},
        "created_at": {"type": "string", "format": "date-time"},
        "updated_at": {"type": ["string", "null"], "format": "date-time"},
        "active": {"type": "boolean"},
        "meta": {
            "type": ["object", "null"],
            "properties": {
                "source": {"type": "string"},
                "version": {"type": "integer"},
                "score": {"type": "number"},
            },
        },
        "note": {"type": ["string", "null"]},
    },
}

_COUNTRIES = ["NO", "SE", "DK", "FI", "DE", "FR", "US", "BR", "JP", "IN"]
_STATUSES = ["new", "open", "paid", "shipped", "closed", None]
_SOURCES = ["web", "app", "api", "import"]
_NAMES = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"]
_BASE = dt.datetime(2024, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=2)))
_OFFSETS = [dt.timezone(dt.timedelta(hours=h)) for h in (-5, 0, 1, 2, 9)]


@dataclass(frozen=True)
class Inputs:
    jsonl: Path
    csv: Path
    records: int


def record(i: int) -> dict[str, Any]:
    """Record number ``i`` (pure arithmetic: no RNG state, identical everywhere)."""
    created = (_BASE + dt.timedelta(seconds=i * 37)).astimezone(_OFFSETS[i % 5])
    updated = None if i % 7 == 0 else (created + dt.timedelta(minutes=i % 90)).isoformat()
    return {
        "id": i,
        "account_id": (i * 7919) % 100_003,
        "amount": round(((i * 104729) % 1_000_000) / 100.0, 2),
        "ratio": None if i % 11 == 0 else ((i * 31) % 1000) / 997.0,
        "name": f"{_NAMES[i % 8]}-{i % 1000}",
        "country": _COUNTRIES[i % 10],
        "status": _STATUSES[i % 6],
        "created_at": created.isoformat(),
        "updated_at": updated,
        "active": i % 3 != 0,
        "meta": None
        if i % 13 == 0
        else {"source": _SOURCES[i % 4], "version": i % 5, "score": (i % 100) / 8.0},
        "note": None if i % 2 == 0 else f"note {i % 97}",
    }


def messages(n: int) -> Iterator[dict[str, Any]]:
    yield {"type": "SCHEMA", "stream": STREAM, "schema": SCHEMA, "key_properties": ["id"]}
    for i in range(1, n + 1):
        yield {"type": "RECORD", "stream": STREAM, "record": record(i)}
        if i % STATE_EVERY == 0:
            yield _state(i)
    if n % STATE_EVERY:
        yield _state(n)


def _state(i: int) -> dict[str, Any]:
    return {"type": "STATE", "value": {"bookmarks": {STREAM: {"id": i}}}}


def _write_jsonl(path: Path, n: int) -> None:
    with open(path, "wb") as out:
        buf: list[bytes] = []
        for msg in messages(n):
            buf.append(orjson.dumps(msg, option=orjson.OPT_APPEND_NEWLINE))
            if len(buf) >= 10_000:
                out.write(b"".join(buf))
                buf.clear()
        out.write(b"".join(buf))


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, dict):
        return orjson.dumps(value).decode()
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def _write_csv(path: Path, n: int) -> None:
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(FIELDS)
        for i in range(1, n + 1):
            rec = record(i)
            writer.writerow([_csv_cell(rec[f]) for f in FIELDS])


def ensure_input(records: int = DEFAULT_RECORDS, data_dir: Path = DATA) -> Inputs:
    """The benchmark files for ``records`` records, generated once and cached by N."""
    data_dir.mkdir(parents=True, exist_ok=True)
    inputs = Inputs(data_dir / f"bench-{records}.jsonl", data_dir / f"bench-{records}.csv", records)
    for path, write in ((inputs.jsonl, _write_jsonl), (inputs.csv, _write_csv)):
        if not path.exists():
            tmp = path.with_suffix(f"{path.suffix}.tmp{os.getpid()}")
            write(tmp, records)
            tmp.replace(path)  # atomic: a reader never sees half a file
    return inputs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--records", type=int, default=DEFAULT_RECORDS)
    args = parser.parse_args()
    inputs = ensure_input(args.records)
    for path in (inputs.jsonl, inputs.csv):
        print(f"{path}  {path.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
