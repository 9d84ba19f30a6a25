"""Arrow schemas (from the core's JSON Schema mapping) into Iceberg, and batches into table shape.

Field ids are Iceberg's: assigned once at creation and kept by ``union_by_name`` on evolution,
which adds new columns and applies widening (int -> long, float -> double, decimal precision).
Anything else (e.g. string -> long) is an :class:`IncompatibleSchemaError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from dativo_protocol.errors import ConfigError, RecordValidationError, SchemaEvolutionError

if TYPE_CHECKING:
    import pyarrow as pa
    from pyiceberg.table import Table


class IncompatibleSchemaError(SchemaEvolutionError):
    """A SCHEMA change that Iceberg schema evolution cannot apply to the existing table."""


def _iceberg_type(t: Any) -> Any:
    """Arrow types Iceberg rejects, mapped to the nearest type it accepts."""
    import pyarrow as pa

    if pa.types.is_timestamp(t):
        return pa.timestamp("us", tz="UTC" if t.tz is not None else None)
    if pa.types.is_date64(t):
        return pa.date32()
    if pa.types.is_time32(t) or (pa.types.is_time64(t) and t.unit == "ns"):
        return pa.time64("us")
    if pa.types.is_null(t):
        return pa.string()
    if pa.types.is_struct(t):
        return pa.struct([_iceberg_field(t.field(i)) for i in range(t.num_fields)])
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return pa.list_(_iceberg_field(t.value_field))
    if pa.types.is_map(t):
        return pa.map_(_iceberg_type(t.key_type), _iceberg_type(t.item_type))
    return t


def _iceberg_field(f: Any) -> Any:
    import pyarrow as pa

    return pa.field(f.name, _iceberg_type(f.type), nullable=f.nullable)


def table_arrow_schema(
    arrow_schema: pa.Schema, key_properties: Sequence[str], stream: str
) -> pa.Schema:
    """The Arrow schema to create or evolve the table with: key columns required."""
    import pyarrow as pa

    names = set(arrow_schema.names)
    missing = [k for k in key_properties if k not in names]
    if missing:
        raise ConfigError(f"key_properties {missing} are not in the stream's schema", stream=stream)
    keys = set(key_properties)
    return pa.schema(
        [
            pa.field(f.name, _iceberg_type(f.type), nullable=f.name not in keys and f.nullable)
            for f in arrow_schema
        ]
    )


def evolve(
    table: Table, arrow_schema: pa.Schema, key_properties: Sequence[str], stream: str
) -> Table:
    """Apply new columns and widenings to ``table``; raise on incompatible changes."""
    from pyiceberg.exceptions import ValidationError

    incoming = table_arrow_schema(arrow_schema, key_properties, stream)
    before = table.schema()
    try:
        with table.update_schema() as update:
            update.union_by_name(incoming)
            if key_properties and list(before.identifier_field_names()) != list(key_properties):
                # identifier fields must exist and be required; keys never become optional
                update.set_identifier_fields(*key_properties)
    except (ValidationError, ValueError) as exc:
        raise IncompatibleSchemaError(
            f"the new SCHEMA cannot be applied to table {'.'.join(table.name())}: "
            f"{_first_line(exc)}",
            stream=stream,
            hint="only new columns and widening (int->long, float->double) evolve in place; "
            "write to a new table (streams.<name>.table_name) for other changes",
        ) from None
    return table


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def conform(
    data: pa.Table, target: pa.Schema, key_properties: Sequence[str], stream: str
) -> pa.Table:
    """Reshape ``data`` to exactly ``target`` (the table's Arrow schema): order, types, nulls.

    PyIceberg prints a mismatch table to stdout before raising; an exact schema avoids that path.
    """
    import pyarrow as pa

    for key in key_properties:
        if key in data.column_names and data.column(key).null_count:
            raise RecordValidationError(
                f"key property '{key}' is null in {data.column(key).null_count} record(s)",
                stream=stream,
            )
    columns = []
    for field in target:
        if field.name in data.column_names:
            column = data.column(field.name)
            if column.type != field.type:
                column = _cast(column, field, stream)
        elif field.nullable:
            column = pa.nulls(data.num_rows, field.type)
        else:
            raise RecordValidationError(f"required column '{field.name}' is missing", stream=stream)
        columns.append(column)
    return pa.Table.from_arrays(columns, schema=target)


def _cast(column: Any, field: Any, stream: str) -> Any:
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        if pa.types.is_timestamp(field.type) and pa.types.is_timestamp(column.type):
            # ns -> us truncates sub-microsecond digits, which Iceberg v2 cannot store anyway
            return pc.cast(column, field.type, safe=False)
        return pc.cast(column, field.type)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise RecordValidationError(
            f"column '{field.name}' cannot be stored as {field.type}: {_first_line(exc)}",
            stream=stream,
        ) from None
