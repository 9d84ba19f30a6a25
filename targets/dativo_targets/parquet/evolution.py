"""Is a stream's new Arrow schema a compatible evolution of the schema of its files?

Compatible: columns added or dropped, nested struct fields added, ``null`` columns getting a
type, decimals widened at the same scale, a nullable column kept nullable. Readers such as
``pyarrow.dataset`` (with ``promote_options``) and DuckDB (``union_by_name``) unify such files.
"""

from __future__ import annotations

import pyarrow as pa


def type_compatible(old: pa.DataType, new: pa.DataType) -> bool:
    if old == new or pa.types.is_null(old):
        return True
    if pa.types.is_struct(old) and pa.types.is_struct(new):
        new_fields = {new.field(i).name: new.field(i) for i in range(new.num_fields)}
        for i in range(old.num_fields):
            f = old.field(i)
            if f.name in new_fields and not type_compatible(f.type, new_fields[f.name].type):
                return False
        return True
    if pa.types.is_list(old) and pa.types.is_list(new):
        return type_compatible(old.value_type, new.value_type)
    if pa.types.is_decimal(old) and pa.types.is_decimal(new):
        return bool(old.scale == new.scale and new.precision >= old.precision)
    return False


def incompatible_columns(old: pa.Schema, new: pa.Schema) -> list[str]:
    """Names of the columns whose type changed incompatibly (empty when compatible)."""
    bad = []
    for f in old:
        idx = new.get_field_index(f.name)
        if idx >= 0 and not type_compatible(f.type, new.field(idx).type):
            bad.append(f.name)
    return bad


def without_metadata(schema: pa.Schema) -> pa.Schema:
    return schema.remove_metadata()
