"""target-iceberg as a user runs it: the real console script on real catalogs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest

from dativo_protocol import codec
from tests.fixtures.cli import assert_no_secret

from .streams import jsonl, record, schema, state, states, users


def config(tmp_path: Path, **extra: Any) -> Path:
    path = tmp_path / f"config-{len(list(tmp_path.glob('config-*')))}.json"
    base = {
        "warehouse": str(tmp_path / "wh"),
        "flush_max_rows": 1000,
        "read_chunk_bytes": 1024,  # small chunks: checkpoints fall inside these small inputs
        "metrics": False,
    }
    path.write_bytes(codec.dumps({**base, **extra}))
    return path


def scan(tmp_path: Path, table: str = "users") -> list[dict[str, Any]]:
    from dativo_targets.iceberg.catalog import open_catalog
    from dativo_targets.iceberg.settings import IcebergSettings

    catalog = open_catalog(IcebergSettings.from_config({"warehouse": str(tmp_path / "wh")}))
    rows = catalog.load_table(("singer", table)).scan().to_arrow().to_pylist()
    return sorted(rows, key=lambda r: r["id"])


def test_load_then_recover_state_and_read_with_duckdb(run_cli, tmp_path):
    cfg = config(tmp_path, flush_max_rows=20)
    done = run_cli("target-iceberg", "--config", cfg, input=jsonl(users(range(1, 51))))
    assert done.returncode == 0, done.stderr
    emitted = states(done.stdout)
    assert emitted[-1] == {"bookmarks": {"users": {"id": 50}}}
    assert len(emitted) >= 2  # STATEs go out checkpoint by checkpoint, not only at the end

    recovered = run_cli("target-iceberg", "--config", cfg, "--recover-state")
    assert recovered.returncode == 0, recovered.stderr
    assert codec.loads(recovered.stdout) == emitted[-1]

    assert [r["id"] for r in scan(tmp_path)] == list(range(1, 51))
    expire_cfg = config(tmp_path, snapshot_keep_last=2)
    expired = run_cli("target-iceberg", "--config", expire_cfg, "--expire-snapshots")
    assert expired.returncode == 0, expired.stderr
    report = codec.loads(expired.stdout)
    assert report["table"] == "singer.users"
    assert report["kept"] == 2
    assert report["expired"] == len(emitted) - 2
    assert [r["id"] for r in scan(tmp_path)] == list(range(1, 51))
    files = [str(p) for p in (tmp_path / "wh").rglob("*.parquet")]
    found = (
        duckdb.connect()
        .execute(
            "SELECT count(*), count(DISTINCT id), max(name) FROM read_parquet($f)", {"f": files}
        )
        .fetchone()
    )
    assert found == (50, 50, "v1-9")


def test_about_and_version(run_cli):
    about = run_cli("target-iceberg", "--about")
    assert about.returncode == 0
    info = codec.loads(about.stdout)
    assert info["name"] == "target-iceberg"
    assert {"warehouse", "catalog", "load_method", "state_id"} <= set(
        info["settings"]["properties"]
    )
    assert run_cli("target-iceberg", "--version").stdout.startswith(b"target-iceberg ")


def test_upsert_replay_leaves_one_row_per_key(run_cli, tmp_path):
    cfg = config(tmp_path, load_method="upsert", flush_max_rows=15)
    first = run_cli("target-iceberg", "--config", cfg, input=jsonl(users(range(1, 41))))
    assert first.returncode == 0, first.stderr
    # the tap restarts from an earlier STATE and sends keys 21..60 again, with new values
    again = run_cli("target-iceberg", "--config", cfg, input=jsonl(users(range(21, 61), tag="v2")))
    assert again.returncode == 0, again.stderr
    rows = scan(tmp_path)
    assert [r["id"] for r in rows] == list(range(1, 61))
    assert {r["name"].split("-")[0] for r in rows if r["id"] <= 20} == {"v1"}
    assert {r["name"].split("-")[0] for r in rows if r["id"] > 20} == {"v2"}


def test_schema_evolution_across_runs(run_cli, tmp_path):
    cfg = config(tmp_path)
    assert run_cli("target-iceberg", "--config", cfg, input=jsonl(users([1, 2]))).returncode == 0
    wider = {**schema()["schema"]["properties"], "score": {"type": ["integer", "null"]}}
    messages = [schema(props=wider), record(3, score=7), state(3)]
    second = run_cli("target-iceberg", "--config", cfg, input=jsonl(messages))
    assert second.returncode == 0, second.stderr
    assert [(r["id"], r["score"]) for r in scan(tmp_path)] == [(1, None), (2, None), (3, 7)]

    clash = {**wider, "score": {"type": "string"}}
    third = run_cli(
        "target-iceberg",
        "--config",
        cfg,
        input=jsonl([schema(props=clash), record(4, score="x"), state(4)]),
    )
    assert third.returncode == 3
    assert b"score" in third.stderr
    assert third.stdout == b""
    assert [r["id"] for r in scan(tmp_path)] == [1, 2, 3]


@pytest.mark.parametrize(
    ("bad_line", "code", "reason"),
    [
        (
            b'{"type": "RECORD", "stream": "users", "record": {"id": 9, \n',
            4,
            b"line 113: invalid JSON",
        ),
        (jsonl([record(9, name=12345)]), 5, b"stream 'users', line 113: field 'name'"),
        (jsonl([record(9, stream="nope")]), 4, b"stream 'nope', line 113: RECORD before"),
    ],
)
def test_bad_input_commits_nothing_and_emits_no_state(run_cli, tmp_path, bad_line, code, reason):
    cfg = config(tmp_path, flush_max_rows=10)
    good = jsonl(users(range(1, 101), state_every=10))  # lines 1-112: SCHEMA, RECORDs, STATEs
    tail = jsonl([record(101), record(102), state(102)])
    done = run_cli("target-iceberg", "--config", cfg, input=good + bad_line + tail)
    assert done.returncode == code, done.stderr
    assert reason in done.stderr
    emitted = [st["bookmarks"]["users"]["id"] for st in states(done.stdout)]
    assert emitted  # checkpoints before the bad line committed and their STATEs went out
    ids = [r["id"] for r in scan(tmp_path)]
    # no row from the bad line's checkpoint or after it: a prefix of 1..100, covering every STATE
    assert ids == list(range(1, len(ids) + 1))
    assert max(emitted) <= len(ids) <= 100
    recovered = run_cli("target-iceberg", "--config", cfg, "--recover-state")
    # the tables hold the newest STATE a commit covered: never ahead of what went out (a STATE
    # that arrives with nothing uncommitted goes out at once, without a commit)
    assert codec.loads(recovered.stdout)["bookmarks"]["users"]["id"] in emitted


def test_secrets_never_leak(run_cli, tmp_path):
    canary = "Canary-Secret-9f8e7d"
    cfg = config(
        tmp_path,
        catalog={"type": "sql", "uri": f"postgresql+psycopg://u:{canary}@127.0.0.1:9/x"},
        aws_secret_access_key=canary + "-aws",
        log_level="DEBUG",
    )
    done = run_cli("target-iceberg", "--config", cfg, input=jsonl(users([1])))
    assert done.returncode == 10
    assert b"cannot open Iceberg catalog" in done.stderr
    recovered = run_cli("target-iceberg", "--config", cfg, "--recover-state")
    assert recovered.returncode == 10
    assert_no_secret(canary, done.stdout, done.stderr, recovered.stdout, recovered.stderr)


def test_activate_version_and_overwrite_replace_the_rows(run_cli, tmp_path):
    cfg = config(tmp_path)
    assert (
        run_cli("target-iceberg", "--config", cfg, input=jsonl(users(range(1, 6)))).returncode == 0
    )
    activate = {"type": "ACTIVATE_VERSION", "stream": "users", "version": 2}
    messages = [*users([7, 8]), activate]
    done = run_cli("target-iceberg", "--config", cfg, input=jsonl(messages))
    assert done.returncode == 0, done.stderr
    assert [r["id"] for r in scan(tmp_path)] == [7, 8]

    refresh = config(tmp_path, load_method="overwrite")
    done = run_cli("target-iceberg", "--config", refresh, input=jsonl(users([20, 21])))
    assert done.returncode == 0, done.stderr
    assert [r["id"] for r in scan(tmp_path)] == [20, 21]


def test_a_background_failure_is_the_error_and_no_state_passes_it(run_cli, tmp_path):
    cfg = config(tmp_path, flush_max_rows=10)
    assert (
        run_cli("target-iceberg", "--config", cfg, input=jsonl(users([1], stream="b"))).returncode
        == 0
    )
    # stream b's table exists with name: string; this run's SCHEMA says integer. The table is
    # opened on the sink's background thread while the loop goes on with stream a
    clash = {**schema()["schema"]["properties"], "name": {"type": "integer"}}
    messages = [*users(range(1, 21), stream="a"), schema("b", props=clash)]
    messages += [record(i, "b", name=i) for i in range(2, 30)]
    messages += [record(i, "a") for i in range(21, 41)] + [state(40, "a")]
    done = run_cli("target-iceberg", "--config", cfg, input=jsonl(messages))
    assert done.returncode == 3, done.stderr
    assert b"stream 'b'" in done.stderr
    assert b"name: string -> long" in done.stderr
    # (the second 20: a STATE with nothing uncommitted goes out after the commits before it)
    assert [st["bookmarks"]["a"]["id"] for st in states(done.stdout)] == [10, 20, 20]
    assert [r["id"] for r in scan(tmp_path, "a")] == list(range(1, 21))
    assert [r["id"] for r in scan(tmp_path, "b")] == [1]
