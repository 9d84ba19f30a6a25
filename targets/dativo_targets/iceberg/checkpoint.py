"""The Singer state inside Iceberg snapshot summaries, and its recovery.

Every snapshot a checkpoint commits carries, in its summary and in the same catalog commit as
its data:

``dativo.state-id``        the pipeline (``state_id`` setting); recovery reads only its own
``dativo.run-id``          one id per target process
``dativo.checkpoint``      1, 2, 3, ... within the run
``dativo.tables``          JSON list of every table this checkpoint commits to
``dativo.state``           the Singer STATE value the checkpoint covers (absent if none yet)
``dativo.previous-state``  for checkpoints spanning several tables: the state of the run's
                           previous complete checkpoint

Iceberg commits one table at a time, so a checkpoint over N tables is N commits. Tables are
committed in a fixed order, and a checkpoint starts only after the previous one has committed
everywhere. A crash part-way leaves the newest checkpoint on some of its tables only; recovery
sees it is incomplete and returns ``previous-state`` instead: the state every table has
durably passed (the minimum). Replaying from it duplicates rows in append-only tables that
did commit (at-least-once) and is idempotent for upsert tables.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dativo_protocol import codec

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog
    from pyiceberg.table import Table
    from pyiceberg.table.snapshots import Snapshot

STATE_ID = "dativo.state-id"
RUN_ID = "dativo.run-id"
CHECKPOINT = "dativo.checkpoint"
TABLES = "dativo.tables"
STATE = "dativo.state"
PREVIOUS_STATE = "dativo.previous-state"

#: how far back recovery looks in each table's history (snapshot expiry keeps at least this many)
MAX_DEPTH = 200


def summary_properties(
    *,
    state_id: str,
    run_id: str,
    checkpoint: int,
    tables: Sequence[str],
    state: Mapping[str, Any] | None,
    previous_state: Mapping[str, Any] | None,
) -> dict[str, str]:
    props = {
        STATE_ID: state_id,
        RUN_ID: run_id,
        CHECKPOINT: str(checkpoint),
        TABLES: codec.dumps_str(sorted(tables)),
    }
    if state is not None:
        props[STATE] = codec.dumps_str(state)
    if len(tables) > 1 and previous_state is not None:
        props[PREVIOUS_STATE] = codec.dumps_str(previous_state)
    return props


@dataclass(slots=True)
class _Checkpoint:
    declared: set[str]
    state: str | None
    previous: str | None
    timestamp_ms: int
    seen: set[str] = field(default_factory=set)

    def complete(self) -> bool:
        return self.declared <= self.seen


def history(table: Table) -> Iterator[Snapshot]:
    """The table's snapshots, newest first, as far back as recovery looks (``MAX_DEPTH``)."""
    from pyiceberg.table.snapshots import ancestors_of

    for depth, snapshot in enumerate(ancestors_of(table.current_snapshot(), table.metadata)):
        if depth >= MAX_DEPTH:
            return
        yield snapshot


def checkpoint_of(snapshot: Snapshot, state_id: str) -> tuple[str, int] | None:
    """``(run id, checkpoint number)`` of a checkpoint snapshot of pipeline ``state_id``."""
    summary = snapshot.summary
    if summary is None or summary[STATE_ID] != state_id:
        return None
    run, number = summary[RUN_ID], summary[CHECKPOINT]
    return None if run is None or number is None else (str(run), int(number))


def _entries(name: str, table: Table, state_id: str) -> Iterable[tuple[tuple[str, int], str, Any]]:
    for snapshot in history(table):
        key = checkpoint_of(snapshot, state_id)
        if key is not None:
            yield key, name, snapshot


def recover_from_tables(tables: Mapping[str, Table], state_id: str) -> dict[str, Any] | None:
    """The newest state every table has durably committed, or None if there is none."""
    checkpoints: dict[tuple[str, int], _Checkpoint] = {}
    for name, table in tables.items():
        for key, table_name, snapshot in _entries(name, table, state_id):
            summary = snapshot.summary
            found = checkpoints.get(key)
            if found is None:
                found = checkpoints[key] = _Checkpoint(
                    declared=set(codec.loads(summary[TABLES] or "[]")),
                    state=summary[STATE],
                    previous=summary[PREVIOUS_STATE],
                    timestamp_ms=snapshot.timestamp_ms,
                )
            found.seen.add(table_name)
            found.timestamp_ms = max(found.timestamp_ms, snapshot.timestamp_ms)
    newest_first = sorted(
        checkpoints.items(), key=lambda kv: (kv[1].timestamp_ms, kv[0][1]), reverse=True
    )
    for _key, checkpoint in newest_first:
        if checkpoint.complete():
            if checkpoint.state is not None:
                return dict(codec.loads(checkpoint.state))
        elif checkpoint.previous is not None:
            return dict(codec.loads(checkpoint.previous))
    return None


def recover_state(catalog: Catalog, namespace: str, state_id: str) -> dict[str, Any] | None:
    """Read the last committed Singer state of pipeline ``state_id`` from the namespace's tables."""
    tables = {}
    for identifier in catalog.list_tables(namespace):
        tables[identifier[-1]] = catalog.load_table(identifier)
    return recover_from_tables(tables, state_id)
