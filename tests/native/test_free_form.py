"""Free-form fields (objects without properties, ``{}``, mixed unions: JSON text columns) in
the native decoder: byte for byte the row path's text (orjson), or a rejection."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from dativo_native import canonical_json
from dativo_targets.kit import native
from dativo_targets.kit.streams import build_stream
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.native.test_decoder import (
    JSONISH,
    STREAM,
    check_mutation,
    native_table,
    reason_after_good_lines,
    rec,
    row_path,
    stream_state,
)

FREE: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "o": {"type": ["object", "null"]},
        "any": {},
        "union": {"type": ["string", "integer", "null"]},
        "items": {"type": ["array", "null"], "items": {}},
        "nested": {
            "type": ["object", "null"],
            "properties": {"k": {"type": "integer"}, "raw": {"type": "object"}},
        },
        "req": {"type": "object"},
    },
    "required": ["id", "req"],
}
GOOD: dict[str, Any] = {
    "id": 1,
    "o": {"a": [1, 2.5, None, True], "b": {"c": "é\\\n\u2028\x00"}},
    "any": "text",
    "union": 7,
    "items": [{}, [], 1e-7, "x"],
    "nested": {"k": 1, "raw": {"z": 1e16}},
    "req": {},
}
#: raw lines whose text orjson would not write itself: spacing, exponents, escapes, integers
#: beyond int64 and uint64 (both read them as floats), key order kept
RAW = [
    b'{"type":"RECORD","stream":"s","record":{"id":2,"req":{ "b" : 1E2 , "a" : [ 0.10, -5e-1 ] }}}',
    b'{"type":"RECORD","stream":"s","record":{"id":3,"req":{},"o":{"u":"\\u00e9\\ud83d\\ude00\\/"}}}',
    b'{"type":"RECORD","stream":"s","record":{"id":4,"req":[18446744073709551615,'
    b"18446744073709551616,-9223372036854775809,123456789012345678901234567890]}}",
    b'{"type":"RECORD","stream":"s","record":{"id":5,"req":0,"any":null}}',
    b'{"type":"RECORD","stream":"s","record":{"id":6,"req":{"a":{"a":1},"b":[{"a":1},{"a":2}]}}}',
    b'{"type":"STATE","value":{"x":-0}}',
]


def test_free_form_fields_get_the_row_paths_text() -> None:
    st_ = stream_state(FREE)
    data = rec(GOOD) + b"\n".join(RAW) + b"\n" + rec({**GOOD, "o": None, "id": 9})
    table = native_table(st_, data)
    assert table.equals(row_path(st_, data), check_metadata=True)
    assert table.column("req").to_pylist()[1] == '{"b":100.0,"a":[0.1,-0.5]}'
    assert table.column("o").to_pylist()[-1] is None  # JSON null: a null, not "null"
    assert table.column("nested").to_pylist()[0] == {"k": 1, "raw": '{"z":1e+16}'}


UNSURE: dict[str, bytes] = {
    "negative zero integer": b'{"type":"RECORD","stream":"s","record":{"id":1,"req":-0}}\n',
    "negative zero float": b'{"type":"RECORD","stream":"s","record":{"id":1,"req":[-0.0]}}\n',
    "duplicate key": b'{"type":"RECORD","stream":"s","record":{"id":1,"req":{"a":1,"a":2}}}\n',
    "duplicate key of many": (
        b'{"type":"RECORD","stream":"s","record":{"id":1,"req":{'
        + b",".join(b'"k%d":1' % (i % 30) for i in range(31))
        + b"}}}\n"
    ),
    "null in a required field": b'{"type":"RECORD","stream":"s","record":{"id":1,"req":null}}\n',
    "missing required field": b'{"type":"RECORD","stream":"s","record":{"id":1}}\n',
    "lone surrogate": b'{"type":"RECORD","stream":"s","record":{"id":1,"req":"\\udc00"}}\n',
    "number out of range": b'{"type":"RECORD","stream":"s","record":{"id":1,"req":1e999}}\n',
}


@pytest.mark.parametrize("bad", UNSURE.values(), ids=list(UNSURE))
def test_values_it_cannot_match_are_rejected(bad: bytes) -> None:
    st_ = stream_state(FREE)
    reason_after_good_lines(st_, rec(GOOD), bad, rec(GOOD))


def test_a_different_orjson_turns_free_form_fields_off(monkeypatch: pytest.MonkeyPatch) -> None:
    assert native.json_agrees(canonical_json)
    assert not native.json_agrees(lambda text: text)  # what a differing writer would give
    monkeypatch.setattr(native, "json_agrees", lambda canonical: False)
    assert build_stream(STREAM, FREE, (), (), "fast").native is None
    plain = {"type": "object", "properties": {"id": {"type": "integer"}}}
    assert build_stream(STREAM, plain, (), (), "fast").native is not None


NUMBER = st.from_regex(
    r"-?(0|[1-9][0-9]{0,24})(\.[0-9]{1,24})?([eE][+-]?[0-9]{1,3})?", fullmatch=True
)


@settings(max_examples=300, deadline=None)
@given(text=NUMBER | st.floats(allow_nan=False, allow_infinity=False).map(repr))
def test_number_texts_are_written_as_orjson_writes_them(text: str) -> None:
    data = text.encode()
    got = canonical_json(data)
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        assert got is None
        return
    if text.startswith("-") and value == 0:  # -0 and -0.0 (serde cannot tell them): refused
        assert got is None
    else:
        assert got == orjson.dumps(value)


SEEDS = [rec(GOOD), *RAW, *(line.rstrip(b"\n") for line in UNSURE.values())] * 3


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lines=st.lists(st.sampled_from(SEEDS), min_size=1, max_size=3),
    edits=st.lists(
        st.tuples(st.integers(0, 10_000), st.sampled_from([bytes([b]) for b in JSONISH] + [b""])),
        min_size=1,
        max_size=3,
    ),
)
def test_mutated_free_form_lines_are_rejected_or_read_as_the_row_path_reads_them(
    lines: list[bytes], edits: list[tuple[int, bytes]]
) -> None:
    check_mutation(stream_state(FREE), b"\n".join(lines) + b"\n", edits)
