"""Settings of target-parquet (on top of the kit's)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from dativo_targets.kit.settings import KitSettings, MiB, secret


class PartitionSpec(BaseModel):
    """One level of Hive-style partition folders."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    field: str = Field(description="Top-level column to partition by.")
    granularity: Literal["day", "hour", "value"] = Field(
        default="value",
        description="'day'/'hour' of a date-time or date column, or the column's 'value'.",
    )
    name: str | None = Field(
        default=None,
        description="Folder key; default '<field>_<granularity>' ('hour' adds a day level).",
    )


class ParquetSettings(KitSettings):
    destination_path: str = Field(
        description="Root folder: a local path or an fsspec URL (s3://bucket/prefix)."
    )
    partition_by: list[PartitionSpec] = Field(
        default_factory=list, description="Partition folders, outermost first."
    )
    file_max_rows: int = Field(
        default=1_000_000, ge=1, description="Roll to a new file after this many rows."
    )
    file_max_bytes: int = Field(
        default=512 * MiB,
        ge=1024,
        description="Roll to a new file after about this many bytes (in memory).",
    )
    row_group_rows: int = Field(default=128_000, ge=1, description="Rows per Parquet row group.")
    compression: Literal["zstd", "snappy", "gzip", "lz4", "brotli", "none"] = Field(
        default="zstd", description="Parquet compression codec."
    )
    compression_level: int | None = Field(
        default=None, description="Codec level (codec default if unset)."
    )
    dictionary: Literal["strings", "all", "none"] = Field(
        default="strings",
        description="Dictionary-encode the string columns whose values repeat in a file's "
        "first batch (default), every column, or none.",
    )
    on_incompatible_schema: Literal["fail", "new_folder"] = Field(
        default="fail",
        description="A SCHEMA that changes column types incompatibly: 'fail', or write the new "
        "schema's files to '<stream>__<schema hash>'.",
    )
    max_open_files: int = Field(
        default=64, ge=1, description="Open partition files per stream at most."
    )
    s3_endpoint_url: str | None = Field(
        default=None, description="S3 endpoint (S3-compatible stores)."
    )
    aws_access_key_id: str | None = Field(default=None, description="S3 access key id.")
    aws_secret_access_key: str | None = secret("S3 secret access key.")
    aws_session_token: str | None = secret("S3 session token.")
    aws_region: str | None = Field(default=None, description="S3 region.")
    storage_options: dict[str, Any] = Field(
        default_factory=dict, description="Extra fsspec options for the destination filesystem."
    )

    def fs_options(self) -> dict[str, Any]:
        """fsspec options for ``destination_path`` (S3 settings folded in)."""
        opts = dict(self.storage_options)
        if self.destination_path.startswith(("s3://", "s3a://")):
            if self.aws_access_key_id:
                opts.setdefault("key", self.aws_access_key_id)
            if self.aws_secret_access_key:
                opts.setdefault("secret", self.aws_secret_access_key)
            if self.aws_session_token:
                opts.setdefault("token", self.aws_session_token)
            client = dict(opts.get("client_kwargs") or {})
            if self.s3_endpoint_url:
                client.setdefault("endpoint_url", self.s3_endpoint_url)
            if self.aws_region:
                client.setdefault("region_name", self.aws_region)
            if client:
                opts["client_kwargs"] = client
        return opts
