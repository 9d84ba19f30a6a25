"""Per-invocation context passed explicitly through click (no globals)."""

from __future__ import annotations

from dataclasses import dataclass, field

from dativo_protocol.redact import Redactor


@dataclass
class AppContext:
    json_output: bool = False
    verbose: int = 0
    redactor: Redactor = field(default_factory=Redactor)
