"""``dativo validate`` on the output of a real singer-sdk tap from PyPI (tap-csv-folder)."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from dativo_protocol.errors import ExitCode
from tests.fixtures.cli import RunCli, assert_no_secret
from tests.fixtures.peers import InstallPeer, run_tap_csv_folder

pytestmark = pytest.mark.peers

CANARY = "canary-csv-s3cret-41"


def run_tap(peer: InstallPeer, tmp_path: Path, batch: bool = False) -> bytes:
    """The tap's stdout on two small CSV files, with a canary planted in one cell."""
    return run_tap_csv_folder(peer, tmp_path, batch=batch, note=CANARY)


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
