"""The kit's loop when the native decoder stops at a line: the lines before it stay on the
native path, that line alone takes the line path (precise errors, dead letter), the decoder
goes on after it; order, STATE lines and results are those of the pure-Python paths."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path
from typing import Any

import orjson
import pytest
from dativo_targets.kit.deadletter import DeadLetter
from dativo_targets.kit.loop import MAX_STOPS, RunStats, run_target
from dativo_targets.kit.settings import KitSettings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dativo_protocol.errors import RecordValidationError
from tests.native.test_free_form import FREE, GOOD
from tests.target_parquet.helpers import line, record, schema, state
from tests.target_parquet.test_kit import RecordingSink

SCHEMA = line({"type": "SCHEMA", "stream": "s", "schema": FREE, "key_properties": ["id"]})
#: what the decoder refuses and the row path reads: a negative zero in a free-form field
MINUS_ZERO = b'{"type":"RECORD","stream":"s","record":{"id":%d,"req":{"n":-0}}}\n'


def body(n: int, odd: dict[int, bytes], state_every: int = 250) -> bytes:
    """SCHEMA, then records 1..n (line i+1 is record i; ``odd[i]`` replaces it)."""
    out = [SCHEMA]
    for i in range(1, n + 1):
        out.append(odd.get(i, record({**GOOD, "id": i, "o": {"i": i}}, "s")))
        if i % state_every == 0:
            out.append(state({"at": i}))
    return b"".join(out)


def run(
    data: bytes, monkeypatch: pytest.MonkeyPatch, native: bool, **settings: Any
) -> tuple[RecordingSink, RunStats, bytes]:
    monkeypatch.setenv("DATIVO_NATIVE", "1" if native else "0")
    out = io.BytesIO()
    sink = RecordingSink(out)
    dead = settings.pop("dead_letter", None)
    stats = run_target(io.BytesIO(data), out, sink, KitSettings(**settings), dead_letter=dead)
    return sink, stats, out.getvalue()


def test_one_refused_line_is_the_only_one_off_the_native_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = body(2000, {1234: MINUS_ZERO % 1234})
    sink, stats, emitted = run(data, monkeypatch, True)
    pure, pure_stats, pure_emitted = run(data, monkeypatch, False)
    assert stats.row_path_lines == 1
    assert pure_stats.row_path_lines == 2000 + 8  # (STATE lines too)
    assert sink.rows == pure.rows
    assert emitted == pure_emitted
    assert [r["id"] for r in sink.rows["s"]] == list(range(1, 2001))
    assert sink.rows["s"][1233]["req"] == '{"n":0}'


def test_many_refused_lines_hand_the_rest_to_the_slower_paths(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    odd = {i: MINUS_ZERO % i for i in range(100, 2000, 50)}
    data = body(2000, odd) + schema("t", {"id": {"type": "integer"}}) + record({"id": 1}, "t")
    sink, stats, emitted = run(data, monkeypatch, True, flush_max_rows=700)
    pure, _, pure_emitted = run(data, monkeypatch, False, flush_max_rows=700)
    assert sink.rows == pure.rows
    assert emitted == pure_emitted
    assert [r["id"] for r in sink.rows["s"]] == list(range(1, 2001))
    assert MAX_STOPS < stats.row_path_lines < 2000


def test_a_bad_record_is_named_by_its_line(monkeypatch: pytest.MonkeyPatch) -> None:
    bad = record({**GOOD, "id": "x"}, "s")
    data = body(1500, {1001: bad})
    with pytest.raises(RecordValidationError) as err:
        run(data, monkeypatch, True)
    assert err.value.line == 1001 + 1 + 1001 // 250  # SCHEMA and STATE lines before it


def test_bad_records_go_to_the_dead_letter_and_the_rest_stays_native(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    bad = {i: record({**GOOD, "id": 1.5}, "s") for i in (10, 700, 1400)}
    data = body(1500, bad)
    dead = DeadLetter(str(tmp_path / "dead"))
    settings: dict[str, Any] = {"on_invalid_record": "dead_letter"}
    sink, stats, _ = run(data, monkeypatch, True, dead_letter=dead, **settings)
    assert stats.row_path_lines == 3
    assert stats.dead_letters == 3
    assert [r["id"] for r in sink.rows["s"]] == [i for i in range(1, 1501) if i not in bad]
    entries = [
        orjson.loads(x)
        for f in sorted(tmp_path.rglob("*.jsonl"))
        for x in f.read_bytes().splitlines()
    ]
    assert sorted(e["line"] for e in entries) == [11, 703, 1406]


#: the kinds of lines a generated input mixes (``t`` has its SCHEMA at the start)
KINDS = ["good", "good", "good", "minus_zero", "bad", "state", "blank", "other", "schema"]


def mixed_input(kinds: list[str]) -> tuple[bytes, int | None]:
    """The lines for ``kinds`` and the line number of the first bad record (if any)."""
    out = [SCHEMA, schema("t", {"id": {"type": "integer"}})]
    first_bad = None
    for i, kind in enumerate(kinds, 1):
        if kind == "good":
            out.append(record({**GOOD, "id": i, "o": {"i": i}}, "s"))
        elif kind == "minus_zero":
            out.append(MINUS_ZERO % i)
        elif kind == "bad":
            out.append(record({**GOOD, "id": f"x{i}"}, "s"))
            first_bad = first_bad or len(out)
        elif kind == "state":
            out.append(state({"at": i}))
        elif kind == "blank":
            out.append(b"\n")
        elif kind == "schema":  # taps send a stream's SCHEMA again
            out.append(SCHEMA)
        else:
            out.append(record({"id": i}, "t"))
    return b"".join(out), first_bad


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kinds=st.lists(st.sampled_from(KINDS), min_size=1, max_size=60),
    chunk=st.integers(1024, 8000),
    flush=st.integers(3, 40),
    dead=st.booleans(),
)
def test_mixed_input_gives_what_the_pure_paths_give(
    kinds: list[str], chunk: int, flush: int, dead: bool
) -> None:
    data, first_bad = mixed_input(kinds)
    results: list[tuple[Any, ...]] = []
    for native in (True, False):
        with pytest.MonkeyPatch.context() as mp, tempfile.TemporaryDirectory() as tmp:
            extra: dict[str, Any] = {"read_chunk_bytes": chunk, "flush_max_rows": flush}
            if dead:
                extra |= {"on_invalid_record": "dead_letter", "dead_letter": DeadLetter(tmp)}
            try:
                sink, stats, emitted = run(data, mp, native, **extra)
            except RecordValidationError as exc:
                results.append(("error", exc.line))
                continue
            results.append((sink.rows, emitted.splitlines()[-1:], stats.dead_letters))
    if first_bad is not None and not dead:
        assert results[0] == ("error", first_bad)
    else:
        assert results[0][0] != "error"
    assert results[0] == results[1]


@pytest.mark.parametrize("native", [True, False], ids=["native", "pure"])
def test_a_split_piece_after_the_first_counts_its_lines_from_its_start(
    monkeypatch: pytest.MonkeyPatch, native: bool
) -> None:
    """A piece that starts mid-block and is split at a STATE line: its lines were counted from
    the block's start, so the bad record was named as line 8 (found by the test above)."""
    data, first_bad = mixed_input(["state", "state", "bad"])
    with pytest.raises(RecordValidationError) as err:
        run(data, monkeypatch, native, read_chunk_bytes=1024, flush_max_rows=3)
    assert err.value.line == first_bad == 5
