"""A third-party registry provider, as a `dativo.connectors` entry point would expose it."""

from __future__ import annotations

import sys
from pathlib import Path

TINY_TAP = Path(__file__).with_name("tiny_tap.py")


def connectors() -> list[dict[str, object]]:
    return [
        {
            "name": "acme-tap",
            "version": "3.1.0",
            "role": "source",
            "engine": "command",
            "description": "registered by a plugin",
            "launch": {"command": [sys.executable, str(TINY_TAP)]},
            "capabilities": ["discover", "catalog", "state", "x-acme-turbo"],
            "secret_fields": ["api_key"],
        }
    ]


def broken() -> list[dict[str, object]]:
    return [
        {"name": "acme-broken", "version": "1", "role": "source", "engine": "singer", "launch": {}}
    ]
