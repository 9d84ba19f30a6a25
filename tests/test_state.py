"""Singer bookmark helpers, partial-state merging, the state document, Airbyte state shape."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dativo_protocol import state as st8
from dativo_protocol.airbyte.state import (
    StateAccumulator,
    airbyte_states,
    airbyte_states_from_file_value,
    singer_value,
)
from dativo_protocol.errors import StateError
from tests import airbyte_strategies as s

BASE: dict[str, Any] = {
    "bookmarks": {"users": {"updated_at": "2024-01-01", "version": 3}, "orders": {"id": 9}},
    "currently_syncing": "users",
}


def test_bookmark_helpers_never_mutate_their_input() -> None:
    before = copy.deepcopy(BASE)
    moved = st8.set_bookmark(BASE, "users", "updated_at", "2024-02-01")
    cleared = st8.clear_bookmark(moved, "orders")
    one_key = st8.clear_bookmark(moved, "users", "version")
    assert before == BASE
    assert st8.get_bookmark(moved, "users", "updated_at") == "2024-02-01"
    assert st8.get_bookmark(moved, "users", "version") == 3
    assert st8.get_bookmark(cleared, "orders") is None
    assert st8.get_bookmark(cleared, "orders", default={}) == {}
    assert st8.get_bookmark(one_key, "users") == {"updated_at": "2024-02-01"}
    assert st8.get_bookmark(None, "x", "y", 5) == 5
    assert st8.set_bookmark(None, "new", "k", 1) == {"bookmarks": {"new": {"k": 1}}}


def test_merge_later_wins_per_stream() -> None:
    later = {"bookmarks": {"users": {"updated_at": "2024-03-01"}}, "currently_syncing": None}
    merged = st8.merge_states(BASE, None, later)
    assert merged == {
        "bookmarks": {"users": {"updated_at": "2024-03-01"}, "orders": {"id": 9}},
        "currently_syncing": None,
    }
    assert BASE["bookmarks"]["users"]["version"] == 3  # inputs untouched


bookmark_states = st.fixed_dictionaries(
    {"bookmarks": st.dictionaries(s.names, s.objects, max_size=4)},
    optional={"currently_syncing": s.names},
)


@settings(max_examples=60, deadline=None)
@given(states=st.lists(bookmark_states, min_size=1, max_size=4))
def test_merge_properties(states: list[dict[str, Any]]) -> None:
    merged = st8.merge_states(*states)
    for stream, bookmark in merged["bookmarks"].items():
        last = [x["bookmarks"][stream] for x in states if stream in x["bookmarks"]][-1]
        assert bookmark == last
    assert set(merged["bookmarks"]) == {k for x in states for k in x["bookmarks"]}
    assert st8.merge_states(merged, states[-1]) == merged  # idempotent for the latest


def test_merge_airbyte_shaped_states_per_slot() -> None:
    a = {"type": "STREAM", "stream": {"stream_descriptor": {"name": "a"}, "stream_state": {"c": 1}}}
    b = {"type": "STREAM", "stream": {"stream_descriptor": {"name": "b"}, "stream_state": {"c": 1}}}
    a2 = {
        "type": "STREAM",
        "stream": {"stream_descriptor": {"name": "a"}, "stream_state": {"c": 2}},
    }
    merged = st8.merge_states({"airbyte_state": [a, b]}, {"airbyte_state": [a2]})
    assert merged == {"airbyte_state": [b, a2]}


def test_state_document_reads_meltano_shape_and_writes_both() -> None:
    meltano = {"singer_state": BASE}
    doc = st8.load_state_document(meltano)
    assert doc.format_version == 1
    assert doc.singer_state == BASE
    assert doc.to_meltano() == meltano
    assert st8.load_state_document(doc.to_dict()) == doc
    assert doc.to_dict()["format_version"] == 1


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ({"bookmarks": {}}, "singer_state"),
        ({"singer_state": {}, "format_version": 99}, "newer"),
        ({"singer_state": {}, "format_version": "1"}, "integer"),
        ([], "singer_state"),
    ],
)
def test_bad_state_documents(data: Any, reason: str) -> None:
    with pytest.raises(StateError, match=reason):
        st8.load_state_document(data)


@settings(max_examples=80, deadline=None)
@given(value=s.json_values | s.objects)
def test_singer_state_through_airbyte_and_back(value: Any) -> None:
    states = airbyte_states(value)
    assert [x["type"] for x in states] == ["GLOBAL"]
    assert singer_value(states) == value
    assert airbyte_states_from_file_value({"singer_state": value}) == states


@settings(max_examples=80, deadline=None)
@given(payloads=st.lists(s.state_payloads(), max_size=6))
def test_airbyte_state_list_through_singer_and_back(payloads: list[dict[str, Any]]) -> None:
    complete = StateAccumulator(payloads).as_list()
    value = singer_value(complete)
    assert value == {"airbyte_state": complete}
    assert airbyte_states(value) == complete
    assert airbyte_states_from_file_value(complete) == complete


def test_accumulator_keeps_latest_per_stream_most_recent_last() -> None:
    def stream(name: str, ns: str | None, c: int) -> dict[str, Any]:
        descriptor = {"name": name, **({"namespace": ns} if ns else {})}
        return {
            "type": "STREAM",
            "stream": {"stream_descriptor": descriptor, "stream_state": {"c": c}},
        }

    acc = StateAccumulator(
        [stream("a", None, 1), stream("a", "x", 1), stream("b", None, 1), stream("a", None, 2)]
    )
    assert acc.as_list() == [stream("a", "x", 1), stream("b", None, 1), stream("a", None, 2)]
    with pytest.raises(StateError):
        acc.update({"type": "STREAM"})
    with pytest.raises(StateError):
        airbyte_states_from_file_value([1, 2])
