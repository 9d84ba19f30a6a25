"""The ``--spec`` document: the config JSON Schema with secret fields marked.

Printed as an Airbyte SPEC message, so the runner can pass it on unchanged (or read
``spec.connectionSpecification`` as a plain JSON Schema). Secret fields carry both
singer-sdk's ``secret``/``writeOnly`` markers and Airbyte's ``airbyte_secret``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from dativo_protocol.redact import is_marked_secret, is_secret_key, walk_properties


def mark_secrets(schema: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``schema`` where every secret property has ``airbyte_secret: true``."""
    out: dict[str, Any] = copy.deepcopy(dict(schema))
    for name, sub in walk_properties(out):
        if not isinstance(sub, dict):
            continue
        leaf = "properties" not in sub and "items" not in sub
        if is_marked_secret(sub) or (leaf and is_secret_key(name)):
            sub["airbyte_secret"] = True
            sub["secret"] = True
            sub["writeOnly"] = True
    return out


def spec_message(
    schema: Mapping[str, Any], *, documentation_url: str, incremental: bool = True
) -> dict[str, Any]:
    return {
        "type": "SPEC",
        "spec": {
            "documentationUrl": documentation_url,
            "connectionSpecification": mark_secrets(schema),
            "supportsIncremental": incremental,
            "supported_destination_sync_modes": [],
        },
    }


def connection_status(ok: bool, message: str) -> dict[str, Any]:
    return {
        "type": "CONNECTION_STATUS",
        "connectionStatus": {"status": "SUCCEEDED" if ok else "FAILED", "message": message},
    }
