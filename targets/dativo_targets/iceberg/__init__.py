"""target-iceberg: Singer streams into Apache Iceberg tables through PyIceberg.

The Singer side (parsing, validation, Arrow batching, checkpoints, STATE emission) is the shared
target kit; this package is the Iceberg :class:`~dativo_targets.iceberg.sink.IcebergSink` plus its
settings, catalog wiring, schema mapping, keyed merge and state recovery.
"""
