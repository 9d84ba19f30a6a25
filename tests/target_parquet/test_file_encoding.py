"""How target-parquet writes its files: dictionaries only where values repeat; local folders
without fsspec."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from dativo_targets.kit.sink import StreamSchema
from dativo_targets.parquet.localfs import local_root
from dativo_targets.parquet.settings import ParquetSettings
from dativo_targets.parquet.sink import ParquetSink


def test_only_string_columns_that_repeat_get_a_dictionary(tmp_path: Path) -> None:
    schema = pa.schema(
        [
            ("id", pa.int64()),
            ("name", pa.string()),
            ("country", pa.string()),
            ("meta", pa.struct([("source", pa.string())])),
        ]
    )
    n = 1000
    batch = pa.RecordBatch.from_pylist(
        [
            {"id": i, "name": f"n{i}", "country": "SE" if i % 2 else "NO", "meta": {"source": "a"}}
            for i in range(n)
        ],
        schema=schema,
    )
    sink = ParquetSink(ParquetSettings(destination_path=str(tmp_path / "out")))
    sink.open_stream("s", StreamSchema(stream="s", json_schema={}, arrow=schema))
    sink.write("s", batch)
    sink.commit(None)
    sink.close()
    (path,) = (tmp_path / "out" / "s").glob("*.parquet")
    meta = pq.ParquetFile(path).metadata.row_group(0)
    encodings = {
        meta.column(i).path_in_schema: meta.column(i).encodings for i in range(meta.num_columns)
    }
    assert "RLE_DICTIONARY" in encodings["country"]
    assert "RLE_DICTIONARY" in encodings["meta.source"]
    assert "RLE_DICTIONARY" not in encodings["name"]
    assert "RLE_DICTIONARY" not in encodings["id"]
    assert pq.read_table(path).to_pylist() == batch.to_pylist()


def test_local_destinations_are_written_without_fsspec(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    assert local_root(f"file://{folder}", {}) == str(folder)
    assert local_root("relative/out", {}) == str(Path("relative/out").resolve())
    assert local_root("s3://bucket/prefix", {}) is None
    assert local_root("memory://x", {}) is None
    assert local_root(str(folder), {"auto_mkdir": True}) is None  # fsspec honours options
    schema = pa.schema([("id", pa.int64())])
    sink = ParquetSink(ParquetSettings(destination_path=f"file://{folder}"))
    sink.open_stream("s", StreamSchema(stream="s", json_schema={}, arrow=schema))
    sink.write("s", pa.RecordBatch.from_pylist([{"id": 1}, {"id": 2}], schema=schema))
    sink.commit(None)
    sink.close()
    (path,) = (folder / "s").glob("*.parquet")
    assert pq.read_table(path).column("id").to_pylist() == [1, 2]
