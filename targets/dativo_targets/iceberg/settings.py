"""target-iceberg settings: parsed once from the merged config, validated, never echoed."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dativo_protocol.errors import ConfigError

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
}


class StreamOptions(BaseModel):
    """Per-stream table layout (``streams: {<stream>: {...}}`` in the config)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    table_name: str | None = None
    partition_by: tuple[str, ...] | None = None
    sort_by: tuple[str, ...] | None = None
    table_properties: dict[str, str] = Field(default_factory=dict)
    load_method: LoadMethod | None = None


class IcebergSettings(BaseModel):
    """Settings of target-iceberg. Unknown keys are left to the kit (batching, validation)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    warehouse: str = "warehouse"
    namespace: str = "singer"
    catalog_name: str = "dativo"
    catalog: dict[str, Any] = Field(default_factory=dict)
    load_method: LoadMethod = "append-only"
    table_prefix: str = ""
    table_properties: dict[str, str] = Field(default_factory=dict)
    partition_by: tuple[str, ...] = ()
    sort_by: tuple[str, ...] = ()
    streams: dict[str, StreamOptions] = Field(default_factory=dict)
    #: identifies this pipeline in snapshot summaries; state recovery only reads its own commits
    state_id: str = "default"
    #: expire old snapshots every N commits of a table (0: never), keeping the newest ones
    expire_snapshots_every: int = Field(default=10, ge=0)
    snapshot_keep_last: int = Field(default=20, ge=2)
    # S3 warehouse (s3:// URLs); forwarded to PyIceberg's FileIO
    s3_endpoint: str | None = None
    aws_access_key_id: str | None = None
    aws_secret_access_key: str | None = None
    aws_session_token: str | None = None
    aws_region: str | None = None

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> IcebergSettings:
        try:
            return cls.model_validate(dict(config))
        except ValidationError as exc:
            # never echo input values: they may be secrets
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'config'}: {err['msg']}"
                for err in exc.errors(include_input=False, include_url=False)
            )
            raise ConfigError(f"invalid target-iceberg config: {problems}") from None

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
            "s3.endpoint": self.s3_endpoint,
            "s3.access-key-id": self.aws_access_key_id,
            "s3.secret-access-key": self.aws_secret_access_key,
            "s3.session-token": self.aws_session_token,
            "s3.region": self.aws_region,
        }
        return {key: value for key, value in pairs.items() if value}
