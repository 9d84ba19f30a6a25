"""The native fast path: ``dativo_native`` (Rust, optional) decodes Singer lines straight into
Arrow buffers, assembled here into batches of the stream's schema.

The decoder is strict: whatever it accepts gives exactly the values of the row path
(``decode.rows_to_batch``); anything else (a type mismatch, a missing required field, a line of
another stream, a non-RFC 3339 date-time...) is a rejection and the caller takes the pyarrow.json
path, then the row path, which reports the precise error. Streams with a type it does not
handle (decimals, time, other units) get no native decoder at all.

Free-form fields (``dativo.encoding=json``: objects without properties, ``{}``, mixed unions)
are read as any JSON value and stored as its compact text, byte for byte what the row path
stores (``orjson.dumps`` of the value ``orjson.loads`` read): :func:`json_agrees` checks that
on a probe document against the installed orjson before a decoder with such a field is built.

``DATIVO_NATIVE=0`` in the environment turns it off (the pure-Python paths stay complete).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from dativo_protocol import codec
from dativo_protocol.schema.arrow import ENCODING_META, SOURCE_NAME_META

if TYPE_CHECKING:
    from dativo_native import Decoder
    from dativo_native._native import ColumnBuffers, FieldSpec, Part

#: environment switch: ``0`` (or ``false``/``off``/``no``) disables the native decoder
ENV_SWITCH = "DATIVO_NATIVE"
_OFF = {"0", "false", "off", "no"}


class Unsupported(Exception):
    """A field the native decoder does not read (the stream keeps the other paths)."""


def enabled() -> bool:
    return os.environ.get(ENV_SWITCH, "1").strip().lower() not in _OFF


def _key(f: pa.Field) -> str:
    source = (f.metadata or {}).get(SOURCE_NAME_META)
    return source.decode() if source is not None else str(f.name)


def _kind(t: pa.DataType) -> tuple[str, list[FieldSpec]]:
    if pa.types.is_int64(t):
        return "int64", []
    if pa.types.is_float64(t):
        return "float64", []
    if pa.types.is_boolean(t):
        return "bool", []
    if pa.types.is_string(t):
        return "string", []
    if pa.types.is_timestamp(t) and t.unit == "us" and t.tz == "UTC":
        return "timestamp_us_utc", []
    if pa.types.is_date32(t):
        return "date32", []
    if pa.types.is_struct(t):
        return "struct", [field_spec(t.field(i)) for i in range(t.num_fields)]
    if pa.types.is_list(t):
        return "list", [field_spec(t.value_field)]
    raise Unsupported(str(t))


def field_spec(f: pa.Field) -> FieldSpec:
    """The decoder's description of ``f`` (raises Unsupported)."""
    encoding = (f.metadata or {}).get(ENCODING_META)
    if encoding == b"json" and pa.types.is_string(f.type):
        return (_key(f), "json", f.nullable, [])
    if encoding is not None:
        raise Unsupported(f.name)
    kind, children = _kind(f.type)
    return (_key(f), kind, f.nullable, children)


def _has_json(spec: FieldSpec) -> bool:
    return spec[1] == "json" or any(_has_json(c) for c in spec[3])


#: JSON whose text orjson and a JSON column must write alike: float forms (plain, exponent,
#: bounds), integers beyond int64 and uint64 (orjson and serde read them as floats), escapes
PROBE = (
    b"[1.0,1e16,1e15,1E2,1e-7,1e-6,0.0001,0.00001,2.5e-5,123.456,0.1,5e-324,"
    b"1.7976931348623157e308,-1.5e300,9007199254740993.0,-2,0,"
    b"18446744073709551615,18446744073709551616,-9223372036854775808,"
    b"-9223372036854775809,123456789012345678901234567890,"
    b'"\\u00e9\\u001f\\u007f\\b\\f\\n\\r\\t\\"\\\\\\/\\ud83d\\ude00\\u2028 \\u0000",'
    b'{"a":{"b":[true,false,null]},"":{},"\\n":[]},[]]'
)


