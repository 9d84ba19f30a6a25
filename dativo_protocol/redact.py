"""Redaction of secret values, by value, wherever they would appear in text.

A :class:`Redactor` is built from the secret values found in a connector's config and passed
explicitly to whatever writes logs or error messages (no global registry).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import quote, urlsplit

from dativo_protocol import codec

MASK = "***"
#: values shorter than this are not treated as secrets (they would mangle every log line)
MIN_SECRET_LENGTH = 4

#: config keys whose values are secret even when no schema marks them
SECRET_KEY_PATTERN = re.compile(
    r"(pass(word|wd|phrase)?|secret|token|api[_-]?key|apikey|private[_-]?key|access[_-]?key"
    r"|credential|auth|client[_-]?secret|session[_-]?key|dsn|connection[_-]?string|sqlalchemy_url)",
    re.IGNORECASE,
)
#: JSON Schema annotations that mark a property as secret (Singer SDK, Airbyte, JSON Schema)
SECRET_ANNOTATIONS = ("secret", "airbyte_secret", "writeOnly", "sensitive", "x-secret")


class Redactor:
    """Replaces every registered secret value (and its JSON/URL-escaped forms) with ``***``."""

    __slots__ = ("_pattern", "_values")

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._values: frozenset[str] = frozenset()
        self._pattern: re.Pattern[str] | None = None
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        """Register more secret values (returns nothing; the redactor is updated in place)."""
        forms: set[str] = set(self._values)
        for value in secrets:
            if not isinstance(value, str) or len(value) < MIN_SECRET_LENGTH:
                continue
            forms.add(value)
            forms.add(codec.dumps_str(value)[1:-1])  # JSON-escaped
            forms.add(quote(value, safe=""))  # URL-encoded
            forms.add(repr(value)[1:-1])  # Python repr-escaped
        forms = {f for f in forms if len(f) >= MIN_SECRET_LENGTH}
        self._values = frozenset(forms)
        if forms:
            alternation = "|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True))
            self._pattern = re.compile(alternation)
        else:
            self._pattern = None

    @property
    def secrets(self) -> frozenset[str]:
        return self._values

    def __bool__(self) -> bool:
        return self._pattern is not None

    def redact(self, text: str) -> str:
        if self._pattern is None or not text:
            return text
        return self._pattern.sub(MASK, text)

    def redact_bytes(self, data: bytes) -> bytes:
        if self._pattern is None or not data:
            return data
        return self.redact(data.decode("utf-8", "replace")).encode()


def is_secret_key(key: str) -> bool:
    return bool(SECRET_KEY_PATTERN.search(key))


def walk_properties(schema: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    """Every ``(name, subschema)`` property of a JSON Schema, nested ones and those under
    ``anyOf``/``oneOf``/``allOf``/``items`` included. A caller may update a yielded subschema
    in place (its children are visited after it is yielded)."""
    stack: list[Mapping[str, Any]] = [schema]
    while stack:
        node = stack.pop()
        props = node.get("properties")
        if isinstance(props, Mapping):
            for name, sub in props.items():
                if isinstance(sub, Mapping):
                    yield str(name), sub
                    stack.append(sub)
        for combo in ("anyOf", "oneOf", "allOf"):
            stack.extend(sub for sub in node.get(combo) or () if isinstance(sub, Mapping))
        items = node.get("items")
        if isinstance(items, Mapping):
            stack.append(items)


def is_marked_secret(subschema: Mapping[str, Any]) -> bool:
    """Whether a property's schema carries one of :data:`SECRET_ANNOTATIONS`."""
    return any(subschema.get(a) is True for a in SECRET_ANNOTATIONS)


def _schema_secret_keys(schema: Mapping[str, Any] | None) -> set[str]:
    if not schema:
        return set()
    return {name for name, sub in walk_properties(schema) if is_marked_secret(sub)}


def _url_password(value: str) -> str | None:
    if "://" not in value or "@" not in value:
        return None
    try:
        return urlsplit(value).password
    except ValueError:
        return None


def collect_secrets(
    config: Mapping[str, Any],
    schema: Mapping[str, Any] | None = None,
    extra_keys: Iterable[str] = (),
) -> set[str]:
    """Every secret value in ``config``.

    A value is secret when its key is marked secret in ``schema`` (``secret``,
    ``airbyte_secret``, ``writeOnly``, ``sensitive``), is listed in ``extra_keys``, or looks
    like a secret by name (password, token, api_key, ...). Passwords inside URLs are secret too.
    Nested objects and lists are walked.
    """
    marked = _schema_secret_keys(schema) | set(extra_keys)
    found: set[str] = set()

    def walk(node: Any, secret: bool) -> None:
        if isinstance(node, Mapping):
            for key, value in node.items():
                walk(value, secret or key in marked or is_secret_key(str(key)))
        elif isinstance(node, list | tuple):
            for item in node:
                walk(item, secret)
        elif isinstance(node, str):
            if secret:
                found.add(node)
            password = _url_password(node)
            if password:
                found.add(password)
        elif secret and isinstance(node, int | float) and not isinstance(node, bool):
            found.add(str(node))

    walk(config, False)
    return {s for s in found if len(s) >= MIN_SECRET_LENGTH}


def redactor_for(
    configs: Iterable[Mapping[str, Any]],
    schema: Mapping[str, Any] | None = None,
    extra_keys: Iterable[str] = (),
) -> Redactor:
    values: set[str] = set()
    for config in configs:
        values |= collect_secrets(config, schema, extra_keys)
    return Redactor(values)
