"""Open the PyIceberg catalog the settings describe (embedded SQLite by default)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dativo_protocol.errors import ConfigError, DestinationError

from .settings import IcebergSettings

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog


def catalog_properties(settings: IcebergSettings) -> dict[str, str]:
    """PyIceberg catalog properties: the ``catalog`` dict, plus warehouse, S3 and defaults."""
    props: dict[str, str] = {key: _as_str(value) for key, value in settings.catalog.items()}
    props.setdefault("warehouse", settings.warehouse_location())
    for key, value in settings.io_properties().items():
        props.setdefault(key, value)
    if "type" not in props and "py-catalog-impl" not in props:
        props["type"] = "sql"
    if props["type"] == "sql" and "uri" not in props:
        if not settings.is_local_warehouse():
            raise ConfigError(
                "a remote warehouse needs a catalog: set catalog.uri "
                "(e.g. a PostgreSQL or SQLite URL for type 'sql') or another catalog type"
            )
        root = Path(settings.warehouse.removeprefix("file://")).expanduser().resolve()
        root.mkdir(parents=True, exist_ok=True)
        props["uri"] = f"sqlite:///{root / 'catalog.db'}"
    return props


def _as_str(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def open_catalog(settings: IcebergSettings, attempts: int = 4) -> Catalog:
    """Load the catalog and make sure the namespace exists.

    Several writers starting at once race to create the SQL catalog's tables and the namespace
    (PostgreSQL answers the loser with an IntegrityError); a short retry settles it.
    """
    props = catalog_properties(settings)
    for attempt in range(1, attempts + 1):
        try:
            return _load(settings, props)
        except DestinationError:
            if attempt == attempts:
                raise
            time.sleep(0.2 * attempt)
    raise AssertionError("unreachable")  # pragma: no cover


def _load(settings: IcebergSettings, props: dict[str, str]) -> Catalog:
    from pyiceberg.catalog import load_catalog

    try:
        catalog = load_catalog(settings.catalog_name, **props)
        catalog.create_namespace_if_not_exists(settings.namespace)
    except ValueError as exc:
        raise ConfigError(
            f"cannot configure Iceberg catalog '{settings.catalog_name}'", detail=str(exc)
        ) from None
    except Exception as exc:  # noqa: BLE001 - driver errors (sqlalchemy, HTTP) carry URLs: keep them out
        raise DestinationError(
            f"cannot open Iceberg catalog '{settings.catalog_name}' "
            f"(type {props.get('type')}): {type(exc).__name__}",
            detail=str(exc),
            hint="check catalog.uri, credentials and that the service is reachable",
        ) from None
    return catalog
