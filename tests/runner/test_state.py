"""State backends (local folder, S3 through fsspec, PostgreSQL) and `dativo state`."""

from __future__ import annotations

from pathlib import Path

import pytest

from dativo_protocol import codec
from dativo_protocol.errors import StateError
from dativo_protocol.runner.state_store import open_store

STATE = {"bookmarks": {"users": {"replication_key_value": "2024-01-01"}}}


def _roundtrip(store) -> None:
    assert store.get("dev:tap-x-to-target-y") is None
    store.put("dev:tap-x-to-target-y", STATE)
    store.put("other", {"bookmarks": {}})
    assert store.get("dev:tap-x-to-target-y") == STATE
    assert store.ids() == ["dev:tap-x-to-target-y", "other"]
    assert store.clear("other") is True
    assert store.clear("other") is False
    assert store.get("other") is None


def test_local_store_uses_meltanos_layout_and_leaves_no_temp_file(tmp_path: Path):
    store = open_store(str(tmp_path))
    _roundtrip(store)
    folder = tmp_path / "dev:tap-x-to-target-y"
    assert sorted(p.name for p in folder.iterdir()) == ["state.json"]
    doc = codec.loads((folder / "state.json").read_bytes())
    assert doc["partial"] == {}
    assert doc["completed"]["singer_state"] == STATE
    assert doc["completed"]["format_version"] == 1  # dativo_protocol.state's versioned document


def test_local_store_reads_meltano_partial_state(tmp_path: Path):
    folder = tmp_path / "dev:a-to-b"
    folder.mkdir()
    doc = {
        "completed": {"singer_state": {"bookmarks": {"a": 1}}},
        "partial": {"singer_state": {"bookmarks": {"b": 2}}},
    }
    (folder / "state.json").write_bytes(codec.dumps(doc))
    assert open_store(f"file://{tmp_path}").get("dev:a-to-b") == {"bookmarks": {"a": 1, "b": 2}}


def test_state_ids_cannot_escape_the_backend(tmp_path: Path):
    with pytest.raises(Exception, match="invalid state id"):
        open_store(str(tmp_path)).put("../evil", STATE)


def test_run_lock_excludes_a_second_run(tmp_path: Path):
    store = open_store(str(tmp_path))
    other = open_store(str(tmp_path))
    with store.lock("job"), pytest.raises(StateError, match="locked by another running job"):
        other.lock("job").__enter__()
    with store.lock("job"):
        pass  # released


@pytest.mark.s3
def test_s3_store_through_fsspec(s3_server, s3_bucket):
    options = {
        "key": s3_server.access_key,
        "secret": s3_server.secret_key,
        "endpoint_url": s3_server.endpoint_url,
    }
    store = open_store(f"s3://{s3_bucket}/dativo/state", options)
    _roundtrip(store)
    raw = s3_server.filesystem().cat_file(
        f"{s3_bucket}/dativo/state/dev:tap-x-to-target-y/state.json"
    )
    assert codec.loads(raw)["completed"]["singer_state"] == STATE


@pytest.mark.postgres
def test_postgres_store(postgres_server):
    db = postgres_server.create_database()
    url = postgres_server.dsn(db) + "?table=meltano_like.state_rows"
    postgres_server.psql("CREATE SCHEMA meltano_like", db)
    store = open_store(url)
    try:
        _roundtrip(store)
        other = open_store(url)
        try:
            with store.lock("job"), pytest.raises(StateError, match="locked"):
                other.lock("job").__enter__()
        finally:
            other.close()
    finally:
        store.close()
    row = postgres_server.psql("SELECT completed_state FROM meltano_like.state_rows", db)
    assert codec.loads(row.strip())["singer_state"] == STATE


def test_state_commands_show_set_clear(run_cli, make_job, tmp_path):
    job = make_job()
    proc = run_cli(
        "dativo", "state", "set", job, '{"singer_state": {"bookmarks": {"a": {"id": 7}}}}'
    )
    assert proc.returncode == 0, proc.stderr
    proc = run_cli("dativo", "state", "show", job)
    assert codec.loads(proc.stdout) == {"singer_state": {"bookmarks": {"a": {"id": 7}}}}
    proc = run_cli("dativo", "run", job, "--json")
    assert proc.returncode == 0, proc.stderr
    assert codec.loads(proc.stdout)["runs"][0]["streams"]["a"]["extracted"] == 3  # ids 8..10
    proc = run_cli("dativo", "state", "list", "--backend", tmp_path / "state", "--json")
    assert codec.loads(proc.stdout)["state_ids"] == ["dativo:job"]
    assert run_cli("dativo", "state", "clear", job).returncode == 0
    proc = run_cli("dativo", "state", "show", "dativo:job", "--backend", tmp_path / "state")
    assert codec.loads(proc.stdout) == {}
    proc = run_cli("dativo", "state", "set", job, "not json")
    assert proc.returncode == 9
    assert b"invalid JSON" in proc.stderr


def test_run_with_state_in_postgres(run_cli, make_job, postgres_server, tmp_path):
    db = postgres_server.create_database()
    job = make_job(state={"backend": postgres_server.dsn(db), "id": "dev:tap-to-target"})
    proc = run_cli("dativo", "run", job)
    assert proc.returncode == 0, proc.stderr
    row = postgres_server.psql("SELECT state_id, completed_state FROM dativo_state", db)
    state_id, doc = row.strip().split("|", 1)
    assert state_id == "dev:tap-to-target"
    assert codec.loads(doc)["singer_state"] == {"bookmarks": {"a": {"id": 10}}}
