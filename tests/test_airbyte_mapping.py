"""The exact small mappings: times, stream ids, field paths."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from dativo_protocol.airbyte import mapping
from tests import airbyte_strategies as s


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("2023-11-14T22:13:20.123000Z", 1700000000123),
        ("2023-11-14T22:13:20.123Z", 1700000000123),
        ("2023-11-14T22:13:20.123z", 1700000000123),
        ("2023-11-14T23:13:20.123+01:00", 1700000000123),
        ("2023-11-14 22:13:20.123", 1700000000123),  # naive means UTC
        ("2023-11-14T22:13:20Z", 1700000000000),
        ("2023-11-14T22:13:20.1234567Z", 1700000000123.456),  # beyond microseconds: truncated
        ("1970-01-01T00:00:00.000500Z", 0.5),
    ],
)
def test_time_extracted_to_emitted_at(text: str, ms: float) -> None:
    got = mapping.time_extracted_to_emitted_at(text)
    assert got == ms
    assert type(got) is type(ms)


@pytest.mark.parametrize("text", ["yesterday", "2023-13-01T00:00:00Z", ""])
def test_bad_times_are_value_errors(text: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the converters turn it into a ProtocolError
        mapping.time_extracted_to_emitted_at(text)


@settings(max_examples=100, deadline=None)
@given(emitted_at=s.emitted_ats)
def test_emitted_at_round_trips_through_time_extracted(emitted_at: float) -> None:
    text = mapping.emitted_at_to_time_extracted(emitted_at)
    assert text.endswith("Z")
    assert len(text) == len("2023-11-14T22:13:20.123000Z")
    back = mapping.time_extracted_to_emitted_at(text)
    assert back == emitted_at
    assert type(back) is type(emitted_at)


def test_stream_ids_and_paths() -> None:
    assert mapping.singer_stream_id("users", None) == "users"
    assert mapping.singer_stream_id("users", "") == "users"
    assert mapping.singer_stream_id("users", "crm") == "crm-users"
    schema = {
        "properties": {
            "a.b": {"type": "string"},
            "meta": {"anyOf": [{"type": "null"}, {"type": "object", "properties": {"x": {}}}]},
        }
    }
    assert mapping.paths_to_properties([["meta", "x"], ["a.b"], []]) == ["meta.x", "a.b"]
    assert mapping.properties_to_paths(["meta.x", "a.b", "no.such", "id"], schema) == [
        ["meta", "x"],
        ["a.b"],
        ["no.such"],
        ["id"],
    ]
