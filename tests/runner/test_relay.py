"""The relay finds the tap's last STATE wherever the kernel splits the stream into chunks."""

from __future__ import annotations

import os
import threading

from hypothesis import given, settings
from hypothesis import strategies as st

from dativo_protocol import codec
from dativo_protocol.runner.relay import Scan, _count_py, newline_counter, relay


def _stream(
    n_records: int, state_positions: list[int], spaces: bool, case: str = "upper"
) -> tuple[bytes, object]:
    def kind(name: str) -> str:
        return {"upper": name, "lower": name.lower(), "title": name.title()}[case]

    lines = []
    last = None
    for i in range(n_records):
        # records may mention "STATE" in their data: they must not be taken for STATE messages
        record = {"id": i, "STATE": "state", "note": '"type": "STATE"', "in": {"type": "STATE"}}
        lines.append(codec.dumps({"type": kind("RECORD"), "stream": "s", "record": record}))
        if i in state_positions:
            last = {"bookmarks": {"s": {"id": i}}}
            line = codec.dumps({"value": last, "type": kind("STATE")})
            lines.append(line.replace(b'":', b'": ') if spaces else line)
    return b"\n".join(lines) + b"\n", last


def _scan(data: bytes, cuts: list[int], native: bool = True) -> Scan:
    scan = Scan(_count=newline_counter() if native else _count_py)
    pos, i = 0, 0
    while pos < len(data):
        size = cuts[i % len(cuts)]
        chunk = bytearray(data[pos : pos + size])
        chunk += b"stale bytes past n"  # the relay's buffer is reused: only buf[:n] counts
        scan.feed(chunk, len(chunk) - 18)
        pos += size
        i += 1
    scan.finish()
    return scan


@settings(max_examples=80, deadline=None)
@given(
    n=st.integers(0, 60),
    states=st.lists(st.integers(0, 59), max_size=5),
    cuts=st.lists(st.integers(1, 4000), min_size=1, max_size=30),
    spaces=st.booleans(),
    case=st.sampled_from(["upper", "lower", "title"]),
    native=st.booleans(),
)
def test_last_state_found_across_any_chunking(n, states, cuts, spaces, case, native):
    data, last = _stream(n, states, spaces, case)
    scan = _scan(data, cuts, native)
    assert scan.saw_state == (last is not None)
    assert scan.last_state == last
    assert scan.lines == data.count(b"\n")
    assert scan.byte_count == len(data)
    assert not scan.unterminated


def test_many_records_named_state_in_one_chunk():
    # every record has a STATE column: past a few false hits the chunk gets the regex scan
    data, last = _stream(500, [3, 250], spaces=False)
    scan = _scan(data, [len(data)])
    assert scan.last_state == last == {"bookmarks": {"s": {"id": 250}}}
    assert scan.lines == 502


def test_unterminated_last_line_is_still_scanned():
    data, _ = _stream(3, [0], spaces=False)
    tail = b'{"type":"STATE","value":{"at":"end"}}'
    scan = _scan(b"\n" + data + tail, [7])  # a blank first line, then the stream
    assert scan.unterminated
    assert scan.last_state == {"at": "end"}
    assert scan.lines == data.count(b"\n") + 1


def test_truncated_state_line_is_not_taken():
    data, last = _stream(3, [1], spaces=False)
    scan = _scan(data + b'{"type":"STATE","value":{"cut', [64])
    assert scan.unterminated
    assert scan.last_state == last


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
