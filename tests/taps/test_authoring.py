"""The tap of docs/taps/authoring.md, run exactly as printed (docs that cannot rot)."""

from __future__ import annotations

import re
import subprocess
import sys

from dativo_protocol import codec
from tests.fixtures.peers import REPO
from tests.taps.conftest import records, write_json


def example_source() -> str:
    text = (REPO / "docs" / "taps" / "authoring.md").read_text()
    found = re.search(r"```python\n(.*?)```", text, re.S)
    assert found is not None
    return found.group(1)


def test_authoring_example_is_a_working_tap_under_50_lines(tmp_path):
    source = example_source()
    assert len(source.strip().splitlines()) < 50
    script = tmp_path / "tap_jsonl.py"
    script.write_text(source)
    data = tmp_path / "in.jsonl"
    data.write_text('{"id": 1, "name": "a"}\n{"id": 2, "name": "b"}\n')
    cfg = write_json(
        tmp_path / "c.json",
        {"path": str(data), "stream": "things", "fields": ["id", "name"], "keys": ["id"]},
    )

    def run(*args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [sys.executable, str(script), *args], capture_output=True, timeout=120, check=False
        )

    synced = run("--config", str(cfg))
    assert synced.returncode == 0, synced.stderr.decode()[-2000:]
    assert records(synced.stdout, "things") == [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]
    checked = run("--config", str(cfg), "--check")
    assert codec.loads(checked.stdout)["connectionStatus"]["status"] == "SUCCEEDED"

    data.write_text('{"id": 1}\nnot json\n')
    broken = run("--config", str(cfg))
    assert broken.returncode == 4
    assert "stream 'things', line 2: not JSON" in broken.stderr.decode()
