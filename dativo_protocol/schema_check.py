"""Compiled JSON Schema checks for Singer data, with messages that never contain values.

:func:`compile_check` turns a JSON Schema into a function ``check(instance) -> str | None``
(``None`` when valid, else a reason naming the field and the rule). It compiles with
fastjsonschema (about 25x faster than jsonschema per record) and falls back to jsonschema for
what fastjsonschema cannot compile.

Singer conventions handled here:

- ``format: date-time`` accepts RFC 3339 / ISO 8601 timestamps with ``T`` or a space between date
  and time, optional fractions and optional offset (Singer taps often emit naive timestamps);
  ``date`` and ``time`` accept ISO dates and times; ``singer.decimal`` accepts a string holding a
  finite decimal number.
- ``multipleOf`` with a fractional divisor (``1e-38``, ``0.01``) is a scale hint for writers,
  not a check: binary floats cannot honour it exactly, so it is not enforced.
"""

from __future__ import annotations

import datetime as dt
import decimal
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

Check = Callable[[Any], "str | None"]

_SEPARATORS = frozenset("Tt ")
_parse_datetime = dt.datetime.fromisoformat
_parse_date = dt.date.fromisoformat


def is_date_time(value: str) -> bool:
    """``YYYY-MM-DD[T|t| ]HH:MM[:SS[.fff]][Z|z|+HH:MM]`` (naive allowed), real calendar dates."""
    if len(value) < 16 or value[10] not in _SEPARATORS or value[4] != "-" or value[7] != "-":
        return False
    try:
        _parse_datetime(value)
    except ValueError:
        if value[-1] != "z":
            return False
        try:
            _parse_datetime(value[:-1] + "Z")
        except ValueError:
            return False
    return True


def is_date(value: str) -> bool:
    if len(value) != 10 or value[4] != "-" or value[7] != "-":
        return False
    try:
        _parse_date(value)
    except ValueError:
        return False
    return True


def is_time(value: str) -> bool:
    try:
        dt.time.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        return False
    return ":" in value


def is_singer_decimal(value: str) -> bool:
    try:
        return decimal.Decimal(value).is_finite()
    except (decimal.InvalidOperation, ValueError):
        return False


SINGER_FORMATS: dict[str, Callable[[str], bool]] = {
    "date-time": is_date_time,
    "date": is_date,
    "time": is_time,
    "singer.decimal": is_singer_decimal,
}


def prepare(schema: Any) -> Any:
    """A copy of ``schema`` without fractional ``multipleOf`` (see the module docstring)."""
    if isinstance(schema, Mapping):
        out = {}
        for key, value in schema.items():
            if (
                key == "multipleOf"
                and isinstance(value, int | float)
                and not float(value).is_integer()
            ):
                continue
            out[key] = prepare(value) if key not in ("enum", "const", "default") else value
        return out
    if isinstance(schema, list):
        return [prepare(item) for item in schema]
    return schema


# ------------------------------------------------------------------------------ messages
def _field(path: Iterable[Any]) -> str:
    parts: list[str] = []
    for part in path:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        else:
            parts.append(f".{part}" if parts else str(part))
    return "".join(parts)


def _types(rule_def: Any) -> str:
    if isinstance(rule_def, list):
        return " or ".join(str(t) for t in rule_def)
    return str(rule_def)


def describe(path: Iterable[Any], rule: str | None, rule_def: Any, value: Any) -> str:
    """A reason naming the field and the broken rule; the value itself is never included."""
    where = _field(path)
    subject = f"field '{where}'" if where else "the object"
    if rule == "required" and isinstance(rule_def, list) and isinstance(value, Mapping):
        missing = [k for k in rule_def if k not in value]
        if missing:
            inner = f"{where}.{missing[0]}" if where else str(missing[0])
            return f"required field '{inner}' is missing"
    if rule == "type":
        return f"{subject} must be of type {_types(rule_def)}"
    if rule == "format":
        return f"{subject} is not a valid {rule_def}"
    if rule in ("enum", "const"):
        return f"{subject} is not one of the allowed values"
    if rule == "additionalProperties" and isinstance(value, Mapping):
        return f"{subject} has properties the schema does not allow"
    if rule in (
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "minLength",
        "maxLength",
        "minItems",
        "maxItems",
        "multipleOf",
    ):
        return f"{subject} breaks {rule}={rule_def}"
    return f"{subject} breaks the schema rule '{rule}'"


# ------------------------------------------------------------------------------ compile
#: drafts fastjsonschema implements; newer ones ($schema 2019-09, 2020-12) go to jsonschema
_FAST_DRAFTS = ("draft-04", "draft-06", "draft-07")


def _refuse_fetch(uri: str) -> Any:
    raise ValueError("remote $ref is not fetched")


#: never download a remote $ref while checking a stream (offline, no SSRF)
_NO_FETCH = dict.fromkeys(("http", "https", "ftp", "file"), _refuse_fetch)


def _fast(schema: Any) -> Check:
    import fastjsonschema

    validate = fastjsonschema.compile(
        schema, formats=SINGER_FORMATS, use_default=False, handlers=_NO_FETCH
    )
    error = fastjsonschema.JsonSchemaValueException

    def check(instance: Any) -> str | None:
        try:
            validate(instance)
        except error as exc:
            name = (exc.name or "data").removeprefix("data").removeprefix(".")
            return describe([name] if name else [], exc.rule, exc.rule_definition, exc.value)
        return None

    return check


def _slow(schema: Any) -> Check:
    import jsonschema

    checker = jsonschema.FormatChecker()
    for name, func in SINGER_FORMATS.items():
        checker.checks(name)(lambda v, f=func: not isinstance(v, str) or f(v))
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
    validator = cls(schema, format_checker=checker)

    def check(instance: Any) -> str | None:
        try:
            err = next(iter(validator.iter_errors(instance)), None)
        except Exception as exc:  # noqa: BLE001 - unresolvable $ref, bad pattern, ...
            return f"the schema could not be applied ({type(exc).__name__})"
        if err is None:
            return None
        return describe(err.absolute_path, str(err.validator), err.validator_value, err.instance)

    return check


def compile_check(schema: Mapping[str, Any]) -> Check:
    """Compile ``schema`` into a value-free checker (fastjsonschema, else jsonschema).

    Raises ``ValueError`` (with a reason, never data) if neither can use the schema.
    """
    prepared = prepare(schema)
    draft = str(prepared.get("$schema", "draft-07"))
    try:
        if not any(name in draft for name in _FAST_DRAFTS):
            raise ValueError("draft not supported by fastjsonschema")
        return _fast(prepared)
    except Exception as exc:  # noqa: BLE001 - any failure to compile means: try the other engine
        logging.getLogger("dativo.schema").debug("fastjsonschema cannot compile: %s", type(exc))
    try:
        import jsonschema

        cls = jsonschema.validators.validator_for(prepared, default=jsonschema.Draft7Validator)
        cls.check_schema(prepared)
    except jsonschema.SchemaError as exc:
        where = _field(exc.absolute_path) or "the root"
        raise ValueError(f"invalid JSON Schema at {where}: breaks '{exc.validator}'") from None
    return _slow(prepared)
