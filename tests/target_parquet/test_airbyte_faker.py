"""A real Airbyte source (airbyte-source-faker from PyPI) through ``dativo convert`` into
target-parquet; the output is read back with pyarrow and DuckDB and compared with the source."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from tests.fixtures.cli import dativo_convert
from tests.fixtures.peers import InstallPeer, airbyte_messages, faker, run_airbyte
from tests.target_parquet.helpers import duck, read_rows, states, target

pytestmark = [pytest.mark.peers, pytest.mark.slow]

CONFIG = {"count": 8, "seed": 3, "records_per_slice": 4, "always_updated": False, "parallelism": 1}
SELECTED = ("users", "purchases")


def run(exe: Path, work: Path, *args: str) -> bytes:
    res = run_airbyte(exe, work, *args)
    assert res.returncode == 0, res.stderr[-2000:]
    return res.stdout


def test_airbyte_faker_lands_in_parquet(peer: InstallPeer, tmp_path: Path) -> None:
    exe = faker(peer)
    config = tmp_path / "faker.json"
    config.write_bytes(orjson.dumps(CONFIG))
    (catalog,) = [
        m["catalog"]
        for m in airbyte_messages(run(exe, tmp_path, "discover", "--config", str(config)))
        if m["type"] == "CATALOG"
    ]
    configured = {
        "streams": [
            {"stream": s, "sync_mode": "full_refresh", "destination_sync_mode": "append"}
            for s in catalog["streams"]
            if s["name"] in SELECTED
        ]
    }
    catalog_path = tmp_path / "configured.json"
    catalog_path.write_bytes(orjson.dumps(configured))
    read = run(exe, tmp_path, "read", "--config", str(config), "--catalog", str(catalog_path))
    source = [m["record"] for m in airbyte_messages(read) if m["type"] == "RECORD"]
    converted = dativo_convert("airbyte", "singer", catalog_path, read)
    assert converted.returncode == 0, converted.stderr[-2000:]

    dest = tmp_path / "out"
    res = target(tmp_path, {"destination_path": str(dest)}, converted.stdout)
    assert res.returncode == 0, res.stderr
    singer_states = [m["value"] for m in airbyte_messages(converted.stdout) if m["type"] == "STATE"]
    assert states(res.stdout)[-1] == singer_states[-1]
    for stream in SELECTED:
        expected = sorted(
            (r["data"] for r in source if r["stream"] == stream), key=lambda d: d["id"]
        )
        assert expected, stream
        rows = read_rows(dest / stream)
        assert [r["id"] for r in rows] == [d["id"] for d in expected]
        [(count,)] = duck(
            "select count(distinct id) from read_parquet(?)", f"{dest}/{stream}/*.parquet"
        )
        assert count == len(expected)
    users = {r["id"]: r for r in read_rows(dest / "users")}
    for data in (r["data"] for r in source if r["stream"] == "users"):
        assert users[data["id"]]["email"] == data["email"]
        assert (
            users[data["id"]]["created_at"].isoformat()[:19]
            == data["created_at"].replace(" ", "T")[:19]
        )
