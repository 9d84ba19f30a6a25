"""Arrow conversions between the *parse* schema (what pyarrow.json can read) and the stream's
Arrow schema (what sinks receive).

pyarrow.json cannot read ``date32``/``time64`` from strings nor a float from a JSON string, so
such fields are parsed as strings and converted here, vectorised.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from dativo_protocol.schema.arrow import ENCODING_META


class NotFastParseable(Exception):
    """The schema has a field pyarrow.json cannot read (JSON-encoded objects)."""


def parse_type(t: pa.DataType, field: pa.Field | None = None) -> pa.DataType:
    """The type pyarrow.json reads for a target type (raises NotFastParseable)."""
    meta = (field.metadata or {}) if field is not None else {}
    encoding = meta.get(ENCODING_META)
    if encoding == b"json":
        raise NotFastParseable(field.name if field is not None else "")
    if encoding == b"number-string":
        return pa.string()
    if pa.types.is_date(t) or pa.types.is_time(t):
        return pa.string()
    if pa.types.is_struct(t):
        return pa.struct([parse_field(t.field(i)) for i in range(t.num_fields)])
    if pa.types.is_list(t):
        return pa.list_(parse_field(t.value_field))
    return t


def parse_field(f: pa.Field) -> pa.Field:
    # every parse field is nullable: STATE lines share the parse (their ``record`` is null) and
    # required fields are checked afterwards, vectorised (:func:`null_violation`)
    return pa.field(f.name, parse_type(f.type, f), nullable=True)


def parse_schema(schema: pa.Schema) -> pa.Schema:
    return pa.schema([parse_field(f) for f in schema])


def convert_array(arr: pa.Array, target: pa.DataType) -> pa.Array:
    """``arr`` (as parsed) converted to ``target``; ArrowInvalid if a value does not fit."""
    if arr.type == target:
        return arr
    if pa.types.is_struct(target) and pa.types.is_struct(arr.type):
        # flatten() folds the parent's nulls into the children (their slots may hold junk)
        parsed = dict(zip((f.name for f in arr.type), arr.flatten(), strict=True))
        children = [
            convert_array(parsed[target.field(i).name], target.field(i).type)
            for i in range(target.num_fields)
        ]
        mask = arr.is_null() if arr.null_count else None
        return pa.StructArray.from_arrays(
            children, fields=[target.field(i) for i in range(target.num_fields)], mask=mask
        )
    if pa.types.is_list(target) and pa.types.is_list(arr.type):
        values = convert_array(arr.values, target.value_type)
        mask = arr.is_null() if arr.null_count else None
        return pa.ListArray.from_arrays(arr.offsets, values, type=target, mask=mask)
    if pa.types.is_time(target) and pa.types.is_string(arr.type):
        stamped = pc.binary_join_element_wise("1970-01-01T", arr, "")
        return stamped.cast(pa.timestamp(target.unit)).cast(target)
    return arr.cast(target)


def to_target(batch: pa.RecordBatch, target: pa.Schema) -> pa.RecordBatch:
    """A parsed batch as a batch of the stream's schema (same columns, in order)."""
    columns = [convert_array(batch.column(f.name), f.type) for f in target]
    out = pa.RecordBatch.from_arrays(columns, schema=target)
    check_not_null(out)
    return out


def check_not_null(batch: pa.RecordBatch) -> None:
    """ArrowInvalid when a non-nullable top-level column holds a null."""
    for f, col in zip(batch.schema, batch.columns, strict=True):
        if not f.nullable and col.null_count:
            raise pa.ArrowInvalid(f"null in non-null field '{f.name}'")


def _bad_nulls(arr: pa.Array, f: pa.Field, parent_valid: pa.Array | None) -> bool:
    """True when ``arr`` has a null where ``f`` forbids it (under a valid parent)."""
    if not f.nullable and arr.null_count:
        nulls = pc.is_null(arr)
        if parent_valid is None or pc.any(pc.and_(nulls, parent_valid)).as_py():
            return True
    t = f.type
    if pa.types.is_struct(t):
        valid = pc.is_valid(arr)
        if parent_valid is not None:
            valid = pc.and_(valid, parent_valid)
        for i in range(t.num_fields):
            if _bad_nulls(arr.field(i), t.field(i), valid):
                return True
    elif pa.types.is_list(t) and not t.value_field.nullable:
        return bool(arr.values.null_count) and _bad_nulls(arr.flatten(), t.value_field, None)
    return False


def null_violation(records: pa.StructArray, checked: pa.Schema) -> bool:
    """True when a record lacks a field that ``checked`` requires (a non-null field)."""
    return any(_bad_nulls(records.field(i), f, None) for i, f in enumerate(checked))
