"""Vectorised, exact conversions of pyarrow-inferred arrays to a mapped field's type.

``fast_leaf`` takes an array that pyarrow inferred from Python values (``pa.array(values)``:
exact for ints, floats, strings and booleans, and it fails rather than guess on mixed types)
and converts it to the target type with checked casts only. When exactness is not certain it
returns ``None`` and the caller (``schema.convert``) checks the values one by one, which is also
where precise errors come from. Nothing here raises for bad data.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from dativo_protocol.schema.arrow import ENCODING_META

__all__ = ["ARROW_ERRORS", "fast_leaf", "is_fast_candidate"]

ARROW_ERRORS = (
    pa.ArrowInvalid,
    pa.ArrowTypeError,
    pa.ArrowNotImplementedError,
    OverflowError,
    TypeError,
    ValueError,
)
_ZONE = r"(?:[Zz]|[+-]\d{2}(?::?\d{2})?)$"


def _encoding(f: pa.Field) -> bytes | None:
    return (f.metadata or {}).get(ENCODING_META)


def _simple(t: pa.DataType) -> bool:
    return bool(
        pa.types.is_string(t)
        or pa.types.is_large_string(t)
        or pa.types.is_boolean(t)
        or pa.types.is_int64(t)
        or pa.types.is_float64(t)
    )


def is_fast_candidate(f: pa.Field) -> bool:
    """Whether :func:`fast_leaf` can handle ``f`` at all (no JSON text, no struct, lists of
    plain items only)."""
    t = f.type
    if _encoding(f) in (b"json", b"decimal-string") or pa.types.is_struct(t):
        return False
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return _simple(t.value_type) and _encoding(t.value_field) is None
    return True


def fast_leaf(arr: pa.Array, f: pa.Field, naive: str) -> pa.Array | None:
    """``arr`` converted exactly to ``f.type``, or ``None`` if that is not certain."""
    if not is_fast_candidate(f):
        return None
    t, got = f.type, arr.type
    try:
        if pa.types.is_null(got):
            return pa.nulls(len(arr), t)
        if pa.types.is_integer(t):
            numeric = pa.types.is_integer(got) or pa.types.is_floating(got)
            return arr.cast(t, safe=True) if numeric else None  # safe: 1.5 does not pass
        if pa.types.is_floating(t):
            if pa.types.is_integer(got) or pa.types.is_floating(got):
                return arr.cast(t, safe=False)  # a float column is approximate by design
            from_text = pa.types.is_string(got) and _encoding(f) == b"number-string"
            return arr.cast(t) if from_text else None
        if pa.types.is_decimal(t):
            if pa.types.is_floating(got):  # via the shortest text: what the JSON held
                arr, got = arr.cast(pa.string()), pa.string()
            ok = pa.types.is_string(got) or pa.types.is_integer(got)
            return arr.cast(t) if ok else None  # string → decimal refuses lossy rescaling
        if pa.types.is_timestamp(t):
            return _timestamps(arr, t, naive) if pa.types.is_string(got) else None
        if pa.types.is_date(t):
            return arr.cast(t) if pa.types.is_string(got) else None
        if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_boolean(t):
            same = got == t or (pa.types.is_string(got) and pa.types.is_large_string(t))
            return arr.cast(t) if same else None
        if pa.types.is_list(t) or pa.types.is_large_list(t):
            return _list(arr, f)
    except ARROW_ERRORS:
        return None
    return None


def _timestamps(arr: pa.Array, t: pa.TimestampType, naive: str) -> pa.Array | None:
    zoned = pc.match_substring_regex(arr, _ZONE)
    missing = pc.and_(pc.invert(zoned), arr.is_valid())
    if pc.any(missing).as_py():
        if naive == "error":
            return None  # the caller names the record
        arr = pc.if_else(zoned, arr, pc.binary_join_element_wise(arr, "Z", ""))
    return arr.cast(pa.timestamp(t.unit, tz="UTC")).cast(t)


def _list(arr: pa.Array, f: pa.Field) -> pa.Array | None:
    t, got = f.type, arr.type
    if not (pa.types.is_list(got) or pa.types.is_large_list(got)):
        return None
    item, want = got.value_type, t.value_type
    numeric = pa.types.is_integer(item) or pa.types.is_floating(item)
    fits = (
        pa.types.is_null(item)
        or item == want
        or (pa.types.is_string(item) and pa.types.is_large_string(want))
        or (numeric and (pa.types.is_int64(want) or pa.types.is_float64(want)))
    )
    if not fits:
        return None
    result = arr.cast(t, safe=True)
    if not t.value_field.nullable and result.flatten().null_count:
        return None  # the caller names the record with the null element
    return result
