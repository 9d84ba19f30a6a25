"""target-parquet through its console script with the native decoder on and off
(``DATIVO_NATIVE=0``): the same files, the same STATE lines, the same precise errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from dativo_protocol.errors import ExitCode
from tests.target_parquet.helpers import line, read_rows, record, schema, state, states, target

PROPS: dict[str, Any] = {
    "id": {"type": "integer"},
    "amount": {"type": ["number", "null"]},
    "name": {"type": ["string", "null"]},
    "active": {"type": "boolean"},
    "at": {"type": "string", "format": "date-time"},
    "day": {"type": ["string", "null"], "format": "date"},
    "tags": {"type": ["array", "null"], "items": {"type": "string"}},
    "meta": {
        "type": ["object", "null"],
        "properties": {"source": {"type": "string"}, "version": {"type": "integer"}},
    },
}
SCHEMA = line(
    {
        "type": "SCHEMA",
        "stream": "items",
        "schema": {"type": "object", "properties": PROPS, "required": ["id", "active", "at"]},
        "key_properties": ["id"],
    }
)
NATIVE_ON: dict[str, str] = {}
NATIVE_OFF = {"DATIVO_NATIVE": "0"}


def item(i: int) -> dict[str, Any]:
    return {
        "id": i,
        "amount": None if i % 5 == 0 else i * 1.25,
        "name": f"n-{i}" if i % 3 else None,
        "active": i % 2 == 0,
        "at": f"2024-03-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00.{i % 1000:03d}+02:00",
        "day": f"2024-01-{1 + i % 28:02d}",
        "tags": [f"t{i % 4}"] * (i % 3),
        "meta": {"source": "app", "version": i % 7} if i % 4 else None,
        "ignored": {"nested": [i]},
    }


def stream_input(n: int, *, state_every: int, blank_every: int = 0) -> bytes:
    out = [SCHEMA]
    for i in range(1, n + 1):
        out.append(record(item(i), "items"))
        if blank_every and i % blank_every == 0:
            out.append(b"\n")
        if i % state_every == 0:
            out.append(state({"bookmarks": {"items": {"id": i}}}))
    return b"".join(out)


def run(tmp_path: Path, name: str, data: bytes, env: dict[str, str]) -> tuple[Any, Path]:
    dest = tmp_path / name
    config = {"destination_path": str(dest), "flush_max_rows": 1500}
    return target(tmp_path, config, data, env=env), dest


def test_native_on_and_off_write_the_same_rows_and_states(tmp_path: Path) -> None:
    data = stream_input(4000, state_every=700, blank_every=97)
    on, on_dest = run(tmp_path, "on", data, NATIVE_ON)
    off, off_dest = run(tmp_path, "off", data, NATIVE_OFF)
    assert on.returncode == 0, on.stderr
    assert off.returncode == 0, off.stderr
    assert on.stdout == off.stdout
    assert [s["bookmarks"]["items"]["id"] for s in states(on.stdout)][-1] == 3500
    rows = read_rows(on_dest / "items")
    assert rows == read_rows(off_dest / "items")
    assert [r["id"] for r in rows] == list(range(1, 4001))
    assert rows[4]["amount"] is None
    assert rows[1]["at"].isoformat() == "2024-03-03T00:02:00.002000+00:00"


BAD: dict[str, tuple[dict[str, Any], ExitCode, str]] = {
    "string for int": ({"id": "x"}, ExitCode.RECORD, "stream 'items', line 1502"),
    "float for int": ({"id": 1.5}, ExitCode.RECORD, "stream 'items', line 1502"),
    "missing required": ({"active": None}, ExitCode.RECORD, "stream 'items', line 1502"),
    "bad date-time": ({"at": "2024-13-01T00:00:00Z"}, ExitCode.RECORD, "line 1502"),
}


@pytest.mark.parametrize("env", [NATIVE_ON, NATIVE_OFF], ids=["native", "pure"])
@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_records_give_the_same_precise_error(tmp_path: Path, case: str, env: Any) -> None:
    patch, code, where = BAD[case]
    rows = [record(item(i), "items") for i in range(1, 3001)]
    rows[1500] = record({**item(1501), **patch}, "items")
    res, dest = run(tmp_path, "out", SCHEMA + b"".join(rows), env)
    assert res.returncode == code, res.stderr
    assert where in res.stderr.decode()
    assert states(res.stdout) == []
    assert not list(dest.rglob("*.parquet"))


def test_malformed_line_in_a_native_run(tmp_path: Path) -> None:
    rows = [record(item(i), "items") for i in range(1, 1001)]
    rows[600] = rows[600][:40] + b"\n"
    res, _ = run(tmp_path, "out", SCHEMA + b"".join(rows), NATIVE_ON)
    assert res.returncode == ExitCode.PROTOCOL, res.stderr
    assert "line 602" in res.stderr.decode()


def test_lines_of_another_stream_fall_back_in_order(tmp_path: Path) -> None:
    data = (
        stream_input(300, state_every=100)
        + schema("other", {"id": {"type": "integer"}})
        + b"".join(record({"id": i}, "other") + record(item(1000 + i), "items") for i in range(5))
        + line({"type": "STATE", "value": {"done": True}})
    )
    on, on_dest = run(tmp_path, "on", data, NATIVE_ON)
    off, off_dest = run(tmp_path, "off", data, NATIVE_OFF)
    assert on.returncode == 0, on.stderr
    assert on.stdout == off.stdout
    assert states(on.stdout)[-1] == {"done": True}
    assert read_rows(on_dest / "items") == read_rows(off_dest / "items")
    assert len(read_rows(on_dest / "other")) == 5


def test_the_decoder_is_installed() -> None:
    """make install-dev builds native/; the tests above would pass without it, this would not."""
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import dativo_native, sys; sys.stdout.write(dativo_native.Decoder.__module__)",
        ],
        capture_output=True,
        check=True,
    )
    assert out.stdout == b"dativo_native._native"


@pytest.mark.parametrize("env", [NATIVE_ON, NATIVE_OFF], ids=["native", "pure"])
def test_batch_jsonl_files(tmp_path: Path, env: dict[str, str]) -> None:
    good = tmp_path / "good.jsonl"
    good.write_bytes(b"".join(orjson.dumps(item(i)) + b"\n" for i in range(1, 501)))
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(orjson.dumps(item(1)) + b"\n" + orjson.dumps({**item(2), "id": 2.5}) + b"\n")

    def batch(path: Path) -> bytes:
        encoding = {"format": "jsonl", "compression": "none"}
        return line(
            {"type": "BATCH", "stream": "items", "encoding": encoding, "manifest": [str(path)]}
        )

    res, dest = run(tmp_path, "ok", SCHEMA + batch(good) + state({"b": 1}), env)
    assert res.returncode == 0, res.stderr
    assert [r["id"] for r in read_rows(dest / "items")] == list(range(1, 501))
    assert states(res.stdout) == [{"b": 1}]
    res, _ = run(tmp_path, "bad", SCHEMA + batch(bad), env)
    assert res.returncode == ExitCode.RECORD
    assert "line 2: BATCH file 1, line 2" in res.stderr.decode()


def test_free_form_fields_are_the_same_text_native_or_not(tmp_path: Path) -> None:
    props = {**PROPS, "payload": {"type": ["object", "null"]}, "any": {}}
    head = line(
        {
            "type": "SCHEMA",
            "stream": "items",
            "schema": {"type": "object", "properties": props, "required": ["id", "active", "at"]},
            "key_properties": ["id"],
        }
    )
    payloads = [{"a": [1, 2.5, None], "é": {"n": 1e-7}}, {"b": 10**19}, {}, None]
    rows = [
        record({**item(i), "payload": payloads[i % 4], "any": [i, "x"] if i % 3 else i}, "items")
        for i in range(1, 1201)
    ]
    rows[701] = rows[701].replace(b'"payload":{}', b'"payload":{"z":-0}')  # refused natively
    data = head + b"".join(rows) + state({"done": True})
    on, on_dest = run(tmp_path, "on", data, NATIVE_ON)
    off, off_dest = run(tmp_path, "off", data, NATIVE_OFF)
    assert on.returncode == 0, on.stderr
    assert off.returncode == 0, off.stderr
    assert on.stdout == off.stdout
    got = read_rows(on_dest / "items")
    assert got == read_rows(off_dest / "items")
    assert [r["payload"] for r in got[:4]] == [
        '{"b":10000000000000000000}',
        "{}",
        None,
        '{"a":[1,2.5,null],"é":{"n":1e-7}}',
    ]
    assert got[701]["payload"] == '{"z":0}'
