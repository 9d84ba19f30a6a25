"""target-parquet end to end through its console script: data, state, CLI conventions."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import orjson

from tests.fixtures.cli import RunCli, assert_no_secret
from tests.target_parquet.helpers import (
    duck,
    parquet_files,
    read_rows,
    record,
    schema,
    state,
    states,
    target,
    user,
    users_stream,
    write_config,
)

CANARY = "canary-parquet-s3cret-7731"


def test_records_land_as_parquet_readable_by_pyarrow_and_duckdb(tmp_path: Path) -> None:
    dest = tmp_path / "out"
    data = (
        users_stream(50, state_every=20)
        + schema(
            "orders",
            {"oid": {"type": "integer"}, "total": {"type": "number", "multipleOf": 0.01}},
            ["oid"],
        )
        + record({"oid": 7, "total": 9.99}, "orders")
        + state({"done": True})
    )
    res = target(tmp_path, {"destination_path": str(dest)}, data)
    assert res.returncode == 0, res.stderr
    # one commit at the end covers every STATE: the latest one is emitted
    assert states(res.stdout) == [{"done": True}]
    rows = read_rows(dest / "users")
    assert [r["id"] for r in rows] == list(range(1, 51))
    first = rows[0]
    assert first["updated_at"] == dt.datetime(2024, 1, 2, 1, tzinfo=dt.UTC)
    assert first["address"] == {"city": "Oslo", "zip": None}
    assert first["tags"] == ["a"]
    assert orjson.loads(rows[3]["extra"]) == {"k": 4}  # an object without properties: JSON text
    glob = f"{dest}/users/**/*.parquet"
    sql = "select count(*), count(distinct name) from read_parquet(?)"
    assert duck(sql, glob) == [(50, 50)]
    [(total,)] = duck("select total from read_parquet(?)", f"{dest}/orders/*.parquet")
    assert str(total) == "9.99"  # an exact decimal


def test_each_flush_emits_the_state_it_covers(tmp_path: Path) -> None:
    dest = tmp_path / "out"
    data = users_stream(9, state_every=3)
    res = target(tmp_path, {"destination_path": str(dest), "flush_max_rows": 3}, data)
    assert res.returncode == 0, res.stderr
    assert states(res.stdout) == [{"bookmarks": {"users": {"id": i}}} for i in (3, 6, 9)]
    assert len(parquet_files(dest)) == 3
    assert b'METRIC: {"type":"counter","metric":"record_count","value":3' in res.stderr


def test_state_with_nothing_uncommitted_is_emitted_at_once(tmp_path: Path) -> None:
    res = target(
        tmp_path, {"destination_path": str(tmp_path / "o")}, state({"a": 1}) + state({"a": 2})
    )
    assert res.returncode == 0, res.stderr
    assert states(res.stdout) == [{"a": 1}, {"a": 2}]


def test_config_files_merge_later_wins_and_env(tmp_path: Path, run_cli: RunCli) -> None:
    dest = tmp_path / "out"
    first = write_config(tmp_path, {"destination_path": str(tmp_path / "ignored")}, "a.json")
    second = write_config(tmp_path, {"destination_path": str(dest)}, "b.json")
    data = users_stream(3, state_every=1)
    res = run_cli("target-parquet", "--config", first, "--config", second, input=data)
    assert res.returncode == 0, res.stderr
    assert len(read_rows(dest / "users")) == 3
    assert not (tmp_path / "ignored").exists()

    env_dest = tmp_path / "env-out"
    res = run_cli(
        "target-parquet",
        "--config",
        "ENV",
        input=data,
        env={
            "TARGET_PARQUET_DESTINATION_PATH": str(env_dest),
            "TARGET_PARQUET_FLUSH_MAX_ROWS": "2",
        },
    )
    assert res.returncode == 0, res.stderr
    assert len(parquet_files(env_dest)) == 2  # 2 + 1 rows: the flush setting came from ENV


def test_input_file_about_and_version(tmp_path: Path, run_cli: RunCli) -> None:
    dest = tmp_path / "out"
    src = tmp_path / "in.jsonl"
    src.write_bytes(users_stream(4))
    cfg = write_config(tmp_path, {"destination_path": str(dest)})
    res = run_cli("target-parquet", "--config", cfg, "--input", src)
    assert res.returncode == 0, res.stderr
    assert len(read_rows(dest / "users")) == 4

    about = run_cli("target-parquet", "--about")
    info = orjson.loads(about.stdout)
    assert info["name"] == "target-parquet"
    assert "destination_path" in info["settings"]["properties"]
    assert info["settings"]["properties"]["aws_secret_access_key"]["secret"] is True
    md = run_cli("target-parquet", "--about", "--format", "markdown").stdout.decode()
    assert "| `compression` |" in md
    assert "TARGET_PARQUET_" in md
    version = run_cli("target-parquet", "--version")
    assert version.returncode == 0
    assert version.stdout.startswith(b"target-parquet ")


def test_bad_settings_name_the_setting_not_the_secret(tmp_path: Path) -> None:
    config = {
        "destination_path": str(tmp_path / "o"),
        "aws_secret_access_key": CANARY,
        "compression": "lzma-of-doom",
        "flush_max_rows": CANARY,
    }
    res = target(tmp_path, config, users_stream(1))
    assert res.returncode == 3
    err = res.stderr.decode()
    assert "compression" in err
    assert "flush_max_rows" in err
    assert_no_secret(CANARY, res.stdout, res.stderr)
    missing = target(tmp_path, {}, b"")
    assert missing.returncode == 3
    assert b"destination_path" in missing.stderr


def test_usage_errors(tmp_path: Path, run_cli: RunCli) -> None:
    assert run_cli("target-parquet").returncode == 2
    assert run_cli("target-parquet", "--bogus").returncode == 2
    cfg = write_config(tmp_path, {"destination_path": str(tmp_path)})
    res = run_cli("target-parquet", "--config", cfg, "--input", tmp_path / "missing.jsonl")
    assert res.returncode == 2


def test_repeated_identical_schema_and_lowercase_types(tmp_path: Path) -> None:
    dest = tmp_path / "out"
    data = (
        schema()
        + record(user(1))
        + schema()
        + b'{"type": "record", "stream": "users", "record": '
        + orjson.dumps(user(2))
        + b"}\n"
        + b'{"stream": "users", "type": "RECORD", "record": '
        + orjson.dumps(user(3))
        + b"}\n"
        + b'{"type":"state","value":{"x":1}}\n'
    )
    res = target(tmp_path, {"destination_path": str(dest)}, data)
    assert res.returncode == 0, res.stderr
    assert [r["id"] for r in read_rows(dest / "users")] == [1, 2, 3]
    assert states(res.stdout) == [{"x": 1}]
    assert len(parquet_files(dest)) == 1  # the repeated SCHEMA did not roll the file
