"""Commands besides loading: recover the committed state, expire snapshots."""

from __future__ import annotations

from typing import Any

from .catalog import open_catalog
from .checkpoint import recover_state
from .maintenance import ExpiryResult, expire_snapshots
from .settings import IcebergSettings


def recovered_state(settings: IcebergSettings) -> dict[str, Any] | None:
    """The last Singer state committed to the namespace's tables by pipeline ``state_id``."""
    return recover_state(open_catalog(settings), settings.namespace, settings.state_id)


def expire_all(settings: IcebergSettings) -> list[ExpiryResult]:
    """Expire old snapshots of every table in the namespace (keeping ``snapshot_keep_last``)."""
    catalog = open_catalog(settings)
    return [
        expire_snapshots(catalog.load_table(identifier), settings.snapshot_keep_last)
        for identifier in catalog.list_tables(settings.namespace)
    ]
