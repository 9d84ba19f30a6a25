"""Partition spec and sort order from config strings, e.g. ``day(ts)``, ``bucket(16, id)``, ``id desc``."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dativo_protocol.errors import ConfigError

if TYPE_CHECKING:
    from pyiceberg.table import Transaction

_PARTITION = re.compile(
    r"^\s*(?:(?P<fn>identity|year|month|day|hour|bucket|truncate|void)\s*\(\s*"
    r"(?:(?P<n>\d+)\s*,\s*)?(?P<col>[^,()\s]+)\s*\)|(?P<bare>[^,()\s]+))\s*$",
    re.IGNORECASE,
)
_SORT = re.compile(
    r"^\s*(?P<col>[^\s]+)(?:\s+(?P<dir>asc|desc))?(?:\s+nulls\s+(?P<nulls>first|last))?\s*$",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class PartitionField:
    column: str
    transform: str  # PyIceberg transform string: identity, day, bucket[16], truncate[4], ...


@dataclass(frozen=True, slots=True)
class SortField:
    column: str
    descending: bool
    nulls_first: bool


def parse_partition(specs: Sequence[str], stream: str) -> list[PartitionField]:
    fields = []
    for spec in specs:
        match = _PARTITION.match(spec)
        if not match:
            raise ConfigError(
                f"cannot parse partition field {spec!r}",
                stream=stream,
                hint="use column, identity(col), year|month|day|hour(col), bucket(N, col) or truncate(W, col)",
            )
        if match["bare"]:
            fields.append(PartitionField(match["bare"], "identity"))
            continue
        fn = match["fn"].lower()
        width = match["n"]
        if fn in ("bucket", "truncate"):
            if width is None:
                raise ConfigError(f"{fn}() needs a number: {fn}(N, column)", stream=stream)
            fields.append(PartitionField(match["col"], f"{fn}[{int(width)}]"))
        elif width is not None:
            raise ConfigError(f"{fn}() takes one column, got {spec!r}", stream=stream)
        else:
            fields.append(PartitionField(match["col"], fn))
    return fields


def parse_sort(specs: Sequence[str], stream: str) -> list[SortField]:
    fields = []
    for spec in specs:
        match = _SORT.match(spec)
        if not match:
            raise ConfigError(f"cannot parse sort field {spec!r}", stream=stream)
        descending = (match["dir"] or "asc").lower() == "desc"
        nulls = (match["nulls"] or ("last" if not descending else "first")).lower()
        fields.append(SortField(match["col"], descending, nulls == "first"))
    return fields


def apply_layout(
    txn: Transaction,
    partition: Sequence[PartitionField],
    sort: Sequence[SortField],
    stream: str,
) -> None:
    """Stage the partition spec and sort order on a (create-table) transaction."""
    from pyiceberg.table.sorting import NullOrder
    from pyiceberg.transforms import IdentityTransform, parse_transform

    try:
        if partition:
            with txn.update_spec() as spec:
                for field in partition:
                    spec.add_field(field.column, parse_transform(field.transform))
        if sort:
            with txn.update_sort_order() as order:
                for sort_field in sort:
                    nulls = (
                        NullOrder.NULLS_FIRST if sort_field.nulls_first else NullOrder.NULLS_LAST
                    )
                    add = order.desc if sort_field.descending else order.asc
                    add(sort_field.column, IdentityTransform(), nulls)
    except ValueError as exc:
        raise ConfigError(f"invalid table layout: {exc}", stream=stream) from None
