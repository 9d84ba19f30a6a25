"""tap-rest settings: a REST/JSON API described in config, no code needed."""

from __future__ import annotations

from typing import Any

_STR = {"type": "string"}
_OPT = {"type": ["string", "null"]}  # Meltano sends null for declared but unset settings
_SECRET = {"type": ["string", "null"], "secret": True, "writeOnly": True}
_INT = {"type": "integer"}
_NUM = {"type": "number"}

PAGINATION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "How to get the next page.",
    "properties": {
        "type": {
            "type": "string",
            "enum": ["none", "page_number", "offset", "cursor", "link_header"],
        },
        "param": {**_STR, "description": "Query parameter carrying the page/offset/cursor."},
        "start": {**_INT, "description": "First page number (page_number) or offset."},
        "size": {**_INT, "description": "Page size; a shorter page ends pagination."},
        "size_param": {**_STR, "description": "Query parameter carrying the page size."},
        "cursor_path": {**_STR, "description": "JSONPath of the next cursor in the body."},
    },
}

AUTH_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "type": {
            "type": ["string", "null"],
            "enum": ["none", "bearer", "api_key", "basic", "oauth_client_credentials", None],
        },
        "token": {**_SECRET, "description": "bearer: the token."},
        "key": {**_OPT, "description": "api_key: header or query parameter name."},
        "value": {**_SECRET, "description": "api_key: the key."},
        "location": {
            "type": ["string", "null"],
            "enum": ["header", "params", None],
            "default": "header",
        },
        "username": _OPT,
        "password": _SECRET,
        "token_url": {**_OPT, "description": "oauth_client_credentials: the token endpoint."},
        "client_id": _OPT,
        "client_secret": _SECRET,
        "scopes": _OPT,
    },
}

STREAM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["name", "path"],
    "properties": {
        "name": _STR,
        "path": {**_STR, "description": "Path under api_url, e.g. /v1/users."},
        "records_path": {**_STR, "default": "$[*]", "description": "JSONPath of the records."},
        "primary_keys": {"type": "array", "items": _STR},
        "replication_key": {**_STR, "description": "A record field for incremental sync."},
        "replication_param": {
            **_STR,
            "description": "Query parameter that receives the bookmark (e.g. updated_since).",
        },
        "start_value": {"description": "Bookmark for the first run."},
        "is_sorted": {
            "type": "boolean",
            "default": False,
            "description": "The API returns records in replication_key order (resumable state).",
        },
        "params": {"type": "object"},
        "schema": {"type": "object", "description": "JSON Schema of the records (else inferred)."},
        "pagination": PAGINATION_SCHEMA,
    },
}

CONFIG_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["api_url", "streams"],
    "properties": {
        "api_url": {**_STR, "description": "Base URL of the API."},
        "streams": {"type": "array", "items": STREAM_SCHEMA, "minItems": 1},
        "auth": AUTH_SCHEMA,
        "headers": {"type": "object"},
        "params": {"type": "object", "description": "Query parameters for every request."},
        "pagination": PAGINATION_SCHEMA,
        "rate_limit": {
            "type": "object",
            "properties": {"requests_per_second": _NUM, "requests_per_minute": _NUM},
        },
        "retry": {
            "type": "object",
            "properties": {
                "max_tries": {**_INT, "default": 5},
                "backoff_factor": {**_NUM, "default": 1.0},
                "max_backoff": {**_NUM, "default": 60.0},
            },
        },
        "timeout": {**_NUM, "default": 60},
        "infer_sample_records": {**_INT, "default": 100},
        "user_agent": _STR,
    },
}
