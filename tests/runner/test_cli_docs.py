"""docs/cli.md is generated from `--help`; it must match every command's current help."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_cli_reference_is_up_to_date():
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "gen_cli_docs.py"), "--check"],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr


def test_cli_reference_covers_every_command():
    text = (REPO / "docs" / "cli.md").read_text()
    for command in ("run", "state show", "state set", "state clear", "state list"):
        assert f"## `dativo {command}`" in text
