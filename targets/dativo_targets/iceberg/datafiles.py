"""New Parquet data files of a table, written by our Parquet writer; not committed.

PyIceberg's writer (``pyiceberg.io.pyarrow._dataframe_to_data_files``, what ``Table.append``
uses) re-projects every batch onto the table schema and dictionary-encodes every column. Our
batches already have the table's exact shape (:func:`.schema.conform` on :func:`file_schema`),
and dictionaries pay only for string columns whose values repeat (``dictionary`` setting, as
in target-parquet): on the benchmark this halves the encoding CPU. What makes a file an Iceberg
data file stays PyIceberg's: partition splitting, file-size bin packing, the location provider,
writer properties (``write.parquet.*``), and the column metrics read back from the Parquet footer
(``data_file_statistics_from_parquet_metadata`` honours ``write.metadata.metrics.*``).

Tables whose files are not Parquet, or whose column names need Avro sanitising, are written by
PyIceberg's own writer.
"""

from __future__ import annotations

import itertools
import uuid
from typing import TYPE_CHECKING, Any

from dativo_targets.kit.dictionary import DictionaryMode, use_dictionary

if TYPE_CHECKING:
    import pyarrow as pa
    from pyiceberg.manifest import DataFile
    from pyiceberg.partitioning import PartitionKey
    from pyiceberg.table import Table
    from pyiceberg.table.metadata import TableMetadata


def file_schema(table: Table) -> pa.Schema:
    """The table's Arrow schema as its data files store it: field ids, regular (not large)
    strings, binaries and lists, so batches from the decoders need no cast."""
    import pyarrow as pa

    def plain(t: pa.DataType) -> pa.DataType:
        if pa.types.is_large_string(t):
            return pa.string()
        if pa.types.is_large_binary(t):
            return pa.binary()
        if pa.types.is_large_list(t) or pa.types.is_list(t):
            return pa.list_(field(t.value_field))
        if pa.types.is_struct(t):
            return pa.struct([field(t.field(i)) for i in range(t.num_fields)])
        if pa.types.is_map(t):
            return pa.map_(field(t.key_field), field(t.item_field))
        return t

    def field(f: pa.Field) -> pa.Field:
        return pa.field(f.name, plain(f.type), nullable=f.nullable, metadata=f.metadata)

    return pa.schema([field(f) for f in table.schema().as_arrow()])


def write_data_files(
    table: Table, data: pa.Table, dictionary: DictionaryMode = "strings"
) -> list[DataFile]:
    """Write ``data`` (in :func:`file_schema`) as data files of ``table``, split by its
    partition spec and target file size. Uses ``table.metadata``: call it before staging
    anything on a transaction of ``table``."""
    if data.num_rows == 0:
        return []
    metadata = table.metadata
    if not _ours(metadata):
        return _pyiceberg_write(table, data)
    from pyiceberg.io.pyarrow import _determine_partitions, bin_pack_arrow_table
    from pyiceberg.table import TableProperties
    from pyiceberg.utils.properties import property_as_int

    spec = metadata.spec()
    parts: list[tuple[PartitionKey | None, pa.Table]] = [(None, data)]
    if not spec.is_unpartitioned():
        parts = [
            (p.partition_key, p.arrow_table_partition)
            for p in _determine_partitions(spec=spec, schema=metadata.schema(), arrow_table=data)
        ]
    target_size = property_as_int(
        metadata.properties,
        TableProperties.WRITE_TARGET_FILE_SIZE_BYTES,
        TableProperties.WRITE_TARGET_FILE_SIZE_BYTES_DEFAULT,
    )
    writer = _Writer(table, dictionary)
    files = []
    for key, part in parts:
        for batches in bin_pack_arrow_table(part, target_size or 0):
            files.append(writer.write(key, batches))
    return files


def _ours(metadata: TableMetadata) -> bool:
    from pyiceberg.schema import sanitize_column_names
    from pyiceberg.table import TableProperties

    file_format = metadata.properties.get(
        TableProperties.WRITE_FILE_FORMAT, TableProperties.WRITE_FILE_FORMAT_DEFAULT
    )
    schema = metadata.schema()
    return file_format.upper() == "PARQUET" and sanitize_column_names(schema) == schema


class _Writer:
    """Writes the files of one call: one write uuid, files numbered from 0."""

    def __init__(self, table: Table, dictionary: DictionaryMode) -> None:
        from pyiceberg.io.pyarrow import (
            _get_parquet_writer_kwargs,
            compute_statistics_plan,
            parquet_path_to_id_mapping,
        )
        from pyiceberg.table import TableProperties
        from pyiceberg.table.locations import load_location_provider
        from pyiceberg.utils.properties import property_as_int

        metadata = table.metadata
        schema = metadata.schema()
        self.io = table.io
        self.metadata = metadata
        self.dictionary = dictionary
        self.kwargs = _get_parquet_writer_kwargs(metadata.properties)
        self.row_group_rows = property_as_int(
            metadata.properties,
            TableProperties.PARQUET_ROW_GROUP_LIMIT,
            TableProperties.PARQUET_ROW_GROUP_LIMIT_DEFAULT,
        )
        self.stats_plan = compute_statistics_plan(schema, metadata.properties)
        self.column_ids = parquet_path_to_id_mapping(schema)
        self.locations = load_location_provider(metadata.location, metadata.properties)
        self.write_uuid = uuid.uuid4()
        self.counter = itertools.count(0)

    def write(self, key: PartitionKey | None, batches: list[pa.RecordBatch]) -> DataFile:
        import pyarrow as pa
        import pyarrow.parquet as pq
        from pyiceberg.io.pyarrow import data_file_statistics_from_parquet_metadata
        from pyiceberg.manifest import DataFile, DataFileContent, FileFormat
        from pyiceberg.typedef import Record

        data = pa.Table.from_batches(batches)
        name = f"{next(self.counter):05d}-0-{self.write_uuid}.parquet"
        path = self.locations.new_data_location(data_file_name=name, partition_key=key)
        out = self.io.new_output(path)
        options: dict[str, Any] = {
            **self.kwargs,
            "use_dictionary": use_dictionary(self.dictionary, data.schema, _sample(data)),
            "store_decimal_as_integer": True,
        }
        with out.create(overwrite=True) as stream:
            writer = pq.ParquetWriter(stream, schema=data.schema, **options)
            try:
                writer.write_table(data, row_group_size=self.row_group_rows)
            finally:
                writer.close()
        stats = data_file_statistics_from_parquet_metadata(
            parquet_metadata=writer.writer.metadata,
            stats_columns=self.stats_plan,
            parquet_column_mapping=self.column_ids,
        )
        return DataFile.from_args(
            content=DataFileContent.DATA,
            file_path=path,
            file_format=FileFormat.PARQUET,
            partition=key.partition if key is not None else Record(),
            file_size_in_bytes=len(out),
            sort_order_id=None,
            spec_id=self.metadata.default_spec_id,
            equality_ids=None,
            key_metadata=None,
            **stats.to_serialized_dict(),
        )


def _sample(data: pa.Table) -> pa.Table:
    """The rows that decide which string columns repeat (as target-parquet: a first batch)."""
    return data.slice(0, 16_384)


def _pyiceberg_write(table: Table, data: pa.Table) -> list[DataFile]:
    from pyiceberg.io.pyarrow import _dataframe_to_data_files

    return list(
        _dataframe_to_data_files(
            table_metadata=table.metadata,
            df=data,
            io=table.io,
            write_uuid=uuid.uuid4(),  # file names embed it: a fresh one per call keeps them unique
            counter=itertools.count(0),
        )
    )
