"""The JSONL reader and writer: line numbering, chunking, errors, resumption, round trips."""

from __future__ import annotations

import io

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dativo_protocol.blocks import BlockReader
from dativo_protocol.errors import (
    LineTooLongError,
    MalformedLineError,
    TruncatedStreamError,
)
from dativo_protocol.jsonl import LineReader, MessageReader, MessageWriter, parse_line

CANARY = "canary-s3cr3t-7f1e"


def read_all(reader: MessageReader) -> list[tuple[int, object]]:
    """Every message and every error (as its class and line), resuming after errors."""
    out: list[tuple[int, object]] = []
    while True:
        try:
            for msg in reader:
                out.append((reader.line_no, msg))
            return out
        except (MalformedLineError, LineTooLongError, TruncatedStreamError) as exc:
            out.append((exc.line or 0, type(exc)))


def test_types_are_upper_cased_and_blank_lines_counted() -> None:
    data = b'{"type":"schema","stream":"s"}\n\n  \n{"type":"Record","stream":"s","record":{}}\n'
    reader = MessageReader(io.BytesIO(data))
    got = [(reader.line_no, m["type"]) for m in reader]
    assert got == [(1, "SCHEMA"), (4, "RECORD")]


def test_unknown_types_pass_through_upper_cased() -> None:
    reader = MessageReader(io.BytesIO(b'{"type":"metric","x":1}\n'))
    assert [m["type"] for m in reader] == ["METRIC"]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"{not json", "invalid JSON"),
        (b"[1, 2]", "an array, not a JSON object"),
        (b'"just a string"', "not a JSON object"),
        (b"42", "not a JSON object"),
        (b'{"stream": "s"}', "no 'type'"),
        (b'{"type": 7}', "'type' is not a string"),
        (b'{"type": ["RECORD"]}', "'type' is not a string"),
    ],
)
def test_malformed_lines_name_line_and_reason(line: bytes, reason: str) -> None:
    data = b'{"type":"STATE","value":{}}\n' + line + b"\n"
    reader = MessageReader(io.BytesIO(data))
    with pytest.raises(MalformedLineError) as info:
        list(reader)
    assert info.value.line == 2
    assert reason in info.value.message
    with pytest.raises(MalformedLineError) as again:
        parse_line(line, 9)
    assert again.value.line == 9


def test_error_never_echoes_the_line() -> None:
    line = f'{{"type":"RECORD","record":{{"password":"{CANARY}"}}'.encode()  # missing brace
    with pytest.raises(MalformedLineError) as info:
        list(MessageReader(io.BytesIO(line + b"\n")))
    assert CANARY not in str(info.value)
    assert "column" in info.value.message


def test_truncated_last_line() -> None:
    data = b'{"type":"STATE","value":{}}\n{"type":"RECORD","stream":"s","rec'
    with pytest.raises(TruncatedStreamError) as info:
        list(MessageReader(io.BytesIO(data)))
    assert info.value.line == 2
    assert "truncated" in info.value.message


def test_last_line_without_newline_that_parses_is_accepted() -> None:
    data = b'{"type":"STATE","value":{}}\n{"type":"STATE","value":{"a":1}}'
    assert [m["value"] for m in MessageReader(io.BytesIO(data))] == [{}, {"a": 1}]


def test_malformed_line_then_resume() -> None:
    data = b'{"type":"STATE","value":{}}\nbad\n{"type":"STATE","value":{"n":3}}\n'
    got = read_all(MessageReader(io.BytesIO(data), chunk_bytes=5))
    assert got == [
        (1, {"type": "STATE", "value": {}}),
        (2, MalformedLineError),
        (3, {"type": "STATE", "value": {"n": 3}}),
    ]


class CountingStream(io.RawIOBase):
    """Endless stream of one byte value, counting how much was read."""

    def __init__(self) -> None:
        self.served = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buf: memoryview) -> int:  # type: ignore[override]
        n = len(buf)
        buf[:n] = b"x" * n
        self.served += n
        return n


