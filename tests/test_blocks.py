"""The block reader: whole lines in one reused buffer, line numbers, the line limit, and
buffer reuse that never overwrites a block someone still holds."""

from __future__ import annotations

import io
import os
import threading
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.json as pj
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dativo_protocol.blocks import Block, BlockReader
from dativo_protocol.errors import LineTooLongError

physical_line = st.binary(max_size=70).map(lambda b: b.replace(b"\n", b""))


def read_lines(reader: BlockReader) -> dict[int, bytes | None]:
    """Line number -> line (None for a refused over-long line), checking every block."""
    seen: dict[int, bytes | None] = {}
    while True:
        refused = None
        try:
            for block in reader:
                data = bytes(block.buf[: block.size])
                assert block.line_count == data.count(b"\n") + (0 if block.complete else 1)
                body = data[:-1] if block.complete else data
                for n, text in enumerate(body.split(b"\n"), block.first_line):
                    assert n not in seen
                    seen[n] = text
        except LineTooLongError as exc:
            refused = exc.line
        if refused is None:
            return seen
        assert refused not in seen
        seen[refused] = None


@settings(max_examples=300, deadline=None)
@given(
    lines=st.lists(physical_line, max_size=25),
    final_newline=st.booleans(),
    chunk=st.integers(1, 200),
    limit=st.integers(1, 60),
)
def test_blocks_hold_every_physical_line_once_with_its_number(
    lines: list[bytes], final_newline: bool, chunk: int, limit: int
) -> None:
    data = b"\n".join(lines) + (b"\n" if final_newline and lines else b"")
    physical = data.split(b"\n")
    if data.endswith(b"\n") or not data:
        physical.pop()
    reader = BlockReader(io.BytesIO(data), chunk_bytes=chunk, max_line_bytes=limit)
    assert read_lines(reader) == {
        n: (None if len(text) > limit else text) for n, text in enumerate(physical, 1)
    }
    assert reader.lines_read == len(physical)


class Trickle(io.RawIOBase):
    """A pipe-like stream: at most ``step`` bytes per read; counts what it served."""

    def __init__(self, data: bytes, step: int) -> None:
        self.data, self.step, self.served = data, step, 0

    def readable(self) -> bool:
        return True

    def readinto(self, b: memoryview) -> int:  # type: ignore[override]
        n = min(self.step, len(b), len(self.data) - self.served)
        b[:n] = self.data[self.served : self.served + n]
        self.served += n
        return n


def test_an_over_long_line_is_refused_without_buffering_it() -> None:
    data = b"a\n" + b"x" * 1_000_000 + b"\nb\n"
    stream = Trickle(data, 4096)
    reader = BlockReader(io.BufferedReader(stream), chunk_bytes=1 << 20, max_line_bytes=1000)
    blocks = iter(reader)
    first = next(blocks)
    assert (first.first_line, bytes(first.view())) == (1, b"a\n")
    with pytest.raises(LineTooLongError) as info:
        next(blocks)
    assert info.value.line == 2
    assert stream.served < 10_000  # refused as soon as the limit was passed
    rest = list(reader)
    assert [(b.first_line, bytes(b.view())) for b in rest] == [(3, b"b\n")]


def test_the_final_line_without_newline_is_a_block_of_its_own() -> None:
    reader = BlockReader(io.BytesIO(b'{"a":1}\n{"a":'), chunk_bytes=1024, max_line_bytes=1024)
    got = [(b.first_line, bytes(b.view()), b.complete) for b in reader]
    assert got == [(1, b'{"a":1}\n', True), (2, b'{"a":', False)]


def test_a_pipe_hands_out_whole_lines_after_linger() -> None:
    now = [0.0]

    def clock() -> float:
        now[0] += 1.0  # every look at the clock: one second later
        return now[0]

    data = b"".join(b"line %d\n" % i for i in range(100))
    reader = BlockReader(
        io.BufferedReader(Trickle(data, 10)),
        chunk_bytes=1 << 20,
        max_line_bytes=100,
        linger=2.5,
        clock=clock,
    )
    blocks = [bytes(b.view()) for b in reader]
    assert len(blocks) > 10  # not one block of everything: linger cut them
    assert b"".join(blocks) == data
    assert all(b.endswith(b"\n") for b in blocks)


