"""The target kit's loop on top of the core's block reader (dativo_protocol.blocks, tested in
tests/test_blocks.py): it reuses the buffer and commits where it should across blocks."""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

import orjson
from dativo_targets.kit.loop import run_target
from dativo_targets.kit.settings import KitSettings

from tests.target_parquet.helpers import record, schema, state
from tests.target_parquet.test_kit import FAST, ORDERS, RecordingSink


def test_the_loop_reuses_its_buffer_and_keeps_every_record() -> None:
    body = [schema("users", FAST)]
    for i in range(1, 2001):
        body.append(record({"id": i, "updated_at": "2024-01-01T00:00:00Z", "name": f"n{i}"}))
        if i % 100 == 0:
            body.append(state({"at": i}))
    out = io.BytesIO()
    sink = RecordingSink(out)
    settings = KitSettings(read_chunk_bytes=8192, flush_max_rows=500)
    stats = run_target(io.BytesIO(b"".join(body)), out, sink, settings)
    assert [r["id"] for r in sink.rows["users"]] == list(range(1, 2001))
    assert stats.row_path_lines == 0
    assert stats.fresh_buffers == 0
    assert out.getvalue().splitlines()[-1] == b'{"at":2000}'


class CountingSink(RecordingSink):
    """Also records how many rows each commit covered."""

    def __init__(self, output: io.BytesIO) -> None:
        super().__init__(output)
        self.committed_rows: list[int] = []

    def commit(self, state: Mapping[str, Any] | None) -> None:
        self.committed_rows.append(sum(len(rows) for rows in self.uncommitted.values()))
        super().commit(state)


def test_commits_follow_flush_max_rows_across_blocks_and_control_lines() -> None:
    """Blocks hold about 300 lines here and commits fall every 500 rows, so most commits land
    inside a block (at a STATE line); a SCHEMA midway sends its piece to the scan."""
    body = [schema("users", FAST)]
    for i in range(1, 3001):
        body.append(record({"id": i, "updated_at": "2024-01-01T00:00:00Z", "name": f"n{i}"}))
        if i == 1500:
            body.append(schema("orders", ORDERS, ["oid"]))
        if i > 1500:
            body.append(record({"oid": i, "n": 1}, "orders"))
        if i % 50 == 0:
            body.append(state({"at": i}))
    out = io.BytesIO()
    sink = CountingSink(out)
    settings = KitSettings(read_chunk_bytes=16384, flush_max_rows=500)
    stats = run_target(io.BytesIO(b"".join(body)), out, sink, settings)
    assert [r["id"] for r in sink.rows["users"]] == list(range(1, 3001))
    assert [r["oid"] for r in sink.rows["orders"]] == list(range(1501, 3001))
    emitted = [orjson.loads(x)["at"] for x in out.getvalue().splitlines()]
    assert emitted == sorted(set(emitted))
    assert emitted[-1] == 3000
    # a commit waits for flush_max_rows (it ends at a STATE line, so it may run a little over)
    assert all(500 <= n <= 750 for n in sink.committed_rows[:-1])
    assert stats.commits == len(sink.committed_rows) >= 8
