"""Per-value checks of the converter's slow path: each returns ``None`` for a good value or a
reason (never containing the value) for a bad one. Pure Python."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from dativo_protocol.codec import dumps_str

__all__ = [
    "Check",
    "decimal_problem",
    "integer_problem",
    "json_type",
    "not_json",
    "number_problem",
    "to_decimal",
    "type_problem",
]

Check = Callable[[Any], str | None]


def json_type(value: Any) -> str:
    """How a value reads in an error message: its JSON type, never its content."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float | Decimal):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "an array"
    if isinstance(value, Mapping):
        return "an object"
    return f"a Python {type(value).__name__}"


def type_problem(kind: type, label: str) -> Check:
    """Values must be instances of ``kind`` (``str`` or ``bool``)."""

    def check(value: Any) -> str | None:
        return None if isinstance(value, kind) else f"expected {label}, got {json_type(value)}"

    return check


def not_json(value: Any) -> str | None:
    try:
        dumps_str(value)
    except TypeError:
        return f"{json_type(value)} cannot be serialized to JSON"
    return None


def integer_problem(bits: int, signed: bool, label: str) -> Check:
    low, high = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)

    def check(value: Any) -> str | None:
        if isinstance(value, bool):
            return "expected an integer, got a boolean"
        if isinstance(value, float):
            if not value.is_integer():
                return "expected an integer, got a number with a fractional part"
            value = int(value)
        if not isinstance(value, int):
            return f"expected an integer, got {json_type(value)}"
        if not low <= value <= high:
            return f"integer out of the {label} range"
        return None

    return check


def number_problem(from_strings: bool) -> Check:
    def check(value: Any) -> str | None:
        if isinstance(value, bool):
            return "expected a number, got a boolean"
        if isinstance(value, int | float | Decimal):
            return None
        if from_strings and isinstance(value, str):
            try:
                float(value)
            except ValueError:
                return "not a decimal number"
            return None
        return f"expected a number, got {json_type(value)}"

    return check


def to_decimal(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))  # the shortest text that round-trips: what the JSON held
    return Decimal(value.strip() if isinstance(value, str) else int(value))


def decimal_problem(precision: int | None, scale: int | None) -> Check:
    def check(value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
            return f"expected a decimal number, got {json_type(value)}"
        try:
            number = to_decimal(value)
        except (InvalidOperation, ValueError):
            return "not a decimal number"
        if not number.is_finite():
            return "a decimal must be finite"
        if precision is None or scale is None:
            return None
        _sign, digits, exponent = number.normalize().as_tuple()
        if not isinstance(exponent, int):
            return "a decimal must be finite"
        if max(0, -exponent) > scale:
            return f"has more than {scale} digits after the point (decimal({precision},{scale}))"
        if max(0, len(digits) + exponent) > precision - scale:
            return f"does not fit decimal({precision},{scale})"
        return None

    return check
