"""The ``--spec`` document: the config JSON Schema with secret fields marked.

Printed as an Airbyte SPEC message, so the runner can pass it on unchanged (or read
``spec.connectionSpecification`` as a plain JSON Schema). Secret fields carry both
singer-sdk's ``secret``/``writeOnly`` markers and Airbyte's ``airbyte_secret``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from dativo_protocol.redact import SECRET_ANNOTATIONS, is_secret_key


def mark_secrets(schema: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``schema`` where every secret property has ``airbyte_secret: true``."""
    out: dict[str, Any] = copy.deepcopy(dict(schema))
    stack: list[dict[str, Any]] = [out]
    while stack:
        node = stack.pop()
        props = node.get("properties")
        if isinstance(props, dict):
            for name, sub in props.items():
                if not isinstance(sub, dict):
                    continue
                marked = any(sub.get(a) is True for a in SECRET_ANNOTATIONS)
                leaf = "properties" not in sub and "items" not in sub
                if marked or (leaf and is_secret_key(str(name))):
                    sub["airbyte_secret"] = True
                    sub["secret"] = True
                    sub["writeOnly"] = True
                stack.append(sub)
        for combo in ("anyOf", "oneOf", "allOf"):
            stack.extend(s for s in node.get(combo) or () if isinstance(s, dict))
        if isinstance(node.get("items"), dict):
            stack.append(node["items"])
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
