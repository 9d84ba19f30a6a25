"""``dativo convert`` through the real console script: tolerance, errors, CONTROL, secrets."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest

from dativo_protocol import codec
from dativo_protocol.errors import ExitCode
from tests.fixtures.cli import RunCli, assert_no_secret

CANARY = "canary-s3cr3t-9f2b7c"

CATALOG: dict[str, Any] = {
    "streams": [
        {
            "stream": {
                "name": "users",
                "namespace": "crm",
                "json_schema": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "integer"},
                        "org": {"type": "object", "properties": {"id": {"type": "integer"}}},
                        "updated": {"type": "string"},
                    },
                },
                "supported_sync_modes": ["full_refresh", "incremental"],
                "source_defined_cursor": True,
                "default_cursor_field": ["updated"],
                "source_defined_primary_key": [["id"]],
            },
            "sync_mode": "incremental",
            "destination_sync_mode": "append_dedup",
            "cursor_field": ["updated"],
            "primary_key": [["org", "id"], ["id"]],
        }
    ]
}


def record(i: int, emitted_at: float | int = 1700000000000) -> dict[str, Any]:
    return {
        "type": "RECORD",
        "record": {
            "stream": "users",
            "namespace": "crm",
            "data": {"id": i, "org": {"id": 1}, "updated": f"2024-01-0{i}"},
            "emitted_at": emitted_at,
        },
    }


def state(cursor: str) -> dict[str, Any]:
    descriptor = {"name": "users", "namespace": "crm"}
    return {
        "type": "STATE",
        "state": {
            "type": "STREAM",
            "stream": {"stream_descriptor": descriptor, "stream_state": {"updated": cursor}},
        },
    }


def lines(*messages: dict[str, Any] | bytes) -> bytes:
    return b"".join(m if isinstance(m, bytes) else codec.dumps_line(m) for m in messages)


@pytest.fixture
def catalog_file(tmp_path: Path) -> Path:
    path = tmp_path / "catalog.json"
    path.write_bytes(codec.dumps(CATALOG))
    return path


def convert(run_cli: RunCli, *args: Any, input: bytes) -> tuple[int, list[dict[str, Any]], str]:
    proc = run_cli("dativo", "convert", *args, input=input)
    return proc.returncode, [codec.loads(x) for x in proc.stdout.splitlines()], proc.stderr.decode()


def test_airbyte_to_singer_keys_namespace_and_tolerance(
    run_cli: RunCli, catalog_file: Path
) -> None:
    pretty = codec.dumps_pretty(state("2024-01-02")).encode() + b"\n"  # older CDKs pretty-print
    stream = lines(
        b"Starting connector (not JSON)\n",
        {"type": "LOG", "log": {"level": "INFO", "message": "hello from the source"}},
        {
            "type": "TRACE",
            "trace": {"type": "STREAM_STATUS", "emitted_at": 1.5, "stream_status": {}},
        },
        record(1, 1700000000123.456),
        b"[1, 2, 3]\n",
        {"type": "SOMETHING_NEW", "x": 1},
        record(2),
        pretty,
    )
    code, out, err = convert(
        run_cli, "--from", "airbyte", "--to", "singer", "--catalog", catalog_file, input=stream
    )
    assert code == 0, err
    assert [m["type"] for m in out] == ["SCHEMA", "RECORD", "RECORD", "STATE"]
    schema = out[0]
    assert schema["stream"] == "crm-users"
    assert schema["key_properties"] == ["org.id", "id"]  # composite, nested path kept
    assert schema["bookmark_properties"] == ["updated"]
    assert out[1]["time_extracted"] == "2023-11-14T22:13:20.123456Z"
    assert out[2]["time_extracted"] == "2023-11-14T22:13:20.000000Z"
    assert out[3]["value"]["airbyte_state"] == [state("2024-01-02")["state"]]
    assert "hello from the source" in err  # LOG -> stderr


def test_trace_error_fails_after_converting_the_rest(run_cli: RunCli, catalog_file: Path) -> None:
    trace = {
        "type": "TRACE",
        "trace": {
            "type": "ERROR",
            "emitted_at": 1700000000000,
            "error": {
                "message": "Something went wrong in the connector.",
                "internal_message": f"HTTP 401 token={CANARY}",
                "stack_trace": f"Traceback ... {CANARY}",
                "failure_type": "system_error",
            },
        },
    }
    stream = lines(record(1), state("a"), trace, record(2), state("b"))
    proc = run_cli(
        "dativo",
        "convert",
        "--from",
        "airbyte",
        "--to",
        "singer",
        "--catalog",
        catalog_file,
        input=stream,
    )
    assert proc.returncode == ExitCode.CONNECTOR
    out = [codec.loads(x) for x in proc.stdout.splitlines()]
    assert [m["type"] for m in out] == ["SCHEMA", "RECORD", "STATE", "RECORD", "STATE"]
    err = proc.stderr.decode()
    assert "Something went wrong in the connector." in err
    assert "system_error" in err
    assert_no_secret(CANARY, proc.stdout, proc.stderr)


def test_control_config_is_persisted_and_never_printed(
    run_cli: RunCli, catalog_file: Path, tmp_path: Path
) -> None:
    new_config = {"client_id": "abc", "refresh_token": CANARY}
    control = {
        "type": "CONTROL",
        "control": {
            "type": "CONNECTOR_CONFIG",
            "emitted_at": 1.0,
            "connectorConfig": {"config": new_config},
        },
    }
    stream = lines(record(1), control, state("a"))
    target = tmp_path / "out" / "config.json"
    args = ["--from", "airbyte", "--to", "singer", "--catalog", catalog_file]
    proc = run_cli("dativo", "convert", *args, "--control-out", target, input=stream)
    assert proc.returncode == 0, proc.stderr.decode()
    assert codec.loads(target.read_bytes()) == new_config
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert_no_secret(CANARY, proc.stdout, proc.stderr)

    unsaved = run_cli("dativo", "convert", *args, input=stream)
    assert unsaved.returncode == 0
    assert b"CONNECTOR_CONFIG" in unsaved.stderr  # surfaced as a warning...
    assert_no_secret(CANARY, unsaved.stdout, unsaved.stderr)  # ...without its values


def test_record_without_catalog_is_an_error_unless_schemaless(run_cli: RunCli) -> None:
    stream = lines(record(1), record(2))
    code, out, err = convert(run_cli, "--from", "airbyte", "--to", "singer", input=stream)
    assert code == ExitCode.PROTOCOL
    assert out == []
    assert "stream 'crm-users', line 1" in err
    assert "--catalog" in err

    code, out, err = convert(
        run_cli, "--from", "airbyte", "--to", "singer", "--allow-schemaless", input=stream
    )
    assert code == 0, err
    assert out[0] == {
        "type": "SCHEMA",
        "stream": "crm-users",
        "schema": {"type": "object"},
        "key_properties": [],
    }
    assert len(out) == 3


def test_catalog_message_in_the_stream_gives_schemas(run_cli: RunCli) -> None:
    plain = {"streams": [CATALOG["streams"][0]["stream"]]}
    stream = lines({"type": "CATALOG", "catalog": plain}, record(1))
    code, out, err = convert(run_cli, "--from", "airbyte", "--to", "singer", input=stream)
    assert code == 0, err
    assert out[0]["type"] == "SCHEMA"
    assert out[0]["key_properties"] == ["id"]  # source-defined key of a plain catalog


def test_truncated_airbyte_stream_is_an_error(run_cli: RunCli, catalog_file: Path) -> None:
    stream = lines(record(1), state("a")) + codec.dumps(record(2))[:-7]
    code, out, err = convert(
        run_cli, "--from", "airbyte", "--to", "singer", "--catalog", catalog_file, input=stream
    )
    assert code == ExitCode.PROTOCOL
    assert "line 3" in err
    assert "truncated" in err
    assert [m["type"] for m in out] == ["SCHEMA", "RECORD", "STATE"]  # nothing past the break


def test_singer_to_airbyte_with_catalog_and_catalog_out(
    run_cli: RunCli, catalog_file: Path, tmp_path: Path
) -> None:
    singer = lines(
        {
            "type": "SCHEMA",
            "stream": "crm-users",
            "schema": CATALOG["streams"][0]["stream"]["json_schema"],
            "key_properties": ["org.id", "id"],
            "bookmark_properties": ["updated"],
        },
        {
            "type": "record",
            "stream": "crm-users",
            "record": {"id": 1},
            "time_extracted": "2024-01-01T00:00:00+01:00",
        },
        {"type": "RECORD", "stream": "crm-users", "record": {"id": 2}},
        {"type": "STATE", "value": {"bookmarks": {"crm-users": {"updated": "x"}}}},
    )
    out_catalog = tmp_path / "configured.json"
    args = [
        "--from",
        "singer",
        "--to",
        "airbyte",
        "--catalog",
        catalog_file,
        "--catalog-out",
        out_catalog,
    ]
    code, out, err = convert(run_cli, *args, input=singer)
    assert code == 0, err
    assert [m["type"] for m in out] == ["RECORD", "RECORD", "STATE"]
    first = out[0]["record"]
    assert (first["stream"], first["namespace"], first["emitted_at"]) == (
        "users",
        "crm",
        1704063600000,
    )
    assert isinstance(out[1]["record"]["emitted_at"], int)  # no time_extracted: conversion time
    shared = out[2]["state"]["global"]["shared_state"]
    assert shared == {"dativo_singer_state": {"bookmarks": {"crm-users": {"updated": "x"}}}}
    configured = codec.loads(out_catalog.read_bytes())["streams"][0]
    assert configured["primary_key"] == [["org", "id"], ["id"]]
    assert configured["cursor_field"] == ["updated"]
    assert configured["sync_mode"] == "incremental"


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (
            f'{{"type": "RECORD", "stream": "s", "record": {{"password": "{CANARY}"}}'.encode(),
            "invalid JSON",
        ),
        (b'{"type": "RECORD", "stream": "nope", "record": {}}', "before"),
        (b'{"type": "BATCH", "stream": "s", "encoding": {}, "manifest": []}', "BATCH"),
    ],
)
def test_singer_input_errors_name_the_line_and_echo_nothing(
    run_cli: RunCli, bad: bytes, reason: str
) -> None:
    good = lines({"type": "SCHEMA", "stream": "s", "schema": {}, "key_properties": []})
    proc = run_cli(
        "dativo", "convert", "--from", "singer", "--to", "airbyte", input=good + bad + b"\n"
    )
    assert proc.returncode == ExitCode.PROTOCOL
    err = proc.stderr.decode()
    assert "line 2" in err
    assert reason in err
    assert_no_secret(CANARY, proc.stdout, proc.stderr)


def test_usage_errors(run_cli: RunCli, catalog_file: Path) -> None:
    same = run_cli("dativo", "convert", "--from", "singer", "--to", "singer", input=b"")
    assert same.returncode == ExitCode.USAGE
    wrong = run_cli(
        "dativo",
        "convert",
        "--from",
        "singer",
        "--to",
        "airbyte",
        "--state",
        catalog_file,
        input=b"",
    )
    assert wrong.returncode == ExitCode.USAGE
