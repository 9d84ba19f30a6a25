"""A PyIceberg transaction that stops deep-copying table metadata on every read.

``Transaction.table_metadata`` re-applies the staged updates and returns a *deep copy* of the
whole metadata on each access; one commit reads it ~20 times, and the copy grows with the
snapshot list. The metadata models are frozen, so the result can be shared until the staged
updates or the base metadata change (a refresh on retry replaces the base object). Imported
only on the write path (it imports PyIceberg).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pyiceberg.table import Transaction

if TYPE_CHECKING:
    from pyiceberg.table import Table
    from pyiceberg.table.metadata import TableMetadata


class MemoTransaction(Transaction):
    def __init__(self, table: Table) -> None:
        super().__init__(table)
        self._memo: tuple[Any, Any, TableMetadata] | None = None

    @property
    def table_metadata(self) -> TableMetadata:
        base, updates = self._table.metadata, self._updates
        memo = self._memo
        if memo is not None and memo[0] is base and memo[1] is updates:
            return memo[2]
        metadata = super().table_metadata
        self._memo = (base, updates, metadata)
        return metadata
