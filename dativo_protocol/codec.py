"""All JSON goes through here (orjson). ``import json`` is banned by a lint rule.

Keep these functions thin: they are on the hot path of every reader and writer.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson

from dativo_protocol.errors import ConfigError

JSONDecodeError = orjson.JSONDecodeError

_LINE_OPTS = orjson.OPT_APPEND_NEWLINE | orjson.OPT_NON_STR_KEYS
_PRETTY_OPTS = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS

loads = orjson.loads


def dumps(obj: Any) -> bytes:
    """Serialize compactly to bytes."""
    return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS)


def dumps_line(obj: Any) -> bytes:
    """Serialize compactly to one JSONL line (with the trailing newline)."""
    return orjson.dumps(obj, option=_LINE_OPTS)


def dumps_str(obj: Any) -> str:
    return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS).decode()


def dumps_pretty(obj: Any) -> str:
    """Indented, key-sorted JSON for humans and stable files."""
    return orjson.dumps(obj, option=_PRETTY_OPTS).decode()


def describe_decode_error(exc: orjson.JSONDecodeError) -> str:
    """The reason of a decode error without the offending document (it may hold secrets)."""
    reason = exc.msg if hasattr(exc, "msg") else "invalid JSON"
    return f"invalid JSON: {reason} at column {exc.colno}"


def load_object_file(path: Path | str, what: str) -> dict[str, Any]:
    """A JSON object from a file (a config, a state, options), or a ConfigError naming ``what``
    and the file, never its content."""
    try:
        data = orjson.loads(Path(path).read_bytes())
    except OSError as exc:
        raise ConfigError(f"cannot read {what} {str(path)!r}: {exc.strerror}") from None
    except orjson.JSONDecodeError as exc:
        raise ConfigError(
            f"{what} {str(path)!r} is not JSON: {describe_decode_error(exc)}"
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(f"{what} {str(path)!r} must hold a JSON object")
    return data


def write_private(path: Path, data: Any, *, exclusive: bool = False) -> Path:
    """Write ``data`` as JSON readable by the owner only (mode 0600: configs hold secrets);
    ``exclusive``: fail if the file exists instead of replacing its content."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    fd = os.open(path, flags, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(dumps(data))
    return path
