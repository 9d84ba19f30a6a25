"""target-iceberg settings: parsed once from the merged config, validated, never echoed."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from dativo_targets.kit.dictionary import DictionaryMode
from dativo_targets.kit.settings import KitSettings, build_settings, secret

LoadMethod = Literal["append-only", "upsert", "overwrite"]

#: table properties every table gets unless the config overrides them (metadata kept in check)
DEFAULT_TABLE_PROPERTIES: dict[str, str] = {
    "write.metadata.delete-after-commit.enabled": "true",
    "write.metadata.previous-versions-max": "10",
    "commit.manifest-merge.enabled": "true",
    "commit.manifest.min-count-to-merge": "16",
    "commit.retry.num-retries": "10",
    "commit.retry.min-wait-ms": "50",
    "commit.retry.max-wait-ms": "5000",
    "write.parquet.compression-codec": "zstd",
    # a dictionary-encoded column with many distinct values builds a dictionary up to this
    # size before it falls back to plain encoding (``dictionary: all``, and PyIceberg's own
    # writer, encode every column). Iceberg's default (2 MiB) costs ~40% more encoding CPU and
    # ~40% larger files on the benchmark's rows; 64 KiB keeps dictionaries for repetitive columns.
    "write.parquet.dict-size-bytes": "65536",
}


class StreamOptions(BaseModel):
    """Per-stream table layout (``streams: {<stream>: {...}}`` in the config)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    table_name: str | None = None
    partition_by: tuple[str, ...] | None = None
    sort_by: tuple[str, ...] | None = None
    table_properties: dict[str, str] = Field(default_factory=dict)
    load_method: LoadMethod | None = None


class IcebergSettings(KitSettings):
    """Settings of target-iceberg, on top of the kit's (batching, validation, logging)."""

    warehouse: str = Field(
        "warehouse", description="Where table data and metadata go: a local path or s3:// URL."
    )
    namespace: str = Field("singer", description="Iceberg namespace of the tables.")
    catalog_name: str = Field("dativo", description="Name of the PyIceberg catalog.")
    catalog: dict[str, Any] = Field(
        default_factory=dict,
        description="PyIceberg catalog properties (type, uri, credentials, ...); default: a "
        "SQLite SQL catalog at <warehouse>/catalog.db.",
    )
    load_method: LoadMethod = Field(
        "append-only", description="append-only, upsert (merge on key_properties) or overwrite."
    )
    dictionary: DictionaryMode = Field(
        "strings",
        description="Dictionary-encode the string columns whose values repeat in a data file "
        "(strings), every column (all) or none.",
    )
    table_prefix: str = Field("", description="Prefix of every table name.")
    table_properties: dict[str, str] = Field(
        default_factory=dict, description="Iceberg table properties for new tables."
    )
    partition_by: tuple[str, ...] = Field(
        (), description="Partition fields, e.g. day(ts), bucket(16, id), truncate(4, name), col."
    )
    sort_by: tuple[str, ...] = Field((), description="Sort order, e.g. 'id', 'ts desc'.")
    streams: dict[str, StreamOptions] = Field(
        default_factory=dict,
        description="Per-stream table_name, partition_by, sort_by, table_properties, load_method.",
    )
    state_id: str = Field(
        "default",
        description="Names this pipeline in snapshot summaries; state recovery reads only its own.",
    )
    expire_snapshots_every: int = Field(
        10, ge=0, description="Expire old snapshots every N commits of a table (0: never)."
    )
    snapshot_keep_last: int = Field(20, ge=2, description="Snapshots kept by expiry.")
    s3_endpoint_url: str | None = Field(None, description="S3 endpoint (S3-compatible stores).")
    aws_access_key_id: str | None = Field(None, description="S3 access key id.")
    aws_secret_access_key: str | None = secret("S3 secret access key.")
    aws_session_token: str | None = secret("S3 session token.")
    aws_region: str | None = Field(None, description="S3 region.")

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> IcebergSettings:
        return build_settings(cls, config)

    # ------------------------------------------------------------------ derived values
    def stream_options(self, stream: str) -> StreamOptions:
        return self.streams.get(stream) or StreamOptions()

    def table_name(self, stream: str) -> str:
        name = self.stream_options(stream).table_name or f"{self.table_prefix}{stream}"
        # Iceberg identifiers are dotted; keep a stream name like "public-users" or "a.b" one name
        return name.replace(".", "_").replace("-", "_")

    def load_method_for(self, stream: str) -> LoadMethod:
        return self.stream_options(stream).load_method or self.load_method

    def partition_for(self, stream: str) -> tuple[str, ...]:
        opts = self.stream_options(stream).partition_by
        return self.partition_by if opts is None else opts

    def sort_for(self, stream: str) -> tuple[str, ...]:
        opts = self.stream_options(stream).sort_by
        return self.sort_by if opts is None else opts

    def properties_for(self, stream: str) -> dict[str, str]:
        return {
            **DEFAULT_TABLE_PROPERTIES,
            **self.table_properties,
            **self.stream_options(stream).table_properties,
        }

    def is_local_warehouse(self) -> bool:
        return "://" not in self.warehouse or self.warehouse.startswith("file://")

    def warehouse_location(self) -> str:
        if self.is_local_warehouse():
            path = self.warehouse.removeprefix("file://")
            return Path(path).expanduser().resolve().as_uri()
        return self.warehouse.rstrip("/")

    def io_properties(self) -> dict[str, str]:
        pairs = {
            "s3.endpoint": self.s3_endpoint_url,
            "s3.access-key-id": self.aws_access_key_id,
            "s3.secret-access-key": self.aws_secret_access_key,
            "s3.session-token": self.aws_session_token,
            "s3.region": self.aws_region,
        }
        return {key: value for key, value in pairs.items() if value}
