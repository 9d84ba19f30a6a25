"""Singer catalog selection rules and Airbyte <-> Singer catalog conversion."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dativo_protocol.catalog.airbyte import (
    AirbyteCatalog,
    ConfiguredAirbyteCatalog,
    load_airbyte_catalog,
)
from dativo_protocol.catalog.convert import (
    airbyte_from_singer,
    configured_from_singer,
    singer_from_airbyte,
)
from dativo_protocol.catalog.select import matching_streams, select
from dativo_protocol.catalog.singer import SingerCatalog, load_singer_catalog
from dativo_protocol.errors import ConfigError
from tests import airbyte_strategies as s


def entry(
    stream_id: str, fields: dict[str, dict[str, Any]], stream_md: dict[str, Any] | None = None
) -> dict[str, Any]:
    props: dict[str, Any] = {name: {"type": ["null", "string"]} for name in fields}
    props["address"] = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "zip": {"type": "string"}},
    }
    metadata = [{"breadcrumb": [], "metadata": stream_md or {"inclusion": "available"}}]
    metadata += [
        {"breadcrumb": ["properties", name], "metadata": md} for name, md in fields.items()
    ]
    return {
        "tap_stream_id": stream_id,
        "stream": stream_id.split("-")[-1],
        "schema": {"type": "object", "properties": props},
        "metadata": metadata,
    }


CATALOG = load_singer_catalog(
    {
        "streams": [
            entry(
                "public-users",
                {
                    "id": {"inclusion": "automatic"},
                    "email": {"inclusion": "available"},
                    "ssn": {"inclusion": "available"},
                    "geom": {"inclusion": "unsupported"},
                },
                {
                    "inclusion": "available",
                    "table-key-properties": ["id"],
                    "valid-replication-keys": ["email"],
                },
            ),
            entry(
                "public-orders",
                {"id": {"inclusion": "automatic"}, "total": {"inclusion": "available"}},
            ),
            entry("audit-log", {"at": {"inclusion": "available"}}, {"selected-by-default": True}),
        ]
    }
)


def fields(catalog: SingerCatalog, stream_id: str) -> set[str]:
    found = catalog.get(stream_id)
    assert found is not None
    return {".".join(c[1::2]) for c in found.selected_fields()}


def test_default_selection_follows_metadata() -> None:
    assert [e.tap_stream_id for e in CATALOG.selected()] == ["audit-log"]  # selected-by-default


def test_whole_stream_rule_selects_every_supported_field() -> None:
    chosen = select(CATALOG, ["public-users"])
    assert [e.tap_stream_id for e in chosen.selected()] == ["public-users"]
    assert fields(chosen, "public-users") == {
        "id",
        "email",
        "ssn",
        "address",
        "address.city",
        "address.zip",
    }
    assert CATALOG.get("public-users").is_selected() is False  # type: ignore[union-attr]  # input unchanged


def test_field_rules_globs_exclusions_automatic_and_unsupported() -> None:
    chosen = select(
        CATALOG,
        ["*-users.email", "*-users.geom", "public-*", "!public-orders", "!*.ssn", "!*.address.zip"],
    )
    assert [e.tap_stream_id for e in chosen.selected()] == ["public-users"]
    # 'public-*' covers all users fields; ssn and address.zip excluded; geom unsupported; id automatic
    assert fields(chosen, "public-users") == {"id", "email", "address", "address.city"}
    users = chosen.get("public-users")
    assert users is not None
    assert users.selected_schema()["properties"].keys() == {"id", "email", "address"}
    assert users.selected_schema()["properties"]["address"]["properties"].keys() == {"city"}


def test_field_rule_alone_keeps_only_that_field_and_automatic_ones() -> None:
    chosen = select(CATALOG, ["users.email"])  # matches the stream name too
    assert fields(chosen, "public-users") == {"id", "email"}


def test_matching_streams_for_the_runner() -> None:
    assert matching_streams(CATALOG, ["public-*"]) == ["public-users", "public-orders"]
    assert matching_streams(CATALOG, ["*", "!audit*"]) == ["public-users", "public-orders"]
    assert matching_streams(CATALOG, ["nothing"]) == []


@pytest.mark.parametrize("rule", ["", "!", "users.", ".email"])
def test_bad_rules_are_config_errors(rule: str) -> None:
    with pytest.raises(ConfigError):
        select(CATALOG, [rule])


def test_replication_metadata_accessors() -> None:
    users = CATALOG.get("public-users")
    assert users is not None
    assert users.get_key_properties() == ["id"]
    assert users.valid_replication_keys() == ["email"]
    assert users.get_replication_method() is None


def test_singer_catalog_file_round_trips() -> None:
    raw = {
        "streams": [
            entry("s", {"a": {"inclusion": "available", "selected": True}}) | {"x-extra": 1}
        ]
    }
    assert load_singer_catalog(raw).to_dict() == raw


@settings(max_examples=60, deadline=None)
@given(streams=st.lists(s.airbyte_streams(), min_size=1, max_size=3).filter(s.unique_streams))
def test_airbyte_catalog_to_singer_and_back(streams: list[dict[str, Any]]) -> None:
    catalog = load_airbyte_catalog({"streams": streams})
    assert isinstance(catalog, AirbyteCatalog)
    assert catalog.to_dict() == {"streams": streams}
    singer = singer_from_airbyte(catalog)
    assert airbyte_from_singer(singer).to_dict() == {"streams": streams}
    assert load_singer_catalog(singer.to_dict()) == singer


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_configured_catalog_to_singer_and_back(data: st.DataObject) -> None:
    streams = data.draw(
        st.lists(s.airbyte_streams(), min_size=1, max_size=3).filter(s.unique_streams)
    )
    configured = []
    for stream in streams:
        props = list(stream["json_schema"]["properties"])
        item: dict[str, Any] = {
            "stream": stream,
            "sync_mode": data.draw(st.sampled_from(stream["supported_sync_modes"])),
            "destination_sync_mode": data.draw(
                st.sampled_from(["append", "overwrite", "append_dedup"])
            ),
        }
        if data.draw(st.booleans()):
            item["cursor_field"] = [data.draw(st.sampled_from(props))]
        if data.draw(st.booleans()):
            item["primary_key"] = [
                [p] for p in data.draw(st.lists(st.sampled_from(props), unique=True, max_size=2))
            ]
        if data.draw(st.booleans()):
            item["generation_id"] = data.draw(st.integers(0, 10))
        configured.append(item)
    catalog = load_airbyte_catalog({"streams": configured})
    assert isinstance(catalog, ConfiguredAirbyteCatalog)
    singer = singer_from_airbyte(catalog)
    assert all(e.is_selected() for e in singer.streams)
    assert configured_from_singer(singer).to_dict() == {"streams": configured}


def test_nested_and_composite_keys_map_to_singer_metadata() -> None:
    stream = {
        "name": "events",
        "namespace": "app",
        "json_schema": {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "meta": {
                    "type": ["null", "object"],
                    "properties": {"tenant": {"type": "string"}, "ts": {"type": "string"}},
                },
                "a.b": {"type": "string"},
            },
        },
        "supported_sync_modes": ["incremental"],
        "source_defined_cursor": True,
        "default_cursor_field": ["meta", "ts"],
        "source_defined_primary_key": [["meta", "tenant"], ["id"], ["a.b"]],
    }
    singer = singer_from_airbyte(load_airbyte_catalog({"streams": [stream]}))
    (events,) = singer.streams
    assert events.tap_stream_id == "app-events"
    md = events.stream_metadata
    assert md["table-key-properties"] == ["meta.tenant", "id", "a.b"]
    assert md["valid-replication-keys"] == ["meta.ts"]
    assert md["forced-replication-method"] == "INCREMENTAL"
    assert md["schema-name"] == "app"
    assert events.metadata_at(("properties", "id"))["inclusion"] == "automatic"
    back = airbyte_from_singer(singer).streams[0]
    assert back.source_defined_primary_key == [["meta", "tenant"], ["id"], ["a.b"]]
    assert back.default_cursor_field == ["meta", "ts"]


def test_invalid_catalogs_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="streams"):
        load_airbyte_catalog({"nope": []})
    with pytest.raises(ConfigError, match="sync_mode"):
        load_airbyte_catalog(
            {"streams": [{"stream": {"name": "a", "json_schema": {}}, "sync_mode": "sometimes"}]}
        )
    with pytest.raises(ConfigError, match="tap_stream_id"):
        load_singer_catalog({"streams": [{"stream": "a", "schema": {}}]})
