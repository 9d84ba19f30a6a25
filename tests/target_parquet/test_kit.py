"""The target kit's loop through its public API, with a sink that records what it is asked."""

from __future__ import annotations

import io
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from typing import Any

import orjson
import pyarrow as pa
import pytest
from dativo_targets.kit.loop import run_target
from dativo_targets.kit.settings import KitSettings
from dativo_targets.kit.sink import StreamSchema

from dativo_protocol.errors import RecordValidationError
from tests.target_parquet.helpers import USERS_SCHEMA, line, record, schema, state, user


class RecordingSink:
    def __init__(self, output: io.BytesIO) -> None:
        self.output = output
        self.calls: list[tuple[Any, ...]] = []
        self.rows: dict[str, list[dict[str, Any]]] = {}
        self.uncommitted: dict[str, list[dict[str, Any]]] = {}

    def open_stream(self, stream: str, schema: StreamSchema) -> None:
        self.calls.append(("open", stream))

    def write(self, stream: str, batch: pa.RecordBatch) -> None:
        self.uncommitted.setdefault(stream, []).extend(batch.to_pylist())

    def activate_version(self, stream: str, version: int) -> None:
        self.calls.append(("activate", version))

    def commit(self, state: Mapping[str, Any] | None) -> None:
        # nothing reached stdout that this commit is about to cover
        self.calls.append(("commit", state, self.output.getvalue().count(b"\n")))
        for stream, rows in self.uncommitted.items():
            self.rows.setdefault(stream, []).extend(rows)
        self.uncommitted.clear()

    def abort(self) -> None:
        self.calls.append(("abort", None))
        self.uncommitted.clear()

    def close(self) -> None:
        self.calls.append(("close", None))


ORDERS = {"oid": {"type": "integer"}, "n": {"type": "integer"}}
#: users without the free-form object (stored as JSON text, which only the row path writes)
FAST = {k: v for k, v in USERS_SCHEMA["properties"].items() if k != "extra"}


def run(data: bytes, **settings: Any) -> tuple[RecordingSink, Any, list[Any]]:
    out = io.BytesIO()
    sink = RecordingSink(out)
    stats = run_target(io.BytesIO(data), out, sink, KitSettings(**settings))
    return sink, stats, [orjson.loads(x) for x in out.getvalue().splitlines()]


def test_states_and_interleaved_streams_stay_on_the_arrow_path() -> None:
    body = [schema("users", FAST), schema("orders", ORDERS, ["oid"])]
    for i in range(1, 301):
        body.append(record({k: v for k, v in user(i).items() if k != "extra"}))
        body.append(record({"oid": i, "n": i * 2}, "orders"))
        body.append(state({"at": i}))
    sink, stats, emitted = run(b"".join(body))
    assert stats.row_path_lines == 0
    assert [r["id"] for r in sink.rows["users"]] == list(range(1, 301))
    assert [r["n"] for r in sink.rows["orders"]] == [i * 2 for i in range(1, 301)]
    assert emitted == [{"at": 300}]
    assert ("commit", {"at": 300}, 0) in sink.calls


def test_each_commit_emits_the_latest_covered_state_after_committing() -> None:
    body = [schema()]
    for i in range(1, 7):
        body.append(record(user(i)))
        body.append(state({"at": i}))
    sink, stats, emitted = run(b"".join(body), flush_max_rows=2)
    commits = [c for c in sink.calls if c[0] == "commit"]
    # each commit saw only the STATEs emitted before it; it then emitted its own
    assert [(c[1], c[2]) for c in commits] == [({"at": 2}, 0), ({"at": 4}, 1), ({"at": 6}, 2)]
    assert emitted == [{"at": 2}, {"at": 4}, {"at": 6}]
    assert stats.commits == 3


def test_failure_aborts_and_emits_nothing_uncommitted() -> None:
    data = schema() + record(user(1)) + state({"at": 1}) + record({"id": "x"})
    out = io.BytesIO()
    sink = RecordingSink(out)
    with pytest.raises(RecordValidationError) as err:
        run_target(io.BytesIO(data), out, sink, KitSettings())
    assert err.value.line == 4
    assert sink.calls[-2:] == [("abort", None), ("close", None)]
    assert out.getvalue() == b""
    assert sink.rows == {}


def test_activate_version_and_schema_change_reach_the_sink() -> None:
    av = line({"type": "ACTIVATE_VERSION", "stream": "orders", "version": 5})
    changed = schema("orders", {**ORDERS, "x": {"type": "string"}}, ["oid"])
    data = schema("orders", ORDERS, ["oid"]) + schema("orders", ORDERS, ["oid"]) + av + changed
    sink, _, _ = run(data)
    assert [c for c in sink.calls if c[0] in ("open", "activate")] == [
        ("open", "orders"),
        ("activate", 5),
        ("open", "orders"),
    ]
    assert any(c[0] == "commit" for c in sink.calls)  # ACTIVATE_VERSION needs a commit


_STUCK_TARGET = """
import sys, threading
from dativo_targets.kit import cli
from dativo_targets.kit.settings import KitSettings

cli.SIGTERM_GRACE_SECONDS = 1.0

class StuckSink:
    def open_stream(self, stream, schema): pass
    def write(self, stream, batch): pass
    def activate_version(self, stream, version): pass
    def commit(self, state): pass
    def abort(self): threading.Event().wait()  # a stop that never ends
    def close(self): pass

app = cli.TargetApp(
    name="target-stuck", description="", version="0", settings_model=KitSettings,
    make_sink=lambda settings, redactor: StuckSink(),
)
cli.target_main(app)()
"""


def test_a_target_that_cannot_stop_after_sigterm_exits_after_the_grace_period(tmp_path):
    """SIGTERM starts an orderly stop; if that hangs, the process still ends (exit 130) within
    the grace period, as a SIGKILL would end it: nothing is committed or acknowledged."""
    config = tmp_path / "c.json"
    config.write_text("{}")
    proc = subprocess.Popen(
        [sys.executable, "-c", _STUCK_TARGET, "--config", str(config)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdin is not None
    proc.stdin.write(
        b'{"type":"SCHEMA","stream":"s","schema":{"properties":{"id":{"type":"integer"}}},"key_properties":[]}\n'
    )
    proc.stdin.flush()
    time.sleep(1.5)  # started and reading
    proc.send_signal(signal.SIGTERM)
    started = time.monotonic()
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert time.monotonic() - started < 15
    assert b"did not stop within 1 s of SIGTERM" in err
    assert out == b""
