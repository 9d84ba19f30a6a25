"""Records to Arrow: the fast paths (the native decoder, then pyarrow.json, on whole record
runs) and the row path (orjson per line and the core's checked converter, for diagnostics and
for streams the fast paths cannot read)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from dativo_protocol.schema.convert import records_to_batch
from dativo_targets.kit import native
from dativo_targets.kit.arrowconv import null_violation, to_target
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
    """pyarrow.json on whole lines; blocks of READ_BLOCK_BYTES are parsed in parallel. A line
    longer than a block fails that way, so the read is retried as one block."""
    options = pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
    try:
        return pj.read_json(
            pa.BufferReader(pa.py_buffer(data)),
            read_options=pj.ReadOptions(block_size=READ_BLOCK_BYTES, use_threads=True),
            parse_options=options,
        )
    except pa.ArrowInvalid:
        if len(data) <= READ_BLOCK_BYTES:
            raise
    return pj.read_json(
        pa.BufferReader(pa.py_buffer(data)),
        read_options=pj.ReadOptions(block_size=len(data) + 1, use_threads=True),
        parse_options=options,
    )


@dataclass(slots=True)
class FastRun:
    """The records of a run as batches, and the row of its last STATE line (if any).

    ``stop`` (only with ``partial``): the ``(line index, byte offset)`` of the first line the
    native decoder refused; the batches and ``last_state`` cover the lines before it."""

    batches: list[pa.RecordBatch]
    last_state: int | None
    stop: tuple[int, int] | None = None


def fast_records(
    data: Any, line_count: int, st: StreamState, *, partial: bool = False
) -> FastRun | None:
    """A run of RECORD lines of ``st`` (and STATE lines) as batches, or ``None`` if anything is
    off (a line of another stream or type, a blank line, a value that does not fit, a missing
    required field): the caller then takes a slower path, which finds and reports the exact
    line. With ``partial``, a native decode that stops after the first line gives the lines
    before the one it refused (``stop``); the caller takes the rest."""
    if st.native is not None:
        run = native.decode(st.native, data, line_count, st.name, partial=partial)
        if run is not None:
            return FastRun(run.batches, run.last_state, run.stop)
    if st.envelope_parse is None:
        return None
    try:
        table = _read(data, st.envelope_parse)
    except ARROW_ERRORS:
        return None
    if table.num_rows != line_count:
        return None
    types, streams = table.column("type"), table.column("stream")
    if types.null_count:
        return None
    is_record = pc.equal(types, "RECORD")
    n_records = pc.sum(is_record).as_py() or 0
    last_state = None
    if n_records != line_count:
        is_state = pc.equal(types, "STATE")
        if n_records + (pc.sum(is_state).as_py() or 0) != line_count:
            return None
        last_state = pc.max(pc.indices_nonzero(is_state)).as_py()
        table = table.filter(is_record)
        streams = table.column("stream")
    if streams.null_count or not pc.all(pc.equal(streams, st.name)).as_py():
        return None
    out = []
    try:
        for chunk in table.column("record").chunks:
            if chunk.null_count or null_violation(chunk, st.checked):
                return None
            out.append(to_target(pa.RecordBatch.from_struct_array(chunk), st.schema.arrow))
    except ARROW_ERRORS:
        return None
    return FastRun(out, last_state)


def fast_bare_records(data: bytes, st: StreamState) -> list[pa.RecordBatch] | None:
    """Bare records (a BATCH jsonl file) as batches, or ``None`` to take the row path."""
    if st.native is not None:
        batches = native.decode_bare(st.native, data)
        if batches is not None:
            return batches
    if st.record_parse is None:
        return None
    try:
        table = _read(data, st.record_parse)
        out = []
        for batch in table.to_batches():
            if null_violation(batch.to_struct_array(), st.checked):
                return None
            out.append(to_target(batch, st.schema.arrow))
    except ARROW_ERRORS:
        return None
    return out


# ------------------------------------------------------------------------------ row path
def rows_to_batch(
    records: Sequence[dict[str, Any]], st: StreamState, line_numbers: Sequence[int]
) -> pa.RecordBatch:
    """Parsed records as one batch of the stream's schema, checked by the core converter
    (types, required fields, formats); raises RecordValidationError naming the line and field.
    """
    if not records:
        return pa.RecordBatch.from_pylist([], schema=st.schema.arrow)
    batch = records_to_batch(
        records,
        st.checked,
        stream=st.name,
        line_numbers=line_numbers,
        unknown_fields="ignore",
    )
    return pa.RecordBatch.from_arrays(batch.columns, schema=st.schema.arrow)
