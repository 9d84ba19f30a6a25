"""Singer message streams for the target-iceberg CLI tests."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from dativo_protocol import codec

USERS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": ["string", "null"]},
        "updated_at": {"type": "string", "format": "date-time"},
    },
}


def schema(
    stream: str = "users", props: dict[str, Any] | None = None, keys: tuple[str, ...] = ("id",)
) -> dict[str, Any]:
    body = USERS_SCHEMA if props is None else {"type": "object", "properties": props}
    return {"type": "SCHEMA", "stream": stream, "schema": body, "key_properties": list(keys)}


def record(i: int, stream: str = "users", tag: str = "v1", **extra: Any) -> dict[str, Any]:
    rec = {"id": i, "name": f"{tag}-{i}", "updated_at": f"2024-01-01T00:00:{i % 60:02d}Z", **extra}
    return {"type": "RECORD", "stream": stream, "record": rec}


def state(i: int, stream: str = "users") -> dict[str, Any]:
    return {"type": "STATE", "value": {"bookmarks": {stream: {"id": i}}}}


def users(
    ids: Iterable[int], state_every: int = 10, tag: str = "v1", stream: str = "users"
) -> Iterator[dict[str, Any]]:
    yield schema(stream)
    last = None
    for n, i in enumerate(ids, 1):
        yield record(i, stream, tag)
        last = i
        if n % state_every == 0:
            yield state(i, stream)
    if last is not None:
        yield state(last, stream)


def jsonl(messages: Iterable[dict[str, Any]]) -> bytes:
    return b"".join(codec.dumps_line(m) for m in messages)


def states(stdout: bytes) -> list[dict[str, Any]]:
    return [codec.loads(line) for line in stdout.splitlines() if line.strip()]
