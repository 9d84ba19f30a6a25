"""Singer message builders, typed views and envelope checks."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dativo_protocol import singer
from dativo_protocol.errors import ProtocolError
from dativo_protocol.jsonl import MessageReader, MessageWriter

names = st.text(min_size=1, max_size=10)
scalars = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=8)
records = st.dictionaries(st.text(max_size=6), scalars, max_size=5)
properties = st.dictionaries(
    names, st.fixed_dictionaries({"type": st.sampled_from(["string", "integer"])}), max_size=4
)

schema_msgs = st.builds(
    singer.SchemaMessage,
    stream=names,
    schema=properties.map(lambda p: {"type": "object", "properties": p}),
    key_properties=st.lists(names, max_size=3),
    bookmark_properties=st.none() | st.lists(names, max_size=2),
)
record_msgs = st.builds(
    singer.RecordMessage,
    stream=names,
    record=records,
    version=st.none() | st.integers(0, 2**40),
    time_extracted=st.none() | st.just("2024-01-02T03:04:05.123+00:00"),
)
state_msgs = st.builds(singer.StateMessage, value=st.dictionaries(names, records, max_size=3))
version_msgs = st.builds(singer.ActivateVersionMessage, stream=names, version=st.integers(0, 2**40))
batch_msgs = st.builds(
    singer.BatchMessage,
    stream=names,
    manifest=st.lists(st.just("file:///tmp/x.jsonl.gz"), max_size=3),
    format=st.sampled_from(singer.BATCH_FORMATS),
    compression=st.sampled_from([*singer.BATCH_COMPRESSIONS, None]),
)
any_msg = schema_msgs | record_msgs | state_msgs | version_msgs | batch_msgs


@settings(max_examples=150, deadline=None)
@given(msg=any_msg)
def test_typed_views_round_trip_through_the_wire(
    msg: singer.SchemaMessage
    | singer.RecordMessage
    | singer.StateMessage
    | singer.ActivateVersionMessage
    | singer.BatchMessage,
) -> None:
    as_dict = msg.to_dict()
    assert singer.envelope_problem(as_dict) is None
    buf = io.BytesIO()
    with MessageWriter(buf) as writer:
        writer.write(as_dict)
    (parsed,) = list(MessageReader(io.BytesIO(buf.getvalue())))
    assert singer.from_dict(parsed) == msg


def test_builders_make_well_formed_messages() -> None:
    built = [
        singer.record_message("s", {"id": 1}, version=3, time_extracted="2024-01-01T00:00:00Z"),
        singer.schema_message("s", {"type": "object"}, ["id"], bookmark_properties=["u"]),
        singer.state_message({"bookmarks": {}}),
        singer.activate_version_message("s", 3),
        singer.batch_message("s", ["s3://b/k.parquet"], format="parquet"),
    ]
    assert [m["type"] for m in built] == [
        "RECORD",
        "SCHEMA",
        "STATE",
        "ACTIVATE_VERSION",
        "BATCH",
    ]
    assert all(singer.envelope_problem(m) is None for m in built)
    assert built[0] == {
        "type": "RECORD",
        "stream": "s",
        "record": {"id": 1},
        "version": 3,
        "time_extracted": "2024-01-01T00:00:00Z",
    }


@pytest.mark.parametrize(
    ("msg", "reason"),
    [
        ({"type": "SCHEMA", "stream": "s", "schema": {}}, "'key_properties' is missing"),
        ({"type": "SCHEMA", "stream": "s", "schema": [], "key_properties": []}, "'schema'"),
        ({"type": "SCHEMA", "stream": "s", "schema": {}, "key_properties": "id"}, "array"),
        ({"type": "SCHEMA", "stream": "", "schema": {}, "key_properties": []}, "minLength"),
        ({"type": "RECORD", "stream": "s"}, "'record' is missing"),
        ({"type": "RECORD", "stream": "s", "record": [1]}, "must be of type object"),
        ({"type": "RECORD", "stream": "s", "record": {}, "version": "v1"}, "'version'"),
        ({"type": "RECORD", "stream": "s", "record": {}, "time_extracted": "soon"}, "date-time"),
        ({"type": "STATE"}, "'value' is missing"),
        ({"type": "STATE", "value": "x"}, "'value' must be of type object"),
        ({"type": "ACTIVATE_VERSION", "stream": "s"}, "'version' is missing"),
        ({"type": "BATCH", "stream": "s", "manifest": []}, "'encoding' is missing"),
        (
            {"type": "BATCH", "stream": "s", "encoding": {"format": "csv"}, "manifest": []},
            "allowed values",
        ),
        (
            {"type": "BATCH", "stream": "s", "encoding": {"format": "jsonl"}, "manifest": "f"},
            "'manifest'",
        ),
    ],
)
def test_envelope_problems_name_the_field(msg: dict[str, object], reason: str) -> None:
    problem = singer.envelope_problem(msg)
    assert problem is not None
    assert reason in problem
    with pytest.raises(ProtocolError):
        singer.from_dict(msg)


def test_envelope_problem_never_contains_the_value() -> None:
    secret = "canary-envelope-s3cret"
    problem = singer.envelope_problem({"type": "STATE", "value": secret})
    assert problem is not None
    assert secret not in problem


def test_unknown_type_has_no_envelope() -> None:
    assert singer.envelope_problem({"type": "METRIC"}) is None
    with pytest.raises(ProtocolError):
        singer.from_dict({"type": "METRIC"})


def test_record_parts_checks_the_envelope_and_the_schema_first() -> None:
    from dativo_protocol.errors import RecordBeforeSchemaError

    streams = {"users": "users-state"}
    msg = {"type": "RECORD", "stream": "users", "record": {"id": 1}}
    assert singer.record_parts(msg, streams, 3) == ("users", {"id": 1}, "users-state")
    with pytest.raises(RecordBeforeSchemaError) as before:
        singer.record_parts({**msg, "stream": "orders"}, streams, 4)
    assert str(before.value) == "stream 'orders', line 4: RECORD before its SCHEMA"
    for bad in ({**msg, "record": [1]}, {"type": "RECORD", "record": {"secret": "x"}}):
        with pytest.raises(ProtocolError) as info:
            singer.record_parts(bad, streams, 5)
        assert not isinstance(info.value, RecordBeforeSchemaError)
        assert "line 5" in str(info.value)
        assert "secret" not in str(info.value)
