"""The native decoder against the row path: whatever it accepts gives the row path's values,
and every line it is unsure of is rejected (line index, never the line's text)."""

from __future__ import annotations

from typing import Any

import orjson
import pyarrow as pa
import pytest
from dativo_targets.kit import native
from dativo_targets.kit.decode import fast_records, rows_to_batch
from dativo_targets.kit.streams import StreamState, build_stream
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.native.strategies import json_schemas, records

STREAM = "s"
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "x": {"type": ["number", "null"]},
        "name": {"type": ["string", "null"]},
        "ok": {"type": ["boolean", "null"]},
        "at": {"type": ["string", "null"], "format": "date-time"},
        "day": {"type": ["string", "null"], "format": "date"},
        "tags": {"type": ["array", "null"], "items": {"type": "string"}},
        "obj": {
            "type": ["object", "null"],
            "properties": {"k": {"type": "integer"}, "v": {"type": ["string", "null"]}},
            "required": ["k"],
        },
    },
    "required": ["id"],
}
GOOD: dict[str, Any] = {
    "id": 1,
    "x": 1.5,
    "name": "a",
    "ok": True,
    "at": "2024-01-02T03:04:05.123456+01:00",
    "day": "2024-02-29",
    "tags": ["t"],
    "obj": {"k": 1, "v": None},
}


def rec(record: Any, stream: str = STREAM) -> bytes:
    return orjson.dumps({"type": "RECORD", "stream": stream, "record": record}) + b"\n"


def stream_state(json_schema: dict[str, Any], validation: str = "fast") -> StreamState:
    st_ = build_stream(STREAM, json_schema, ("id",), (), validation)  # type: ignore[arg-type]
    assert st_.native is not None, "the schema should be supported natively"
    return st_


def row_path(st_: StreamState, data: bytes) -> pa.Table:
    msgs = [orjson.loads(x) for x in data.split(b"\n") if x.strip()]
    rows = [m["record"] for m in msgs if m["type"] == "RECORD"]
    return pa.Table.from_batches([rows_to_batch(rows, st_, list(range(len(rows))))])


def native_table(st_: StreamState, data: bytes, split_bytes: int | None = None) -> pa.Table:
    assert st_.native is not None
    run = native.decode(st_.native, data, data.count(b"\n"), STREAM, split_bytes)
    assert run is not None, "the native decoder rejected valid input"
    for batch in run.batches:
        batch.validate(full=True)
    return pa.Table.from_batches(run.batches, schema=st_.schema.arrow)


def rejection(st_: StreamState, data: bytes) -> tuple[int, str, int]:
    assert st_.native is not None
    parts, _, _, rejected = st_.native.decoder.decode(data, STREAM)
    assert parts is None
    assert rejected is not None
    return rejected


def reason_after_good_lines(st_: StreamState, record: bytes, bad: bytes, tail: bytes) -> str:
    """``bad`` after ``record`` (a good RECORD line) and a STATE, then ``tail``, is rejected at
    its own line and offset; returns the reason, which must not be empty."""
    good = record + b'{"type":"STATE","value":1}\n'
    line, reason, offset = rejection(st_, good + bad + tail)
    assert (line, offset) == (2, len(good))
    assert reason
    return reason


def check_mutation(st_: StreamState, data: bytes, edits: list[tuple[int, bytes]]) -> None:
    """``data`` with one-byte ``edits`` applied: the decoder rejects it, or every line is a
    message orjson reads and the decoded table equals the row path's."""
    mutable = bytearray(data)
    for pos, new in edits:
        at = pos % len(mutable)
        mutable[at : at + 1] = new
    mutated = bytes(mutable)
    assert st_.native is not None
    if st_.native.decoder.decode(mutated, STREAM)[0] is None:
        return
    msgs = [orjson.loads(x) for x in mutated.split(b"\n") if x.strip()]  # must not raise
    assert all(m["type"] in ("RECORD", "STATE") for m in msgs)
    assert native_table(st_, mutated).equals(row_path(st_, mutated), check_metadata=True)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), schema=json_schemas(), validation=st.sampled_from(["off", "fast"]))
