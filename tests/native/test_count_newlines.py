"""The native newline count (the runner's relay counts every line a tap writes) is
``bytes.count(b"\\n")`` on any contiguous buffer."""

from __future__ import annotations

import pytest
from dativo_native import count_newlines
from hypothesis import given
from hypothesis import strategies as st

from dativo_protocol.runner.relay import newline_counter


@given(data=st.binary(max_size=3000), cut=st.integers(0, 3000))
def test_counts_what_bytes_count_counts(data, cut):
    buf = bytearray(data)
    assert count_newlines(data) == data.count(b"\n")
    assert count_newlines(memoryview(buf)[:cut]) == buf.count(b"\n", 0, cut)
    assert newline_counter()(buf, cut) == buf.count(b"\n", 0, cut)


def test_large_buffers_and_the_empty_one():
    data = (b"x" * 100 + b"\n") * 200_000 + b"tail"
    assert count_newlines(data) == 200_000
    assert count_newlines(b"") == 0


def test_a_strided_buffer_is_refused():
    view = memoryview(bytearray(b"a\nb\nc\n"))[::2]
    with pytest.raises(ValueError, match="contiguous"):
        count_newlines(view)


def test_the_buffer_can_be_resized_after_a_count():
    buf = bytearray(b"a\nb\n")
    assert newline_counter()(buf, 4) == 2
    buf += b"c\n"  # no export left behind (the relay reuses its buffer)
    assert newline_counter()(buf, len(buf)) == 3
