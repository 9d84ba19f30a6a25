"""Schema evolution: compare the Arrow schema already written with a stream's new one.

Both targets call :func:`evolve` when a SCHEMA message arrives for a stream they already
write. The rules (``docs/schema-mapping.md``, "Schema evolution"), chosen so that every
allowed change is also a legal Iceberg schema update:

- a column only in the new schema is **added**, always nullable (old rows have no value);
- a column only in the old schema is **kept** (never dropped), made nullable (``missing``);
- a non-null column that becomes nullable is **relaxed**; the reverse keeps it nullable;
- **widened** types: ``int8/16/32 → int64`` (and smaller → larger ints), ``float16/32 → float64``,
  ``decimal(p, s) → decimal(p', s)`` with ``p' > p``, ``null → anything``;
- a new type that the old column already holds (``int32`` into ``int64``, ``decimal(10,2)``
  into ``decimal(12,2)``) keeps the old column (``narrowed``);
- ``string``/``large_string``, ``binary``/``large_binary``, ``list``/``large_list`` are the
  same logical type; structs and lists are compared field by field;
- anything else is **incompatible** (``string → int64``, ``struct → string``, a decimal scale
  change, a timestamp unit or zone change, ``int64 → float64`` unless
  ``EvolutionOptions(allow_int_to_float=True)``: Iceberg forbids it and floats lose integers
  above 2^53). :func:`evolve` raises :class:`~dativo_protocol.errors.SchemaEvolutionError`
  listing every incompatible field.

:func:`conform_batch` then reshapes a batch of the new schema to the unified one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pyarrow as pa
import pyarrow.compute as pc

from dativo_protocol.errors import SchemaEvolutionError
from dativo_protocol.schema.arrow import ENCODING_META, ITEM

__all__ = [
    "ChangeKind",
    "EvolutionOptions",
    "FieldChange",
    "SchemaDiff",
    "conform_batch",
    "diff_schemas",
    "evolve",
]

ChangeKind = Literal["added", "missing", "relaxed", "widened", "narrowed", "incompatible"]


@dataclass(frozen=True, slots=True, kw_only=True)
class EvolutionOptions:
    """``allow_int_to_float``: accept an integer column becoming float64 (Parquet only: Iceberg
    rejects it, and integers above 2^53 lose precision)."""

    allow_int_to_float: bool = False


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One difference. ``path`` uses Arrow names (``[]`` for list elements); ``old``/``new``
    describe the types (``None`` when the field is absent on that side)."""

    path: tuple[str, ...]
    kind: ChangeKind
    old: str | None
    new: str | None

    def describe(self) -> str:
        where = ".".join(self.path)
        if self.kind == "added":
            return f"field '{where}' added ({self.new})"
        if self.kind == "missing":
            return f"field '{where}' ({self.old}) missing from the new schema: kept, nullable"
        return f"field '{where}' {self.kind}: {self.old} -> {self.new}"


@dataclass(frozen=True, slots=True)
class SchemaDiff:
    """The changes from ``old`` to ``new`` and the ``unified`` schema to write from now on.
    When a change is incompatible, ``unified`` keeps the old field there."""

    unified: pa.Schema
    changes: tuple[FieldChange, ...]

    @property
    def incompatible(self) -> tuple[FieldChange, ...]:
        return tuple(c for c in self.changes if c.kind == "incompatible")

    @property
    def compatible(self) -> bool:
        return not self.incompatible

    def of_kind(self, kind: ChangeKind) -> tuple[FieldChange, ...]:
        return tuple(c for c in self.changes if c.kind == kind)

    def raise_if_incompatible(self, *, stream: str | None = None) -> None:
        bad = self.incompatible
        if bad:
            raise SchemaEvolutionError(
                "incompatible schema change: " + "; ".join(c.describe() for c in bad),
                stream=stream,
                hint="write the stream to a new table or path, or keep the field's type",
            )


