"""Catalogs: Singer (breadcrumb metadata, selection), Airbyte (configured), conversion.

- :mod:`~dativo_protocol.catalog.singer`: :class:`SingerCatalog`, selection rules;
- :mod:`~dativo_protocol.catalog.select`: select streams/fields by name or glob;
- :mod:`~dativo_protocol.catalog.airbyte`: Airbyte catalog and configured catalog models;
- :mod:`~dativo_protocol.catalog.convert`: conversion between them.
"""
