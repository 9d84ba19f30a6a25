"""Python records (dicts) → ``pyarrow.RecordBatch`` for a mapped schema, validated.

The slow-but-correct path: targets use it for fallbacks and diagnostics, converters for Python
dicts. pyarrow infers the columns from the records in C++ (exact for ints, floats, strings and
booleans; it fails rather than guess on mixed types); :mod:`~dativo_protocol.schema.fastpath`
then converts each column with checked casts only. A column that does not pass is rebuilt value
by value, which is where errors are found and named. pyarrow's own traps are closed:

- ``1.5`` in an integer column raises (pyarrow truncates it to 1); ``true`` is not a number;
- ``None`` (or a missing key) in a non-null field raises (pyarrow accepts it);
- a key that the schema does not know raises (pyarrow drops it), unless
  ``unknown_fields="ignore"``;
- date-times with offsets become UTC; naive ones are read as UTC (``naive_timestamps="utc"``,
  the default: most Singer taps write UTC without a suffix) or raise (``"error"``); digits
  beyond the column's unit (or out of its range) raise for ``s``/``ms``/``ns`` units (sub-microsecond digits of a ``us``
  column are cut, as Python's ``datetime`` does);
- decimals are exact from JSON strings, ints, floats (via their shortest text) or ``Decimal``;
  a value with more fractional digits than the scale, or too many digits, raises;
- JSON-string fields (``dativo.encoding=json``) hold ``orjson`` text of the value.

Errors are :class:`~dativo_protocol.errors.RecordValidationError` naming the stream, the field
path, the record's line (``line_numbers``) or index in the batch, and the reason; never the value.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import pyarrow as pa
import pyarrow.compute as pc

from dativo_protocol.codec import dumps_str
from dativo_protocol.errors import RecordValidationError
from dativo_protocol.schema.arrow import ENCODING_META, ITEM, SOURCE_NAME_META, MappedSchema
from dativo_protocol.schema.fastpath import ARROW_ERRORS, fast_leaf, is_fast_candidate
from dativo_protocol.schema.valuechecks import (
    Check,
    decimal_problem,
    integer_problem,
    json_type,
    not_json,
    number_problem,
    to_decimal,
    type_problem,
)

__all__ = ["records_to_batch"]


def records_to_batch(
    records: Sequence[Mapping[str, Any]],
    schema: MappedSchema | pa.Schema,
    *,
    stream: str | None = None,
    line_numbers: Sequence[int] | None = None,
    naive_timestamps: Literal["utc", "error"] = "utc",
    unknown_fields: Literal["error", "ignore"] = "error",
) -> pa.RecordBatch:
    """Convert ``records`` to a batch of ``schema`` or raise ``RecordValidationError``.

    ``line_numbers[i]`` is the input line of ``records[i]`` (for the error message).
    """
    if isinstance(schema, MappedSchema):
        stream = stream if stream is not None else schema.stream
        schema = schema.schema
    ctx = _Context(stream, line_numbers, naive_timestamps, unknown_fields)
    for i, record in enumerate(records):
        if not isinstance(record, Mapping):
            raise ctx.fail((), i, f"a record must be an object, not {json_type(record)}")
    sources = [_source(f) for f in schema]
    inferred = _infer_columns(records)
    if unknown_fields == "error" and (inferred is None or not set(inferred) <= set(sources)):
        ctx.check_keys(records, sources, (), None)
    arrays = []
    for f, src in zip(schema, sources, strict=True):
        column = inferred.get(src) if inferred is not None else None
        arr = ctx.fast_column(column, f, (f.name,), None) if column is not None else None
        if arr is None:
            arr = ctx.build([r.get(src) for r in records], f, (f.name,), None, None)
        arrays.append(arr)
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _infer_columns(records: Sequence[Mapping[str, Any]]) -> dict[str, pa.Array] | None:
    """Every top-level key's column as pyarrow infers it, or ``None`` when it cannot."""
    if not records:
        return None
    try:
        inferred = pa.array(records)
    except ARROW_ERRORS:
        return None
    if not pa.types.is_struct(inferred.type):
        return None
    return {inferred.type.field(i).name: inferred.field(i) for i in range(inferred.type.num_fields)}


def _owner(owners: Sequence[int] | None, index: int) -> int:
    """The record index of value ``index`` (values inside lists belong to their record)."""
    return owners[index] if owners is not None else index