def diff_schemas(
    old: pa.Schema, new: pa.Schema, *, options: EvolutionOptions | None = None
) -> SchemaDiff:
    """Compare ``old`` (what is written) with ``new`` (the stream's latest schema)."""
    changes: list[FieldChange] = []
    fields = _merge_fields(list(old), list(new), (), changes, options or EvolutionOptions())
    return SchemaDiff(pa.schema(fields, metadata=new.metadata or old.metadata), tuple(changes))


def evolve(
    old: pa.Schema,
    new: pa.Schema,
    *,
    stream: str | None = None,
    options: EvolutionOptions | None = None,
) -> SchemaDiff:
    """:func:`diff_schemas`, raising :class:`SchemaEvolutionError` on an incompatible change."""
    diff = diff_schemas(old, new, options=options)
    diff.raise_if_incompatible(stream=stream)
    return diff


# --------------------------------------------------------------------------- comparison
def _describe(t: pa.DataType, meta: dict[bytes, bytes] | None = None) -> str:
    if pa.types.is_struct(t):
        return "struct"
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return f"list<{_describe(t.value_type)}>"
    if meta and meta.get(ENCODING_META) == b"json":
        return "string (JSON)"
    return str(t)


def _merge_fields(
    old: list[pa.Field],
    new: list[pa.Field],
    path: tuple[str, ...],
    changes: list[FieldChange],
    options: EvolutionOptions,
) -> list[pa.Field]:
    new_by_name = {f.name: f for f in new}
    old_names = {f.name for f in old}
    out: list[pa.Field] = []
    for of in old:
        nf = new_by_name.get(of.name)
        where = (*path, of.name)
        if nf is None:
            changes.append(FieldChange(where, "missing", _describe(of.type, of.metadata), None))
            out.append(of.with_nullable(True))
        else:
            out.append(_merge_field(of, nf, where, changes, options))
    for nf in new:
        if nf.name not in old_names:
            changes.append(
                FieldChange((*path, nf.name), "added", None, _describe(nf.type, nf.metadata))
            )
            out.append(nf.with_nullable(True))
    return out


def _merge_field(
    of: pa.Field,
    nf: pa.Field,
    path: tuple[str, ...],
    changes: list[FieldChange],
    options: EvolutionOptions,
) -> pa.Field:
    nullable = of.nullable or nf.nullable
    if not of.nullable and nf.nullable:
        changes.append(FieldChange(path, "relaxed", "not null", "nullable"))
    merged = _merge_type(of, nf, path, changes, options)
    return pa.field(of.name, merged, nullable=nullable, metadata=_merge_metadata(of, nf))


def _merge_metadata(of: pa.Field, nf: pa.Field) -> dict[bytes, bytes] | None:
    """The new field's metadata, except that a column already written as JSON text stays JSON
    text (its old rows are JSON, so new values are serialised the same way). Iceberg drops
    field metadata, so an old column without any is taken as the new schema describes it."""
    merged = {**(of.metadata or {}), **(nf.metadata or {})}
    if (
        (of.metadata or {}).get(ENCODING_META) == b"json"
        and _is_string(of.type)
        and _is_string(nf.type)
    ):
        merged[ENCODING_META] = b"json"
    return merged or None


def _is_string(t: pa.DataType) -> bool:
    return bool(pa.types.is_string(t) or pa.types.is_large_string(t))


def _merge_type(
    of: pa.Field,
    nf: pa.Field,
    path: tuple[str, ...],
    changes: list[FieldChange],
    options: EvolutionOptions,
) -> pa.DataType:
    ot, nt = of.type, nf.type
    if pa.types.is_struct(ot) and pa.types.is_struct(nt):
        children = _merge_fields(list(ot), list(nt), path, changes, options)
        return pa.struct(children)
    if _is_list(ot) and _is_list(nt):
        item = _merge_field(ot.value_field, nt.value_field, (*path, ITEM), changes, options)
        return pa.large_list(item) if pa.types.is_large_list(ot) else pa.list_(item)
    verdict = _compare_leaf(ot, nt, options)
    if verdict == "same":
        return ot
    if verdict == "incompatible":
        changes.append(
            FieldChange(
                path, "incompatible", _describe(ot, of.metadata), _describe(nt, nf.metadata)
            )
        )
        return ot
    changes.append(FieldChange(path, verdict, _describe(ot), _describe(nt)))
    return nt if verdict == "widened" else ot


