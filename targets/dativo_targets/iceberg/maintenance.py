"""Keep table metadata small: expire old snapshots (old metadata files go on every commit).

Each commit writes a new ``metadata.json`` listing every snapshot; without expiry it grows
commit after commit and so does commit latency. ``write.metadata.delete-after-commit.enabled``
and ``write.metadata.previous-versions-max`` (set on every table we create) bound the metadata
log; expiry bounds the snapshot list. Expiry removes snapshots from metadata only: data files
no longer referenced by any snapshot stay on storage until an orphan-file clean-up (Spark's
``remove_orphan_files``) removes them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyiceberg.table import Table

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ExpiryResult:
    table: str
    expired: int
    kept: int


def expire_snapshots(table: Table, keep_last: int) -> ExpiryResult:
    """Expire all but the newest ``keep_last`` snapshots (branch and tag heads are always kept)."""
    name = ".".join(table.name())
    snapshots = sorted(table.metadata.snapshots, key=lambda s: (s.timestamp_ms, s.sequence_number))
    protected = {ref.snapshot_id for ref in table.metadata.refs.values()}
    doomed = [s.snapshot_id for s in snapshots[: max(0, len(snapshots) - keep_last)]]
    doomed = [sid for sid in doomed if sid not in protected]
    if doomed:
        table.maintenance.expire_snapshots().by_ids(doomed).commit()
    return ExpiryResult(name, len(doomed), len(snapshots) - len(doomed))


def expire_quietly(table: Table, keep_last: int) -> None:
    """Expiry after a data commit: a failure (e.g. a concurrent writer) only logs, it is retried later."""
    try:
        result = expire_snapshots(table, keep_last)
    except Exception as exc:  # noqa: BLE001 - housekeeping must never fail a committed checkpoint
        log.warning("snapshot expiry skipped on %s: %s", ".".join(table.name()), type(exc).__name__)
        return
    if result.expired:
        log.debug("expired %d snapshots of %s", result.expired, result.table)
