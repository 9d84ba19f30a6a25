"""The Singer catalog: streams with breadcrumb metadata, and what is selected for a sync.

Follows singer-io/getting-started (docs/DISCOVERY_MODE.md, docs/SYNC_MODE.md) and
singer-python's ``metadata``/``should_sync_field`` rules:

- a stream is selected when its stream metadata (empty breadcrumb) says ``selected: true``, or,
  with no ``selected`` key, when it says ``selected-by-default: true``;
- a field with ``inclusion: automatic`` is always synced, ``unsupported`` never, otherwise its
  ``selected`` decides, then its ``selected-by-default``, then the stream's selection.

Models are frozen; "changing" a catalog returns a new one (see :mod:`dativo_protocol.catalog.select`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dativo_protocol.errors import ConfigError

Breadcrumb = tuple[str, ...]
ReplicationMethod = Literal["FULL_TABLE", "INCREMENTAL", "LOG_BASED"]
REPLICATION_METHODS = ("FULL_TABLE", "INCREMENTAL", "LOG_BASED")


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="allow", populate_by_name=True)

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)


class MetadataEntry(_Model):
    breadcrumb: Breadcrumb
    metadata: dict[str, Any] = Field(default_factory=dict)


class CatalogEntry(_Model):
    tap_stream_id: str
    stream: str
    schema_: dict[str, Any] = Field(alias="schema")
    metadata: list[MetadataEntry] = Field(default_factory=list)
    key_properties: list[str] | None = None
    replication_key: str | None = None
    replication_method: str | None = None

    # ---------------------------------------------------------------- metadata access
    def metadata_at(self, breadcrumb: Breadcrumb = ()) -> dict[str, Any]:
        """The metadata dict at ``breadcrumb`` (empty when absent)."""
        for entry in self.metadata:
            if entry.breadcrumb == breadcrumb:
                return entry.metadata
        return {}

    @property
    def stream_metadata(self) -> dict[str, Any]:
        return self.metadata_at(())

    def is_selected(self) -> bool:
        md = self.stream_metadata
        selected = md.get("selected")
        if selected is None:
            return bool(md.get("selected-by-default", False))
        return bool(selected)

    def field_breadcrumbs(self) -> Iterator[Breadcrumb]:
        """Breadcrumbs of every property in the schema, nested ones included."""
        stack: list[tuple[Breadcrumb, Mapping[str, Any]]] = [((), self.schema_)]
        while stack:
            prefix, node = stack.pop()
            props = node.get("properties")
            if not isinstance(props, Mapping):
                continue
            for name in sorted(props, reverse=True):
                crumb = (*prefix, "properties", str(name))
                yield crumb
                child = props[name]
                if isinstance(child, Mapping):
                    stack.append((crumb, child))

    def is_field_selected(self, breadcrumb: Breadcrumb) -> bool:
        if not self.is_selected():
            return False
        md = self.metadata_at(breadcrumb)
        inclusion = md.get("inclusion")
        if inclusion == "automatic":
            return True
        if inclusion == "unsupported":
            return False
        if md.get("selected") is not None:
            return bool(md["selected"])
        if md.get("selected-by-default") is not None:
            return bool(md["selected-by-default"])
        return True  # no field metadata: the field follows its stream

    def selected_fields(self) -> list[Breadcrumb]:
        return [c for c in self.field_breadcrumbs() if self.is_field_selected(c)]

    def selected_schema(self) -> dict[str, Any]:
        """The schema restricted to the selected fields (nested objects pruned too)."""
        return _prune(self.schema_, (), self)

    # ---------------------------------------------------------------- replication
    def get_replication_method(self) -> str | None:
        md = self.stream_metadata
        method = md.get("forced-replication-method") or md.get("replication-method")
        return method or self.replication_method

    def get_replication_key(self) -> str | None:
        key = self.stream_metadata.get("replication-key")
        return key if isinstance(key, str) else self.replication_key

    def get_key_properties(self) -> list[str]:
        keys = self.stream_metadata.get("table-key-properties")
        if isinstance(keys, list):
            return [str(k) for k in keys]
        return list(self.key_properties or [])

    def valid_replication_keys(self) -> list[str]:
        keys = self.stream_metadata.get("valid-replication-keys")
        return [str(k) for k in keys] if isinstance(keys, list) else []


def _prune(schema: dict[str, Any], prefix: Breadcrumb, entry: CatalogEntry) -> dict[str, Any]:
    props = schema.get("properties")
    if not isinstance(props, Mapping):
        return schema
    kept: dict[str, Any] = {}
    for name, child in props.items():
        crumb = (*prefix, "properties", str(name))
        if not entry.is_field_selected(crumb):
            continue
        kept[name] = _prune(child, crumb, entry) if isinstance(child, dict) else child
    return {**schema, "properties": kept}


class SingerCatalog(_Model):
    streams: list[CatalogEntry]

    def get(self, tap_stream_id: str) -> CatalogEntry | None:
        for entry in self.streams:
            if entry.tap_stream_id == tap_stream_id:
                return entry
        return None

    def selected(self) -> list[CatalogEntry]:
        return [entry for entry in self.streams if entry.is_selected()]


def load_singer_catalog(data: Any) -> SingerCatalog:
    if not isinstance(data, Mapping) or not isinstance(data.get("streams"), list):
        raise ConfigError("a Singer catalog must be an object with a 'streams' list")
    try:
        return SingerCatalog.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err.get("loc", ()))
        raise ConfigError(f"invalid Singer catalog: {where}: {err.get('msg', 'invalid')}") from None
