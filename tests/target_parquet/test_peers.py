"""Streams from a real singer-sdk tap from PyPI (tap-csv-folder) land correctly, including its
BATCH messages (gzip JSONL files)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import orjson
import pytest

from tests.fixtures.peers import InstallPeer
from tests.target_parquet.helpers import duck, states, target

pytestmark = pytest.mark.peers

TAP = "tap-csv-folder==0.0.1a1"  # singer-sdk FolderTap; reads local CSV files, offline


def run_tap(peer: InstallPeer, tmp_path: Path, *, batch: bool) -> bytes:
    data = tmp_path / "data"
    data.mkdir()
    (data / "people.csv").write_text("id,name,note\n1,alice,hi\n2,bob,\n3,carol,x\n")
    (data / "orders.csv").write_text("order_id,total\n10,9.99\n11,0.5\n")
    config: dict[str, object] = {
        "path": str(data),
        "read_mode": "one_stream_per_file",
        "filesystem": "local",
    }
    if batch:
        (tmp_path / "batches").mkdir()
        config["batch_config"] = {
            "encoding": {"format": "jsonl", "compression": "gzip"},
            "storage": {"root": (tmp_path / "batches").as_uri(), "prefix": "b-"},
        }
    (tmp_path / "tap.json").write_bytes(orjson.dumps(config))
    bin_dir = peer("tap-csv-folder", [TAP])
    res = subprocess.run(
        [str(bin_dir / "tap-csv-folder"), "--config", str(tmp_path / "tap.json")],
        capture_output=True,
        timeout=300,
        check=True,
    )
    return res.stdout


@pytest.mark.parametrize("batch", [False, True], ids=["records", "batch"])
def test_singer_sdk_tap_stream_lands(peer: InstallPeer, tmp_path: Path, batch: bool) -> None:
    stream = run_tap(peer, tmp_path, batch=batch)
    assert (b'"type":"BATCH"' in stream) is batch
    dest = tmp_path / "out"
    res = target(tmp_path, {"destination_path": str(dest)}, stream)
    assert res.returncode == 0, res.stderr
    names = sorted(str(r["name"]) for r in all_rows(dest / "people"))
    assert names == ["alice", "bob", "carol"]
    orders = duck("select count(*) from read_parquet(?)", f"{dest}/orders/*.parquet")
    assert orders == [(2,)]
    # the tap's final STATE came through after the data was published
    tap_states = [orjson.loads(x)["value"] for x in stream.splitlines() if b'"type":"STATE"' in x]
    assert states(res.stdout)[-1] == tap_states[-1]


def all_rows(folder: Path) -> list[dict[str, object]]:
    import pyarrow.dataset as ds

    rows: list[dict[str, object]] = ds.dataset(str(folder), format="parquet").to_table().to_pylist()
    return rows
