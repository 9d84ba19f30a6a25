"""Data-file level writes: new Parquet data files and one snapshot that adds/removes files.

Everything that changes a table in a checkpoint goes through :func:`commit_files`, so a
checkpoint is exactly one snapshot (operation ``append`` or ``overwrite``) carrying the Singer
state in its summary. PyIceberg has no public API for "write these rows as data files and
commit them together with file removals", so this module uses its internal writer
``pyiceberg.io.pyarrow._dataframe_to_data_files`` (the same one ``Table.append`` uses).
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa
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


def write_data_files(table: Table, data: pa.Table) -> list[DataFile]:
    """Write ``data`` as Parquet data files of ``table`` (partitioned per its spec); not committed.

    Uses ``table.metadata``: call it before staging anything on a transaction of ``table``
    (``Transaction.table_metadata`` re-applies staged updates with a deep copy on every access).
    """
    from pyiceberg.io.pyarrow import _dataframe_to_data_files

    if data.num_rows == 0:
        return []
    # file names embed the write uuid: a fresh one per call keeps them unique
    return list(
        _dataframe_to_data_files(
            table_metadata=table.metadata,
            df=data,
            io=table.io,
            write_uuid=uuid.uuid4(),
            counter=itertools.count(0),
        )
    )


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
