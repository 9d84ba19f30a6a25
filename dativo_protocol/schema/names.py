"""Column names: keep them, or make them safe for every engine that reads Parquet/Iceberg.

Arrow, Parquet and Iceberg accept any UTF-8 field name, so the default policy (``keep``) is
lossless. Query engines are less forgiving (dots read as nesting, spaces and dashes need quoting,
names that differ only by case collide in case-insensitive lookups), so ``sanitize`` rewrites a
name to ``[A-Za-z0-9_]``, starting with a letter or ``_``, unique among its siblings ignoring
case. The original name is kept in the field's metadata (``dativo.source_name``) so records can
still be read by their original keys.

Example: ``["Order ID", "order-id", "1st", "ok"]`` → ``["Order_ID", "order_id_2", "_1st", "ok"]``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["safe_name", "sanitize_names"]

_UNSAFE = re.compile(r"[^A-Za-z0-9_]")


def safe_name(name: str) -> str:
    """``name`` with every character outside ``[A-Za-z0-9_]`` replaced by ``_``."""
    cleaned = _UNSAFE.sub("_", name)
    if not cleaned or cleaned[0].isdigit():
        cleaned = f"_{cleaned}"
    return cleaned


def sanitize_names(names: Iterable[str]) -> list[str]:
    """Safe, case-insensitively unique names for sibling fields, in order. Names that are
    already safe keep priority over names that had to be rewritten."""
    originals = list(names)
    taken: set[str] = {n.lower() for n in originals if safe_name(n) == n}
    result: list[str] = []
    for name in originals:
        candidate = safe_name(name)
        if candidate == name:
            result.append(name)
            continue
        unique, counter = candidate, 2
        while unique.lower() in taken:
            unique = f"{candidate}_{counter}"
            counter += 1
        taken.add(unique.lower())
        result.append(unique)
    return result
