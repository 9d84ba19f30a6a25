"""The stream conformance checker (library level) and the schema checks under it."""

from __future__ import annotations

import io
import logging
from typing import Any

import orjson
import pytest

from dativo_protocol.errors import ExitCode
from dativo_protocol.schema_check import compile_check
from dativo_protocol.validate import validate_stream

SCHEMA: dict[str, Any] = {
    "type": "SCHEMA",
    "stream": "s",
    "schema": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "at": {"type": ["string", "null"], "format": "date-time"},
            "day": {"type": ["string", "null"], "format": "date"},
            "clock": {"type": ["string", "null"], "format": "time"},
            "amount": {"type": ["string", "null"], "format": "singer.decimal"},
            "price": {"type": ["number", "null"], "multipleOf": 0.01},
        },
    },
    "key_properties": ["id"],
}


def stream(*messages: Any) -> io.BytesIO:
    return io.BytesIO(b"".join(orjson.dumps(m) + b"\n" for m in messages))


def rec(**fields: object) -> dict[str, object]:
    return {"type": "RECORD", "stream": "s", "record": {"id": 1, **fields}}


@pytest.mark.parametrize(
    ("field", "value", "ok"),
    [
        ("at", "2024-01-02T03:04:05Z", True),
        ("at", "2024-01-02T03:04:05.123456+05:30", True),
        ("at", "2024-01-02 03:04:05", True),
        ("at", "2024-01-02", False),
        ("at", "2024-13-02T03:04:05Z", False),
        ("at", "yesterday", False),
        ("day", "2024-02-29", True),
        ("day", "2023-02-29", False),
        ("clock", "10:11:12.5", True),
        ("clock", "25:00:00", False),
        ("amount", "-1234567890.0123456789", True),
        ("amount", "NaN", False),
        ("amount", "1,5", False),
        ("price", 0.3, True),  # fractional multipleOf is a scale hint, not a check
        ("at", None, True),
    ],
)
def test_singer_formats(field: str, value: object, ok: bool) -> None:
    report = validate_stream(stream(SCHEMA, rec(**{field: value})))
    assert report.ok is ok
    if not ok:
        assert report.violations[0].reason == f"field '{field}' is not a valid " + str(
            SCHEMA["schema"]["properties"][field]["format"]
        )


def test_summary_counts_per_stream() -> None:
    report = validate_stream(
        stream(
            SCHEMA,
            rec(),
            {"type": "STATE", "value": {}},
            rec(),
            {"type": "ACTIVATE_VERSION", "stream": "s", "version": 2},
            {
                "type": "BATCH",
                "stream": "s",
                "encoding": {"format": "jsonl"},
                "manifest": ["file:///x"],
            },
            {"type": "STATE", "value": {"a": 1}},
        )
    )
    assert report.ok
    assert report.exit_code == ExitCode.OK
    summary = report.to_dict()
    assert summary["states"] == 2
    assert summary["streams"]["s"] == {
        "schemas": 1,
        "records": 2,
        "activate_versions": 1,
        "batches": 1,
        "batch_records": 0,
        "key_properties": ["id"],
        "first_line": 1,
        "last_line": 6,
    }


def test_stops_at_first_violation_or_collects_all() -> None:
    messages = [SCHEMA, rec(id="x"), rec(at="no"), {"type": "STATE", "value": []}]
    first = validate_stream(stream(*messages))
    assert [v.line for v in first.violations] == [2]
    assert first.exit_code == ExitCode.RECORD
    assert first.lines == 2  # stopped there
    every = validate_stream(stream(*messages), collect_all=True)
    assert [(v.line, v.error.exit_code) for v in every.violations] == [
        (2, ExitCode.RECORD),
        (3, ExitCode.RECORD),
        (4, ExitCode.PROTOCOL),
    ]
    assert every.lines == 4


def test_key_property_rules() -> None:
    null_key = {"type": "RECORD", "stream": "s", "record": {"id": None}}
    report = validate_stream(stream(SCHEMA, null_key))
    assert report.violations[0].reason == "field 'id' must be of type integer"
    loose = {**SCHEMA, "schema": {"type": "object", "properties": {"id": {}}}}
    report = validate_stream(stream(loose, null_key))
    assert report.violations[0].reason == "key property 'id' is null"
    bad_keys = {**SCHEMA, "key_properties": ["nope"]}
    report = validate_stream(stream(bad_keys))
    assert report.violations[0].reason == "key property 'nope' is not a property of the schema"


def test_activate_version_and_batch_need_a_schema() -> None:
    report = validate_stream(
        stream({"type": "ACTIVATE_VERSION", "stream": "s", "version": 1}), collect_all=True
    )
    assert report.violations[0].error.kind == "record_before_schema"


def test_invalid_json_schema_is_a_violation() -> None:
    bad = {**SCHEMA, "schema": {"type": "object", "properties": {"id": {"type": "nonsense"}}}}
    report = validate_stream(stream(bad, rec()), collect_all=True)
    assert report.violations[0].reason.startswith("SCHEMA message: invalid JSON Schema")
    assert report.violations[1].error.kind == "record_before_schema"


