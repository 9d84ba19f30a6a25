"""One snapshot that adds and removes data files.

Everything that changes a table in a checkpoint goes through :func:`commit_files`, so a
checkpoint is exactly one snapshot (operation ``append`` or ``overwrite``) carrying the Singer
state in its summary. The files themselves are written by :mod:`.datafiles`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyiceberg.manifest import DataFile
    from pyiceberg.table import Table, Transaction


@dataclass(slots=True)
class FileChanges:
    """Files a checkpoint adds to and removes from one table."""

    added: list[DataFile] = field(default_factory=list)
    removed: list[DataFile] = field(default_factory=list)
    rows_added: int = 0
    rows_rewritten: int = 0
    #: added files that belong to the stream's current version (kept by the next activation)
    new_version_files: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.added or self.removed)


def commit_files(txn: Transaction, changes: FileChanges, properties: Mapping[str, str]) -> None:
    """Stage one snapshot with ``changes`` on ``txn`` (``append`` if nothing is removed)."""
    update = txn.update_snapshot(snapshot_properties=dict(properties))
    if changes.removed:
        with update.overwrite() as overwrite:
            for old in changes.removed:
                overwrite.delete_data_file(old)
            for new in changes.added:
                overwrite.append_data_file(new)
    else:
        merge = txn.table_metadata.properties.get("commit.manifest-merge.enabled", "false")
        producer = update.merge_append() if merge.lower() == "true" else update.fast_append()
        with producer as append:
            for new in changes.added:
                append.append_data_file(new)


def current_files(table: Table) -> Iterable[DataFile]:
    """Every live data file of the table's current snapshot."""
    if table.current_snapshot() is None:
        return []
    return [task.file for task in table.scan().plan_files()]
