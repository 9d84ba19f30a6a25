"""Helpers for the registry and lifecycle tests: a test registry with the tiny command tap."""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from dativo_protocol import codec

HERE = Path(__file__).resolve().parent
TINY_TAP = HERE / "fake_connectors" / "tiny_tap.py"
VERSIONS_REGISTRY = HERE / "registry_data" / "versions.yaml"


def write_registry(path: Path, entries: list[dict[str, object]]) -> Path:
    path.write_text(yaml.safe_dump({"format_version": 1, "connectors": entries}, sort_keys=False))
    return path


def tiny_tap_entry(**overrides: object) -> dict[str, object]:
    entry: dict[str, object] = {
        "name": "tiny-tap",
        "version": "1.0.0",
        "role": "source",
        "engine": "command",
        "description": "a tiny Singer tap run as a real process",
        "launch": {"command": [sys.executable, str(TINY_TAP)]},
        "capabilities": ["discover", "catalog", "state", "about"],
        "secret_fields": ["api_key"],
    }
    entry.update(overrides)
    return entry


def write_json(path: Path, data: object) -> Path:
    path.write_bytes(codec.dumps(data))
    return path