def _is_list(t: pa.DataType) -> bool:
    return bool(pa.types.is_list(t) or pa.types.is_large_list(t))


_SAME = (
    (pa.types.is_string, pa.types.is_large_string),
    (pa.types.is_binary, pa.types.is_large_binary),
)


def _int_width(t: pa.DataType) -> tuple[bool, int] | None:
    if pa.types.is_signed_integer(t) or pa.types.is_unsigned_integer(t):
        return bool(pa.types.is_signed_integer(t)), int(t.bit_width)
    return None


def _holds_int(container: tuple[bool, int], value: tuple[bool, int]) -> bool:
    c_signed, c_bits = container
    v_signed, v_bits = value
    if c_signed == v_signed:
        return c_bits >= v_bits
    return c_signed and c_bits > v_bits  # signed holds a smaller unsigned


def _compare_leaf(
    ot: pa.DataType, nt: pa.DataType, options: EvolutionOptions
) -> Literal["same", "widened", "narrowed", "incompatible"]:
    if ot == nt:
        return "same"
    for one, other in _SAME:
        if (one(ot) or other(ot)) and (one(nt) or other(nt)):
            return "same"
    if pa.types.is_null(ot):
        return "widened"
    if pa.types.is_null(nt):
        return "narrowed"
    oi, ni = _int_width(ot), _int_width(nt)
    if oi is not None and ni is not None:
        if _holds_int(ni, oi):
            return "widened"
        if _holds_int(oi, ni):
            return "narrowed"
        return "incompatible"
    if pa.types.is_floating(ot) and pa.types.is_floating(nt):
        return "widened" if nt.bit_width > ot.bit_width else "narrowed"
    if options.allow_int_to_float and pa.types.is_float64(nt) and oi is not None:
        return "widened"
    if options.allow_int_to_float and pa.types.is_float64(ot) and ni is not None:
        return "narrowed"
    if pa.types.is_decimal(ot) and pa.types.is_decimal(nt) and ot.scale == nt.scale:
        if nt.bit_width != ot.bit_width and not pa.types.is_decimal128(nt):
            return "incompatible"
        return "widened" if nt.precision > ot.precision else "narrowed"
    return "incompatible"


# --------------------------------------------------------------------------- reshaping
def conform_batch(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """Reshape ``batch`` (of a schema that :func:`evolve` accepted) to ``schema``: columns in
    order, missing columns and struct fields filled with nulls, widened types cast."""
    n = batch.num_rows
    arrays = []
    for f in schema:
        index = batch.schema.get_field_index(f.name)
        arrays.append(pa.nulls(n, f.type) if index < 0 else _conform(batch.column(index), f.type))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _conform(arr: pa.Array, target: pa.DataType) -> pa.Array:
    if arr.type == target:
        return arr
    if pa.types.is_struct(target) and pa.types.is_struct(arr.type):
        names = [arr.type.field(i).name for i in range(arr.type.num_fields)]
        flat = dict(zip(names, arr.flatten(), strict=True))
        children = [
            _conform(flat[f.name], f.type) if f.name in flat else pa.nulls(len(arr), f.type)
            for f in target
        ]
        mask = arr.is_null() if arr.null_count else None
        return pa.StructArray.from_arrays(children, fields=list(target), mask=mask)
    if _is_list(target) and _is_list(arr.type):
        # re-base offsets so a sliced list (batch.slice) becomes a fresh, unsliced array
        first, last = arr.offsets[0].as_py(), arr.offsets[-1].as_py()
        offsets = pc.subtract(arr.offsets, pa.scalar(first, arr.offsets.type))
        values = _conform(arr.values.slice(first, last - first), target.value_type)
        mask = arr.is_null() if arr.null_count else None
        if pa.types.is_large_list(target):
            return pa.LargeListArray.from_arrays(
                offsets.cast(pa.int64()), values, type=target, mask=mask
            )
        return pa.ListArray.from_arrays(offsets.cast(pa.int32()), values, type=target, mask=mask)
    return arr.cast(target, safe=True)
