"""Layout: Hive partitions, rolling, compression, schema evolution, ACTIVATE_VERSION, BATCH."""

from __future__ import annotations

import gzip
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from dativo_protocol.errors import ExitCode
from tests.target_parquet.helpers import (
    duck,
    line,
    parquet_files,
    read_rows,
    record,
    schema,
    state,
    states,
    target,
    user,
    users_stream,
)


def test_hour_and_value_partitions_are_hive_folders_duckdb_reads(tmp_path: Path) -> None:
    dest = tmp_path / "out"
    config = {
        "destination_path": str(dest),
        "partition_by": [
            {"field": "name", "granularity": "value"},
            {"field": "updated_at", "granularity": "hour"},
        ],
    }
    data = schema() + b"".join(record(user(i, name=["x/y", None][i % 2])) for i in range(1, 7))
    res = target(tmp_path, config, data)
    assert res.returncode == 0, res.stderr
    folders = {f.parent.relative_to(dest / "users").as_posix() for f in parquet_files(dest)}
    assert "name_value=x_y/updated_at_day=2024-01-03/updated_at_hour=02" in folders
    assert (
        "name_value=__HIVE_DEFAULT_PARTITION__/updated_at_day=2024-01-02/updated_at_hour=01"
        in folders
    )
    sql = "select id, updated_at_hour from read_parquet(?, hive_partitioning=true) order by id"
    rows = duck(sql, f"{dest}/users/**/*.parquet")
    assert [r[0] for r in rows] == [1, 2, 3, 4, 5, 6]
    assert str(rows[0][1]).lstrip("0") == "1"


def test_files_roll_by_rows_with_row_groups_and_codec(tmp_path: Path) -> None:
    dest = tmp_path / "out"
    config = {
        "destination_path": str(dest),
        "file_max_rows": 40,
        "row_group_rows": 20,
        "compression": "snappy",
        "read_chunk_bytes": 4096,
    }
    res = target(tmp_path, config, users_stream(100))
    assert res.returncode == 0, res.stderr
    files = parquet_files(dest)
    assert len(files) >= 3  # rolled (a file closes at the first batch past 40 rows)
    meta = pq.read_metadata(files[0])
    assert meta.row_group(0).column(0).compression == "SNAPPY"
    assert all(meta.row_group(i).num_rows <= 40 for i in range(meta.num_row_groups))
    assert [r["id"] for r in read_rows(dest / "users")] == list(range(1, 101))


def test_schema_evolution_adds_columns_and_refuses_incompatible_changes(tmp_path: Path) -> None:
    dest = tmp_path / "out"
    v1 = {"id": {"type": "integer"}, "a": {"type": "string"}}
    v2 = {**v1, "b": {"type": ["null", "number"]}}
    data = (
        schema("s", v1)
        + record({"id": 1, "a": "x"}, "s")
        + schema("s", v2)
        + record({"id": 2, "a": "y", "b": 1.5}, "s")
    )
    res = target(tmp_path, {"destination_path": str(dest)}, data)
    assert res.returncode == 0, res.stderr
    rows = read_rows(dest / "s")
    assert rows == [{"id": 1, "a": "x", "b": None}, {"id": 2, "a": "y", "b": 1.5}]

    # a later run whose SCHEMA turns 'a' into an integer: refused (checked against the files)
    v3 = {"id": {"type": "integer"}, "a": {"type": "integer"}}
    bad = schema("s", v3) + record({"id": 3, "a": 3}, "s") + state({"x": 1})
    res = target(tmp_path, {"destination_path": str(dest)}, bad)
    assert res.returncode == ExitCode.CONFIG
    assert "stream 's', line 1" in res.stderr.decode()
    assert "'a'" in res.stderr.decode()
    assert states(res.stdout) == []
    # ... unless the user opts into a new folder
    res = target(
        tmp_path, {"destination_path": str(dest), "on_incompatible_schema": "new_folder"}, bad
    )
    assert res.returncode == 0, res.stderr
    new = [p for p in dest.iterdir() if p.name.startswith("s__")]
    assert len(new) == 1
    assert read_rows(new[0]) == [{"id": 3, "a": 3}]


