"""Python records (dicts) → ``pyarrow.RecordBatch`` for a mapped schema, validated.

The slow-but-correct path: targets use it for fallbacks and diagnostics, converters for Python
dicts. Columns are built one at a time with pyarrow's C++ conversions where they are exact and
checked; a column whose fast conversion fails is re-walked value by value only to name the
first bad record. pyarrow's own traps are closed:

- ``1.5`` in an integer column raises (pyarrow truncates it to 1); ``true`` is not a number;
- ``None`` (or a missing key) in a non-null field raises (pyarrow accepts it);
- a key that the schema does not know raises (pyarrow drops it), unless
  ``unknown_fields="ignore"``;
- date-times with offsets become UTC; naive ones are read as UTC (``naive_timestamps="utc"``,
  the default: most Singer taps write UTC without a suffix) or raise (``"error"``); digits
  beyond the column's unit raise for ``s``/``ms`` units (sub-microsecond digits of a ``us``
  column are cut, as Python's ``datetime`` does);
- decimals are exact from JSON strings, ints, floats (via their shortest text) or ``Decimal``;
  a value with more fractional digits than the scale, or too many digits, raises;
- JSON-string fields (``dativo.encoding=json``) hold ``orjson`` text of the value.

Errors are :class:`~dativo_protocol.errors.RecordValidationError` naming the stream, the field
path, the record's line (``line_numbers``) or index in the batch, and the reason; never the value.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

import pyarrow as pa
import pyarrow.compute as pc

from dativo_protocol.codec import dumps_str
from dativo_protocol.errors import RecordValidationError
from dativo_protocol.schema.arrow import ENCODING_META, ITEM, SOURCE_NAME_META, MappedSchema

__all__ = ["records_to_batch"]

_ARROW_ERRORS = (
    pa.ArrowInvalid,
    pa.ArrowTypeError,
    pa.ArrowNotImplementedError,
    OverflowError,
    TypeError,
    ValueError,
)
_ZONE = r"(?:[Zz]|[+-]\d{2}(?::?\d{2})?)$"
_INT64 = (-(2**63), 2**63 - 1)


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
            raise ctx.fail((), i, f"a record must be an object, not {_json_type(record)}")
    sources = [_source(f) for f in schema]
    if unknown_fields == "error":
        ctx.check_keys(records, sources, (), None)
    arrays = [
        ctx.build([r.get(src) for r in records], f, (f.name,), None, None)
        for f, src in zip(schema, sources, strict=True)
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _owner(owners: Sequence[int] | None, index: int) -> int:
    """The record index of value ``index`` (values inside lists belong to their record)."""
    return owners[index] if owners is not None else index


def _source(f: pa.Field) -> str:
    meta = f.metadata or {}
    source = meta.get(SOURCE_NAME_META)
    return source.decode() if source is not None else str(f.name)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float | Decimal):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "an array"
    if isinstance(value, Mapping):
        return "an object"
    return f"a Python {type(value).__name__}"


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
                owner = _owner(owners, i)
                raise self.fail((*path, extra[0]), owner, "not in the stream's schema")

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
            owner = _owner(owners, index)
            raise self.fail(path, owner, "is required but null or missing")

    def find(
        self,
        values: Sequence[Any],
        path: tuple[str, ...],
        owners: list[int] | None,
        check: Callable[[Any], str | None],
        fallback: str,
    ) -> RecordValidationError:
        """The error for the first value ``check`` rejects (its reason), else ``fallback``."""
        for i, value in enumerate(values):
            if value is None:
                continue
            reason = check(value)
            if reason is not None:
                return self.fail(path, _owner(owners, i), reason)
        first = next((i for i, v in enumerate(values) if v is not None), 0)
        return self.fail(path, _owner(owners, first), fallback)

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
        if encoding == b"json":
            arr = self.json(values, path, owners)
        elif encoding == b"decimal-string":
            arr = self.decimal_text(values, path, owners)
        elif pa.types.is_struct(t):
            arr = self.struct(values, t, path, owners)
        elif pa.types.is_list(t) or pa.types.is_large_list(t):
            arr = self.array(values, t, path, owners)
        elif pa.types.is_integer(t):
            arr = self.integer(values, t, path, owners)
        elif pa.types.is_floating(t):
            arr = self.floating(values, t, path, owners, encoding == b"number-string")
        elif pa.types.is_decimal(t):
            arr = self.decimal(values, t, path, owners)
        elif pa.types.is_timestamp(t):
            arr = self.timestamp(values, t, path, owners)
        elif pa.types.is_date(t):
            arr = self.date(values, t, path, owners)
        elif pa.types.is_time(t):
            arr = self.time(values, t, path, owners)
        else:
            arr = self.plain(values, t, path, owners)
        self.check_nulls(arr, f, path, parent_valid, owners)
        return arr

    # nested -------------------------------------------------------------------------------
    def struct(
        self, values: list[Any], t: pa.StructType, path: tuple[str, ...], owners: list[int] | None
    ) -> pa.Array:
        for i, value in enumerate(values):
            if value is not None and not isinstance(value, Mapping):
                raise self.fail(
                    path, _owner(owners, i), f"expected an object, got {_json_type(value)}"
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
                raise self.fail(path, owner, f"expected an array, got {_json_type(value)}")
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
            raise self.find(
                values, path, owners, _not_json, "a value cannot be serialized to JSON"
            ) from None
        return pa.array(texts, pa.string())

    def plain(
        self, values: list[Any], t: pa.DataType, path: tuple[str, ...], owners: list[int] | None
    ) -> pa.Array:
        try:
            return pa.array(values, type=t)
        except _ARROW_ERRORS:
            expected = _EXPECTED.get(str(t), str(t))
            raise self.find(
                values, path, owners, _expect(t), f"a value cannot be converted to {expected}"
            ) from None

    def integer(
        self, values: list[Any], t: pa.DataType, path: tuple[str, ...], owners: list[int] | None
    ) -> pa.Array:
        try:
            arr = pa.array(values)
            if pa.types.is_null(arr.type):
                return pa.nulls(len(values), t)
            if pa.types.is_integer(arr.type) or pa.types.is_floating(arr.type):
                return arr.cast(t, safe=True)
        except _ARROW_ERRORS:
            pass
        raise self.find(values, path, owners, _integer_problem(t), "not an integer")

    def floating(
        self,
        values: list[Any],
        t: pa.DataType,
        path: tuple[str, ...],
        owners: list[int] | None,
        from_strings: bool,
    ) -> pa.Array:
        try:
            arr = pa.array(values)
            if pa.types.is_null(arr.type):
                return pa.nulls(len(values), t)
            if pa.types.is_floating(arr.type) or pa.types.is_integer(arr.type):
                return arr.cast(t, safe=False)
            if from_strings and pa.types.is_string(arr.type):
                return arr.cast(t)
        except _ARROW_ERRORS:
            pass
        check = _number_problem(from_strings)
        bad = self.find(values, path, owners, check, "not a number")
        if any(check(v) for v in values if v is not None):
            raise bad
        # ints beyond 2^53 mixed with floats: convert in Python (a float column is approximate)
        return pa.array([None if v is None else float(v) for v in values], t)

    def decimal(
        self, values: list[Any], t: pa.DataType, path: tuple[str, ...], owners: list[int] | None
    ) -> pa.Array:
        try:
            arr = pa.array(values)
            if pa.types.is_null(arr.type):
                return pa.nulls(len(values), t)
            if pa.types.is_string(arr.type):
                return arr.cast(t)
        except _ARROW_ERRORS:
            pass
        decimals: list[Decimal | None] = []
        problem = _decimal_problem(t.precision, t.scale)
        for i, value in enumerate(values):
            if value is None:
                decimals.append(None)
                continue
            reason = problem(value)
            if reason is not None:
                raise self.fail(path, _owner(owners, i), reason)
            decimals.append(_to_decimal(value))
        return pa.array(decimals, t)

    def decimal_text(
        self, values: list[Any], path: tuple[str, ...], owners: list[int] | None
    ) -> pa.Array:
        problem = _decimal_problem(None, None)
        texts: list[str | None] = []
        for i, value in enumerate(values):
            if value is None:
                texts.append(None)
                continue
            reason = problem(value)
            if reason is not None:
                raise self.fail(path, _owner(owners, i), reason)
            texts.append(value if isinstance(value, str) else str(_to_decimal(value)))
        return pa.array(texts, pa.string())

    def timestamp(
        self,
        values: list[Any],
        t: pa.TimestampType,
        path: tuple[str, ...],
        owners: list[int] | None,
    ) -> pa.Array:
        target = pa.timestamp(t.unit, tz="UTC") if t.tz else t
        try:
            arr = pa.array(values)
            if pa.types.is_null(arr.type):
                return pa.nulls(len(values), t)
            if pa.types.is_string(arr.type):
                zoned = pc.match_substring_regex(arr, _ZONE)
                naive = pc.and_(pc.invert(zoned), arr.is_valid())
                if pc.any(naive).as_py():
                    if self.naive == "error":
                        index = pc.index(naive, True).as_py()
                        raise self.fail(
                            path,
                            _owner(owners, index),
                            "date-time without a zone offset",
                        )
                    arr = pc.if_else(zoned, arr, pc.binary_join_element_wise(arr, "Z", ""))
                return arr.cast(target).cast(t)
        except _ARROW_ERRORS:
            pass
        parsed: list[dt.datetime | None] = []
        for i, value in enumerate(values):
            result = self.parse_datetime(value)
            if isinstance(result, str):
                raise self.fail(path, _owner(owners, i), result)
            parsed.append(result)
        try:
            return pa.array(parsed, pa.timestamp("us", tz="UTC")).cast(t, safe=True)
        except _ARROW_ERRORS:
            raise self.find(
                values,
                path,
                owners,
                lambda _v: None,
                f"a date-time has more precision than {t.unit}",
            ) from None

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
            return f"expected a date-time string, got {_json_type(value)}"
        if value.tzinfo is None or value.utcoffset() is None:
            if self.naive == "error":
                return "date-time without a zone offset"
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)

    def date(
        self, values: list[Any], t: pa.DataType, path: tuple[str, ...], owners: list[int] | None
    ) -> pa.Array:
        try:
            arr = pa.array(values)
            if pa.types.is_null(arr.type):
                return pa.nulls(len(values), t)
            if pa.types.is_string(arr.type) or pa.types.is_date32(arr.type):
                return arr.cast(t)
        except _ARROW_ERRORS:
            pass
        dates: list[dt.date | None] = []
        for i, value in enumerate(values):
            if value is None or (isinstance(value, dt.date) and not isinstance(value, dt.datetime)):
                dates.append(value)
                continue
            reason = (
                "not an ISO 8601 date"
                if isinstance(value, str)
                else f"expected a date string, got {_json_type(value)}"
            )
            try:
                dates.append(dt.date.fromisoformat(value) if isinstance(value, str) else None)
            except ValueError:
                dates.append(None)
            if dates[-1] is None:
                raise self.fail(path, _owner(owners, i), reason)
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
                    else f"expected a time string, got {_json_type(value)}"
                )
                raise self.fail(path, _owner(owners, i), reason)
            times.append(parsed)
        return pa.array(times, pa.time64("us")).cast(t, safe=True)


# --------------------------------------------------------------------------- value checks
_EXPECTED = {"string": "a string", "bool": "a boolean"}


def _expect(t: pa.DataType) -> Callable[[Any], str | None]:
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return lambda v: None if isinstance(v, str) else f"expected a string, got {_json_type(v)}"
    if pa.types.is_boolean(t):
        return lambda v: None if isinstance(v, bool) else f"expected a boolean, got {_json_type(v)}"
    return lambda v: None


def _not_json(value: Any) -> str | None:
    try:
        dumps_str(value)
    except TypeError:
        return f"{_json_type(value)} cannot be serialized to JSON"
    return None


def _integer_problem(t: pa.DataType) -> Callable[[Any], str | None]:
    bits = t.bit_width
    signed = pa.types.is_signed_integer(t)
    low, high = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)

    def check(value: Any) -> str | None:
        if isinstance(value, bool):
            return "expected an integer, got a boolean"
        if isinstance(value, float):
            if not value.is_integer():
                return "expected an integer, got a number with a fractional part"
            value = int(value)
        if not isinstance(value, int):
            return f"expected an integer, got {_json_type(value)}"
        if not low <= value <= high:
            return f"integer out of the {t} range"
        return None

    return check


def _number_problem(from_strings: bool) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if isinstance(value, bool):
            return "expected a number, got a boolean"
        if isinstance(value, int | float | Decimal):
            return None
        if from_strings and isinstance(value, str):
            try:
                float(value)
            except ValueError:
                return "not a decimal number"
            return None
        return f"expected a number, got {_json_type(value)}"

    return check


def _to_decimal(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))  # the shortest text that round-trips: what the JSON held
    return Decimal(value if isinstance(value, str) else int(value))


def _decimal_problem(precision: int | None, scale: int | None) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
            return f"expected a decimal number, got {_json_type(value)}"
        try:
            number = _to_decimal(value.strip() if isinstance(value, str) else value)
        except (InvalidOperation, ValueError):
            return "not a decimal number"
        if not number.is_finite():
            return "a decimal must be finite"
        if precision is None or scale is None:
            return None
        _sign, digits, exponent = number.normalize().as_tuple()
        if not isinstance(exponent, int):
            return "a decimal must be finite"
        fraction = max(0, -exponent)
        if fraction > scale:
            return f"has more than {scale} digits after the point (decimal({precision},{scale}))"
        whole = max(0, len(digits) + exponent)
        if whole > precision - scale:
            return f"does not fit decimal({precision},{scale})"
        return None

    return check
