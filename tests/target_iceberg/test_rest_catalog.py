"""target-iceberg on a real Iceberg REST catalog: Apache Iceberg's own REST catalog server.

The console script writes through PyIceberg's REST client; the server (Java, JDBC backend)
commits each snapshot and writes its metadata.json into the shared local warehouse.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from dativo_protocol import codec
from tests.fixtures.services import IcebergRestServer

from .streams import jsonl, states, users

pytestmark = pytest.mark.iceberg_rest


def rest_config(server: IcebergRestServer, tmp_path: Path, namespace: str, **extra: Any) -> Path:
    path = tmp_path / f"config-{len(list(tmp_path.glob('config-*')))}.json"
    base = {
        "warehouse": str(server.warehouse),
        "namespace": namespace,
        "catalog": {"type": "rest", "uri": server.uri},
        "flush_max_rows": 20,
        "read_chunk_bytes": 1024,  # small chunks: checkpoints fall inside these small inputs
        "metrics": False,
    }
    path.write_bytes(codec.dumps({**base, **extra}))
    return path


def rest_rows(server: IcebergRestServer, namespace: str, table: str = "users") -> list[Any]:
    """Read the table back through the REST catalog with a fresh PyIceberg client."""
    from pyiceberg.catalog import load_catalog

    catalog = load_catalog("check", type="rest", uri=server.uri)
    assert (namespace, table) in catalog.list_tables(namespace)
    loaded = catalog.load_table((namespace, table))
    # the server, not the client, wrote the current metadata.json into the warehouse
    metadata = Path(loaded.metadata_location.removeprefix("file:"))
    assert metadata.is_file()
    assert metadata.is_relative_to(server.warehouse / namespace / table)
    return sorted(loaded.scan().to_arrow().to_pylist(), key=lambda r: r["id"])


def namespace() -> str:
    return f"ns_{uuid.uuid4().hex[:10]}"


def test_load_read_back_and_recover_state(iceberg_rest_server, run_cli, tmp_path):
    ns = namespace()
    cfg = rest_config(iceberg_rest_server, tmp_path, ns)
    done = run_cli("target-iceberg", "--config", cfg, input=jsonl(users(range(1, 51))))
    assert done.returncode == 0, done.stderr
    emitted = states(done.stdout)
    assert emitted[-1] == {"bookmarks": {"users": {"id": 50}}}
    assert len(emitted) >= 2  # one commit per checkpoint, each through the REST server

    got = rest_rows(iceberg_rest_server, ns)
    assert [r["id"] for r in got] == list(range(1, 51))
    assert got[0]["name"] == "v1-1"

    recovered = run_cli("target-iceberg", "--config", cfg, "--recover-state")
    assert recovered.returncode == 0, recovered.stderr
    assert codec.loads(recovered.stdout) == emitted[-1]

    expired = run_cli(
        "target-iceberg",
        "--config",
        rest_config(iceberg_rest_server, tmp_path, ns, snapshot_keep_last=2),
        "--expire-snapshots",
    )
    assert expired.returncode == 0, expired.stderr
    report = codec.loads(expired.stdout)
    assert (report["table"], report["kept"]) == (f"{ns}.users", 2)
    assert [r["id"] for r in rest_rows(iceberg_rest_server, ns)] == list(range(1, 51))


def test_upsert_replay_leaves_one_row_per_key(iceberg_rest_server, run_cli, tmp_path):
    ns = namespace()
    cfg = rest_config(iceberg_rest_server, tmp_path, ns, load_method="upsert")
    first = run_cli("target-iceberg", "--config", cfg, input=jsonl(users(range(1, 31))))
    assert first.returncode == 0, first.stderr
    # a restart from an older state replays ids 21..30 and goes on to 40, with new values
    replay = run_cli("target-iceberg", "--config", cfg, input=jsonl(users(range(21, 41), tag="v2")))
    assert replay.returncode == 0, replay.stderr
    assert states(replay.stdout)[-1] == {"bookmarks": {"users": {"id": 40}}}

    got = rest_rows(iceberg_rest_server, ns)
    assert [r["id"] for r in got] == list(range(1, 41))
    assert {r["id"]: r["name"] for r in got} == {
        i: f"{'v1' if i <= 20 else 'v2'}-{i}" for i in range(1, 41)
    }
    recovered = run_cli("target-iceberg", "--config", cfg, "--recover-state")
    assert codec.loads(recovered.stdout) == {"bookmarks": {"users": {"id": 40}}}


def test_unreachable_rest_catalog_is_a_catalog_error(run_cli, tmp_path):
    from tests.fixtures.services import free_port

    cfg = tmp_path / "config.json"
    cfg.write_bytes(
        codec.dumps(
            {
                "warehouse": str(tmp_path / "wh"),
                "catalog": {"type": "rest", "uri": f"http://127.0.0.1:{free_port()}"},
            }
        )
    )
    done = run_cli("target-iceberg", "--config", cfg, input=jsonl(users(range(1, 4))))
    assert done.returncode == 10, done.stderr
    assert b"cannot open Iceberg catalog" in done.stderr
    assert done.stdout == b""  # no STATE
