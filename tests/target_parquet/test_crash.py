"""SIGKILL mid-stream, then re-run from the last emitted STATE: nothing is lost, and no
half-written file is ever visible."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import orjson
import pyarrow.parquet as pq
import pytest

from tests.fixtures.cli import script
from tests.target_parquet.helpers import parquet_files, read_rows, users_stream, write_config

TOTAL = 6000
STATE_EVERY = 250


def feed(proc: subprocess.Popen[bytes], data: bytes, stop: threading.Event) -> None:
    """Write ``data`` in small paced pieces, like a tap would, until killed."""
    assert proc.stdin is not None
    view = memoryview(data)
    step = 16 * 1024
    try:
        for pos in range(0, len(view), step):
            if stop.is_set():
                break
            proc.stdin.write(view[pos : pos + step])
            proc.stdin.flush()
            time.sleep(0.01)
        proc.stdin.close()
    except (BrokenPipeError, ValueError, OSError):
        pass


def run_and_kill(config: Path, data: bytes, states_before_kill: int) -> list[dict[str, object]]:
    proc = subprocess.Popen(
        [script("target-parquet"), "--config", str(config)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    stop = threading.Event()
    writer = threading.Thread(target=feed, args=(proc, data, stop), daemon=True)
    writer.start()
    seen: list[dict[str, object]] = []
    assert proc.stdout is not None
    try:
        while len(seen) < states_before_kill:
            out = proc.stdout.readline()
            if not out:
                break
            seen.append(orjson.loads(out))
        proc.send_signal(signal.SIGKILL)
    finally:
        stop.set()
        proc.wait(30)
        writer.join(30)
    assert proc.returncode == -signal.SIGKILL
    return seen


def test_sigkill_then_resume_from_last_state_loses_nothing(tmp_path: Path) -> None:
    dest = tmp_path / "out"
    config = write_config(tmp_path, {"destination_path": str(dest), "flush_max_rows": 500})
    states = run_and_kill(config, users_stream(TOTAL, state_every=STATE_EVERY), 3)
    assert len(states) == 3
    # every visible file is whole; the temp folder of the dead run is not a visible file
    for f in parquet_files(dest):
        pq.read_metadata(f)
    last = states[-1]["bookmarks"]["users"]["id"]  # type: ignore[index]
    assert isinstance(last, int)
    committed = {r["id"] for r in read_rows(dest / "users")}
    assert set(range(1, last + 1)) <= committed  # the emitted state was covered by published data
    # re-run the "tap" from the bookmark
    rest = users_stream(TOTAL - last, state_every=STATE_EVERY, start=last + 1)
    res = subprocess.run(
        [script("target-parquet"), "--config", str(config)],
        input=rest,
        capture_output=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    ids = [r["id"] for r in read_rows(dest / "users")]
    assert set(ids) == set(range(1, TOTAL + 1))
    assert not (dest / "_dativo_tmp").exists()  # the killed run's leftovers were removed


@pytest.mark.parametrize("delay", [0.3, 1.2])
def test_sigkill_at_any_moment_leaves_only_whole_files(tmp_path: Path, delay: float) -> None:
    dest = tmp_path / "out"
    config = write_config(tmp_path, {"destination_path": str(dest), "flush_max_rows": 300})
    proc = subprocess.Popen(
        [script("target-parquet"), "--config", str(config)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    stop = threading.Event()
    writer = threading.Thread(
        target=feed, args=(proc, users_stream(TOTAL, state_every=100), stop), daemon=True
    )
    writer.start()
    time.sleep(delay)
    os.kill(proc.pid, signal.SIGKILL)
    stop.set()
    writer.join(30)
    proc.stdin = None  # the feeder owns (and may have closed) stdin; communicate must not flush it
    out, _ = proc.communicate(timeout=30)
    emitted = [orjson.loads(x) for x in out.splitlines()]
    rows = read_rows(dest / "users")  # raises if any visible file is partial
    if emitted:
        last = emitted[-1]["bookmarks"]["users"]["id"]
        assert set(range(1, last + 1)) <= {r["id"] for r in rows}


def test_sigterm_discards_uncommitted_data_and_exits_130(tmp_path: Path) -> None:
    dest = tmp_path / "out"
    config = write_config(tmp_path, {"destination_path": str(dest), "flush_max_rows": 500})
    proc = subprocess.Popen(
        [script("target-parquet"), "--config", str(config)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    stop = threading.Event()
    writer = threading.Thread(
        target=feed, args=(proc, users_stream(TOTAL, state_every=STATE_EVERY), stop), daemon=True
    )
    writer.start()
    assert proc.stdout is not None
    first = orjson.loads(proc.stdout.readline())  # one commit happened
    proc.send_signal(signal.SIGTERM)
    stop.set()
    writer.join(30)
    proc.stdin = None  # the feeder owns (and may have closed) stdin; communicate must not flush it
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert b"SIGTERM" in err
    emitted = [first, *(orjson.loads(x) for x in out.splitlines())]
    last = emitted[-1]["bookmarks"]["users"]["id"]
    rows = {r["id"] for r in read_rows(dest / "users")}
    assert set(range(1, last + 1)) <= rows
    assert not (dest / "_dativo_tmp").exists()  # the aborted run cleaned up after itself
