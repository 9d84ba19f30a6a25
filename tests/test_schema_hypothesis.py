"""Property tests: any JSON Schema maps (or is refused with SchemaError); records generated for
a schema convert, survive a Parquet round trip, and read back as the values that went in."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dativo_protocol.codec import dumps_str
from dativo_protocol.errors import SchemaError
from dativo_protocol.schema.arrow import json_schema_to_arrow, notes_for
from dativo_protocol.schema.convert import records_to_batch

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
UTC = dt.UTC
NAMES = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_ -.ÄΩ0123456789", min_size=1, max_size=8)

# --------------------------------------------------------------------------- arbitrary schemas
TYPE_NAMES = ["object", "array", "string", "integer", "number", "boolean", "null"]
FORMATS = ["date-time", "date", "time", "uuid", "singer.decimal", "x-singer.decimal", "email"]


def _leaf_schemas() -> st.SearchStrategy[Any]:
    simple = st.fixed_dictionaries(
        {},
        optional={
            "type": st.sampled_from(TYPE_NAMES) | st.lists(st.sampled_from(TYPE_NAMES), max_size=3),
            "format": st.sampled_from(FORMATS),
            "multipleOf": st.sampled_from([0.01, 1, 0.5, 1e-38, 10, 1e-5]),
            "minimum": st.integers(-(10**12), 0),
            "maximum": st.integers(0, 10**12),
            "precision": st.integers(1, 60),
            "scale": st.integers(0, 40),
            "enum": st.lists(
                st.none() | st.integers() | st.text(max_size=3), min_size=1, max_size=3
            ),
            "const": st.integers() | st.text(max_size=3),
        },
    )
    return (
        simple
        | st.just({})
        | st.booleans()
        | st.just({"$ref": "#/$defs/d"})
        | st.just({"$ref": "#"})
    )


def _extend(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return (
        st.builds(
            lambda p: {"type": "object", "properties": p},
            st.dictionaries(NAMES, children, max_size=3),
        )
        | st.builds(lambda i: {"type": ["null", "array"], "items": i}, children)
        | st.builds(lambda b: {"anyOf": b}, st.lists(children, min_size=1, max_size=3))
        | st.builds(lambda b: {"oneOf": b}, st.lists(children, min_size=1, max_size=3))
        | st.builds(lambda b: {"allOf": b}, st.lists(children, min_size=1, max_size=2))
        | st.builds(lambda p: {"properties": p}, st.dictionaries(NAMES, children, max_size=2))
    )


ANY_SCHEMA = st.recursive(_leaf_schemas(), _extend, max_leaves=12)


@SETTINGS
@given(props=st.dictionaries(NAMES, ANY_SCHEMA, min_size=1, max_size=5), defs=ANY_SCHEMA)
def test_any_schema_maps_or_is_refused_with_schema_error(props: dict[str, Any], defs: Any) -> None:
    schema = {"type": "object", "properties": props, "$defs": {"d": defs}}
    refused: SchemaError | None = None
    try:
        mapped = json_schema_to_arrow(schema, stream="s")
    except SchemaError as err:  # only for malformed schemas, always with the stream
        refused = err
    if refused is not None:
        assert refused.stream == "s"
        assert refused.exit_code == 3
        return
    assert mapped.schema.names == list(props)
    # every mapped schema is writable as Parquet and its notes survive the file
    sink = io.BytesIO()
    pq.write_table(mapped.schema.empty_table(), sink)
    assert notes_for(pq.read_schema(io.BytesIO(sink.getvalue()))) == mapped.notes


# --------------------------------------------------------------------------- schema + values
Case = tuple[dict[str, Any], st.SearchStrategy[Any], Callable[[Any], Any]]
ZONES = st.sampled_from(
    [UTC, dt.timezone(dt.timedelta(hours=2)), dt.timezone(dt.timedelta(hours=-5, minutes=-30))]
)


def _same(v: Any) -> Any:
    return v


def _leaf_cases() -> st.SearchStrategy[Case]:
    timestamps = st.datetimes(
        min_value=dt.datetime(1900, 1, 2), max_value=dt.datetime(2200, 1, 1), timezones=ZONES
    )
    cases: list[Case] = [
        ({"type": "integer"}, st.integers(-(2**63), 2**63 - 1), _same),
        (
            {"type": "number"},
            st.floats(allow_nan=False, allow_infinity=False) | st.integers(-(2**53), 2**53),
            float,
        ),
        ({"type": "string"}, st.text(max_size=5), _same),
        ({"type": "boolean"}, st.booleans(), _same),
        (
            {"type": "string", "format": "date-time"},
            timestamps.map(lambda d: d.isoformat()),
            lambda s: dt.datetime.fromisoformat(s).astimezone(UTC),
        ),
        (
            {"type": "string", "format": "date"},
            st.dates().map(dt.date.isoformat),
            dt.date.fromisoformat,
        ),
        (
            {"type": "string", "format": "time"},
            st.times().map(dt.time.isoformat),
            dt.time.fromisoformat,
        ),
        (
            {"type": "number", "multipleOf": 0.01, "minimum": -(10**10), "maximum": 10**10},
            st.decimals(min_value=-(10**10), max_value=10**10, places=2).map(str),
            Decimal,
        ),
        (
            {"type": "string", "format": "singer.decimal", "precision": 20, "scale": 4},
            st.decimals(min_value=-(10**15), max_value=10**15, places=4).map(str),
            Decimal,
        ),
        (
            {"type": "object"},
            st.dictionaries(
                st.text(max_size=3),
                st.integers(-(2**63), 2**63 - 1) | st.text(max_size=3),
                max_size=3,
            ),
            dumps_str,
        ),
        ({"type": ["string", "integer"]}, st.text(max_size=3) | st.integers(-5, 5), dumps_str),
    ]
    return st.sampled_from(cases)


def _nullable(case: Case) -> Case:
    schema, values, expect = case
    return (
        {"anyOf": [{"type": "null"}, schema]},
        st.none() | values,
        lambda v: None if v is None else expect(v),
    )


def _object(props: dict[str, Case]) -> Case:
    schema = {"type": "object", "properties": {k: c[0] for k, c in props.items()}}
    values = st.fixed_dictionaries({k: c[1] for k, c in props.items()})
    expects = {k: c[2] for k, c in props.items()}
    return schema, values, lambda d: {k: expects[k](d[k]) for k in expects}


def _array(case: Case) -> Case:
    schema, values, expect = case
    return (
        {"type": "array", "items": schema},
        st.lists(values, max_size=3),
        lambda items: [expect(i) for i in items],
    )


def _extend_cases(children: st.SearchStrategy[Case]) -> st.SearchStrategy[Case]:
    return (
        st.dictionaries(NAMES, children, min_size=1, max_size=3).map(_object)
        | children.map(_array)
        | children.map(_nullable)
    )


CASES = st.recursive(_leaf_cases(), _extend_cases, max_leaves=8)


# a column pyarrow cannot infer (string and integer values) sends every column through the
# value-by-value path; without it most columns take the vectorised path: both must agree
MIXED: Case = ({"type": ["string", "integer"]}, st.sampled_from(["a", 1]), dumps_str)


@st.composite
def schemas_and_records(
    draw: st.DrawFn,
) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    props: dict[str, Case] = draw(st.dictionaries(NAMES, CASES, min_size=1, max_size=6))
    if draw(st.booleans()):
        props["#mixed"] = MIXED
    schema, values, expect = _object(props)
    records = draw(st.lists(values, max_size=5))
    return schema, records, [expect(r) for r in records]


@SETTINGS
@given(case=schemas_and_records())
def test_generated_records_round_trip_through_parquet(
    case: tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]],
) -> None:
    schema, records, expected = case
    mapped = json_schema_to_arrow(schema, stream="s")
    batch = records_to_batch(records, mapped)
    assert batch.to_pylist() == expected
    sink = io.BytesIO()
    pq.write_table(batch_table(batch), sink)
    back = pq.read_table(io.BytesIO(sink.getvalue()))
    assert back.schema.equals(mapped.schema, check_metadata=True)
    assert back.to_pylist() == expected


def batch_table(batch: Any) -> Any:
    import pyarrow as pa

    return pa.Table.from_batches([batch])
