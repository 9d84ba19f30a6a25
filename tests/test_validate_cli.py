"""``dativo validate`` through the real console script, on the golden streams in tests/golden/.

Each golden ``X.jsonl`` has a snapshot ``X.expected.json`` (exit code + the ``--json --all``
report). Regenerate after an intended change with ``DATIVO_UPDATE_GOLDEN=1 pytest
tests/test_validate_cli.py`` and review the diff. Every invalid stream carries the canary secret
in its bad part; it must not appear in any output.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson
import pytest

from dativo_protocol.errors import ExitCode
from tests.fixtures.cli import RunCli, assert_no_secret

GOLDEN = Path(__file__).parent / "golden"
CANARY = "canary-Zx9-s3cret"
LIMIT = "4096"

#: golden stream -> (exit code, line of the first violation, error kind)
INVALID = {
    "malformed_line": (ExitCode.PROTOCOL, 3, "malformed_line"),
    "record_before_schema": (ExitCode.PROTOCOL, 2, "record_before_schema"),
    "record_violates_schema": (ExitCode.RECORD, 3, "record_invalid"),
    "state_not_json": (ExitCode.PROTOCOL, 3, "malformed_line"),
    "state_not_json_object": (ExitCode.PROTOCOL, 3, "protocol"),
    "truncated_last_line": (ExitCode.PROTOCOL, 3, "truncated_stream"),
    "line_too_long": (ExitCode.PROTOCOL, 3, "line_too_long"),
    "missing_key_property": (ExitCode.RECORD, 3, "record_invalid"),
    "bad_date_time": (ExitCode.RECORD, 2, "record_invalid"),
}


def test_every_golden_stream_is_covered() -> None:
    names = {p.stem for p in GOLDEN.glob("*.jsonl")}
    assert names == {*INVALID, "valid_singer_stream"}


@pytest.mark.parametrize("name", sorted([*INVALID, "valid_singer_stream"]))
def test_golden_report_snapshot(run_cli: RunCli, name: str) -> None:
    path = GOLDEN / f"{name}.jsonl"
    res = run_cli("dativo", "--json", "validate", "--all", "--max-line-bytes", LIMIT, path)
    assert_no_secret(CANARY, res.stdout, res.stderr)
    got: dict[str, Any] = {"exit_code": res.returncode, "report": orjson.loads(res.stdout)}
    snapshot = GOLDEN / f"{name}.expected.json"
    if os.environ.get("DATIVO_UPDATE_GOLDEN"):
        snapshot.write_bytes(orjson.dumps(got, option=orjson.OPT_INDENT_2) + b"\n")
    assert got == orjson.loads(snapshot.read_bytes())
    if name in INVALID:
        err = orjson.loads(res.stderr.splitlines()[-1])
        assert (err["exit_code"], err["line"], err["error"]) == INVALID[name]


@pytest.mark.parametrize("name", sorted(INVALID))
def test_first_violation_in_text_from_stdin(run_cli: RunCli, name: str) -> None:
    code, line, _kind = INVALID[name]
    data = (GOLDEN / f"{name}.jsonl").read_bytes()
    res = run_cli("dativo", "validate", "-", "--max-line-bytes", LIMIT, input=data)
    assert res.returncode == code
    assert_no_secret(CANARY, res.stdout, res.stderr)
    last = res.stderr.decode().strip().splitlines()[-1]
    assert last.startswith("error: ")
    assert f"line {line}" in last
    assert b"INVALID" in res.stdout


def test_valid_stream_text_summary(run_cli: RunCli) -> None:
    res = run_cli("dativo", "validate", GOLDEN / "valid_singer_stream.jsonl")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.decode().splitlines()
    assert lines[0].startswith("valid: 14 lines, 13 messages, 2 states, 2 streams")
    assert lines[1].split() == ["stream", "schemas", "records", "versions", "batches", "lines"]
    assert lines[2].split() == ["users", "2", "4", "1", "0", "1-13"]
    assert lines[3].split() == ["orders", "1", "1", "0", "1", "5-10"]
    assert b"unknown message type METRIC" in res.stderr


def test_default_line_limit_and_missing_file(run_cli: RunCli, tmp_path: Path) -> None:
    ok = run_cli("dativo", "validate", GOLDEN / "line_too_long.jsonl")
    assert ok.returncode == 0
    missing = run_cli("dativo", "validate", tmp_path / "nope.jsonl")
    assert missing.returncode == ExitCode.USAGE
    assert b"Traceback" not in missing.stderr
