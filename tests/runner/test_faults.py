"""Kill the tap, the target or the runner itself with SIGKILL at random moments, then re-run.

After every kill the stored state must not run ahead of the data the target committed, no
connector may outlive a killed runner, and re-running until success must deliver every record.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest

from dativo_protocol import codec
from tests.fixtures.cli import run_script, script
from tests.runner.conftest import read_output

ROWS = 3000


def _children_named(pid: int) -> dict[str, int]:
    """The runner's direct children (from /proc), by the file name of their program."""
    found: dict[str, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) != pid or not argv[0]:
            continue
        program = argv[1] if Path(argv[0].decode()).name.startswith("python") else argv[0]
        found[Path(program.decode()).name] = int(entry.name)
    return found


def _children(pid: int) -> dict[str, int]:
    """The test tap and target started by the runner, by role."""
    named = _children_named(pid)
    roles = {"singer_tap.py": "tap", "singer_target.py": "target"}
    return {roles[name]: child for name, child in named.items() if name in roles}


def _processes_mentioning(marker: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "cmdline").read_bytes():
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def _stored_bookmark(tmp_path: Path) -> int:
    path = tmp_path / "state" / "dativo:job" / "state.json"
    if not path.exists():
        return 0
    doc = codec.loads(path.read_bytes())
    return int(doc["completed"]["singer_state"]["bookmarks"]["a"]["id"])


def _assert_state_not_ahead(tmp_path: Path) -> None:
    bookmark = _stored_bookmark(tmp_path)
    committed = set(read_output(tmp_path / "out", "a"))
    missing = set(range(1, bookmark + 1)) - committed
    assert not missing, f"state says {bookmark} but {len(missing)} records before it are missing"


@pytest.mark.slow
@pytest.mark.parametrize("victim", ["tap", "target", "runner"])
def test_sigkill_at_random_points_then_rerun_loses_nothing(victim, make_job, tmp_path):
    rng = random.Random(os.getpid() ^ int(time.time()))
    job = make_job(tap={"rows": ROWS, "state_every": 50, "sleep": 0.0004})
    tmp = tmp_path / "tmp"  # the runner's private run folders (with 0600 configs) go here
    tmp.mkdir()
    env = {**os.environ, "TMPDIR": str(tmp)}
    kills = 0
    for _ in range(2):
        runner = subprocess.Popen(
            [script("dativo"), "run", str(job)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        deadline = time.monotonic() + 30
        pids: dict[str, int] = {}
        while time.monotonic() < deadline and len(pids) < 2:
            pids = _children(runner.pid)
            time.sleep(0.02)
        assert len(pids) == 2, "the runner did not start both connectors"
        time.sleep(rng.uniform(0.1, 0.8))
        if runner.poll() is not None:
            break  # finished before the kill: nothing to test this round
        try:
            os.kill(runner.pid if victim == "runner" else pids[victim], signal.SIGKILL)
        except ProcessLookupError:  # the victim had just exited: the run is ending normally
            runner.communicate(timeout=60)
            break
        kills += 1
        _, err = runner.communicate(timeout=60)
        if victim == "runner":
            assert runner.returncode == -signal.SIGKILL
            time.sleep(0.3)
            assert not _processes_mentioning(str(tmp_path)), "a connector outlived the runner"
        else:
            assert runner.returncode == 8, err
            assert f"{victim} 'singer_{victim}' was killed by SIGKILL".encode() in err
        _assert_state_not_ahead(tmp_path)
    assert kills, "every run finished before it could be killed"
    for _ in range(3):
        proc = run_script("dativo", "run", job, env={"TMPDIR": str(tmp)})
        _assert_state_not_ahead(tmp_path)
        if proc.returncode == 0:
            break
    assert proc.returncode == 0, proc.stderr
    assert set(read_output(tmp_path / "out", "a")) == set(range(1, ROWS + 1))
    assert _stored_bookmark(tmp_path) == ROWS
    # configs of killed runs were wiped by the next run: no secret file is left behind
    assert list(tmp.iterdir()) == []


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_to_the_runner_stops_cleanly_with_exit_130(sig, make_job, tmp_path):
    job = make_job(tap={"rows": ROWS * 10, "state_every": 50, "sleep": 0.0004})
    runner = subprocess.Popen(
        [script("dativo"), "run", str(job)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(_children(runner.pid)) < 2:
        time.sleep(0.02)
    time.sleep(0.5)
    runner.send_signal(sig)
    _, err = runner.communicate(timeout=60)
    assert runner.returncode == 130, err
    assert b"stopped by a signal" in err
    assert not _processes_mentioning(str(tmp_path))
    _assert_state_not_ahead(tmp_path)
