"""Airbyte catalogs (``discover`` output) and configured catalogs (``read --catalog``).

Frozen pydantic models (catalogs are read once per run, not per record). Unknown fields are
kept (``extra="allow"``) and :meth:`to_dict` writes back only what was set, so a file read and
written again is unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dativo_protocol.errors import ConfigError

SyncMode = Literal["full_refresh", "incremental"]
DestinationSyncMode = Literal["append", "overwrite", "append_dedup", "update", "soft_delete"]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="allow", populate_by_name=True)

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)


def _full_refresh_only() -> list[SyncMode]:
    return ["full_refresh"]


class AirbyteStream(_Model):
    name: str
    json_schema: dict[str, Any]
    supported_sync_modes: list[SyncMode] = Field(default_factory=_full_refresh_only)
    source_defined_cursor: bool | None = None
    default_cursor_field: list[str] | None = None
    source_defined_primary_key: list[list[str]] | None = None
    namespace: str | None = None
    is_resumable: bool | None = None


class AirbyteCatalog(_Model):
    streams: list[AirbyteStream]

    def find(self, name: str, namespace: str | None = None) -> AirbyteStream | None:
        for stream in self.streams:
            if stream.name == name and stream.namespace == namespace:
                return stream
        return None


class ConfiguredAirbyteStream(_Model):
    stream: AirbyteStream
    sync_mode: SyncMode
    destination_sync_mode: DestinationSyncMode = "append"
    cursor_field: list[str] | None = None
    primary_key: list[list[str]] | None = None
    generation_id: int | None = None
    minimum_generation_id: int | None = None
    sync_id: int | None = None

    def effective_primary_key(self) -> list[list[str]]:
        """The user's ``primary_key`` if set, else the source-defined one."""
        return list(self.primary_key or self.stream.source_defined_primary_key or [])

    def effective_cursor_field(self) -> list[str]:
        """The user's ``cursor_field`` if set, else the source's default cursor."""
        return list(self.cursor_field or self.stream.default_cursor_field or [])


class ConfiguredAirbyteCatalog(_Model):
    streams: list[ConfiguredAirbyteStream]

    def find(self, name: str, namespace: str | None = None) -> ConfiguredAirbyteStream | None:
        for configured in self.streams:
            if configured.stream.name == name and configured.stream.namespace == namespace:
                return configured
        return None


def load_airbyte_catalog(data: Any) -> AirbyteCatalog | ConfiguredAirbyteCatalog:
    """Parse a catalog document: configured (streams hold ``stream``) or plain.

    Also accepts a whole CATALOG message (``{"type": "CATALOG", "catalog": {...}}``), as
    ``source-x discover`` prints it.
    """
    if isinstance(data, Mapping) and data.get("type") == "CATALOG":
        data = data.get("catalog")
    if not isinstance(data, Mapping) or not isinstance(data.get("streams"), list):
        raise ConfigError("an Airbyte catalog must be an object with a 'streams' list")
    configured = any(isinstance(s, Mapping) and "stream" in s for s in data["streams"])
    try:
        if configured:
            return ConfiguredAirbyteCatalog.model_validate(data)
        return AirbyteCatalog.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"invalid Airbyte catalog: {_first_error(exc)}") from None


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err.get("loc", ()))
    return f"{where}: {err.get('msg', 'invalid')} ({exc.error_count()} error(s))"
