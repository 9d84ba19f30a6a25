"""Airbyte messages: parse/serialize round trips and the protocol's tolerance rules."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dativo_protocol import codec
from dativo_protocol.airbyte import messages as m
from dativo_protocol.errors import ProtocolError
from tests import airbyte_strategies as s

ENVELOPES = {
    "RECORD": ("record", s.record_payloads()),
    "STATE": ("state", s.state_payloads()),
    "LOG": ("log", s.log_payloads),
    "SPEC": ("spec", s.spec_payloads),
    "CONNECTION_STATUS": ("connectionStatus", s.status_payloads),
    "CATALOG": (
        "catalog",
        st.builds(lambda st_: {"streams": st_}, st.lists(s.airbyte_streams(), max_size=2)),
    ),
    "TRACE": ("trace", s.trace_payloads),
    "CONTROL": ("control", s.control_payloads),
}


@pytest.mark.parametrize("kind", sorted(ENVELOPES))
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_every_message_type_round_trips(kind: str, data: st.DataObject) -> None:
    key, payloads = ENVELOPES[kind]
    envelope = {"type": kind, key: data.draw(payloads)}
    line = codec.dumps_line(envelope)
    message = m.parse_line(line, 7)
    assert message is not None
    assert type(message) is m.KINDS[kind][1]
    assert codec.loads(m.dumps_message(message)) == envelope  # dict -> object -> dict
    assert m.parse_message(m.to_envelope(message)) == message  # object -> dict -> object


@settings(max_examples=60, deadline=None)
@given(payload=s.record_payloads(), extra=s.extras)
def test_record_keeps_unknown_fields_and_number_type(
    payload: dict[str, Any], extra: dict[str, Any]
) -> None:
    payload = {**payload, **extra}
    record = m.AirbyteRecord.from_dict(payload)
    assert record.extra == extra
    out = record.to_dict()
    assert out == payload
    assert type(out["emitted_at"]) is type(payload["emitted_at"])


def test_namespace_null_reads_as_absent() -> None:
    record = m.AirbyteRecord.from_dict(
        {"stream": "s", "data": {}, "emitted_at": 1, "namespace": None}
    )
    assert record.namespace is None
    assert "namespace" not in record.to_dict()


@pytest.mark.parametrize(
    "line",
    [
        b"not json at all",
        b"  Starting source...",
        b"[1, 2]",
        b'"text"',
        b'{"no": "type"}',
        b'{"type": 5}',
    ],
)
def test_non_message_lines_are_not_messages(line: bytes) -> None:
    assert m.parse_line(line, 3) is None


def test_unknown_type_is_kept_verbatim() -> None:
    envelope = {"type": "DESTINATION_CATALOG", "destination_catalog": {"x": 1}}
    message = m.parse_line(codec.dumps(envelope))
    assert isinstance(message, m.AirbyteOther)
    assert m.to_envelope(message) == envelope


def test_state_without_type_is_legacy() -> None:
    message = m.parse_message({"type": "STATE", "state": {"data": {"users": {"cursor": 3}}}})
    assert isinstance(message, m.AirbyteState)
    assert message.type == "LEGACY"
    assert message.data == {"users": {"cursor": 3}}


@pytest.mark.parametrize(
    ("envelope", "reason"),
    [
        ({"type": "RECORD", "record": {"data": {}, "emitted_at": 1}}, "'stream'"),
        ({"type": "RECORD", "record": {"stream": "s", "data": [], "emitted_at": 1}}, "'data'"),
        (
            {"type": "RECORD", "record": {"stream": "s", "data": {}, "emitted_at": "x"}},
            "'emitted_at'",
        ),
        (
            {"type": "RECORD", "record": {"stream": "s", "data": {}, "emitted_at": True}},
            "'emitted_at'",
        ),
        ({"type": "RECORD", "record": "oops"}, "'record'"),
        ({"type": "STATE", "state": {"type": "STREAM"}}, "stream"),
        ({"type": "STATE", "state": {"type": "GLOBAL", "global": {}}}, "stream_states"),
        ({"type": "STATE", "state": {"type": "PER_TABLE"}}, "STREAM, GLOBAL or LEGACY"),
        (
            {"type": "CONTROL", "control": {"type": "CONNECTOR_CONFIG", "emitted_at": 1}},
            "connectorConfig",
        ),
    ],
)
def test_bad_payload_of_a_known_type_is_a_protocol_error_with_line(
    envelope: dict[str, Any], reason: str
) -> None:
    with pytest.raises(ProtocolError) as info:
        m.parse_line(codec.dumps(envelope), 42)
    assert info.value.line == 42
    assert reason in info.value.message


def test_trace_error_message_never_uses_internal_message() -> None:
    trace = m.AirbyteTrace.from_dict(
        {
            "type": "ERROR",
            "emitted_at": 1,
            "error": {
                "message": "Bad config",
                "internal_message": "token=abc",
                "failure_type": "config_error",
            },
        }
    )
    assert trace.error_message() == "Bad config"
    assert trace.failure_type() == "config_error"
