"""Keep table metadata small: expire old snapshots (old metadata files go on every commit).

Each commit writes a new ``metadata.json`` listing every snapshot; without expiry it grows
commit after commit and so does commit latency. ``write.metadata.delete-after-commit.enabled``
and ``write.metadata.previous-versions-max`` (set on every table we create) bound the metadata
log; expiry bounds the snapshot list. Expiry then deletes the data files that only the
expired snapshots referenced (rows an upsert rewrote or an overwrite replaced before the
oldest kept snapshot): no kept snapshot reaches them, so neither does a reader or a writer
starting from the table's metadata. Files written for a commit that never landed (a crash
between writing and committing) belong to no snapshot; an orphan-file clean-up (Spark's
``remove_orphan_files``) handles those.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyiceberg.table import Table
    from pyiceberg.table.snapshots import Snapshot

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ExpiryResult:
    table: str
    expired: int
    kept: int
    files_deleted: int = 0


def expire_snapshots(table: Table, keep_last: int) -> ExpiryResult:
    """Expire all but the newest ``keep_last`` snapshots (branch and tag heads are always kept),
    then delete the data files only the expired snapshots referenced."""
    name = ".".join(table.name())
    snapshots = sorted(table.metadata.snapshots, key=lambda s: (s.timestamp_ms, s.sequence_number))
    protected = {ref.snapshot_id for ref in table.metadata.refs.values()}
    doomed = [s.snapshot_id for s in snapshots[: max(0, len(snapshots) - keep_last)]]
    doomed = [sid for sid in doomed if sid not in protected]
    if not doomed:
        return ExpiryResult(name, 0, len(snapshots))
    gone = set(doomed)
    kept_manifests = {
        m.manifest_path
        for s in snapshots
        if s.snapshot_id not in gone
        for m in s.manifests(table.io)
    }
    candidates = _files(table, [s for s in snapshots if s.snapshot_id in gone], kept_manifests)
    table.maintenance.expire_snapshots().by_ids(doomed).commit()
    # what the remaining snapshots reference, read after the commit: snapshots another writer
    # added meanwhile count as kept
    table = table.refresh()
    unreachable = sorted(candidates - _files(table, table.metadata.snapshots, set()))
    for path in unreachable:
        try:
            table.io.delete(path)
        except OSError as exc:  # already gone: nothing to do
            log.debug("could not delete %s: %s", path, type(exc).__name__)
    return ExpiryResult(name, len(doomed), len(snapshots) - len(doomed), len(unreachable))


def _files(table: Table, snapshots: Iterable[Snapshot], skip: set[str]) -> set[str]:
    """Paths of the live data files in the manifests of ``snapshots`` (each read once), except
    manifests in ``skip``."""
    paths: set[str] = set()
    seen = set(skip)
    for snapshot in snapshots:
        for manifest in snapshot.manifests(table.io):
            if manifest.manifest_path in seen:
                continue
            seen.add(manifest.manifest_path)
            for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=True):
                paths.add(entry.data_file.file_path)
    return paths


def expire_quietly(table: Table, keep_last: int) -> None:
    """Expiry after a data commit: a failure (e.g. a concurrent writer) only logs, it is retried later."""
    try:
        result = expire_snapshots(table, keep_last)
    except Exception as exc:  # noqa: BLE001 - housekeeping must never fail a committed checkpoint
        log.warning("snapshot expiry skipped on %s: %s", ".".join(table.name()), type(exc).__name__)
        return
    if result.expired:
        log.debug(
            "expired %d snapshots of %s, deleted %d unreachable data files",
            result.expired,
            result.table,
            result.files_deleted,
        )