def test_line_too_long_is_refused_without_reading_it_all() -> None:
    stream = CountingStream()
    reader = MessageReader(stream, max_line_bytes=1000, chunk_bytes=256)  # type: ignore[arg-type]
    with pytest.raises(LineTooLongError) as info:
        next(iter(reader))
    assert info.value.line == 1
    assert stream.served < 2000


@pytest.mark.parametrize("chunk", [1, 7, 64, 4096])
def test_line_too_long_in_the_middle_then_resume(chunk: int) -> None:
    long = b'{"type":"STATE","value":{"x":"' + b"y" * 100 + b'"}}'
    data = b"\n".join([b'{"type":"STATE","value":{}}', long, b'{"type":"STATE","value":{}}', b""])
    got = read_all(MessageReader(io.BytesIO(data), max_line_bytes=60, chunk_bytes=chunk))
    assert [(n, m["type"] if isinstance(m, dict) else m) for n, m in got] == [
        (1, "STATE"),
        (2, LineTooLongError),
        (3, "STATE"),
    ]
    chunks: list[tuple[int, int]] = []
    reader = BlockReader(io.BytesIO(data), max_line_bytes=60, chunk_bytes=chunk)
    while True:
        try:
            chunks.extend((c.first_line, c.line_count) for c in reader)
            break
        except LineTooLongError as exc:
            chunks.append((exc.line or 0, -1))
    lines = [n for first, count in chunks for n in range(first, first + max(count, 1))]
    assert lines == [1, 2, 3]
    assert (2, -1) in chunks


# ------------------------------------------------------------------------- properties
line_text = st.binary(max_size=30).map(lambda b: b.replace(b"\n", b""))


@settings(max_examples=150, deadline=None)
@given(
    lines=st.lists(line_text, max_size=30),
    final_newline=st.booleans(),
    chunk=st.integers(1, 64),
)
def test_blocks_and_lines_reassemble_the_input(
    lines: list[bytes], final_newline: bool, chunk: int
) -> None:
    data = b"\n".join(lines) + (b"\n" if final_newline and lines else b"")
    blocks = BlockReader(io.BytesIO(data), chunk_bytes=chunk, max_line_bytes=1 << 20)
    # a block is valid until the next one is read: copy each
    chunks = [(c.first_line, bytes(c.view()), c.line_count, c.complete) for c in blocks]
    assert b"".join(body for _, body, _, _ in chunks) == data
    expected_line = 1
    for i, (first, body, count, complete) in enumerate(chunks):
        assert first == expected_line
        assert body.endswith(b"\n") == complete
        assert complete or i == len(chunks) - 1
        assert count == body.count(b"\n") + (0 if complete else 1)
        expected_line += count
    numbered = list(LineReader(io.BytesIO(data), chunk_bytes=chunk))
    physical = data.split(b"\n")
    assert numbered == [(i + 1, ln) for i, ln in enumerate(physical) if ln and not ln.isspace()]


json_scalar = st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=10)
json_value = st.recursive(
    json_scalar | st.floats(allow_nan=False, allow_infinity=False),
    lambda kids: (
        st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=5), kids, max_size=3)
    ),
    max_leaves=8,
)
message = st.fixed_dictionaries(
    {"type": st.sampled_from(["SCHEMA", "RECORD", "STATE", "ACTIVATE_VERSION", "BATCH", "X"])},
    optional={
        "stream": st.text(max_size=8),
        "record": st.dictionaries(st.text(max_size=5), json_value),
    },
)


@settings(max_examples=40, deadline=None)
@given(messages=st.lists(message, max_size=10), chunk=st.integers(1, 200))
def test_writer_reader_round_trip(messages: list[dict[str, object]], chunk: int) -> None:
    buf = io.BytesIO()
    with MessageWriter(buf) as writer:
        for msg in messages:
            writer.write(msg)
    reader = MessageReader(io.BytesIO(buf.getvalue()), chunk_bytes=chunk)
    assert list(reader) == messages
    assert reader.lines_read == len(messages)


@settings(max_examples=50, deadline=None)
@given(msg=message)
def test_parse_line_round_trip(msg: dict[str, object]) -> None:
    assert parse_line(orjson.dumps(msg), 1) == msg
    lower = {**msg, "type": str(msg["type"]).lower()}
    assert parse_line(orjson.dumps(lower), 1) == msg


