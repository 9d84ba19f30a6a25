"""Small builders for Singer input and readers of target-parquet output."""

from __future__ import annotations

import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import orjson

from tests.fixtures.cli import run_script
from tests.fixtures.services import S3Server

USERS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": ["null", "string"]},
        "updated_at": {"type": "string", "format": "date-time"},
        "tags": {"type": ["null", "array"], "items": {"type": "string"}},
        "address": {
            "type": ["null", "object"],
            "properties": {"city": {"type": "string"}, "zip": {"type": ["null", "string"]}},
        },
        "extra": {"type": ["null", "object"]},
    },
    "required": ["id", "updated_at"],
}


def line(msg: Mapping[str, Any]) -> bytes:
    return orjson.dumps(msg) + b"\n"


def schema(
    stream: str = "users", props: Mapping[str, Any] | None = None, keys: Iterable[str] = ("id",)
) -> bytes:
    body = USERS_SCHEMA if props is None else {"type": "object", "properties": dict(props)}
    return line({"type": "SCHEMA", "stream": stream, "schema": body, "key_properties": list(keys)})


def record(rec: Mapping[str, Any], stream: str = "users") -> bytes:
    return line({"type": "RECORD", "stream": stream, "record": dict(rec)})


def user(i: int, **extra: Any) -> dict[str, Any]:
    return {
        "id": i,
        "name": f"user-{i}",
        "updated_at": f"2024-01-{1 + i % 28:02d}T{i % 24:02d}:00:00Z",
        "tags": ["a", "b"][: i % 3],
        "address": {"city": "Oslo", "zip": None} if i % 2 else None,
        "extra": {"k": i} if i % 4 == 0 else None,
        **extra,
    }


def state(value: Any) -> bytes:
    return line({"type": "STATE", "value": value})


def users_stream(n: int, *, state_every: int = 0, start: int = 1) -> bytes:
    out = [schema()]
    for i in range(start, start + n):
        out.append(record(user(i)))
        if state_every and (i - start + 1) % state_every == 0:
            out.append(state({"bookmarks": {"users": {"id": i}}}))
    return b"".join(out)


def write_config(tmp_path: Path, config: Mapping[str, Any], name: str = "config.json") -> Path:
    path = tmp_path / name
    path.write_bytes(orjson.dumps(config))
    return path


def target(
    tmp_path: Path,
    config: Mapping[str, Any],
    data: bytes,
    *args: str,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[bytes]:
    cfg = write_config(tmp_path, config)
    return run_script(
        "target-parquet", "--config", str(cfg), *args, input=data, env=env, timeout=120
    )


def states(stdout: bytes) -> list[Any]:
    return [orjson.loads(x) for x in stdout.splitlines() if x.strip()]


def parquet_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.parquet") if "_dativo_tmp" not in p.parts)


def read_rows(folder: Path) -> list[dict[str, Any]]:
    """Every row under ``folder`` (all files, schemas unified), sorted by id."""
    import pyarrow.dataset as ds

    files = [str(p) for p in parquet_files(folder)]
    if not files:
        return []
    dataset = ds.dataset(files, format="parquet")
    schemas = [ds.dataset(f, format="parquet").schema for f in files]
    import pyarrow as pa

    unified = pa.unify_schemas(schemas, promote_options="permissive")
    rows = ds.dataset(files, schema=unified, format="parquet").to_table().to_pylist()
    del dataset
    return sorted(rows, key=lambda r: r["id"])


def duck(sql: str, *params: object) -> list[tuple[Any, ...]]:
    """Run a DuckDB query (paths as ``?`` parameters) and fetch every row."""
    import duckdb

    return duckdb.connect().execute(sql, list(params)).fetchall()


def s3_config(s3: S3Server, bucket: str, **extra: object) -> dict[str, object]:
    return {
        "destination_path": f"s3://{bucket}/lake",
        "s3_endpoint_url": s3.endpoint_url,
        "aws_access_key_id": s3.access_key,
        "aws_secret_access_key": s3.secret_key,
        "aws_region": s3.region,
        **extra,
    }


def read_s3_ids(s3: S3Server, bucket: str, stream: str) -> list[int]:
    import pyarrow.parquet as pq

    fs = s3.filesystem()
    ids: list[int] = []
    for key in fs.find(f"{bucket}/lake/{stream}"):
        assert key.endswith(".parquet"), key
        ids += pq.read_table(fs.open(key, "rb")).column("id").to_pylist()
    return sorted(ids)
