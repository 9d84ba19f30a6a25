"""Records → RecordBatch: values land exactly, and every bad value is a precise error."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, cast

import pyarrow as pa
import pytest

from dativo_protocol.errors import RecordValidationError
from dativo_protocol.schema.arrow import ArrowOptions, json_schema_to_arrow
from dativo_protocol.schema.convert import records_to_batch

CANARY = "CANARY-7f3a9"
UTC = dt.UTC


def _mapped(props: dict[str, Any], **kwargs: Any):
    return json_schema_to_arrow({"type": "object", "properties": props}, stream="orders", **kwargs)


def _one(prop: dict[str, Any], value: Any, **kwargs: Any) -> Any:
    batch = records_to_batch([{"f": value}], _mapped({"f": prop}), **kwargs)
    return batch.column(0).to_pylist()[0]


# (case, property schema, input value, expected Python value after conversion)
GOOD: list[tuple[str, dict[str, Any], Any, Any]] = [
    ("int", {"type": "integer"}, 7, 7),
    ("int from integral float", {"type": "integer"}, 2.0, 2),
    ("int64 max", {"type": "integer"}, 2**63 - 1, 2**63 - 1),
    ("float from int", {"type": "number"}, 3, 3.0),
    ("float beyond 2^53 from int", {"type": "number"}, 2**60, float(2**60)),
    (
        "singer.decimal of unknown scale kept as text",
        {"type": "string", "format": "singer.decimal"},
        "1.25",
        "1.25",
    ),
    (
        "timestamp with offset → UTC",
        {"type": "string", "format": "date-time"},
        "2024-03-01T10:00:00+02:00",
        dt.datetime(2024, 3, 1, 8, tzinfo=UTC),
    ),
    (
        "timestamp Z, space separator",
        {"type": "string", "format": "date-time"},
        "2024-03-01 10:00:00.5Z",
        dt.datetime(2024, 3, 1, 10, 0, 0, 500000, tzinfo=UTC),
    ),
    (
        "naive timestamp read as UTC",
        {"type": "string", "format": "date-time"},
        "2024-03-01T10:00:00",
        dt.datetime(2024, 3, 1, 10, tzinfo=UTC),
    ),
    (
        "date-only date-time",
        {"type": "string", "format": "date-time"},
        "2024-03-01",
        dt.datetime(2024, 3, 1, tzinfo=UTC),
    ),
    (
        "nanoseconds cut to microseconds",
        {"type": "string", "format": "date-time"},
        "2024-03-01T10:00:00.123456789Z",
        dt.datetime(2024, 3, 1, 10, 0, 0, 123456, tzinfo=UTC),
    ),
    (
        "aware datetime object",
        {"type": "string", "format": "date-time"},
        dt.datetime(2024, 3, 1, 12, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        dt.datetime(2024, 3, 1, 10, tzinfo=UTC),
    ),
    ("date", {"type": "string", "format": "date"}, "2024-02-29", dt.date(2024, 2, 29)),
    ("time", {"type": "string", "format": "time"}, "23:59:58.25", dt.time(23, 59, 58, 250000)),
    (
        "decimal from string",
        {"type": "number", "multipleOf": 0.01},
        "12345678901234567890.12",
        Decimal("12345678901234567890.12"),
    ),
    ("decimal from float is exact", {"type": "number", "multipleOf": 0.01}, 0.1, Decimal("0.10")),
    ("decimal from int", {"type": "number", "multipleOf": 0.01}, 10**20, Decimal(10**20)),
    (
        "decimal from Decimal",
        {"type": "number", "multipleOf": 0.001},
        Decimal("1.5"),
        Decimal("1.500"),
    ),
    ("wide decimal as text", {"type": "number", "multipleOf": 1e-38}, 0.1, "0.1"),
    ("json object", {"type": "object"}, {"b": [1, None], "a": "x"}, '{"b":[1,null],"a":"x"}'),
    ("json of a mixed union keeps strings as JSON", {"type": ["string", "integer"]}, "x", '"x"'),
    (
        "struct",
        {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "string"}}},
        {"a": 1},
        {"a": 1, "b": None},
    ),
    ("list of ints", {"type": "array", "items": {"type": "integer"}}, [1, 2.0, None], [1, 2, None]),
    (
        "list of structs",
        {"type": "array", "items": {"type": "object", "properties": {"x": {"type": "number"}}}},
        [{"x": 1}, None],
        [{"x": 1.0}, None],
    ),
    (
        "list of JSON items keeps strings as JSON",
        {"type": "array", "items": {"type": ["string", "integer"]}},
        ["a", 1],
        ['"a"', "1"],
    ),
    ("null", {"type": "integer"}, None, None),
]


@pytest.mark.parametrize(("case", "prop", "value", "expected"), GOOD, ids=[g[0] for g in GOOD])
def test_values_convert_exactly(case: str, prop: dict[str, Any], value: Any, expected: Any) -> None:
    options = ArrowOptions(wide_decimals="string")
    batch = records_to_batch([{"f": value}], _mapped({"f": prop}, options=options))
    got = batch.column(0).to_pylist()[0]
    assert got == expected, case
    assert type(got) is type(expected), case


# (case, property schema, bad value, reason fragment)
BAD: list[tuple[str, dict[str, Any], Any, str]] = [
    (
        "fraction in int (pyarrow truncates)",
        {"type": "integer"},
        1.5,
        "got a number with a fractional part",
    ),
    ("bool in int", {"type": "integer"}, True, "got a boolean"),
    ("string in int", {"type": "integer"}, CANARY, "expected an integer, got a string"),
    ("int64 overflow", {"type": "integer"}, 2**63, "out of the int64 range"),
    ("bool in number", {"type": "number"}, False, "expected a number, got a boolean"),
    ("string in number", {"type": "number"}, CANARY, "expected a number, got a string"),
    ("int in string", {"type": "string"}, 5, "expected a string, got a number"),
    ("object in string", {"type": "string"}, {"k": CANARY}, "expected a string, got an object"),
    ("string in boolean", {"type": "boolean"}, CANARY, "expected a boolean, got a string"),
    (
        "bad date-time",
        {"type": "string", "format": "date-time"},
        CANARY,
        "not an ISO 8601 date-time",
    ),
    (
        "number in date-time",
        {"type": "string", "format": "date-time"},
        5,
        "expected a date-time string",
    ),
    ("bad date", {"type": "string", "format": "date"}, "2024-02-30", "not an ISO 8601 date"),
    ("bad time", {"type": "string", "format": "time"}, "25:00:00", "not an ISO 8601 time"),
    (
        "decimal scale overflow",
        {"type": "number", "multipleOf": 0.01},
        "1.234",
        "more than 2 digits after the point",
    ),
    (
        "decimal precision overflow",
        {"type": "number", "multipleOf": 0.01, "minimum": 0, "maximum": 999.99},
        "1000.5",
        "does not fit decimal(5,2)",
    ),
    (
        "decimal not a number",
        {"type": "number", "multipleOf": 0.01},
        CANARY,
        "not a decimal number",
    ),
    ("decimal NaN", {"type": "number", "multipleOf": 0.01}, "NaN", "must be finite"),
    ("decimal from bool", {"type": "number", "multipleOf": 0.01}, True, "got a boolean"),
    (
        "scalar in struct",
        {"type": "object", "properties": {"a": {"type": "integer"}}},
        CANARY,
        "expected an object, got a string",
    ),
    (
        "scalar in list",
        {"type": "array", "items": {"type": "string"}},
        CANARY,
        "expected an array, got a string",
    ),
    (
        "non-JSON value in a JSON field",
        {"type": "object"},
        {"k": {CANARY}},
        "cannot be serialized to JSON",
    ),
]


@pytest.mark.parametrize(("case", "prop", "value", "reason"), BAD, ids=[b[0] for b in BAD])
def test_bad_values_raise_naming_stream_field_and_line(
    case: str, prop: dict[str, Any], value: Any, reason: str
) -> None:
    records = [{"f": None}, {"f": value}]
    with pytest.raises(RecordValidationError) as info:
        records_to_batch(records, _mapped({"f": prop}), line_numbers=[10, 11])
    err = info.value
    assert reason in err.message, case
    assert "field 'f'" in err.message
    assert (err.stream, err.line) == ("orders", 11)
    assert err.exit_code == 5
    assert CANARY not in str(err)
    assert CANARY not in repr(err.to_dict())


def test_error_inside_a_list_names_the_owning_record_and_item_path() -> None:
    mapped = _mapped(
        {
            "l": {
                "type": "array",
                "items": {"type": "object", "properties": {"n": {"type": "integer"}}},
            }
        }
    )
    records: list[dict[str, Any]] = [
        {"l": [{"n": 1}, {"n": 2}]},
        {"l": []},
        {"l": [{"n": 3}, {"n": 4.5}]},
    ]
    with pytest.raises(
        RecordValidationError,
        match=r"field 'l\.\[\]\.n': .*fractional part \(record 3 of the batch\)",
    ):
        records_to_batch(records, mapped)


def test_list_fast_path_still_rejects_fractions_and_wrong_items() -> None:
    mapped = _mapped({"l": {"type": "array", "items": {"type": "integer"}}})
    for items, reason in (
        ([1, 1.5], "fractional"),
        ([1, True], "boolean"),
        (["1"], "got a string"),
    ):
        with pytest.raises(RecordValidationError, match=reason):
            records_to_batch([{"l": items}], mapped)


def test_null_in_non_null_fields_raises_even_nested() -> None:
    mapped = _mapped(
        {
            "id": {"type": "integer"},
            "s": {
                "type": ["null", "object"],
                "required": ["a"],
                "properties": {"a": {"type": "integer"}},
            },
        },
        key_properties=["id"],
        options=ArrowOptions(nullability="schema"),
    )
    with pytest.raises(RecordValidationError, match="field 'id': is required but null or missing"):
        records_to_batch([{"id": 1}, {"s": None}], mapped)
    # a null struct may hold a null required child; a present struct may not
    ok = records_to_batch([{"id": 1, "s": None}], mapped)
    assert ok.to_pylist() == [{"id": 1, "s": None}]
    with pytest.raises(RecordValidationError, match=r"field 's\.a': is required"):
        records_to_batch([{"id": 1, "s": {}}], mapped)


def test_unknown_keys_raise_or_are_ignored_on_request() -> None:
    mapped = _mapped(
        {
            "a": {"type": "integer"},
            "o": {"type": "object", "properties": {"x": {"type": "integer"}}},
        }
    )
    with pytest.raises(RecordValidationError, match="field 'extra': not in the stream's schema"):
        records_to_batch([{"a": 1, "extra": CANARY}], mapped)
    with pytest.raises(RecordValidationError, match=r"field 'o\.y': not in the stream's schema"):
        records_to_batch([{"o": {"x": 1, "y": 2}}], mapped)
    batch = records_to_batch(
        [{"a": 1, "extra": 2, "o": {"x": 1, "y": 2}}], mapped, unknown_fields="ignore"
    )
    assert batch.to_pylist() == [{"a": 1, "o": {"x": 1}}]


def test_naive_timestamps_can_be_refused() -> None:
    mapped = _mapped({"t": {"type": "string", "format": "date-time"}})
    ok = records_to_batch([{"t": "2024-01-01T00:00:00+00:00"}], mapped, naive_timestamps="error")
    assert ok.column(0)[0].as_py() == dt.datetime(2024, 1, 1, tzinfo=UTC)
    for value in ("2024-01-01T00:00:00", dt.datetime(2024, 1, 1)):
        with pytest.raises(RecordValidationError, match="without a zone offset"):
            records_to_batch([{"t": value}], mapped, naive_timestamps="error")


def test_timestamp_precision_beyond_the_unit_raises() -> None:
    mapped = _mapped(
        {"t": {"type": "string", "format": "date-time"}}, options=ArrowOptions(timestamp_unit="s")
    )
    assert (
        records_to_batch([{"t": "2024-01-01T00:00:01Z"}], mapped).column(0)[0].as_py().second == 1
    )
    with pytest.raises(
        RecordValidationError, match=r"out of range or more precise than the column \(s\)"
    ):
        records_to_batch([{"t": "2024-01-01T00:00:01.5Z"}], mapped)


def test_renamed_fields_read_their_source_keys() -> None:
    mapped = _mapped(
        {
            "Order ID": {"type": "integer"},
            "meta": {"type": "object", "properties": {"a-b": {"type": "string"}}},
        },
        options=ArrowOptions(field_names="sanitize"),
    )
    batch = records_to_batch([{"Order ID": 3, "meta": {"a-b": "x"}}], mapped)
    assert batch.to_pylist() == [{"Order_ID": 3, "meta": {"a_b": "x"}}]


def test_records_must_be_objects() -> None:
    with pytest.raises(RecordValidationError, match="a record must be an object, not an array"):
        records_to_batch(cast(Any, [[1]]), _mapped({"a": {"type": "integer"}}))


def test_batch_matches_schema_and_empty_input() -> None:
    mapped = _mapped(
        {"a": {"type": "integer"}, "b": {"type": "array", "items": {"type": "string"}}}
    )
    empty = records_to_batch([], mapped)
    assert empty.num_rows == 0
    assert empty.schema == mapped.schema
    full = records_to_batch([{"a": 1, "b": ["x"]}, {}], mapped)
    assert full.schema.equals(mapped.schema, check_metadata=True)
    assert isinstance(full, pa.RecordBatch)


def test_decimal_strings_as_float_when_asked() -> None:
    prop = {"type": ["null", "string"], "format": "singer.decimal", "precision": 10, "scale": 2}
    mapped = _mapped({"f": prop}, options=ArrowOptions(decimals="float"))
    batch = records_to_batch([{"f": "1.25"}, {"f": 3}, {"f": None}], mapped)
    assert batch.column(0).to_pylist() == [1.25, 3.0, None]
    with pytest.raises(RecordValidationError, match="not a decimal number"):
        records_to_batch([{"f": CANARY}], mapped)


@pytest.mark.parametrize("mixed", [False, True], ids=["fast path", "value-by-value path"])
def test_required_fields_inside_optional_structs(mixed: bool) -> None:
    inner = {"type": "object", "required": ["b"], "properties": {"b": {"type": "integer"}}}
    outer = {"type": ["null", "object"], "required": ["inner"], "properties": {"inner": inner}}
    mapped = _mapped(
        {"o": outer, "x": {"type": ["null", "integer", "string"]}},
        options=ArrowOptions(nullability="schema"),
    )
    # a mixed-type column defeats pyarrow's inference and forces the value-by-value path
    extra = {"x": "s"} if mixed else {}
    ok = records_to_batch([{"o": None, **extra}, {"o": {"inner": {"b": 1}}, "x": 2}], mapped)
    assert ok.column(0).to_pylist() == [None, {"inner": {"b": 1}}]
    with pytest.raises(
        RecordValidationError, match=r"field 'o\.inner': is required .*\(record 2 of"
    ):
        records_to_batch([{"o": None, **extra}, {"o": {}, "x": 2}], mapped)
    with pytest.raises(
        RecordValidationError, match=r"field 'o\.inner\.b': is required .*\(record 2 of"
    ):
        records_to_batch([{"o": None, **extra}, {"o": {"inner": {}}, "x": 2}], mapped)
