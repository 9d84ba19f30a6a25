"""SIGKILL in the middle of a run, and four writers on one table through PostgreSQL."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from dativo_targets.iceberg.sink import TEST_KILL_ENV

from dativo_protocol import codec
from tests.fixtures.cli import script

from .streams import jsonl, record, schema, states, users


def _config(path: Path, **settings: Any) -> Path:
    path.write_bytes(codec.dumps({"read_chunk_bytes": 1024, "metrics": False, **settings}))
    return path


def _feed(proc: subprocess.Popen[bytes], data: bytes, pause: float) -> None:
    """Write ``data`` slowly, as a tap would, until done or the target dies."""
    assert proc.stdin is not None
    try:
        for start in range(0, len(data), 2048):
            proc.stdin.write(data[start : start + 2048])
            proc.stdin.flush()
            time.sleep(pause)
        proc.stdin.close()
    except (BrokenPipeError, ValueError):
        pass


def _table_rows(warehouse: Path, table: str = "users", /, **catalog: Any) -> list[dict[str, Any]]:
    from dativo_targets.iceberg.catalog import open_catalog
    from dativo_targets.iceberg.settings import IcebergSettings

    settings = IcebergSettings.from_config({"warehouse": str(warehouse), **catalog})
    loaded = open_catalog(settings).load_table(("singer", table))
    rows: list[dict[str, Any]] = loaded.scan().to_arrow().to_pylist()
    return rows


def test_sigkill_mid_run_then_rerun_from_the_last_state_is_exactly_once(run_cli, tmp_path):
    cfg = _config(
        tmp_path / "c.json", warehouse=str(tmp_path / "wh"), load_method="upsert", flush_max_rows=20
    )
    data = jsonl(users(range(1, 401), state_every=20))
    proc = subprocess.Popen(
        [script("target-iceberg"), "--config", str(cfg)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    feeder = threading.Thread(target=_feed, args=(proc, data, 0.05), daemon=True)
    feeder.start()
    assert proc.stdout is not None
    emitted: list[dict[str, Any]] = []
    while len(emitted) < 3:
        line = proc.stdout.readline()
        assert line, "target ended before three STATEs"
        emitted.append(codec.loads(line))
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(30)
    feeder.join(30)
    assert proc.returncode == -signal.SIGKILL
    last = emitted[-1]["bookmarks"]["users"]["id"]
    assert last < 400, "the run finished before the kill"

    # the tables never lag behind what was emitted
    recovered = run_cli("target-iceberg", "--config", cfg, "--recover-state")
    assert recovered.returncode == 0, recovered.stderr
    assert codec.loads(recovered.stdout)["bookmarks"]["users"]["id"] >= last

    # the tap resumes from the last STATE it saw (and repeats a few records: at-least-once)
    rerun = run_cli("target-iceberg", "--config", cfg, input=jsonl(users(range(last - 5, 401))))
    assert rerun.returncode == 0, rerun.stderr
    ids = sorted(r["id"] for r in _table_rows(tmp_path / "wh"))
    assert ids == list(range(1, 401))  # every key, exactly once


@pytest.mark.postgres
def test_four_concurrent_writers_through_postgres(postgres_server, tmp_path):
    db = postgres_server.create_database()
    catalog = {"catalog": {"type": "sql", "uri": postgres_server.dsn(db, "postgresql+psycopg")}}
    settings = {
        "warehouse": str(tmp_path / "wh"),
        "flush_max_rows": 25,
        "expire_snapshots_every": 0,
        **catalog,
    }
    procs, feeders, logs = [], [], []
    for writer in range(4):
        cfg = _config(tmp_path / f"c{writer}.json", **settings)
        ids = range(writer * 1000 + 1, writer * 1000 + 151)
        log = tmp_path / f"stderr{writer}.log"
        with open(log, "wb") as err:
            proc = subprocess.Popen(
                [script("target-iceberg"), "--config", str(cfg)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
            )
        feeder = threading.Thread(
            target=_feed, args=(proc, jsonl(users(ids, state_every=25)), 0.01)
        )
        feeder.start()
        procs.append(proc)
        feeders.append(feeder)
        logs.append(log)
    for feeder in feeders:
        feeder.join(300)
    for proc, log in zip(procs, logs, strict=True):
        assert proc.stdout is not None
        out = proc.stdout.read()
        assert proc.wait(300) == 0, log.read_text()[-6000:]
        assert codec.loads(out.splitlines()[-1])["bookmarks"]["users"]["id"] % 1000 == 150

    rows = _table_rows(tmp_path / "wh", **catalog)
    assert sorted(r["id"] for r in rows) == sorted(
        w * 1000 + i for w in range(4) for i in range(1, 151)
    )  # no row lost

    from dativo_targets.iceberg.catalog import open_catalog
    from dativo_targets.iceberg.settings import IcebergSettings

    table = open_catalog(IcebergSettings.from_config(settings)).load_table(("singer", "users"))
    snapshots = table.metadata.snapshots
    # one linear history: every snapshot is the parent of the next, none lost
    chain = [s.snapshot_id for s in table.history()]
    assert len(chain) == len(snapshots)
    by_id = {s.snapshot_id: s for s in snapshots}
    for parent, child in itertools.pairwise(chain):
        assert by_id[child].parent_snapshot_id == parent
    # every writer's checkpoints landed, numbered 1..n with no gap, and they add up to all rows
    runs: dict[str, list[int]] = {}
    added = 0
    for snap in snapshots:
        summary = snap.summary
        assert summary is not None
        runs.setdefault(str(summary["dativo.run-id"]), []).append(
            int(str(summary["dativo.checkpoint"]))
        )
        added += int(str(summary["added-records"]))
    assert len(runs) == 4
    for numbers in runs.values():
        assert sorted(numbers) == list(range(1, len(numbers) + 1))
    assert added == 600
    assert sum(len(n) for n in runs.values()) >= 8  # writers really committed several times each


def _two_streams(ids: range) -> bytes:
    messages: list[dict[str, Any]] = [schema("a"), schema("b")]
    for i in ids:
        messages += [record(i, "a"), record(i, "b")]
        if i % 10 == 0:
            messages.append({"type": "STATE", "value": {"bookmarks": {"a": i, "b": i}}})
    return jsonl(messages)


def _killed_run(cfg: Path, data: bytes, kill_at: str) -> list[int]:
    """Run the target with the test-only kill hook; the bookmarks of the STATEs it emitted."""
    env = {**os.environ, TEST_KILL_ENV: kill_at}
    done = subprocess.run(
        [script("target-iceberg"), "--config", str(cfg)], input=data, capture_output=True, env=env
    )
    assert done.returncode == -signal.SIGKILL, done.stderr[-3000:]
    return [state["bookmarks"]["a"] for state in states(done.stdout)]


def test_sigkill_during_a_pipelined_commit_emits_no_state_past_it(run_cli, tmp_path):
    cfg = _config(tmp_path / "c.json", warehouse=str(tmp_path / "wh"), flush_max_rows=20)
    # the whole input is there at once: the loop parses ahead while checkpoint 3 commits
    emitted = _killed_run(cfg, _two_streams(range(1, 101)), "3:0")
    # checkpoints 1 and 2 (20 rows each: 10 per stream) landed; their STATEs went out unless
    # the kill came first (a STATE is written after its commit, by another thread)
    assert emitted in ([], [10], [10, 20])
    recovered = run_cli("target-iceberg", "--config", cfg, "--recover-state")
    assert codec.loads(recovered.stdout)["bookmarks"] == {"a": 20, "b": 20}
    for table in ("a", "b"):
        assert sorted(r["id"] for r in _table_rows(tmp_path / "wh", table)) == list(range(1, 21))
    # the tap resumes from the recovered state (bookmark 20)
    rerun = run_cli("target-iceberg", "--config", cfg, input=_two_streams(range(21, 101)))
    assert rerun.returncode == 0, rerun.stderr
    for table in ("a", "b"):
        assert sorted(r["id"] for r in _table_rows(tmp_path / "wh", table)) == list(range(1, 101))


def test_sigkill_between_the_tables_of_a_checkpoint_then_rerun_is_exactly_once(run_cli, tmp_path):
    cfg = _config(tmp_path / "c.json", warehouse=str(tmp_path / "wh"), flush_max_rows=20)
    emitted = _killed_run(cfg, _two_streams(range(1, 101)), "3:1")  # after table a, before b
    assert emitted in ([], [10], [10, 20])
    assert len(_table_rows(tmp_path / "wh", "a")) == 30  # a holds checkpoint 3, b does not
    assert len(_table_rows(tmp_path / "wh", "b")) == 20
    recovered = run_cli("target-iceberg", "--config", cfg, "--recover-state")
    assert codec.loads(recovered.stdout)["bookmarks"] == {"a": 20, "b": 20}

    rerun = run_cli("target-iceberg", "--config", cfg, input=_two_streams(range(21, 101)))
    assert rerun.returncode == 0, rerun.stderr
    assert b"will be replayed" in rerun.stderr
    for table in ("a", "b"):  # append-only, and still every row exactly once
        assert sorted(r["id"] for r in _table_rows(tmp_path / "wh", table)) == list(range(1, 101))
    again = run_cli("target-iceberg", "--config", cfg, input=_two_streams(range(101, 111)))
    assert again.returncode == 0, again.stderr
    assert b"will be replayed" not in again.stderr  # the undo happened once
    assert len(_table_rows(tmp_path / "wh", "a")) == 110
