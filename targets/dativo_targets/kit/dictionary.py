"""Which columns of a Parquet file get dictionary encoding (shared by the Parquet-writing targets).

Ids, numbers, timestamps and free text rarely repeat: for them the writer builds a dictionary
only to drop it once it outgrows its page, which costs time and space. Only string columns whose
values repeat in a sample (a file's first batch) are worth one.
"""

from __future__ import annotations

from typing import Literal

import pyarrow as pa
import pyarrow.compute as pc

#: ``strings``: the string columns that repeat; ``all``: every column; ``none``: no column
DictionaryMode = Literal["strings", "all", "none"]


def string_columns(schema: pa.Schema) -> list[str]:
    """Dotted paths of the string columns (structs walked): the columns worth a dictionary."""
    out: list[str] = []

    def walk(f: pa.Field, path: str) -> None:
        if pa.types.is_string(f.type) or pa.types.is_large_string(f.type):
            out.append(path)
        elif pa.types.is_struct(f.type):
            for i in range(f.type.num_fields):
                child = f.type.field(i)
                walk(child, f"{path}.{child.name}")

    for f in schema:
        walk(f, f.name)
    return out


def repetitive(column: str, sample: pa.RecordBatch | pa.Table) -> bool:
    """True when the values of ``column`` (a dotted path) repeat in ``sample``: at most half
    of them are distinct."""
    first, *rest = column.split(".")
    arr = sample.column(first)
    for name in rest:
        arr = pc.struct_field(arr, name)
    n = len(arr) - arr.null_count
    return n == 0 or int(pc.count_distinct(arr).as_py()) * 2 <= int(n)


def dictionary_columns(schema: pa.Schema, sample: pa.RecordBatch | pa.Table | None) -> list[str]:
    """The string columns to dictionary-encode: those that repeat in ``sample``."""
    columns = string_columns(schema)
    if sample is None or not sample.num_rows:
        return columns
    return [c for c in columns if repetitive(c, sample)]


def use_dictionary(
    mode: DictionaryMode, schema: pa.Schema, sample: pa.RecordBatch | pa.Table | None
) -> bool | list[str]:
    """The ``use_dictionary`` argument of ``pyarrow.parquet.ParquetWriter`` for ``mode``."""
    if mode == "strings":
        return dictionary_columns(schema, sample)
    return mode == "all"
