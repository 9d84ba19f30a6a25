"""Airbyte -> Singer -> Airbyte and Singer -> Airbyte -> Singer give back what went in."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from dativo_protocol.airbyte import mapping
from dativo_protocol.airbyte.from_singer import SingerToAirbyte
from dativo_protocol.airbyte.to_singer import AirbyteToSinger
from dativo_protocol.catalog.airbyte import load_airbyte_catalog
from tests import airbyte_strategies as s


@st.composite
def airbyte_runs(draw: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A configured catalog and a stream of RECORD/STATE messages for its streams."""
    streams = draw(st.lists(s.airbyte_streams(), min_size=1, max_size=3).filter(s.unique_streams))
    configured = []
    for stream in streams:
        props = list(stream["json_schema"]["properties"])
        entry: dict[str, Any] = {
            "stream": stream,
            "sync_mode": draw(st.sampled_from(stream["supported_sync_modes"])),
            "destination_sync_mode": "append",
        }
        if draw(st.booleans()):
            entry["primary_key"] = [
                [p] for p in draw(st.lists(st.sampled_from(props), unique=True, max_size=2))
            ]
        if draw(st.booleans()):
            entry["cursor_field"] = [draw(st.sampled_from(props))]
        configured.append(entry)
    messages: list[dict[str, Any]] = []
    use_global = draw(st.booleans())
    for _ in range(draw(st.integers(1, 12))):
        stream = draw(st.sampled_from(streams))
        name, ns = stream["name"], stream.get("namespace")
        kind = draw(st.sampled_from(["RECORD", "RECORD", "STATE"]))
        if kind == "RECORD":
            messages.append({"type": "RECORD", "record": draw(s.record_payloads(name, ns))})
        elif use_global:
            shared = draw(s.objects)
            states = [draw(s.stream_state_payloads(x["name"], x.get("namespace"))) for x in streams]
            messages.append(
                {
                    "type": "STATE",
                    "state": {
                        "type": "GLOBAL",
                        "global": {"shared_state": shared, "stream_states": states},
                    },
                }
            )
        else:
            payload = {"type": "STREAM", "stream": draw(s.stream_state_payloads(name, ns))}
            if draw(st.booleans()):
                payload["sourceStats"] = {"recordCount": 2.0}
            messages.append({"type": "STATE", "state": payload})
            if draw(st.booleans()):  # sources repeat identical checkpoints
                messages.append({"type": "STATE", "state": dict(payload)})
    return {"streams": configured}, messages


@settings(max_examples=80, deadline=None)
@given(run=airbyte_runs())
def test_airbyte_to_singer_to_airbyte_is_identity(
    run: tuple[dict[str, Any], list[dict[str, Any]]],
) -> None:
    catalog_doc, messages = run
    catalog = load_airbyte_catalog(catalog_doc)
    to_singer = AirbyteToSinger(catalog)
    back = SingerToAirbyte(catalog)
    singer: list[dict[str, Any]] = []
    out: list[dict[str, Any]] = []
    for lineno, message in enumerate(messages, 1):
        for converted in to_singer.feed(message, lineno):
            singer.append(converted)
            out.extend(back.feed(converted, len(singer)))
    assert out == messages
    # every stream's SCHEMA comes right before its first record, once
    announced: set[str] = set()
    for converted in singer:
        if converted["type"] == "SCHEMA":
            assert converted["stream"] not in announced
            announced.add(converted["stream"])
        elif converted["type"] == "RECORD":
            assert converted["stream"] in announced
    # the last Singer STATE carries the complete Airbyte state (the source's --state list)
    states = [c for c in singer if c["type"] == "STATE"]
    if states:
        assert to_singer.state == states[-1]["value"].get("airbyte_state", to_singer.state)


canonical_times = s.emitted_ats.map(mapping.emitted_at_to_time_extracted)


@st.composite
def singer_runs(draw: Any) -> list[dict[str, Any]]:
    ids = draw(st.lists(s.names, min_size=1, max_size=3, unique=True))
    schemas = {}
    for stream in ids:
        props = draw(st.lists(s.names, min_size=1, max_size=4, unique=True))
        message: dict[str, Any] = {
            "type": "SCHEMA",
            "stream": stream,
            "schema": {
                "type": "object",
                "properties": {p: {"type": ["null", "string"]} for p in props},
            },
            "key_properties": draw(st.lists(st.sampled_from(props), unique=True, max_size=2)),
        }
        if draw(st.booleans()):
            message["bookmark_properties"] = [draw(st.sampled_from(props))]
        schemas[stream] = message
    out: list[dict[str, Any]] = []
    announced: set[str] = set()
    for _ in range(draw(st.integers(1, 12))):
        if draw(st.integers(0, 3)) == 0:
            value = draw(s.json_values | s.objects)
            out.append({"type": "STATE", "value": value})
            continue
        stream = draw(st.sampled_from(ids))
        if stream not in announced:
            announced.add(stream)
            out.append(schemas[stream])
        out.append(
            {
                "type": "RECORD",
                "stream": stream,
                "record": draw(s.objects),
                "time_extracted": draw(canonical_times),
            }
        )
    return out


@settings(max_examples=80, deadline=None)
@given(messages=singer_runs())
def test_singer_to_airbyte_to_singer_is_identity(messages: list[dict[str, Any]]) -> None:
    to_airbyte = SingerToAirbyte()
    airbyte: list[dict[str, Any]] = []
    for lineno, message in enumerate(messages, 1):
        airbyte.extend(to_airbyte.feed(message, lineno))
    back = AirbyteToSinger(to_airbyte.configured_catalog())
    out: list[dict[str, Any]] = []
    for lineno, message in enumerate(airbyte, 1):
        out.extend(back.feed(message, lineno))
    assert out == messages