def test_accepted_records_equal_the_row_path(data: Any, schema: Any, validation: str) -> None:
    st_ = build_stream(STREAM, schema, (), (), validation)  # type: ignore[arg-type]
    assert st_.native is not None
    rows = data.draw(st.lists(records(list(st_.checked)), min_size=1, max_size=8))
    lines = b"".join(rec(r) for r in rows)
    assert native_table(st_, lines).equals(row_path(st_, lines), check_metadata=True)


def test_states_blank_lines_and_line_indexes() -> None:
    st_ = stream_state(SCHEMA)
    state = b'{"type":"STATE","value":{"n":1}}\n'
    data = rec(GOOD) + b"\n" + state + b"  \r\n" + rec({**GOOD, "id": 2}) + state + rec(GOOD)
    assert st_.native is not None
    parts, last_state, lines, rejected = st_.native.decoder.decode(data, STREAM)
    assert (last_state, lines, rejected) == (5, 7, None)
    assert parts is not None
    assert [rows for rows, _ in parts] == [3]
    assert native_table(st_, data).equals(row_path(st_, data))
    # only STATE lines: no rows, the last STATE's index
    only_states = state * 3
    assert st_.native.decoder.decode(only_states, STREAM)[1:] == (2, 3, None)
    run = native.decode(st_.native, only_states, 3, STREAM)
    assert run is not None
    assert (run.batches, run.last_state) == ([], 2)


def test_naive_date_times_are_read_as_utc_like_the_row_path() -> None:
    st_ = stream_state(SCHEMA)
    data = rec({**GOOD, "at": "2024-01-02T03:04:05"}) + rec({**GOOD, "at": "2024-01-02T03:04:05.5"})
    table = native_table(st_, data)
    assert table.equals(row_path(st_, data))
    assert table.column("at").to_pylist()[1].isoformat() == "2024-01-02T03:04:05.500000+00:00"


def test_fast_records_uses_the_decoder_with_blank_lines() -> None:
    """pyarrow.json cannot take a blank line; the native path can (and the kit uses it)."""
    st_ = stream_state(SCHEMA)
    data = rec(GOOD) + b"\n" + rec({**GOOD, "id": 2})
    run = fast_records(data, 3, st_)
    assert run is not None
    assert pa.Table.from_batches(run.batches).column("id").to_pylist() == [1, 2]
    st_.native = None
    assert fast_records(data, 3, st_) is None


