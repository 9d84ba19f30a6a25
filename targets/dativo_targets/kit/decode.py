"""Records to Arrow: the fast path (pyarrow.json on whole record runs) and the row path
(orjson per line, for diagnostics and for streams pyarrow.json cannot read)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from dativo_protocol import codec
from dativo_protocol.schema.arrow import ITEM
from dativo_targets.kit.arrowconv import to_target
from dativo_targets.kit.sink import StreamSchema
from dativo_targets.kit.streams import StreamState

#: what a failed conversion raises (the fast path falls back; the row path diagnoses)
ARROW_ERRORS: tuple[type[Exception], ...] = (
    pa.ArrowInvalid,
    pa.ArrowTypeError,
    pa.ArrowNotImplementedError,
    OverflowError,
    ValueError,
)
READ_BLOCK_BYTES = 4 * 1024 * 1024


def _read(data: Any, schema: pa.Schema) -> pa.Table:
    # block_size bounds the longest line pyarrow.json accepts: give it the whole run
    size = max(READ_BLOCK_BYTES, len(data) + 1)
    return pj.read_json(
        pa.BufferReader(pa.py_buffer(data)),
        read_options=pj.ReadOptions(block_size=size, use_threads=True),
        parse_options=pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore"),
    )


def fast_records(data: memoryview, line_count: int, st: StreamState) -> list[pa.RecordBatch] | None:
    """A run of RECORD lines of ``st`` as batches, or ``None`` if anything is off (a line of
    another stream or type, a blank line, a value that does not fit): the caller then takes
    the row path, which finds and reports the exact line."""
    if st.envelope_parse is None:
        return None
    try:
        table = _read(data, st.envelope_parse)
    except ARROW_ERRORS:
        return None
    if table.num_rows != line_count:
        return None
    types, streams = table.column("type"), table.column("stream")
    if types.null_count or streams.null_count:
        return None
    if not pc.all(pc.equal(types, "RECORD")).as_py():
        return None
    if not pc.all(pc.equal(streams, st.name)).as_py():
        return None
    out = []
    try:
        for chunk in table.column("record").chunks:
            out.append(to_target(pa.RecordBatch.from_struct_array(chunk), st.schema.arrow))
    except ARROW_ERRORS:
        return None
    return out


def fast_bare_records(data: bytes, st: StreamState) -> list[pa.RecordBatch] | None:
    """Bare records (a BATCH jsonl file) as batches, or ``None`` to take the row path."""
    if st.record_parse is None:
        return None
    try:
        table = _read(data, st.record_parse)
        return [to_target(b, st.schema.arrow) for b in table.to_batches()]
    except ARROW_ERRORS:
        return None


# ------------------------------------------------------------------------------ row path
def _encode_at(node: Any, path: Sequence[str], fix: Callable[[Any], Any]) -> None:
    if not path:
        return
    head, rest = path[0], path[1:]
    if head == ITEM:
        if isinstance(node, list):
            for i, item in enumerate(node):
                if rest:
                    _encode_at(item, rest, fix)
                elif item is not None:
                    node[i] = fix(item)
        return
    if not isinstance(node, dict) or head not in node:
        return
    if rest:
        _encode_at(node[head], rest, fix)
    elif node[head] is not None:
        node[head] = fix(node[head])


def _as_json(value: Any) -> Any:
    return value if isinstance(value, str) else codec.dumps_str(value)


def _as_text(value: Any) -> Any:
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


def rows_to_batch(records: Sequence[dict[str, Any]], st: StreamState) -> pa.RecordBatch:
    """Parsed records (dicts, changed in place) as one batch; raises one of ARROW_ERRORS."""
    if not records:
        return pa.RecordBatch.from_pylist([], schema=st.schema.arrow)
    for path in st.json_paths:
        for rec in records:
            _encode_at(rec, path, _as_json)
    for path in st.number_string_paths:
        for rec in records:
            _encode_at(rec, path, _as_text)
    dumps = codec.dumps_line
    data = b"".join([dumps(r) for r in records])
    table = _read(data, st.row_parse)
    if table.num_rows != len(records):
        raise pa.ArrowInvalid("row count mismatch")
    return to_target(table.combine_chunks().to_batches()[0], st.schema.arrow)


def first_bad(records: Sequence[dict[str, Any]], st: StreamState) -> int:
    """Index of the first record that does not convert, given that all of them together do
    not (bisection on the prefix length)."""
    ok, bad = 0, len(records)
    while bad - ok > 1:
        mid = (ok + bad) // 2
        try:
            rows_to_batch(records[:mid], st)
        except ARROW_ERRORS:
            bad = mid
        else:
            ok = mid
    return bad - 1


def conversion_reason(record: dict[str, Any], st: StreamState) -> str:
    """Why one record does not fit the stream's Arrow schema, naming the field, no values."""
    for f in st.schema.arrow:
        value = record.get(f.name)
        if value is None and f.name not in record:
            if not st.row_parse.field(f.name).nullable:
                return f"required field '{f.name}' is missing"
            continue
        one = StreamState(
            schema=_one_field_schema(st, f.name),
            record_parse=None,
            envelope_parse=None,
            row_parse=pa.schema([st.row_parse.field(f.name)]),
            json_paths=tuple(p for p in st.json_paths if p[0] == f.name),
            number_string_paths=tuple(p for p in st.number_string_paths if p[0] == f.name),
        )
        try:
            rows_to_batch([{f.name: value}], one)
        except ARROW_ERRORS:
            if value is None:
                return f"field '{f.name}' must not be null"
            return f"field '{f.name}' does not fit column type {f.type}"
    return "record does not fit the stream's columns"


def _one_field_schema(st: StreamState, name: str) -> StreamSchema:
    return replace(st.schema, arrow=pa.schema([st.schema.arrow.field(name)]))
