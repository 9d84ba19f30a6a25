"""How target-parquet writes its files: dictionaries only where values repeat; local folders
without fsspec."""

from __future__ import annotations

import subprocess
import sys
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


def test_a_run_to_a_local_folder_does_not_import_fsspec(tmp_path: Path) -> None:
    """Start-up is part of every run's time: a local destination needs no fsspec (~25 ms)."""
    config = tmp_path / "t.json"
    config.write_text(f'{{"destination_path": "{tmp_path / "out"}"}}')
    data = tmp_path / "in.jsonl"
    data.write_bytes(
        b'{"type":"SCHEMA","stream":"s","schema":{"properties":{"id":{"type":"integer"}}},'
        b'"key_properties":["id"]}\n{"type":"RECORD","stream":"s","record":{"id":1}}\n'
    )
    code = (
        "import os, sys\n"
        "os._exit = sys.exit  # the console script ends with os._exit: stay alive to look\n"
        "from dativo_targets.parquet.main import main\n"
        f"sys.argv = ['target-parquet', '--config', {str(config)!r}, '--input', {str(data)!r}]\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    assert exc.code == 0, exc.code\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'fsspec'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip().splitlines()[-1] == "[]"
    assert len(list((tmp_path / "out" / "s").glob("*.parquet"))) == 1