def test_unknown_type_is_tolerated_with_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="dativo"):
        report = validate_stream(stream({"type": "metric"}, {"type": "METRIC"}, SCHEMA))
    assert report.ok
    assert report.unknown_types == 2
    assert [r.getMessage() for r in caplog.records] == [
        "line 1: unknown message type METRIC tolerated"
    ]


def test_newer_drafts_are_enforced_through_jsonschema() -> None:
    check = compile_check(
        {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "array",
            "prefixItems": [{"type": "integer"}],
        }
    )
    assert check([1, "x"]) is None
    assert check(["x"]) == "field '[0]' must be of type integer"


def test_remote_refs_are_not_fetched() -> None:
    check = compile_check({"properties": {"a": {"$ref": "http://192.0.2.1/x.json"}}})
    assert check({"a": 1}) == "the schema could not be applied (_WrappedReferencingError)"


def test_nested_paths_are_named() -> None:
    check = compile_check(
        {
            "type": "object",
            "properties": {
                "o": {
                    "type": "object",
                    "properties": {"tags": {"type": "array", "items": {"type": "string"}}},
                    "required": ["tags"],
                }
            },
        }
    )
    assert check({"o": {"tags": ["a", 3]}}) == "field 'o.tags[1]' must be of type string"
    assert check({"o": {}}) == "required field 'o.tags' is missing"


@pytest.mark.parametrize(
    ("extras", "reason"),
    [
        ({"time_extracted": "2024-01-02T03:04:05Z", "version": 2}, None),
        ({"time_extracted": None, "version": None}, None),
        (
            {"time_extracted": "soon"},
            "RECORD message: field 'time_extracted' is not a valid date-time",
        ),
        ({"version": "v2"}, "RECORD message: field 'version' must be of type integer or null"),
    ],
)
def test_record_optional_fields(extras: dict[str, Any], reason: str | None) -> None:
    report = validate_stream(stream(SCHEMA, {**rec(), **extras}))
    assert [v.reason for v in report.violations] == ([reason] if reason else [])


def batch_stream(*manifest: str, fmt: str = "jsonl", compression: str = "gzip") -> io.BytesIO:
    batch = {
        "type": "BATCH",
        "stream": "s",
        "encoding": {"format": fmt, "compression": compression},
        "manifest": list(manifest),
    }
    return stream(SCHEMA, rec(), batch)


def test_batch_files_are_checked_on_request(tmp_path: Any) -> None:
    import gzip

    good = tmp_path / "good.jsonl.gz"
    good.write_bytes(gzip.compress(b'{"id": 1}\n{"id": 2, "at": "2024-01-01T00:00:00Z"}\n'))
    bad = tmp_path / "bad.jsonl.gz"
    bad.write_bytes(gzip.compress(b'{"id": 3}\n{"id": "canary-batch-s3cret"}\n{"at": null}\n'))
    uris = [good.as_uri(), bad.as_uri()]

    assert validate_stream(batch_stream(*uris)).ok  # files are not opened by default
    report = validate_stream(batch_stream(*uris), batch_files=True, collect_all=True)
    assert [(v.line, v.reason) for v in report.violations] == [
        (3, "BATCH file 2, record 2: field 'id' must be of type integer"),
        (3, "BATCH file 2, record 3: key property 'id' is missing"),
    ]
    assert report.streams["s"].batch_records == 5
    assert all("canary" not in v.reason for v in report.violations)


def test_batch_files_missing_parquet_and_remote(
    tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    missing = validate_stream(batch_stream((tmp_path / "gone.jsonl").as_uri()), batch_files=True)
    assert missing.violations[0].reason == "BATCH file 1: BATCH manifest file does not exist"
    assert missing.exit_code == ExitCode.PROTOCOL

    table = pa.table({"id": [1, None]})
    pq.write_table(table, tmp_path / "part.parquet")
    parquet = validate_stream(
        batch_stream((tmp_path / "part.parquet").as_uri(), fmt="parquet", compression="none"),
        batch_files=True,
    )
    assert [v.reason for v in parquet.violations] == [
        "BATCH file 1, record 2: field 'id' must be of type integer"
    ]

    with caplog.at_level(logging.WARNING, logger="dativo"):
        remote = validate_stream(batch_stream("s3://bucket/key.jsonl.gz"), batch_files=True)
    assert remote.ok
    assert "remote BATCH files are not checked" in caplog.text


def test_batch_files_that_are_not_their_format_are_violations(tmp_path: Any) -> None:
    plain = tmp_path / "plain.jsonl.gz"
    plain.write_bytes(b'{"id": 1}\n')  # not gzip, though the message says so
    report = validate_stream(batch_stream(plain.as_uri()), batch_files=True, collect_all=True)
    assert [v.reason for v in report.violations] == [
        "BATCH file 1: BATCH file is not readable gzip"
    ]
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 not really")
    parquet = batch_stream(broken.as_uri(), fmt="parquet", compression="none")
    report = validate_stream(parquet, batch_files=True)
    assert [v.reason for v in report.violations] == [
        "BATCH file 1: BATCH file is not a readable Parquet file"
    ]
    assert report.exit_code == ExitCode.PROTOCOL
