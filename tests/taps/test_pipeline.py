"""Tap output is a valid Singer stream (`dativo validate`) and loads into `target-parquet`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from tests.fixtures.cli import assert_no_secret
from tests.taps.api_server import ApiServer
from tests.taps.conftest import CANARY, records, write_json


def load_parquet(run_cli, tmp_path: Path, stream_bytes: bytes) -> dict[str, list[dict[str, Any]]]:
    dest = tmp_path / "lake"
    cfg = write_json(tmp_path / "target.json", {"destination_path": str(dest)})
    loaded = run_cli("target-parquet", "--config", cfg, input=stream_bytes, timeout=120)
    assert loaded.returncode == 0, loaded.stderr.decode()[-2000:]
    tables: dict[str, list[dict[str, Any]]] = {}
    for file in sorted(dest.rglob("*.parquet")):
        stream = file.relative_to(dest).parts[0]
        tables.setdefault(stream, []).extend(pq.read_table(file).to_pylist())
    return tables


def test_tap_csv_output_validates_and_loads_into_parquet(run_cli, tmp_path):
    (tmp_path / "orders.csv").write_text(
        "id,amount,paid,ordered_at,note\n"
        "1,9.5,true,2024-05-01T10:00:00+00:00,first\n"
        "2,,false,2024-05-02T11:30:00+02:00,\n"
    )
    cfg = write_json(
        tmp_path / "tap.json",
        {"files": [{"entity": "orders", "path": str(tmp_path / "orders.csv"), "keys": ["id"]}]},
    )
    tapped = run_cli("tap-csv", "--config", cfg, timeout=120)
    assert tapped.returncode == 0, tapped.stderr.decode()[-2000:]
    checked = run_cli("dativo", "validate", "-", input=tapped.stdout, timeout=120)
    assert checked.returncode == 0, checked.stdout.decode() + checked.stderr.decode()
    rows = load_parquet(run_cli, tmp_path, tapped.stdout)["orders"]
    assert sorted(r["id"] for r in rows) == [1, 2]
    first = next(r for r in rows if r["id"] == 1)
    assert first["amount"] == 9.5
    assert first["paid"] is True
    assert first["ordered_at"].year == 2024  # a real timestamp column, not text


def test_tap_rest_output_validates_and_loads_into_parquet(run_cli, tmp_path, api: ApiServer):
    cfg = write_json(
        tmp_path / "tap.json",
        {
            "api_url": api.url,
            "auth": {"type": "bearer", "token": CANARY},
            "streams": [
                {
                    "name": "users",
                    "path": "/users",
                    "records_path": "$.data[*]",
                    "primary_keys": ["id"],
                    "pagination": {"type": "page_number", "size": 10, "size_param": "per_page"},
                }
            ],
        },
    )
    tapped = run_cli("tap-rest", "--config", cfg, timeout=120)
    assert tapped.returncode == 0, tapped.stderr.decode()[-2000:]
    assert_no_secret(CANARY, tapped.stdout, tapped.stderr)
    checked = run_cli("dativo", "validate", "-", input=tapped.stdout, timeout=120)
    assert checked.returncode == 0, checked.stdout.decode() + checked.stderr.decode()
    rows = load_parquet(run_cli, tmp_path, tapped.stdout)["users"]
    assert sorted(r["id"] for r in rows) == [r["id"] for r in records(tapped.stdout)]
    assert len(rows) == 23
