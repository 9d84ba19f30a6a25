from collections.abc import Sequence

from typing_extensions import Buffer

#: (json key, kind, nullable, children): kind is one of int64, float64, bool, string,
#: timestamp_us_utc, date32, json (any value, stored as its compact JSON text in a string
#: column), struct (children = fields), list (children = [item])
FieldSpec = tuple[str, str, bool, Sequence[FieldSpec]]
#: (length, null_count, validity bitmap or None, buffers, children); buffers are read-only
#: byte buffers owned by Rust (no copy), e.g. for ``pyarrow.py_buffer``
ColumnBuffers = tuple[int, int, OwnedBuffer | None, list[OwnedBuffer], list[ColumnBuffers]]
Part = tuple[int, list[ColumnBuffers]]

class OwnedBuffer(Buffer):
    def __buffer__(self, flags: int, /) -> memoryview: ...
    def __len__(self) -> int: ...

class Decoder:
    def __init__(self, fields: Sequence[FieldSpec]) -> None: ...
    def decode(
        self, data: Buffer, stream: str | None, split_bytes: int = ...
    ) -> tuple[list[Part] | None, int | None, int, tuple[int, str, int] | None]: ...

def canonical_json(data: bytes) -> bytes | None: ...
def count_newlines(data: Buffer) -> int: ...
