"""A tiny, standalone Singer tap for registry/lifecycle tests (run as a real process).

It follows the Singer CLI (--config, --discover, --catalog, --state, --about) and is a careless
connector on purpose: on a bad api_key it logs the key and dies with a traceback, so tests can
prove that Dativo redacts what connectors print.
"""

from __future__ import annotations

import argparse
import json  # noqa: TID251 - a stand-alone third-party-style tap, not Dativo code
import sys

STREAMS = {
    "users": {
        "schema": {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "email": {"type": ["string", "null"]},
                "name": {"type": ["string", "null"]},
                "country": {"type": ["string", "null"]},
            },
        },
        "key_properties": ["id"],
    },
    "orders": {
        "schema": {
            "type": "object",
            "properties": {"order_id": {"type": "integer"}, "user_id": {"type": "integer"}},
        },
        "key_properties": ["order_id"],
    },
}
SETTINGS = {
    "type": "object",
    "required": ["api_key"],
    "properties": {
        "api_key": {"type": "string", "secret": True},
        "rows": {"type": "integer", "default": 3},
    },
}


def emit(msg: dict[str, object]) -> None:
    sys.stdout.write(json.dumps(msg) + "\n")


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--config")
    p.add_argument("--discover", action="store_true")
    p.add_argument("--catalog")
    p.add_argument("--state")
    p.add_argument("--about", action="store_true")
    p.add_argument("--format")
    p.add_argument("--spec", action="store_true")
    p.add_argument("--check", action="store_true")
    args = p.parse_args()
    if args.spec:  # Dativo's --spec: an Airbyte SPEC message
        emit(
            {
                "type": "SPEC",
                "spec": {
                    "connectionSpecification": SETTINGS,
                    "documentationUrl": "https://example.com/tiny",
                },
            }
        )
        return 0
    if args.about:
        emit(
            {
                "name": "tiny-tap",
                "capabilities": ["discover", "catalog", "state", "about"],
                "settings": SETTINGS,
            }
        )
        return 0
    with open(args.config) as fh:
        config = json.load(fh)
    if args.check:  # Dativo's --check: a CONNECTION_STATUS on stdout, exit 0/1
        ok = config.get("api_key") == "letmein"
        message = "2 streams readable" if ok else f"key {config.get('api_key')} was refused"
        status = {"status": "SUCCEEDED" if ok else "FAILED", "message": message}
        emit({"type": "CONNECTION_STATUS", "connectionStatus": status})
        return 0 if ok else 1
    if config.get("api_key") != "letmein":
        print(f"INFO connecting with key {config.get('api_key')}", file=sys.stderr)
        raise PermissionError(f"authentication failed for key {config.get('api_key')}")
    if args.discover:
        emit(
            {
                "streams": [
                    {
                        "tap_stream_id": n,
                        "stream": n,
                        "schema": s["schema"],
                        "key_properties": s["key_properties"],
                        "metadata": [
                            {
                                "breadcrumb": [],
                                "metadata": {
                                    "selected": True,
                                    "table-key-properties": s["key_properties"],
                                },
                            }
                        ],
                    }
                    for n, s in STREAMS.items()
                ]
            }
        )
        return 0
    rows = int(config.get("rows", 3))
    for name, s in STREAMS.items():
        emit(
            {
                "type": "SCHEMA",
                "stream": name,
                "schema": s["schema"],
                "key_properties": s["key_properties"],
            }
        )
        for i in range(rows):
            if name == "users":
                rec = {
                    "id": i,
                    "email": f"user{i}@example.com",
                    "name": f"User {i}",
                    "country": "DE" if i % 2 else "FR",
                }
            else:
                rec = {"order_id": i, "user_id": i % 5}
            emit({"type": "RECORD", "stream": name, "record": rec})
        emit({"type": "STATE", "value": {"bookmarks": {name: {"rows": rows}}}})
    return 0


if __name__ == "__main__":
    sys.exit(main())