def test_writer_buffers_until_flush() -> None:
    buf = io.BytesIO()
    writer = MessageWriter(buf)
    writer.write({"type": "STATE", "value": {}})
    writer.write_line(b'{"type":"STATE","value":{"a":1}}')
    assert buf.getvalue() == b""
    writer.flush()
    assert buf.getvalue() == b'{"type":"STATE","value":{}}\n{"type":"STATE","value":{"a":1}}\n'


# a physical line: a message, blank, malformed, or long (the limit in the test is 40 bytes)
physical_line = st.one_of(
    st.integers(0, 9).map(lambda i: b'{"type":"state","value":{"n":%d}}' % i),
    st.sampled_from([b"", b"  ", b"\r", b"{oops", b"[1]", b'{"type":1}', b'{"a":1}']),
    st.integers(41, 120).map(lambda n: b'{"type":"STATE","value":"' + b"x" * n + b'"}'),
)


def reference(data: bytes, limit: int) -> list[tuple[int, object]]:
    """What reading ``data`` must give, computed one physical line at a time."""
    out: list[tuple[int, object]] = []
    lines = data.split(b"\n")
    terminated_all = data.endswith(b"\n")
    if terminated_all:
        lines.pop()
    for i, line in enumerate(lines, 1):
        last_unterminated = i == len(lines) and not terminated_all
        if len(line) > limit:
            out.append((i, LineTooLongError))
        elif not line.strip():
            continue
        else:
            try:
                msg = orjson.loads(line)
            except orjson.JSONDecodeError:
                out.append((i, TruncatedStreamError if last_unterminated else MalformedLineError))
                continue
            if not isinstance(msg, dict) or not isinstance(msg.get("type"), str):
                out.append((i, MalformedLineError))
            else:
                out.append((i, {**msg, "type": msg["type"].upper()}))
    return out


@settings(max_examples=200, deadline=None)
@given(
    lines=st.lists(physical_line, max_size=25),
    final_newline=st.booleans(),
    chunk=st.integers(1, 300),
)
def test_reader_matches_line_by_line_reference(
    lines: list[bytes], final_newline: bool, chunk: int
) -> None:
    data = b"\n".join(lines) + (b"\n" if final_newline and lines else b"")
    got = read_all(MessageReader(io.BytesIO(data), max_line_bytes=40, chunk_bytes=chunk))
    assert got == reference(data, 40)


@settings(max_examples=200, deadline=None)
@given(
    before=st.binary(max_size=20),
    after=st.binary(max_size=20),
    terminated=st.booleans(),
)
def test_parse_errors_never_contain_the_line(before: bytes, after: bytes, terminated: bool) -> None:
    line = (before + CANARY.encode() + after).replace(b"\n", b"")
    assert CANARY not in error_text(line, terminated)


def error_text(line: bytes, terminated: bool) -> str:
    try:
        parse_line(line, 1, terminated=terminated)
    except (MalformedLineError, TruncatedStreamError) as exc:
        return f"{exc} {exc.to_dict()!r}"
    return ""


def test_reader_hands_out_lines_as_they_arrive_on_a_pipe() -> None:
    """A STATE written to a pipe is read at once, not after a full block (64 KiB) arrives."""
    import os
    import threading

    read_fd, write_fd = os.pipe()
    got_first = threading.Event()
    seen_in_time: list[bool] = []

    def produce() -> None:
        with os.fdopen(write_fd, "wb", buffering=0) as out:
            out.write(b'{"type":"STATE","value":{"n":1}}\n')
            seen_in_time.append(got_first.wait(5))
            out.write(b'{"type":"STATE","value":{"n":2}}\n')

    writer = threading.Thread(target=produce)
    writer.start()
    with os.fdopen(read_fd, "rb") as stream:
        reader = iter(MessageReader(stream))
        first = next(reader)  # would block forever if the reader waited for a full block
        got_first.set()
        rest = list(reader)
    writer.join(10)
    assert seen_in_time == [True]
    assert first["value"] == {"n": 1}
    assert [m["value"] for m in rest] == [{"n": 2}]
