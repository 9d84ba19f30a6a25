"""Small builders shared by the target-iceberg tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
from dativo_targets.iceberg.catalog import open_catalog
from dativo_targets.iceberg.settings import IcebergSettings
from dativo_targets.iceberg.sink import IcebergSink
from dativo_targets.kit.sink import StreamSchema

USERS = pa.schema(
    [
        pa.field("id", pa.int64()),
        pa.field("name", pa.string()),
        pa.field("updated_at", pa.timestamp("us", tz="UTC")),
    ]
)


def users_schema(
    arrow: pa.Schema = USERS, keys: tuple[str, ...] = ("id",), stream: str = "users"
) -> StreamSchema:
    return StreamSchema(stream=stream, json_schema={}, arrow=arrow, key_properties=keys)


def users(ids: range | list[int], name: str = "v1") -> pa.RecordBatch:
    ids = list(ids)
    return pa.RecordBatch.from_pydict(
        {
            "id": ids,
            "name": [f"{name}-{i}" for i in ids],
            "updated_at": pa.array([i * 1_000_000 for i in ids], pa.timestamp("us", tz="UTC")),
        },
        schema=USERS,
    )


def local_settings(tmp_path: Path, **extra: Any) -> IcebergSettings:
    return IcebergSettings.from_config({"warehouse": str(tmp_path / "wh"), **extra})


def make_sink(settings: IcebergSettings) -> IcebergSink:
    return IcebergSink(settings, open_catalog(settings))


def rows(settings: IcebergSettings, table: str = "users") -> list[dict[str, Any]]:
    catalog = open_catalog(settings)
    scanned = catalog.load_table((settings.namespace, table)).scan().to_arrow()
    return sorted(scanned.to_pylist(), key=lambda r: tuple(str(r[k]) for k in sorted(r)))
