"""Airbyte -> Singer conversion speed: ``dativo convert`` against the parse floor.

Generates N Airbyte RECORD messages (faker-like users, a STATE every 10,000 records), then times
on the same input:

- floor: a bare loop that parses each line with orjson and writes one orjson line back;
- ours, in-process: ``dativo_protocol.airbyte.pipe.airbyte_to_singer``;
- ours, CLI: the ``dativo convert --from airbyte --to singer`` console script (start-up included);
- the reverse, Singer -> Airbyte, in-process, against the same floor on the Singer stream.

There is no peer to compare with in the Singer direction's reverse; MeltanoLabs
tap-airbyte-wrapper (Airbyte -> Singer) needs a Docker image or its own venv per source and is
not measured here.

Prints records per CPU-second (process CPU time, so a busy shared machine skews it less) and the
ratio to the floor. Usage: ``python bench/airbyte_convert.py [N]``
(default 100000; keep it small on a shared machine).
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

from dativo_protocol.airbyte.from_singer import SingerToAirbyte
from dativo_protocol.airbyte.pipe import airbyte_to_singer, singer_to_airbyte
from dativo_protocol.airbyte.to_singer import AirbyteToSinger

CATALOG = {
    "streams": [
        {
            "stream": {
                "name": "users",
                "json_schema": {"type": "object", "properties": {}},
                "supported_sync_modes": ["full_refresh", "incremental"],
                "source_defined_cursor": True,
                "default_cursor_field": ["updated_at"],
                "source_defined_primary_key": [["id"]],
            },
            "sync_mode": "incremental",
            "destination_sync_mode": "append",
        }
    ]
}


def generate(n: int) -> bytes:
    out = []
    base = 1_700_000_000_000
    for i in range(n):
        data = {
            "id": i,
            "name": f"user-{i}",
            "age": i % 90,
            "score": i * 0.5,
            "email": f"user{i}@example.com",
            "active": i % 2 == 0,
            "created_at": "2024-01-01T00:00:00+00:00",
            "updated_at": "2024-06-01T12:00:00+00:00",
            "address": {"city": "Paris", "zip": "75001"},
            "note": None if i % 3 else "hello",
        }
        out.append(
            orjson.dumps(
                {
                    "type": "RECORD",
                    "record": {"stream": "users", "data": data, "emitted_at": base + i // 7},
                }
            )
        )
        if i % 10_000 == 9_999:
            state = {
                "type": "STREAM",
                "stream": {"stream_descriptor": {"name": "users"}, "stream_state": {"id": i}},
            }
            out.append(orjson.dumps({"type": "STATE", "state": state}))
    return b"\n".join(out) + b"\n"


def floor(data: bytes) -> float:
    sink = io.BytesIO()
    start = time.process_time()
    for line in io.BytesIO(data):
        sink.write(orjson.dumps(orjson.loads(line), option=orjson.OPT_APPEND_NEWLINE))
    return time.process_time() - start


def in_process(data: bytes) -> float:
    start = time.process_time()
    airbyte_to_singer(io.BytesIO(data), io.BytesIO(), AirbyteToSinger(CATALOG))
    return time.process_time() - start


def reverse(singer: bytes) -> float:
    start = time.process_time()
    singer_to_airbyte(io.BytesIO(singer), io.BytesIO(), SingerToAirbyte())
    return time.process_time() - start


def cli(data: bytes) -> float:
    exe = Path(sys.executable).parent / "dativo"
    with tempfile.TemporaryDirectory() as tmp:
        catalog = Path(tmp) / "catalog.json"
        catalog.write_bytes(orjson.dumps(CATALOG))
        before = os.times()
        subprocess.run(
            [str(exe), "convert", "--from", "airbyte", "--to", "singer", "--catalog", str(catalog)],
            input=data,
            stdout=subprocess.DEVNULL,
            check=True,
        )
        after = os.times()
        return (after.children_user - before.children_user) + (
            after.children_system - before.children_system
        )


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    data = generate(n)
    base = min(floor(data) for _ in range(3))
    ours = min(in_process(data) for _ in range(3))
    whole = min(cli(data) for _ in range(2))
    singer = io.BytesIO()
    airbyte_to_singer(io.BytesIO(data), singer, AirbyteToSinger(CATALOG))
    singer_floor = min(floor(singer.getvalue()) for _ in range(3))
    back = min(reverse(singer.getvalue()) for _ in range(3))
    print(f"records: {n:,}  input: {len(data) / 1e6:.1f} MB")
    print(f"floor (orjson loads+dumps loop): {n / base:>10,.0f} rec/s")
    print(
        f"dativo convert, in-process:      {n / ours:>10,.0f} rec/s  ratio to floor {base / ours:.2f}"
    )
    print(
        f"dativo convert, console script:  {n / whole:>10,.0f} rec/s  ratio to floor {base / whole:.2f}"
    )

    print(f"singer -> airbyte floor:         {n / singer_floor:>10,.0f} rec/s")
    print(
        f"singer -> airbyte, in-process:   {n / back:>10,.0f} rec/s  "
        f"ratio to floor {singer_floor / back:.2f}"
    )


if __name__ == "__main__":
    main()