def test_activate_version_replaces_earlier_data(tmp_path: Path) -> None:
    dest = tmp_path / "out"
    config = {"destination_path": str(dest)}
    assert target(tmp_path, config, users_stream(5)).returncode == 0
    av = line({"type": "ACTIVATE_VERSION", "stream": "users", "version": 2})
    res = target(tmp_path, config, schema() + av + record(user(10)) + record(user(11)) + av)
    assert res.returncode == 0, res.stderr
    assert [r["id"] for r in read_rows(dest / "users")] == [10, 11]
    assert all(f.name.endswith("-v2.parquet") for f in parquet_files(dest))


def test_batch_messages_jsonl_gzip_and_parquet(tmp_path: Path) -> None:
    dest = tmp_path / "out"
    jsonl = tmp_path / "b1.jsonl.gz"
    jsonl.write_bytes(gzip.compress(b"".join(orjson.dumps(user(i)) + b"\n" for i in (1, 2, 3))))
    table = pa.Table.from_pylist([{"id": 4, "name": "p", "updated_at": "2024-02-01T00:00:00Z"}])
    pq.write_table(table, tmp_path / "b2.parquet")
    data = (
        schema()
        + line(
            {
                "type": "BATCH",
                "stream": "users",
                "encoding": {"format": "jsonl", "compression": "gzip"},
                "manifest": [jsonl.as_uri()],
            }
        )
        + line(
            {
                "type": "BATCH",
                "stream": "users",
                "encoding": {"format": "parquet"},
                "manifest": [str(tmp_path / "b2.parquet")],
            }
        )
        + state({"b": 2})
    )
    res = target(tmp_path, {"destination_path": str(dest)}, data)
    assert res.returncode == 0, res.stderr
    rows = read_rows(dest / "users")
    assert [r["id"] for r in rows] == [1, 2, 3, 4]
    assert rows[3]["updated_at"].year == 2024  # the parquet string column was converted
    assert states(res.stdout) == [{"b": 2}]

    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(orjson.dumps(user(1)) + b"\n" + orjson.dumps({**user(2), "id": "x"}) + b"\n")
    msg = line(
        {
            "type": "BATCH",
            "stream": "users",
            "encoding": {"format": "jsonl"},
            "manifest": [str(bad)],
        }
    )
    res = target(tmp_path, {"destination_path": str(tmp_path / "o2")}, schema() + msg)
    assert res.returncode == ExitCode.RECORD
    assert "line 2: BATCH file 1, line 2" in res.stderr.decode()


def test_strict_validation_checks_batch_jsonl_records_too(tmp_path: Path) -> None:
    # a constraint only the JSON Schema check sees (the Arrow type fits): fast lets it through,
    # strict must reject it inside the BATCH file as it does on a RECORD line
    props = {"id": {"type": "integer", "minimum": 1}, "name": {"type": "string"}}
    batch_file = tmp_path / "b.jsonl"
    batch_file.write_bytes(b'{"id": 1, "name": "a"}\n{"id": -5, "name": "b"}\n')
    msg = line(
        {
            "type": "BATCH",
            "stream": "users",
            "encoding": {"format": "jsonl"},
            "manifest": [str(batch_file)],
        }
    )
    data = schema(props=props) + msg + state({"b": 1})
    fast = target(tmp_path, {"destination_path": str(tmp_path / "fast")}, data)
    assert fast.returncode == 0, fast.stderr
    assert sorted(r["id"] for r in read_rows(tmp_path / "fast" / "users")) == [-5, 1]
    strict = target(
        tmp_path, {"destination_path": str(tmp_path / "strict"), "validation": "strict"}, data
    )
    assert strict.returncode == ExitCode.RECORD
    assert "line 2: BATCH file 1, line 2" in strict.stderr.decode()
    assert states(strict.stdout) == []
    assert parquet_files(tmp_path / "strict") == []
