"""Bad input: precise error, documented exit code, no state past the failure, no partial file,
no secret or raw line echoed."""

from __future__ import annotations

from pathlib import Path

import orjson
import pyarrow.parquet as pq
import pytest

from dativo_protocol.errors import ExitCode
from tests.fixtures.cli import assert_no_secret
from tests.target_parquet.helpers import (
    line,
    parquet_files,
    read_rows,
    record,
    schema,
    state,
    states,
    target,
    user,
)

CANARY = "canary-target-s3cret-5521"
LINE_CANARY = "canary-in-the-line-9001"


def committed_prefix() -> bytes:
    """SCHEMA (line 1), 3 records (2-4), STATE (5): committed and emitted with flush_max_rows=3."""
    return schema() + b"".join(record(user(i)) for i in (1, 2, 3)) + state({"upto": 3})


BAD_TAILS = {
    "malformed": (
        record(user(4))
        + b'{"type":"RECORD","stream":"users","record":{"id":5,"secret":"'
        + LINE_CANARY.encode()
        + b'"}}}\n',
        ExitCode.PROTOCOL,
        "line 7",
    ),
    "before_schema": (
        record(user(4)) + record({"id": 1, "note": LINE_CANARY}, stream="ghost"),
        ExitCode.PROTOCOL,
        "stream 'ghost', line 7",
    ),
    "breaks_schema": (
        record(user(4)) + record({**user(5), "id": LINE_CANARY}),
        ExitCode.RECORD,
        "stream 'users', line 7",
    ),
    "missing_required": (
        record(user(4)) + record({"id": 5, "name": LINE_CANARY}),
        ExitCode.RECORD,
        "line 7",
    ),
    "truncated": (
        record(user(4)) + record({**user(5), "name": LINE_CANARY})[:-20],
        ExitCode.PROTOCOL,
        "line 7",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_TAILS))
def test_bad_input_fails_cleanly(tmp_path: Path, case: str) -> None:
    tail, code, where = BAD_TAILS[case]
    dest = tmp_path / "out"
    config = {"destination_path": str(dest), "flush_max_rows": 3, "aws_secret_access_key": CANARY}
    res = target(tmp_path, config, committed_prefix() + tail + state({"upto": 99}))
    assert res.returncode == code, res.stderr
    err = res.stderr.decode()
    assert where in err, err
    # the STATE before the failure was emitted (its records were committed); nothing after it
    assert states(res.stdout) == [{"upto": 3}]
    # only whole, committed files are visible: exactly the three committed records
    assert [r["id"] for r in read_rows(dest / "users")] == [1, 2, 3]
    for f in parquet_files(dest):
        pq.read_metadata(f)
    assert not (dest / "_dativo_tmp").exists() or not any((dest / "_dativo_tmp").rglob("*"))
    assert_no_secret(CANARY, res.stdout, res.stderr)
    assert_no_secret(LINE_CANARY, res.stdout, res.stderr)


def test_fast_path_error_names_line_inside_a_big_run(tmp_path: Path) -> None:
    rows = [record(user(i)) for i in range(1, 2001)]
    rows[1499] = record({**user(1500), "updated_at": "not a time"})
    res = target(tmp_path, {"destination_path": str(tmp_path / "o")}, schema() + b"".join(rows))
    assert res.returncode == ExitCode.RECORD
    assert "stream 'users', line 1501" in res.stderr.decode()
    assert "updated_at" in res.stderr.decode()
    assert parquet_files(tmp_path / "o") == []


def test_unknown_message_type_is_tolerated_with_a_warning(tmp_path: Path) -> None:
    dest = tmp_path / "out"
    data = schema() + record(user(1)) + line({"type": "FANCY", "x": LINE_CANARY}) + record(user(2))
    res = target(tmp_path, {"destination_path": str(dest)}, data)
    assert res.returncode == 0, res.stderr
    assert "line 3: unknown message type" in res.stderr.decode()
    assert [r["id"] for r in read_rows(dest / "users")] == [1, 2]
    assert_no_secret(LINE_CANARY, res.stdout, res.stderr)


def test_strict_checks_the_whole_json_schema(tmp_path: Path) -> None:
    props = {"id": {"type": "integer"}, "code": {"type": "string", "maxLength": 3}}
    data = (
        schema("s", props)
        + record({"id": 1, "code": "abc"}, "s")
        + record({"id": 2, "code": "toolong"}, "s")
    )
    fast = target(tmp_path, {"destination_path": str(tmp_path / "fast")}, data)
    assert fast.returncode == 0, fast.stderr  # fast mode checks types, not maxLength
    strict = target(
        tmp_path, {"destination_path": str(tmp_path / "strict"), "validation": "strict"}, data
    )
    assert strict.returncode == ExitCode.RECORD
    assert "stream 's', line 3: field 'code' breaks maxLength=3" in strict.stderr.decode()
    off = schema("s", props) + record({"id": 1, "code": "abc", "id2": 5}, "s")
    res = target(tmp_path, {"destination_path": str(tmp_path / "off"), "validation": "off"}, off)
    assert res.returncode == 0, res.stderr


def test_dead_letter_keeps_going_and_records_the_reason(tmp_path: Path) -> None:
    dest = tmp_path / "out"
    data = (
        schema()
        + record(user(1))
        + record({**user(2), "id": "two"})
        + record(user(3))
        + record({"id": 4})
        + state({"upto": 4})
    )
    config = {"destination_path": str(dest), "on_invalid_record": "dead_letter"}
    res = target(tmp_path, config, data)
    assert res.returncode == 0, res.stderr
    assert [r["id"] for r in read_rows(dest / "users")] == [1, 3]
    assert states(res.stdout) == [{"upto": 4}]
    dead = [
        orjson.loads(x)
        for f in sorted((dest / "_dead_letter" / "users").glob("*.jsonl"))
        for x in f.read_bytes().splitlines()
    ]
    assert [(d["line"], d["record"]["id"]) for d in dead] == [(3, "two"), (5, 4)]
    assert "id" in dead[0]["reason"]
    assert "updated_at" in dead[1]["reason"]
