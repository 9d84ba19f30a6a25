"""``dativo validate`` on the output of a real singer-sdk tap from PyPI (tap-csv-folder)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import orjson
import pytest

from dativo_protocol.errors import ExitCode
from tests.fixtures.cli import RunCli, assert_no_secret
from tests.fixtures.peers import InstallPeer

pytestmark = pytest.mark.peers

TAP = "tap-csv-folder==0.0.1a1"  # singer-sdk 0.41 FolderTap; reads local CSV files, offline
CANARY = "canary-csv-s3cret-41"


def run_tap(peer: InstallPeer, tmp_path: Path, batch: bool = False) -> bytes:
    """Run the tap once on two small CSV files; returns its stdout."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "people.csv").write_text(f"id,name,note\n1,alice,{CANARY}\n2,bob,\n3,carol,x\n")
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
    (tmp_path / "config.json").write_bytes(orjson.dumps(config))
    bin_dir = peer("tap-csv-folder", [TAP])
    res = subprocess.run(
        [str(bin_dir / "tap-csv-folder"), "--config", str(tmp_path / "config.json")],
        capture_output=True,
        timeout=300,
        check=True,
    )
    return res.stdout


@pytest.fixture(scope="module")
def tap_output(peer: InstallPeer, tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return run_tap(peer, tmp_path_factory.mktemp("tap"))


def test_real_tap_stream_is_valid(tap_output: bytes, run_cli: RunCli) -> None:
    stream = tap_output
    res = run_cli("dativo", "--json", "validate", "-", input=stream)
    assert res.returncode == 0, res.stderr
    report = orjson.loads(res.stdout)
    assert report["valid"] is True
    assert {name: s["records"] for name, s in report["streams"].items()} == {
        "people": 3,
        "orders": 2,
    }
    assert report["states"] >= 1
    assert_no_secret(CANARY, res.stdout, res.stderr)


def test_real_tap_batch_stream_is_valid(peer: InstallPeer, run_cli: RunCli, tmp_path: Path) -> None:
    stream = run_tap(peer, tmp_path, batch=True)
    res = run_cli("dativo", "--json", "validate", "-", input=stream)
    assert res.returncode == 0, res.stderr
    report = orjson.loads(res.stdout)
    assert sum(s["batches"] for s in report["streams"].values()) == 2
    assert sum(s["batch_records"] for s in report["streams"].values()) == 0
    checked = run_cli("dativo", "--json", "validate", "--batch-files", "-", input=stream)
    assert checked.returncode == 0, checked.stderr
    streams = orjson.loads(checked.stdout)["streams"]
    assert {name: s["batch_records"] for name, s in streams.items()} == {"people": 3, "orders": 2}
    assert_no_secret(CANARY, checked.stdout, checked.stderr)


def test_real_tap_stream_cut_short_is_refused(tap_output: bytes, run_cli: RunCli) -> None:
    stream = tap_output
    cut = stream[: stream.index(CANARY.encode()) + 5]  # the tap "died" inside the record
    res = run_cli("dativo", "validate", "-", input=cut)
    assert res.returncode == ExitCode.PROTOCOL
    line = cut.count(b"\n") + 1
    assert f"line {line}: the last line has no newline" in res.stderr.decode()
    assert_no_secret(CANARY, res.stdout, res.stderr)
    assert_no_secret(CANARY[:10], res.stdout, res.stderr)
