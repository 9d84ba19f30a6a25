"""Select streams and fields of a Singer catalog by name or glob (Meltano ``select`` style).

Rules are strings: ``"users"`` (the whole stream), ``"users.email"`` (one field; nested fields as
``"address.city"``), globs anywhere (``"public-*"``, ``"users.*_at"``), and a leading ``!`` to
exclude (``"!users.ssn"``, ``"!audit_*"``). A stream rule matches a stream's ``tap_stream_id`` or
its ``stream`` name.

A stream is selected when an include rule matches it and no stream-level exclude rule does.
In a selected stream a field is selected when an include rule for the stream covers it (a
stream-only rule covers every field; a field rule covers the field and everything under it) and
no exclude rule covers it. ``inclusion: automatic`` fields stay selected and ``unsupported``
ones unselected whatever the rules say. The result is a new catalog whose metadata says
``selected`` explicitly for every stream and field; the input is not changed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from dativo_protocol.catalog.singer import Breadcrumb, CatalogEntry, MetadataEntry, SingerCatalog
from dativo_protocol.errors import ConfigError


@dataclass(frozen=True, slots=True)
class Rule:
    stream: str
    field: str | None
    exclude: bool

    @classmethod
    def parse(cls, text: str) -> Rule:
        exclude = text.startswith("!")
        body = text[1:] if exclude else text
        stream, dot, field = body.partition(".")
        if not stream or (dot and not field):
            raise ConfigError(
                f"invalid selection rule {text!r}: expected 'stream' or 'stream.field'"
            )
        return cls(stream, field or None, exclude)

    def matches_stream(self, entry: CatalogEntry) -> bool:
        return fnmatchcase(entry.tap_stream_id, self.stream) or fnmatchcase(
            entry.stream, self.stream
        )

    def covers_field(self, path: str) -> bool:
        if self.field is None:
            return True
        parts = path.split(".")
        return any(fnmatchcase(".".join(parts[:n]), self.field) for n in range(1, len(parts) + 1))


def field_path(breadcrumb: Breadcrumb) -> str:
    """``("properties", "a", "properties", "b")`` -> ``"a.b"``."""
    return ".".join(breadcrumb[1::2])


def matching_streams(catalog: SingerCatalog, patterns: Iterable[str]) -> list[str]:
    """The tap_stream_ids that stream-level patterns (globs, ``!`` to exclude) pick, in order."""
    rules = [Rule.parse(p) for p in patterns]
    return [e.tap_stream_id for e in catalog.streams if _stream_selected(e, rules)]


def select(catalog: SingerCatalog, patterns: Iterable[str]) -> SingerCatalog:
    """A copy of ``catalog`` with streams and fields selected by ``patterns`` (see module doc)."""
    rules = [Rule.parse(p) for p in patterns]
    return catalog.model_copy(
        update={"streams": [_select_entry(e, rules) for e in catalog.streams]}
    )


def _stream_selected(entry: CatalogEntry, rules: list[Rule]) -> bool:
    included = any(not r.exclude and r.matches_stream(entry) for r in rules)
    excluded = any(r.exclude and r.field is None and r.matches_stream(entry) for r in rules)
    return included and not excluded


def _select_entry(entry: CatalogEntry, rules: list[Rule]) -> CatalogEntry:
    selected = _stream_selected(entry, rules)
    mine = [r for r in rules if r.matches_stream(entry)]
    updates: dict[Breadcrumb, dict[str, Any]] = {(): {"selected": selected}}
    for crumb in entry.field_breadcrumbs():
        md = entry.metadata_at(crumb)
        inclusion = md.get("inclusion")
        path = field_path(crumb)
        if inclusion == "automatic":
            chosen = selected
        elif inclusion == "unsupported":
            chosen = False
        else:
            chosen = (
                selected
                and any(not r.exclude and r.covers_field(path) for r in mine)
                and not any(
                    r.exclude and r.field is not None and r.covers_field(path) for r in mine
                )
            )
        updates[crumb] = {"selected": chosen}
    return with_metadata(entry, updates)


def with_metadata(entry: CatalogEntry, updates: dict[Breadcrumb, dict[str, Any]]) -> CatalogEntry:
    """A copy of ``entry`` with metadata keys set per breadcrumb (entries added when missing)."""
    pending = dict(updates)
    metadata: list[MetadataEntry] = []
    for item in entry.metadata:
        extra = pending.pop(item.breadcrumb, None)
        metadata.append(
            item
            if extra is None
            else item.model_copy(update={"metadata": {**item.metadata, **extra}})
        )
    for crumb, extra in pending.items():
        metadata.append(MetadataEntry(breadcrumb=crumb, metadata=dict(extra)))
    return entry.model_copy(update={"metadata": metadata})
