"""Streams from a real singer-sdk tap from PyPI (tap-csv-folder) land correctly, including its
BATCH messages (gzip JSONL files)."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from tests.fixtures.peers import InstallPeer, run_tap_csv_folder
from tests.target_parquet.helpers import duck, states, target

pytestmark = pytest.mark.peers


@pytest.mark.parametrize("batch", [False, True], ids=["records", "batch"])
def test_singer_sdk_tap_stream_lands(peer: InstallPeer, tmp_path: Path, batch: bool) -> None:
    stream = run_tap_csv_folder(peer, tmp_path, batch=batch)
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
