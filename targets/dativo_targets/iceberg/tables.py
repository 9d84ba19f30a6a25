"""Open a stream's table: load it and evolve its schema, or create it with its layout."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from dativo_protocol.errors import ConfigError, DestinationError

from .layout import apply_layout, parse_partition, parse_sort
from .schema import evolve, table_arrow_schema
from .settings import IcebergSettings

if TYPE_CHECKING:
    import pyarrow as pa
    from pyiceberg.catalog import Catalog
    from pyiceberg.table import Table

log = logging.getLogger(__name__)

#: attempts of a schema update or a checkpoint commit on one table when writers conflict
COMMIT_ATTEMPTS = 5


def check_layout(settings: IcebergSettings, stream: str, arrow_schema: pa.Schema) -> None:
    """Partition and sort settings name columns of the stream (checked before any I/O)."""
    partition = parse_partition(settings.partition_for(stream), stream)
    sort = parse_sort(settings.sort_for(stream), stream)
    names = set(arrow_schema.names)
    for column in [f.column for f in partition] + [f.column for f in sort]:
        if column.split(".", 1)[0] not in names:
            raise ConfigError(
                f"invalid table layout: column '{column}' is not in the stream's schema",
                stream=stream,
            )


def load_or_create(
    catalog: Catalog,
    settings: IcebergSettings,
    stream: str,
    arrow_schema: pa.Schema,
    keys: tuple[str, ...],
) -> Table:
    from pyiceberg.exceptions import (
        CommitFailedException,
        NoSuchTableError,
        TableAlreadyExistsError,
    )

    identifier = (settings.namespace, settings.table_name(stream))
    try:
        table = catalog.load_table(identifier)
    except NoSuchTableError:
        try:
            return _create(catalog, settings, stream, identifier, arrow_schema, keys)
        except (TableAlreadyExistsError, CommitFailedException):
            table = catalog.load_table(identifier)  # another writer created it first
    for attempt in range(1, COMMIT_ATTEMPTS + 1):
        try:
            return evolve(table, arrow_schema, keys, stream)
        except CommitFailedException:  # another writer evolved it at the same moment
            if attempt == COMMIT_ATTEMPTS:
                raise DestinationError(
                    "schema update kept conflicting with concurrent writers", stream=stream
                ) from None
            table = table.refresh()
    raise AssertionError("unreachable")  # pragma: no cover


def _create(
    catalog: Catalog,
    settings: IcebergSettings,
    stream: str,
    identifier: tuple[str, str],
    arrow_schema: pa.Schema,
    keys: tuple[str, ...],
) -> Table:
    schema = table_arrow_schema(arrow_schema, keys, stream)
    partition = parse_partition(settings.partition_for(stream), stream)
    sort = parse_sort(settings.sort_for(stream), stream)
    txn = catalog.create_table_transaction(
        identifier, schema=schema, properties=settings.properties_for(stream)
    )
    if keys:
        with txn.update_schema() as update:
            update.set_identifier_fields(*keys)
    apply_layout(txn, partition, sort, stream)
    txn.commit_transaction()
    log.info("created Iceberg table %s", ".".join(identifier))
    return catalog.load_table(identifier)  # the transaction's table is a staged one
