"""Exactly-once restarts for append tables after a crash between the tables of one checkpoint.

A checkpoint over several tables is one commit per table (see ``checkpoint.py``). A crash
after some of them leaves that checkpoint on those tables only; its STATE never went out, so
the tap replays its records and an append table would hold them twice. When a run opens a
table, :func:`undo_incomplete` looks at the newest checkpoint this pipeline (``state_id``)
committed to it: if that checkpoint declares other tables and one of them does not have it,
the data files that checkpoint's snapshot added (and that are still live) are removed in one
new snapshot, before this run loads anything. Removing files, unlike a rollback, keeps every
other writer's later commits. The removing snapshot's summary says ``dativo.reverts =
<run>:<checkpoint>``, so it is done once; recovery of the state is unchanged (the checkpoint
stays incomplete, the previous state is the one to resume from).

Only ``append`` snapshots are undone: upsert and overwrite checkpoints are idempotent when
replayed. Two processes must not run the same pipeline (``state_id``) with multi-table
checkpoints at once: one could see the other's checkpoint half-way and undo it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from dativo_protocol import codec
from dativo_protocol.errors import DestinationError

from .checkpoint import STATE_ID, TABLES, checkpoint_of, history
from .files import FileChanges, commit_files, current_files

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog
    from pyiceberg.manifest import DataFile
    from pyiceberg.table import Table
    from pyiceberg.table.snapshots import Snapshot

log = logging.getLogger(__name__)

REVERTS = "dativo.reverts"
_ATTEMPTS = 5


def _key(snapshot: Snapshot, state_id: str) -> str | None:
    """``<run>:<checkpoint>`` of a checkpoint snapshot of pipeline ``state_id``."""
    found = checkpoint_of(snapshot, state_id)
    return None if found is None else f"{found[0]}:{found[1]}"


def _has(table: Table, key: str, state_id: str) -> bool:
    return any(_key(snapshot, state_id) == key for snapshot in history(table))


def undo_incomplete(catalog: Catalog, namespace: str, state_id: str, table: Table) -> Table:
    """Remove the rows of this pipeline's newest checkpoint from ``table`` if that checkpoint
    did not reach all its tables (append snapshots only). Returns the table, refreshed if
    changed."""
    from pyiceberg.exceptions import NoSuchTableError
    from pyiceberg.table.snapshots import Operation

    reverted: set[str] = set()
    newest = None
    for snapshot in history(table):
        summary = snapshot.summary
        if summary is not None and summary[STATE_ID] == state_id and summary[REVERTS]:
            reverted.add(str(summary[REVERTS]))
        key = _key(snapshot, state_id)
        if key is not None:
            newest = (key, snapshot)
            break
    if newest is None or newest[0] in reverted:
        return table
    key, snapshot = newest
    summary = snapshot.summary
    if summary is None:  # pragma: no cover - _key found a summary
        return table
    own = table.name()[-1]
    others = set(codec.loads(summary[TABLES] or "[]")) - {own}
    for other in sorted(others):
        try:
            complete = _has(catalog.load_table((namespace, other)), key, state_id)
        except NoSuchTableError:
            complete = False
        if not complete:
            break
    else:
        return table
    if summary.operation != Operation.APPEND:
        log.warning(
            "table %s holds checkpoint %s that did not reach every table; it is not an append, "
            "so it stays (replaying it is idempotent)",
            own,
            key,
        )
        return table
    return _remove_added(table, snapshot, key, state_id)


def _added_files(table: Table, snapshot: Snapshot) -> list[DataFile]:
    from pyiceberg.manifest import ManifestEntryStatus

    files = []
    for manifest in snapshot.manifests(table.io):
        if manifest.added_snapshot_id != snapshot.snapshot_id:
            continue
        for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=True):
            if (
                entry.status == ManifestEntryStatus.ADDED
                and entry.snapshot_id == snapshot.snapshot_id
            ):
                files.append(entry.data_file)
    return files


def _remove_added(table: Table, snapshot: Snapshot, key: str, state_id: str) -> Table:
    from pyiceberg.exceptions import CommitFailedException

    from .txn import MemoTransaction

    added = {f.file_path for f in _added_files(table, snapshot)}
    for attempt in range(1, _ATTEMPTS + 1):
        live = [f for f in current_files(table) if f.file_path in added]
        if not live:
            return table
        txn = MemoTransaction(table)
        commit_files(txn, FileChanges(removed=live), {STATE_ID: state_id, REVERTS: key})
        try:
            table = txn.commit_transaction()
        except CommitFailedException:
            if attempt == _ATTEMPTS:
                raise DestinationError(
                    f"undoing incomplete checkpoint {key} on table {'.'.join(table.name())} "
                    "kept conflicting with concurrent writers"
                ) from None
            table = table.refresh()
            continue
        log.warning(
            "removed %d data files (%d rows) from table %s: checkpoint %s did not reach every "
            "table before the previous run stopped, and will be replayed",
            len(live),
            sum(f.record_count for f in live),
            ".".join(table.name()),
            key,
        )
        return table
    raise AssertionError("unreachable")  # pragma: no cover