def _source(f: pa.Field) -> str:
    meta = f.metadata or {}
    source = meta.get(SOURCE_NAME_META)
    return source.decode() if source is not None else str(f.name)


class _Context:
    __slots__ = ("lines", "naive", "stream", "unknown")

    def __init__(
        self, stream: str | None, lines: Sequence[int] | None, naive: str, unknown: str
    ) -> None:
        self.stream = stream
        self.lines = lines
        self.naive = naive
        self.unknown = unknown

    # errors -------------------------------------------------------------------------------
    def fail(self, path: tuple[str, ...], index: int, reason: str) -> RecordValidationError:
        line = self.lines[index] if self.lines is not None and index < len(self.lines) else None
        where = f"field '{'.'.join(path)}': " if path else ""
        suffix = "" if line is not None else f" (record {index + 1} of the batch)"
        return RecordValidationError(f"{where}{reason}{suffix}", stream=self.stream, line=line)

    def check_keys(
        self,
        values: Sequence[Any],
        sources: list[str],
        path: tuple[str, ...],
        owners: list[int] | None,
    ) -> None:
        known = set(sources)
        present: set[str] = set()
        for value in values:
            if value is not None:
                present.update(value.keys())
        if present <= known:
            return
        for i, value in enumerate(values):
            extra = sorted(str(k) for k in value.keys() - known) if value is not None else []
            if extra:
                raise self.fail((*path, extra[0]), _owner(owners, i), "not in the stream's schema")

    def check_nulls(
        self,
        arr: pa.Array,
        f: pa.Field,
        path: tuple[str, ...],
        parent_valid: pa.Array | None,
        owners: list[int] | None,
    ) -> None:
        if f.nullable or arr.null_count == 0:
            return
        bad = arr.is_null()
        if parent_valid is not None:
            bad = pc.and_(bad, parent_valid)
        index = pc.index(bad, True).as_py()
        if index >= 0:
            raise self.fail(path, _owner(owners, index), "is required but null or missing")

    def first_problem(
        self, values: Sequence[Any], path: tuple[str, ...], owners: list[int] | None, check: Check
    ) -> None:
        """Raise for the first value ``check`` rejects."""
        for i, value in enumerate(values):
            if value is not None:
                reason = check(value)
                if reason is not None:
                    raise self.fail(path, _owner(owners, i), reason)

    # fast path ----------------------------------------------------------------------------
    def fast_column(
        self, column: pa.Array, f: pa.Field, path: tuple[str, ...], parent_valid: pa.Array | None
    ) -> pa.Array | None:
        """``column`` (inferred by pyarrow, aligned with the records) converted exactly to
        ``f``, structs included, or ``None`` when only the value-by-value path can tell."""
        t = f.type
        if pa.types.is_struct(t) and (f.metadata or {}).get(ENCODING_META) is None:
            return self.fast_struct(column, f, path, parent_valid)
        arr = fast_leaf(column, f, self.naive) if is_fast_candidate(f) else None
        if arr is not None:
            self.check_nulls(arr, f, path, parent_valid, None)
        return arr

    def fast_struct(
        self, column: pa.Array, f: pa.Field, path: tuple[str, ...], parent_valid: pa.Array | None
    ) -> pa.Array | None:
        t = f.type
        if pa.types.is_null(column.type):
            column = pa.nulls(len(column), pa.struct([]))
        if not pa.types.is_struct(column.type):
            return None
        present = {column.type.field(i).name: i for i in range(column.type.num_fields)}
        fields = [t.field(i) for i in range(t.num_fields)]
        sources = [_source(c) for c in fields]
        if self.unknown == "error" and not set(present) <= set(sources):
            return None  # the value-by-value path names the record with the unknown key
        valid = column.is_valid()
        if parent_valid is not None:  # inferred children do not inherit their parent's nulls
            valid = pc.and_(valid, parent_valid)
        children = []
        for child, src in zip(fields, sources, strict=True):
            where = (*path, child.name)
            if src in present:
                sub = self.fast_column(column.field(present[src]), child, where, valid)
                if sub is None:
                    return None
            else:
                sub = pa.nulls(len(column), child.type)
                self.check_nulls(sub, child, where, valid, None)
            children.append(sub)
        mask = pc.invert(valid) if column.null_count else None
        arr = pa.StructArray.from_arrays(children, fields=fields, mask=mask)
        self.check_nulls(arr, f, path, parent_valid, None)
        return arr

    # dispatch -----------------------------------------------------------------------------
    def build(
        self,
        values: list[Any],
        f: pa.Field,
        path: tuple[str, ...],
        parent_valid: pa.Array | None,
        owners: list[int] | None,
    ) -> pa.Array:
        t = f.type
        encoding = (f.metadata or {}).get(ENCODING_META)
        arr: pa.Array | None = None
        if encoding == b"json":
            arr = self.json(values, path, owners)
        elif encoding == b"decimal-string":
            arr = self.decimal_text(values, path, owners)
        elif pa.types.is_struct(t):
            arr = self.struct(values, t, path, owners)
        else:
            try:
                arr = fast_leaf(pa.array(values), f, self.naive)
            except ARROW_ERRORS:
                arr = None
            if arr is None:
                arr = self.slow_leaf(values, f, path, owners)
        if arr.type != t:  # e.g. JSON text into a large_string column (Iceberg's Arrow schemas)
            arr = arr.cast(t)
        self.check_nulls(arr, f, path, parent_valid, owners)
        return arr

    def slow_leaf(
        self, values: list[Any], f: pa.Field, path: tuple[str, ...], owners: list[int] | None
    ) -> pa.Array:
        """Value by value: raise for the first bad value, else build the exact array."""
        t = f.type
        if pa.types.is_list(t) or pa.types.is_large_list(t):
            return self.array(values, t, path, owners)
        if pa.types.is_integer(t):
            self.first_problem(
                values,
                path,
                owners,
                integer_problem(t.bit_width, pa.types.is_signed_integer(t), str(t)),
            )
            return pa.array([None if v is None else int(v) for v in values], t)
        if pa.types.is_floating(t):
            from_text = (f.metadata or {}).get(ENCODING_META) == b"number-string"
            self.first_problem(values, path, owners, number_problem(from_text))
            return pa.array([None if v is None else float(v) for v in values], t)
        if pa.types.is_decimal(t):
            self.first_problem(values, path, owners, decimal_problem(t.precision, t.scale))
            return pa.array([None if v is None else to_decimal(v) for v in values], t)
        if pa.types.is_timestamp(t):
            return self.timestamp(values, t, path, owners)
        if pa.types.is_date(t):
            return self.date(values, t, path, owners)
        if pa.types.is_time(t):
            return self.time(values, t, path, owners)
        if pa.types.is_string(t) or pa.types.is_large_string(t):
            self.first_problem(values, path, owners, type_problem(str, "a string"))
        elif pa.types.is_boolean(t):
            self.first_problem(values, path, owners, type_problem(bool, "a boolean"))
        try:
            return pa.array(values, type=t)
        except ARROW_ERRORS:
            first = next((i for i, v in enumerate(values) if v is not None), 0)
            raise self.fail(
                path, _owner(owners, first), f"a value cannot be converted to {t}"
            ) from None

    # nested -------------------------------------------------------------------------------
    def struct(
        self, values: list[Any], t: pa.StructType, path: tuple[str, ...], owners: list[int] | None
    ) -> pa.Array:
        for i, value in enumerate(values):
            if value is not None and not isinstance(value, Mapping):
                raise self.fail(
                    path, _owner(owners, i), f"expected an object, got {json_type(value)}"
                )
        fields = [t.field(i) for i in range(t.num_fields)]
        sources = [_source(c) for c in fields]
        if self.unknown == "error":
            self.check_keys(values, sources, path, owners)
        valid = [v is not None for v in values]
        valid_arr = pa.array(valid, pa.bool_())
        children = [
            self.build(
                [v.get(src) if v is not None else None for v in values],
                child,
                (*path, child.name),
                valid_arr,
                owners,
            )
            for child, src in zip(fields, sources, strict=True)
        ]
        mask = None if all(valid) else pc.invert(valid_arr)
        return pa.StructArray.from_arrays(children, fields=fields, mask=mask)

    def array(
        self, values: list[Any], t: pa.DataType, path: tuple[str, ...], owners: list[int] | None
    ) -> pa.Array:
        offsets = [0]
        flat: list[Any] = []
        item_owners: list[int] = []
        nulls = False
        for i, value in enumerate(values):
            owner = _owner(owners, i)
            if value is None:
                nulls = True
            elif isinstance(value, list | tuple):
                flat.extend(value)
                item_owners.extend([owner] * len(value))
            else:
                raise self.fail(path, owner, f"expected an array, got {json_type(value)}")
            offsets.append(len(flat))
        items = self.build(flat, t.value_field, (*path, ITEM), None, item_owners)
        mask = pa.array([v is None for v in values], pa.bool_()) if nulls else None
        if pa.types.is_large_list(t):
            return pa.LargeListArray.from_arrays(
                pa.array(offsets, pa.int64()), items, type=t, mask=mask
            )
        return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), items, type=t, mask=mask)

    # leaves -------------------------------------------------------------------------------
    def json(self, values: list[Any], path: tuple[str, ...], owners: list[int] | None) -> pa.Array:
        try:
            texts = [None if v is None else dumps_str(v) for v in values]
        except TypeError:
            self.first_problem(values, path, owners, not_json)
            raise
        return pa.array(texts, pa.string())

    def decimal_text(
        self, values: list[Any], path: tuple[str, ...], owners: list[int] | None
    ) -> pa.Array:
        self.first_problem(values, path, owners, decimal_problem(None, None))
        return pa.array(
            [v if v is None or isinstance(v, str) else str(to_decimal(v)) for v in values],
            pa.string(),
        )

    def timestamp(
        self,
        values: list[Any],
        t: pa.TimestampType,
        path: tuple[str, ...],
        owners: list[int] | None,
    ) -> pa.Array:
        parsed: list[dt.datetime | None] = []
        for i, value in enumerate(values):
            result = self.parse_datetime(value)
            if isinstance(result, str):
                raise self.fail(path, _owner(owners, i), result)
            parsed.append(result)
        array = pa.array(parsed, pa.timestamp("us", tz="UTC"))
        try:
            return array.cast(t, safe=True)
        except ARROW_ERRORS:
            bad = next(
                i for i, v in enumerate(parsed) if v is not None and not _fits(v, array.type, t)
            )
            reason = f"a date-time is out of range or more precise than the column ({t.unit})"
            raise self.fail(path, _owner(owners, bad), reason) from None

    def parse_datetime(self, value: Any) -> dt.datetime | str | None:
        """The UTC datetime of ``value``, or the reason it is not one (a ``str``)."""
        if value is None:
            return None
        if isinstance(value, str):
            try:
                value = dt.datetime.fromisoformat(value)
            except ValueError:
                return "not an ISO 8601 date-time"
        elif isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            value = dt.datetime(value.year, value.month, value.day)
        if not isinstance(value, dt.datetime):
            return f"expected a date-time string, got {json_type(value)}"
        if value.tzinfo is None or value.utcoffset() is None:
            if self.naive == "error":
                return "date-time without a zone offset"
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)

    def date(
        self, values: list[Any], t: pa.DataType, path: tuple[str, ...], owners: list[int] | None
    ) -> pa.Array:
        dates: list[dt.date | None] = []
        for i, value in enumerate(values):
            if value is None or (isinstance(value, dt.date) and not isinstance(value, dt.datetime)):
                dates.append(value)
                continue
            if not isinstance(value, str):
                raise self.fail(
                    path, _owner(owners, i), f"expected a date string, got {json_type(value)}"
                )
            try:
                dates.append(dt.date.fromisoformat(value))
            except ValueError:
                raise self.fail(path, _owner(owners, i), "not an ISO 8601 date") from None
        return pa.array(dates, t)

    def time(
        self, values: list[Any], t: pa.DataType, path: tuple[str, ...], owners: list[int] | None
    ) -> pa.Array:
        times: list[dt.time | None] = []
        for i, value in enumerate(values):
            parsed: dt.time | None = value if isinstance(value, dt.time) or value is None else None
            if isinstance(value, str):
                try:
                    parsed = dt.time.fromisoformat(value)
                except ValueError:
                    parsed = None
            if value is not None and (parsed is None or parsed.tzinfo is not None):
                reason = (
                    "not an ISO 8601 time without zone"
                    if isinstance(value, str | dt.time)
                    else f"expected a time string, got {json_type(value)}"
                )
                raise self.fail(path, _owner(owners, i), reason)
            times.append(parsed)
        return pa.array(times, pa.time64("us")).cast(t, safe=True)


def _fits(value: dt.datetime, source: pa.DataType, target: pa.DataType) -> bool:
    try:
        pa.array([value], source).cast(target, safe=True)
    except ARROW_ERRORS:
        return False
    return True
