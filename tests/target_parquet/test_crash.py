"""SIGKILL mid-stream, then re-run from the last emitted STATE: nothing is lost, and no
half-written file is ever visible."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
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


@dataclass
class Fed:
    """target-parquet running, with a thread feeding it ``data`` like a tap."""

    proc: subprocess.Popen[bytes]
    stop: threading.Event
    writer: threading.Thread

    @classmethod
    def start(cls, config: Path, data: bytes, *, stderr: int = subprocess.DEVNULL) -> Fed:
        proc = subprocess.Popen(
            [script("target-parquet"), "--config", str(config)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
        )
        stop = threading.Event()
        writer = threading.Thread(target=feed, args=(proc, data, stop), daemon=True)
        writer.start()
        return cls(proc, stop, writer)

    def finish(self) -> tuple[bytes, bytes]:
        """Stop feeding and collect the rest of the target's output."""
        self.stop.set()
        self.writer.join(30)
        self.proc.stdin = None  # the feeder owns (and may have closed) stdin
        out, err = self.proc.communicate(timeout=60)
        return out, err or b""


def run_and_kill(config: Path, data: bytes, states_before_kill: int) -> list[dict[str, object]]:
    fed = Fed.start(config, data)
    seen: list[dict[str, object]] = []
    assert fed.proc.stdout is not None
    try:
        while len(seen) < states_before_kill:
            out = fed.proc.stdout.readline()
            if not out:
                break
            seen.append(orjson.loads(out))
    finally:
        fed.proc.send_signal(signal.SIGKILL)
        fed.finish()
    assert fed.proc.returncode == -signal.SIGKILL
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
    fed = Fed.start(config, users_stream(TOTAL, state_every=100))
    time.sleep(delay)
    os.kill(fed.proc.pid, signal.SIGKILL)
    out, _ = fed.finish()
    emitted = [orjson.loads(x) for x in out.splitlines()]
    rows = read_rows(dest / "users")  # raises if any visible file is partial
    if emitted:
        last = emitted[-1]["bookmarks"]["users"]["id"]
        assert set(range(1, last + 1)) <= {r["id"] for r in rows}


def test_sigterm_discards_uncommitted_data_and_exits_130(tmp_path: Path) -> None:
    dest = tmp_path / "out"
    config = write_config(tmp_path, {"destination_path": str(dest), "flush_max_rows": 500})
    fed = Fed.start(config, users_stream(TOTAL, state_every=STATE_EVERY), stderr=subprocess.PIPE)
    assert fed.proc.stdout is not None
    first = orjson.loads(fed.proc.stdout.readline())  # one commit happened
    fed.proc.send_signal(signal.SIGTERM)
    out, err = fed.finish()
    assert fed.proc.returncode == 130, err
    assert b"SIGTERM" in err
    emitted = [first, *(orjson.loads(x) for x in out.splitlines())]
    last = emitted[-1]["bookmarks"]["users"]["id"]
    rows = {r["id"] for r in read_rows(dest / "users")}
    assert set(range(1, last + 1)) <= rows
    assert not (dest / "_dativo_tmp").exists()  # the aborted run cleaned up after itself
