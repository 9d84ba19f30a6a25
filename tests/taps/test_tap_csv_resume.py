"""tap-csv column-incremental bookmarks during a run: killed with SIGKILL, resumed, nothing lost.

singer-sdk writes a STATE every 10,000 records. With ``is_sorted`` each carries the bookmark
(the last emitted value); unsorted streams carry only a progress marker until the end.
"""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path
from typing import Any

from dativo_protocol import codec
from tests.fixtures.cli import script
from tests.taps.conftest import records, states, write_json

ROWS = 40_000  # ~1 MB of output: far more than a pipe holds, so the tap is mid-run when killed


def events_csv(path: Path, rows: int = ROWS) -> Path:
    # three rows per value: a bookmark falls among equal values, which must be re-read
    path.write_text("id,seq\n" + "".join(f"{i},{i // 3}\n" for i in range(1, rows + 1)))
    return path


def csv_config(path: Path, **file_set: Any) -> dict[str, Any]:
    entry = {"entity": "e", "path": str(path), "keys": ["id"], "replication_key": "seq"}
    return {"files": [{**entry, **file_set}]}


def run_and_kill(config: Path, bookmarks_before_kill: int) -> tuple[list[int], dict[str, Any]]:
    """Read the tap's output like a target that commits at each STATE; SIGKILL the tap after
    ``bookmarks_before_kill`` STATEs with a bookmark. Returns the committed ids and last STATE."""
    proc = subprocess.Popen(
        [script("tap-csv"), "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    committed: list[int] = []
    pending: list[int] = []
    last_state: dict[str, Any] = {}
    seen = 0
    try:
        while seen < bookmarks_before_kill:
            line = proc.stdout.readline()
            assert line, "the tap ended before it was killed"
            message = codec.loads(line)
            if message["type"] == "RECORD":
                pending.append(message["record"]["id"])
            elif message["type"] == "STATE":
                committed += pending
                pending = []
                last_state = message["value"]
                seen += "replication_key_value" in last_state["bookmarks"].get("e", {})
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    return committed, last_state


def test_sorted_stream_sigkill_then_resume_loses_no_row(run_cli, tmp_path):
    config = write_json(
        tmp_path / "config.json", csv_config(events_csv(tmp_path / "ev.csv"), is_sorted=True)
    )
    committed, state = run_and_kill(config, 2)
    bookmark = state["bookmarks"]["e"]["replication_key_value"]
    # the STATE claims exactly what was emitted before it: the last row's value
    assert bookmark == max(committed) // 3
    assert 0 < len(committed) < ROWS

    state_file = write_json(tmp_path / "state.json", state)
    second = run_cli("tap-csv", "--config", config, "--state", state_file, timeout=120)
    assert second.returncode == 0, second.stderr.decode()[-1500:]
    resumed = [r["id"] for r in records(second.stdout)]
    assert set(committed) | set(resumed) == set(range(1, ROWS + 1))
    # resumed at the bookmark, equal values re-read, not from the start
    assert resumed == list(range(3 * bookmark, ROWS + 1))
    assert states(second.stdout)[-1]["bookmarks"]["e"]["replication_key_value"] == ROWS // 3


def test_unsorted_stream_claims_no_bookmark_before_the_end(run_cli, tmp_path):
    config = write_json(
        tmp_path / "config.json", csv_config(events_csv(tmp_path / "ev.csv", 25_000))
    )
    result = run_cli("tap-csv", "--config", config, timeout=120)
    assert result.returncode == 0
    emitted = states(result.stdout)
    assert len(emitted) >= 3  # two during the run, one at the end
    for during in emitted[:-1]:
        assert "replication_key_value" not in during["bookmarks"]["e"]
    assert emitted[-1]["bookmarks"]["e"]["replication_key_value"] == 25_000 // 3


def test_row_out_of_order_stops_a_sorted_stream_before_it_is_emitted(run_cli, tmp_path):
    path = tmp_path / "ev.csv"
    path.write_text("id,seq\n1,10\n2,20\n3,15\n4,30\n")
    config = write_json(tmp_path / "config.json", csv_config(path, is_sorted=True))
    result = run_cli("tap-csv", "--config", config, timeout=120)
    assert result.returncode == 4
    err = result.stderr.decode()
    assert "stream 'e'" in err
    assert "ev.csv row 3: 'seq' is lower than in an earlier row, but is_sorted is set" in err
    assert "Traceback" not in err
    assert [r["id"] for r in records(result.stdout)] == [1, 2]