MISMATCHES: dict[str, bytes] = {
    "string for int": rec({**GOOD, "id": "1"}),
    "float for int": rec({**GOOD, "id": 1.5}),
    "integral float for int": rec({**GOOD, "id": 1.0}),
    "int beyond int64": rec({**GOOD, "id": 2**63}),
    "negative beyond int64": b'{"type":"RECORD","stream":"s","record":{"id":-9223372036854775809}}\n',
    "bool for int": rec({**GOOD, "id": True}),
    "int for string": rec({**GOOD, "name": 12}),
    "object for string": rec({**GOOD, "name": {"a": 1}}),
    "array for string": rec({**GOOD, "name": ["a"]}),
    "number for bool": rec({**GOOD, "ok": 1}),
    "string for number": rec({**GOOD, "x": "1.5"}),
    "bool for number": rec({**GOOD, "x": False}),
    "int beyond 2**53 for number": rec({**GOOD, "x": 2**53 + 1}),
    "negative zero for number": b'{"type":"RECORD","stream":"s","record":{"id":1,"x":-0}}\n',
    "string for object": rec({**GOOD, "obj": "a"}),
    "object for array": rec({**GOOD, "tags": {"a": 1}}),
    "null item in non-null array": rec({**GOOD, "tags": [None]}),
    "required field missing": rec({"name": "a"}),
    "required field null": rec({**GOOD, "id": None}),
    "nested required missing": rec({**GOOD, "obj": {"v": "a"}}),
    "duplicate key": b'{"type":"RECORD","stream":"s","record":{"id":1,"id":2}}\n',
    "date-time ending in a dot": rec({**GOOD, "at": "2024-01-02T03:04:05."}),
    "space separator": rec({**GOOD, "at": "2024-01-02 03:04:05Z"}),
    "seven fraction digits": rec({**GOOD, "at": "2024-01-02T03:04:05.1234567Z"}),
    "no day 30 in February": rec({**GOOD, "at": "2023-02-30T03:04:05Z"}),
    "leap second": rec({**GOOD, "at": "2016-12-31T23:59:60Z"}),
    "offset without colon": rec({**GOOD, "at": "2024-01-02T03:04:05+0100"}),
    "number for date-time": rec({**GOOD, "at": 1700000000}),
    "date-time for date": rec({**GOOD, "day": "2024-01-02T00:00:00Z"}),
    "not a leap year": rec({**GOOD, "day": "2023-02-29"}),
    "another stream": rec(GOOD, stream="other"),
    "another type": b'{"type":"SCHEMA","stream":"s","schema":{},"key_properties":[]}\n',
    "lower-case type": b'{"type":"record","stream":"s","record":{"id":1}}\n',
    "record before type": b'{"record":{"id":1},"type":"RECORD","stream":"s"}\n',
    "record before stream": b'{"type":"RECORD","record":{"id":1},"stream":"s"}\n',
    "no record": b'{"type":"RECORD","stream":"s"}\n',
    "record is null": b'{"type":"RECORD","stream":"s","record":null}\n',
    "record is an array": b'{"type":"RECORD","stream":"s","record":[1]}\n',
    "no type": b'{"stream":"s","record":{"id":1}}\n',
    "duplicate type": b'{"type":"RECORD","type":"RECORD","stream":"s","record":{"id":1}}\n',
    "malformed": b'{"type":"RECORD","stream":"s","record":{"id":1}\n',
    "trailing garbage": b'{"type":"RECORD","stream":"s","record":{"id":1}} x\n',
    "not an object": b"[1]\n",
    "invalid UTF-8": b'{"type":"RECORD","stream":"s","record":{"id":1,"name":"\xff"}}\n',
    "lone surrogate": b'{"type":"RECORD","stream":"s","record":{"id":1,"name":"\\ud800"}}\n',
    "lone surrogate in an unknown key's value": (
        b'{"type":"RECORD","stream":"s","record":{"id":1,"zz":["\\udc00"]}}\n'
    ),
    "lone surrogate in a STATE": b'{"type":"STATE","value":{"a":"\\ud800"}}\n',
    "bad STATE": b'{"type":"STATE","value":{"a":}}\n',
    "unterminated last line": b'{"type":"RECORD","stream":"s","record":{"id":1}}',
}


@pytest.mark.parametrize("bad", MISMATCHES.values(), ids=list(MISMATCHES))
def test_mismatches_are_rejected_at_their_line(bad: bytes) -> None:
    tail = rec(GOOD) if bad.endswith(b"\n") else b""
    reason = reason_after_good_lines(stream_state(SCHEMA), rec(GOOD), bad, tail)
    assert b"1.5" not in reason.encode()  # a reason names the problem, never the value
    assert "2024" not in reason


def test_split_across_threads_keeps_order_and_line_numbers() -> None:
    st_ = stream_state(SCHEMA)
    state = b'{"type":"STATE","value":{"n":1}}\n'
    data = b"".join(
        rec({**GOOD, "id": i, "name": f"n{i}"}) + (state if i == 10 else b"") for i in range(400)
    )
    lines = data.count(b"\n")
    assert st_.native is not None
    parts, last_state, count, _ = st_.native.decoder.decode(data, STREAM, split_bytes=1)
    assert parts is not None
    assert len(parts) == 2
    assert (last_state, count) == (11, lines)  # the STATE is in the first part
    split = native_table(st_, data, split_bytes=1)
    assert split.equals(native_table(st_, data, split_bytes=len(data) + 1))
    assert split.equals(row_path(st_, data))
    assert split.column("id").to_pylist() == list(range(400))
    # a rejection in the second part names its line in the whole buffer
    bad = data + rec({**GOOD, "id": "x"}) + rec(GOOD)
    parts, _, _, rejected = st_.native.decoder.decode(bad, STREAM, split_bytes=1)
    assert parts is None
    assert rejected is not None
    assert rejected[0] == lines
    assert rejected[2] == len(data)


