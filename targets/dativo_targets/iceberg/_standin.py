"""Private stand-in for ``dativo_targets.kit.sink.StreamSchema`` until the kit lands. Delete on merge."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class StreamSchema:
    stream: str
    json_schema: Mapping[str, Any]
    arrow: Any  # pyarrow.Schema
    notes: tuple[Any, ...] = ()
    key_properties: tuple[str, ...] = ()
    bookmark_properties: tuple[str, ...] = field(default=())
