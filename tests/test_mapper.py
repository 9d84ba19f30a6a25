"""`dativo map`: singer-sdk stream maps applied to real Singer streams between processes."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from dativo_protocol import codec
from dativo_protocol.errors import ConfigError, RecordBeforeSchemaError
from dativo_protocol.runner.launch import mapper_invocation
from dativo_protocol.runner.mapper import StreamMapper
from tests.fixtures.cli import assert_no_secret
from tests.registry_helpers import TINY_TAP, write_json


def tap_output(tmp_path: Path, rows: int = 6) -> bytes:
    config = write_json(tmp_path / "tap.json", {"api_key": "letmein", "rows": rows})
    return subprocess.run(
        [sys.executable, str(TINY_TAP), "--config", str(config)], capture_output=True, check=True
    ).stdout


def messages(out: bytes) -> list[dict[str, Any]]:
    return [codec.loads(line) for line in out.splitlines() if line.strip()]


def run_map(run_cli, tmp_path: Path, maps: dict[str, Any], data: bytes):
    config = write_json(tmp_path / "maps.json", maps)
    return run_cli("dativo", "map", "--config", config, input=data)


def test_rename_drop_filter_hash_and_state_order(run_cli, tmp_path: Path):
    salt = "pepper-Canary-91"
    maps = {
        "stream_maps": {
            "users": {
                "__alias__": "customers",
                "email": "sha256(email + config['salt'])",
                "name": None,
                "__filter__": "country == 'DE'",
            },
            "orders": {
                "__key_properties__": ["order_id", "user_id"],
                "user_id": "md5(str(user_id))",
            },
        },
        "stream_map_config": {"salt": salt},
    }
    source = tap_output(tmp_path)
    done = run_map(run_cli, tmp_path, maps, source)
    assert done.returncode == 0, done.stderr
    out = messages(done.stdout)
    kinds = [(m["type"], m.get("stream")) for m in out]
    # order kept: schema, records, state per stream; STATEs unchanged and where they were
    assert kinds == [
        ("SCHEMA", "customers"),
        *[("RECORD", "customers")] * 3,
        ("STATE", None),
        ("SCHEMA", "orders"),
        *[("RECORD", "orders")] * 6,
        ("STATE", None),
    ]
    states_in = [m for m in messages(source) if m["type"] == "STATE"]
    assert [m for m in out if m["type"] == "STATE"] == states_in
    schema = out[0]
    assert "name" not in schema["schema"]["properties"]
    assert schema["key_properties"] == ["id"]
    customers = [
        m["record"] for m in out if m.get("stream") == "customers" and m["type"] == "RECORD"
    ]
    assert [c["id"] for c in customers] == [1, 3, 5]  # filter: country == 'DE'
    for c in customers:
        assert "name" not in c
        expected = hashlib.sha256(f"user{c['id']}@example.com{salt}".encode()).hexdigest()
        assert c["email"] == expected
    orders_schema = next(m for m in out if m["type"] == "SCHEMA" and m["stream"] == "orders")
    assert orders_schema["key_properties"] == ["order_id", "user_id"]
    first_order = next(
        m["record"] for m in out if m["type"] == "RECORD" and m["stream"] == "orders"
    )
    assert first_order == {"order_id": 0, "user_id": hashlib.md5(b"0").hexdigest()}  # noqa: S324
    assert_no_secret(salt, done.stdout, done.stderr)


def test_unmapped_streams_pass_through_byte_for_byte_and_else_drops(run_cli, tmp_path: Path):
    source = tap_output(tmp_path, rows=2)
    done = run_map(run_cli, tmp_path, {"stream_maps": {"users": {"name": None}}}, source)
    assert done.returncode == 0, done.stderr
    source_orders = [ln for ln in source.splitlines() if b'"orders"' in ln]
    out_orders = [ln for ln in done.stdout.splitlines() if b'"orders"' in ln]
    assert len(source_orders) == 4  # SCHEMA, 2 RECORDs, STATE
    assert out_orders == source_orders
    dropped = run_map(run_cli, tmp_path, {"stream_maps": {"users": {}, "__else__": None}}, source)
    assert dropped.returncode == 0, dropped.stderr
    streams = {m.get("stream") for m in messages(dropped.stdout)}
    assert streams == {"users", None}  # orders gone, STATEs kept
    assert sum(m["type"] == "STATE" for m in messages(dropped.stdout)) == 2


def test_duplicate_a_stream_with_source(run_cli, tmp_path: Path):
    maps = {"stream_maps": {"users_hashed": {"__source__": "users", "email": "md5(email)"}}}
    done = run_map(run_cli, tmp_path, maps, tap_output(tmp_path, rows=2))
    assert done.returncode == 0, done.stderr
    records = [m for m in messages(done.stdout) if m["type"] == "RECORD"]
    assert [m["stream"] for m in records if m["stream"].startswith("users")] == [
        "users",
        "users_hashed",
        "users",
        "users_hashed",
    ]


BAD_CASES = [
    ({"stream_maps": {"users": "bad"}}, b"", ConfigError, "must be an object or null"),
    ({"maps": {}}, b"", ConfigError, "unknown key 'maps'"),
    (
        {"stream_maps": {"users": {"id": None}}},
        b'{"type":"SCHEMA","stream":"users","schema":{"properties":{"id":{"type":"integer"}}},"key_properties":["id"]}\n',
        ConfigError,
        "stream 'users', line 1: stream map: Removing key property 'id' is not permitted",
    ),
    (
        {"stream_maps": {}},
        b'{"type":"RECORD","stream":"s","record":{}}\n',
        RecordBeforeSchemaError,
        "stream 's', line 1: RECORD before its SCHEMA",
    ),
    (
        {"stream_maps": {}},
        b'{"type":"BATCH","stream":"s","encoding":{"format":"jsonl"},"manifest":[]}\n',
        ConfigError,
        "stream maps cannot be applied to BATCH messages",
    ),
]


@pytest.mark.parametrize(("maps", "data", "error", "words"), BAD_CASES)
def test_bad_maps_and_bad_input_fail_precisely(maps, data, error, words):
    out: list[bytes] = []
    with pytest.raises(error) as info:
        StreamMapper(maps).run(data.splitlines(keepends=True), out.append, lambda: None)
    assert words in str(info.value)
    assert out == []


def test_cli_errors_name_line_and_never_echo_input(run_cli, tmp_path: Path):
    failing = run_map(
        run_cli,
        tmp_path,
        {"stream_maps": {"s": {"x": "md5(x)"}}},
        b'{"type":"SCHEMA","stream":"s","schema":{"properties":{"x":{}}},"key_properties":[]}\n'
        b'{"type":"RECORD","stream":"s","record":{"x":"a"}}\n'
        b'{"type":"RECORD","stream":"s","record":{"x":null}}\n',
    )
    assert failing.returncode == 3, failing.stderr
    assert b"stream 's', line 3: stream map for 's' failed on a record" in failing.stderr
    malformed = run_map(
        run_cli,
        tmp_path,
        {"stream_maps": {}},
        b'{"type":"STATE","value":{"n":1}}\n{"password": "hunter2-canary\n',
    )
    assert malformed.returncode == 4
    assert b"line 2: invalid JSON" in malformed.stderr
    assert malformed.stdout == b'{"type":"STATE","value":{"n":1}}\n'  # state before it delivered
    for done in (failing, malformed):
        assert b"Traceback" not in done.stderr
        assert_no_secret("hunter2-canary", done.stdout, done.stderr)


def test_mapper_invocation_runs_between_real_processes(tmp_path: Path):
    inv = mapper_invocation(
        {"users": {"__alias__": "people", "email": None}}, {"unused": "x"}, tmp_path / "work"
    )
    assert (tmp_path / "work" / "stream-maps.json").stat().st_mode & 0o777 == 0o600
    config = write_json(tmp_path / "tap.json", {"api_key": "letmein", "rows": 3})
    tap = subprocess.Popen(
        [sys.executable, str(TINY_TAP), "--config", str(config)], stdout=subprocess.PIPE
    )
    mapped = subprocess.run(
        list(inv.argv), stdin=tap.stdout, capture_output=True, env=dict(inv.env), check=False
    )
    assert tap.wait() == 0
    assert mapped.returncode == 0, mapped.stderr
    people = [
        m["record"]
        for m in messages(mapped.stdout)
        if m["type"] == "RECORD" and m["stream"] == "people"
    ]
    assert people == [
        {"id": i, "name": f"User {i}", "country": "DE" if i % 2 else "FR"} for i in range(3)
    ]


def test_flattening_is_singer_sdk_s():
    schema = {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "meta": {"type": "object", "properties": {"a": {"type": "integer"}}},
        },
    }
    lines = [
        codec.dumps_line(
            {"type": "SCHEMA", "stream": "s", "schema": schema, "key_properties": ["id"]}
        ),
        codec.dumps_line({"type": "RECORD", "stream": "s", "record": {"id": 1, "meta": {"a": 2}}}),
    ]
    out: list[bytes] = []
    config = {"stream_maps": {}, "flattening_enabled": True, "flattening_max_depth": 1}
    stats = StreamMapper(config).run(lines, out.append, lambda: None)
    schema_out, record_out = (codec.loads(line) for line in out)
    assert set(schema_out["schema"]["properties"]) == {"id", "meta__a"}
    assert record_out["record"] == {"id": 1, "meta__a": 2}
    assert (stats.records_in, stats.records_out) == (1, 1)
