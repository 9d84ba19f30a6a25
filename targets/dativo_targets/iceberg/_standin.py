"""Private stand-in for the kit's ``StreamSchema`` until branch target-parquet lands. Delete on merge."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class StreamSchema:
    json_schema: Mapping[str, Any]
    arrow_schema: Any  # pyarrow.Schema
    key_properties: Sequence[str] = ()
    bookmark_properties: Sequence[str] = ()
    notes: Mapping[str, str] = field(default_factory=dict)