def test_unsupported_schemas_get_no_native_decoder(monkeypatch: pytest.MonkeyPatch) -> None:
    timed = {"type": "object", "properties": {"t": {"type": "string", "format": "time"}}}
    assert build_stream(STREAM, timed, (), (), "fast").native is None
    assert build_stream(STREAM, SCHEMA, (), (), "fast").native is not None
    monkeypatch.setenv("DATIVO_NATIVE", "0")
    assert build_stream(STREAM, SCHEMA, (), (), "fast").native is None


def test_batches_own_their_buffers_after_the_decode_result_is_gone() -> None:
    """The column buffers are handed over without a copy: the arrays must keep them alive."""
    import gc

    st_ = stream_state(SCHEMA)
    data = b"".join(rec({**GOOD, "id": i, "name": f"name-{i}"}) for i in range(50))
    table = native_table(st_, data)
    gc.collect()
    filler = [bytes(1000) for _ in range(1000)]  # reuse freed memory, if any was freed
    assert table.column("name").to_pylist() == [f"name-{i}" for i in range(50)]
    assert table.column("id").to_pylist() == list(range(50))
    assert len(filler) == 1000


JSONISH = b'"{}[],:0123456789-+.eE \\/tfnulrsaUZT\t\r\x00\xc3\xa9'
VALID = [
    rec(GOOD),
    rec({**GOOD, "zz": {"a": ["\u00e9\\", 1e-7, None, True]}, "day": None, "tags": []}),
    b'{"type":"STATE","value":{"a":"\\ud83d\\ude00","b":[1,2.5e3,-0,{}]}}\n',
    b'{"type":"RECORD","stream":"s","record":{"id":7,"x":-2,"name":"\\u00e9\\"","ok":false}}\n',
]
#: lines to mutate: valid ones about half of the time
SEEDS = VALID * 12 + list(MISMATCHES.values())


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lines=st.lists(st.sampled_from(SEEDS), min_size=1, max_size=3),
    edits=st.lists(
        st.tuples(st.integers(0, 10_000), st.sampled_from([bytes([b]) for b in JSONISH] + [b""])),
        min_size=1,
        max_size=3,
    ),
)
def test_mutated_lines_are_rejected_or_read_as_the_row_path_reads_them(
    lines: list[bytes], edits: list[tuple[int, bytes]]
) -> None:
    """Whatever the decoder accepts, orjson and the row path accept with the same values."""
    check_mutation(stream_state(SCHEMA), b"".join(lines), edits)


def test_bare_records_of_a_batch_file() -> None:
    """BATCH jsonl files hold bare records: blank lines skipped, the last newline optional."""
    from dativo_targets.kit.decode import fast_bare_records

    st_ = stream_state(SCHEMA)
    assert st_.native is not None
    body = b"\n".join(orjson.dumps({**GOOD, "id": i}) for i in range(5))
    data = body[:60] + body[60:].replace(b"\n", b"\n  \n", 1)  # a blank line inside
    batches = native.decode_bare(st_.native, data)
    assert batches is not None
    table = pa.Table.from_batches(batches)
    rows = [orjson.loads(x) for x in data.split(b"\n") if x.strip()]
    expected = pa.Table.from_batches([rows_to_batch(rows, st_, list(range(5)))])
    assert table.equals(expected)
    assert fast_bare_records(data, st_) == batches
    for bad in (rec(GOOD), b"null\n", b"[1]\n", orjson.dumps({**GOOD, "id": "x"})):
        assert native.decode_bare(st_.native, body + b"\n" + bad) is None


def test_strict_validation_gets_no_native_decoder() -> None:
    assert build_stream(STREAM, SCHEMA, (), (), "strict").native is None
