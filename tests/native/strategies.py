"""Hypothesis strategies for the native decoder's differential tests: JSON Schemas within the
kinds it reads (nested objects, arrays, nullables, free-form fields) and records that fit their
Arrow mapping."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa
from hypothesis import strategies as st

LEAVES: list[dict[str, Any]] = [
    {"type": "integer"},
    {"type": "number"},
    {"type": "boolean"},
    {"type": "string"},
    {"type": "string", "format": "date-time"},
    {"type": "string", "format": "date"},
]
#: free-form fields: the row path stores their values as JSON text (``dativo.encoding=json``)
FREE_FORM: list[dict[str, Any]] = [
    {"type": "object"},
    {},
    {"type": "object", "additionalProperties": {"type": "string"}},
    {"type": ["string", "integer"]},
    {"type": "array"},
]
#: field names (no "z": unknown keys start with it)
NAMES = st.text(alphabet="abcdefgh_", min_size=1, max_size=5)
#: integers a float64 column takes natively (larger ones are left to the row path)
EXACT = 2**53


def _maybe_null(node: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.sampled_from([node, {**node, "type": [node["type"], "null"]}])


def _objects(children: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    def build(props: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
        required = st.sets(st.sampled_from(sorted(props))).map(sorted)
        return required.flatmap(
            lambda req: _maybe_null({"type": "object", "properties": props, "required": req})
        )

    return st.dictionaries(NAMES, children, min_size=1, max_size=4).flatmap(build)


def _arrays(children: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    return children.flatmap(lambda item: _maybe_null({"type": "array", "items": item}))


NODES = st.recursive(
    st.sampled_from(LEAVES).flatmap(_maybe_null) | st.sampled_from(FREE_FORM),
    lambda ch: st.one_of(_objects(ch), _arrays(ch)),
    max_leaves=10,
)


@st.composite
def json_schemas(draw: st.DrawFn) -> dict[str, Any]:
    props = draw(st.dictionaries(NAMES, NODES, min_size=1, max_size=6))
    required = draw(st.sets(st.sampled_from(sorted(props))))
    return {"type": "object", "properties": props, "required": sorted(required)}


@st.composite
def rfc3339(draw: st.DrawFn) -> str:
    d = draw(st.datetimes(min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30)))
    digits = draw(st.integers(0, 6))
    text = f"{d.year:04d}-{d.month:02d}-{d.day:02d}T{d.hour:02d}:{d.minute:02d}:{d.second:02d}"
    if digits:
        text += "." + f"{d.microsecond:06d}"[:digits]
    minutes = draw(st.one_of(st.just(0), st.integers(-(23 * 60 + 59), 23 * 60 + 59)))
    if minutes == 0 and draw(st.booleans()):
        return text + "Z"
    sign = "-" if minutes < 0 else "+"
    return f"{text}{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


#: any JSON value orjson writes (no -0.0: see json_values), strings of any code point but
#: lone surrogates, integers up to the uint64 range (orjson writes no larger ones)
JSON_SCALARS: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**64 - 1),
    st.floats(allow_nan=False, allow_infinity=False).filter(lambda x: x != 0 or str(x) == "0.0"),
    st.text(max_size=6),
)


def json_values() -> st.SearchStrategy[Any]:
    """Values of a free-form field. A negative zero is left out: serde reads ``-0`` and
    ``-0.0`` alike, so the decoder refuses both (tested on its own)."""
    return st.recursive(
        JSON_SCALARS,
        lambda ch: st.lists(ch, max_size=3) | st.dictionaries(st.text(max_size=4), ch, max_size=3),
        max_leaves=8,
    )


def values(f: pa.Field) -> st.SearchStrategy[Any]:
    """JSON values the row path and the native decoder both take for ``f``."""
    t = f.type
    base: st.SearchStrategy[Any]
    if (f.metadata or {}).get(b"dativo.encoding") == b"json":
        base = json_values().filter(lambda v: v is not None)  # (null: see the end)
    elif pa.types.is_int64(t):
        base = st.integers(-(2**63), 2**63 - 1)
    elif pa.types.is_float64(t):
        # -0.0 is left to the row path (serde reads "-0" as -0.0, Python as the integer 0)
        base = st.floats(allow_nan=False, allow_infinity=False).filter(
            lambda x: x != 0 or str(x) == "0.0"
        ) | st.integers(-EXACT, EXACT)
    elif pa.types.is_boolean(t):
        base = st.booleans()
    elif pa.types.is_string(t):
        base = st.text(max_size=8)
    elif pa.types.is_timestamp(t):
        base = rfc3339()
    elif pa.types.is_date32(t):
        base = st.dates().map(lambda d: f"{d.year:04d}-{d.month:02d}-{d.day:02d}")
    elif pa.types.is_struct(t):
        base = records(list(t))
    elif pa.types.is_list(t):
        base = st.lists(values(t.value_field), max_size=3)
    else:
        raise AssertionError(f"unexpected type {t}")
    return st.none() | base if f.nullable else base


def records(fields: list[pa.Field]) -> st.SearchStrategy[dict[str, Any]]:
    """Objects for ``fields``: nullable fields may be missing; unknown keys are sprinkled in."""
    required = {f.name: values(f) for f in fields if not f.nullable}
    optional: dict[str, st.SearchStrategy[Any]] = {f.name: values(f) for f in fields if f.nullable}
    optional["zz_unknown"] = st.one_of(
        st.integers(-(2**63), 2**64 - 1), st.text(max_size=4), st.just({"a": [1]})
    )
    return st.fixed_dictionaries(required, optional=optional)