def test_a_pipe_block_waits_for_a_full_chunk_without_linger() -> None:
    data = b"".join(b"line %d\n" % i for i in range(1000))
    reader = BlockReader(
        io.BufferedReader(Trickle(data, 100)), chunk_bytes=4096, max_line_bytes=100, linger=1e9
    )
    sizes = [b.size for b in reader]
    assert all(4096 - 100 <= s <= 4096 for s in sizes[:-1])
    assert sum(sizes) == len(data)


def test_the_buffer_is_reused_when_nothing_holds_a_block() -> None:
    data = b"".join(b"%08d\n" % i for i in range(10_000))
    reader = BlockReader(io.BytesIO(data), chunk_bytes=4096, max_line_bytes=100)
    buffers = {id(b.buf) for b in reader}
    assert len(buffers) == 1
    assert reader.fresh_buffers == 0


def test_a_held_view_keeps_its_block_intact() -> None:
    """Zero-copy consumers (an Arrow buffer or memoryview of a block still queued somewhere)
    must never see the next read overwrite their bytes."""
    data = b"".join(b"%08d\n" % i for i in range(2000))
    reader = BlockReader(io.BytesIO(data), chunk_bytes=4096, max_line_bytes=100)
    held: list[tuple[bytes, pa.Buffer]] = []
    for block in reader:
        held.append((bytes(block.view()), pa.py_buffer(block.view())))
    assert reader.fresh_buffers == len(held) - 1
    assert all(arrow.to_pybytes() == copy for copy, arrow in held)
    assert b"".join(copy for copy, _ in held) == data


def test_a_pyarrow_json_table_does_not_pin_the_buffer() -> None:
    """pyarrow.json copies what it parses: its tables survive the reuse of the buffer."""
    rows = [{"id": i, "name": f"name-{i}"} for i in range(3000)]
    data = b"".join(orjson.dumps(r) + b"\n" for r in rows)
    schema = pa.schema([("id", pa.int64()), ("name", pa.string())])
    reader = BlockReader(io.BytesIO(data), chunk_bytes=8192, max_line_bytes=1000)
    tables = [
        pj.read_json(
            pa.BufferReader(pa.py_buffer(block.view())),
            parse_options=pj.ParseOptions(explicit_schema=schema),
        )
        for block in reader
    ]
    assert len(tables) > 5
    assert reader.fresh_buffers == 0
    assert pa.concat_tables(tables).to_pylist() == rows


def test_a_real_pipe_is_read_in_whole_lines() -> None:
    read_fd, write_fd = os.pipe()
    lines = [b"%06d\n" % i for i in range(20_000)]

    def produce() -> None:
        with os.fdopen(write_fd, "wb", buffering=0) as out:
            for i in range(0, len(lines), 997):
                out.write(b"".join(lines[i : i + 997]))

    writer = threading.Thread(target=produce)
    writer.start()
    with os.fdopen(read_fd, "rb") as stream:
        blocks: list[Block] = []
        got = []
        for block in BlockReader(stream, chunk_bytes=65536, max_line_bytes=100):
            blocks.append(block)
            got.append(bytes(block.view()))
    writer.join(10)
    assert b"".join(got) == b"".join(lines)
    assert all(g.endswith(b"\n") for g in got)


def test_a_regular_file_is_read_whole_even_when_its_size_is_guessed_low(tmp_path: Path) -> None:
    data = b"".join(b"%07d\n" % i for i in range(10_000))
    path = tmp_path / "in.jsonl"
    path.write_bytes(data)
    with open(path, "rb") as f:
        f.peek(1)  # the reader buffers ahead: the descriptor is past the logical position
        reader = BlockReader(f, chunk_bytes=1 << 20, max_line_bytes=100)
        got = [(b.first_line, bytes(b.view())) for b in reader]
    assert b"".join(g for _, g in got) == data
    assert got[0][0] == 1
    assert reader.lines_read == 10_000