def json_agrees(canonical: Any) -> bool:
    """True when ``canonical`` (``dativo_native.canonical_json``) writes :data:`PROBE` as the
    row path does (orjson through ``dativo_protocol.codec``)."""
    return bool(canonical(PROBE) == codec.dumps(codec.loads(PROBE)))


@dataclass(frozen=True, slots=True)
class NativeDecoder:
    """A stream's native decoder and the schema of the batches it gives."""

    decoder: Decoder
    target: pa.Schema


def build_decoder(checked: pa.Schema, target: pa.Schema) -> NativeDecoder | None:
    """A decoder for records of ``checked`` (its nullability is the one enforced), giving
    batches of ``target``; ``None`` if disabled, not installed, or a field is unsupported."""
    if not enabled():
        return None
    try:
        from dativo_native import Decoder, canonical_json
    except ImportError:
        return None
    if not len(checked) or checked.names != target.names:
        return None  # (the two differ only in nullability)
    try:
        specs = [field_spec(f) for f in checked]
    except Unsupported:
        return None
    if any(_has_json(s) for s in specs) and not json_agrees(canonical_json):
        return None
    return NativeDecoder(Decoder(specs), target)


def _array(t: pa.DataType, col: ColumnBuffers) -> pa.Array:
    length, nulls, validity, buffers, children = col
    bufs = [None if validity is None else pa.py_buffer(validity)]
    bufs.extend(pa.py_buffer(b) for b in buffers)
    kids: list[pa.Array] | None = None
    if pa.types.is_struct(t):
        kids = [_array(t.field(i).type, c) for i, c in enumerate(children)]
    elif pa.types.is_list(t):
        kids = [_array(t.value_type, children[0])]
    return pa.Array.from_buffers(t, length, bufs, null_count=nulls, children=kids)


@dataclass(slots=True)
class NativeRun:
    batches: list[pa.RecordBatch]
    #: 0-based line index of the last STATE line in the data, if any
    last_state: int | None
    #: ``(line index, byte offset)`` of the line the decoder stopped at (a partial run:
    #: ``batches`` and ``last_state`` cover the lines before it); ``None``: every line read
    stop: tuple[int, int] | None = None


def decode(
    native: NativeDecoder,
    data: Any,
    line_count: int,
    stream: str,
    split_bytes: int | None = None,
    *,
    partial: bool = False,
) -> NativeRun | None:
    """The RECORD lines of ``stream`` in ``data`` as batches (one per part decoded in
    parallel), or ``None`` when the decoder rejects a line (or the lines do not add up).

    With ``partial``, a line rejected after the first gives the run of the lines before it
    (decoded again up to that line: the rejected pass is not kept), with ``stop`` set."""
    if split_bytes is None:
        parts, last_state, lines, rejection = native.decoder.decode(data, stream)
    else:
        parts, last_state, lines, rejection = native.decoder.decode(data, stream, split_bytes)
    if rejection is not None:
        line, _, offset = rejection
        if not partial or not 0 < line < line_count:
            return None
        before = decode(native, memoryview(data)[:offset], line, stream, split_bytes)
        if before is None:
            return None
        return NativeRun(before.batches, before.last_state, (line, offset))
    if parts is None or lines != line_count:
        return None
    return NativeRun(_batches(native.target, parts), last_state)


def decode_bare(native: NativeDecoder, data: Any) -> list[pa.RecordBatch] | None:
    """Bare record objects, one per line (a BATCH jsonl file; blank lines skipped), as
    batches, or ``None`` when the decoder rejects a line."""
    if len(data) and data[-1:] != b"\n":
        data = bytes(data) + b"\n"  # the last line may lack its newline in a file
    parts, _, _, rejection = native.decoder.decode(data, None)
    if parts is None or rejection is not None:
        return None
    return _batches(native.target, parts)


def _batches(schema: pa.Schema, parts: list[Part]) -> list[pa.RecordBatch]:
    return [
        pa.RecordBatch.from_arrays(
            [_array(f.type, c) for f, c in zip(schema, cols, strict=True)], schema=schema
        )
        for rows, cols in parts
        if rows
    ]


def specs(schema: pa.Schema) -> Sequence[FieldSpec]:
    """The field specs of a whole schema (raises Unsupported); for tests and benchmarks."""
    return [field_spec(f) for f in schema]
