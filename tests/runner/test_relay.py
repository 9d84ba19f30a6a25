"""The relay finds the tap's last STATE wherever the kernel splits the stream into chunks."""

from __future__ import annotations

import os
import threading

from hypothesis import given, settings
from hypothesis import strategies as st

from dativo_protocol import codec
from dativo_protocol.runner.relay import Scan, relay


def _stream(n_records: int, state_positions: list[int], spaces: bool) -> tuple[bytes, object]:
    lines = []
    last = None
    for i in range(n_records):
        # records may mention "STATE" in their data: they must not be taken for STATE messages
        lines.append(
            codec.dumps({"type": "RECORD", "stream": "s", "record": {"id": i, "STATE": "state"}})
        )
        if i in state_positions:
            last = {"bookmarks": {"s": {"id": i}}}
            line = codec.dumps({"type": "STATE", "value": last})
            lines.append(line.replace(b'":', b'": ') if spaces else line)
    return b"\n".join(lines) + b"\n", last


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(0, 60),
    states=st.lists(st.integers(0, 59), max_size=5),
    cuts=st.lists(st.integers(1, 200), min_size=1, max_size=30),
    spaces=st.booleans(),
)
def test_last_state_found_across_any_chunking(n, states, cuts, spaces):
    data, last = _stream(n, states, spaces)
    scan = Scan()
    pos, i = 0, 0
    while pos < len(data):
        size = cuts[i % len(cuts)]
        chunk = bytearray(data[pos : pos + size])
        scan.feed(chunk, len(chunk))
        pos += size
        i += 1
    scan.finish()
    assert scan.saw_state == (last is not None)
    assert scan.last_state == last
    assert scan.lines == data.count(b"\n")
    assert scan.byte_count == len(data)


def test_relay_passes_every_byte_through_os_pipes():
    data, last = _stream(20000, [5, 19999], spaces=False)
    a_r, a_w = os.pipe()
    b_r, b_w = os.pipe()
    scan = Scan()
    thread = threading.Thread(target=relay, args=(a_r, b_w, scan))
    thread.start()
    received = bytearray()

    def read_all() -> None:
        while chunk := os.read(b_r, 1 << 16):
            received.extend(chunk)

    reader = threading.Thread(target=read_all)
    reader.start()
    view = memoryview(data)
    while view:
        view = view[os.write(a_w, view[: 1 << 16]) :]
    os.close(a_w)
    thread.join()
    reader.join()
    os.close(b_r)
    assert bytes(received) == data
    assert scan.last_state == last
    assert scan.zero_copy  # Linux: tee + splice, no copy of the data path
    assert not scan.target_gone
