from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dativo_protocol import codec
from tests.taps.api_server import Api, ApiServer, make_users

CANARY = "canary-Tok3n-7d1e-f00d"


def write_json(path: Path, data: Any) -> Path:
    path.write_bytes(codec.dumps(data))
    return path


def messages(stdout: bytes) -> list[dict[str, Any]]:
    return [codec.loads(line) for line in stdout.splitlines() if line.strip()]


def records(stdout: bytes, stream: str | None = None) -> list[dict[str, Any]]:
    return [
        m["record"]
        for m in messages(stdout)
        if m["type"] == "RECORD" and (stream is None or m["stream"] == stream)
    ]


def states(stdout: bytes) -> list[dict[str, Any]]:
    return [m["value"] for m in messages(stdout) if m["type"] == "STATE"]


@pytest.fixture
def api() -> Iterator[ApiServer]:
    with ApiServer(Api(token=CANARY, users=make_users(23))) as server:
        yield server
