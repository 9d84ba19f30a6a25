"""Data files written by our Parquet writer are Iceberg data files: field ids, column metrics
that prune scans, partition values, PyIceberg's writer properties; and PyIceberg's own writer
where ours does not apply (column names Avro must sanitise)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from dativo_targets.iceberg.catalog import open_catalog
from dativo_targets.kit.sink import StreamSchema

from .helpers import local_settings, make_sink, rows

SCHEMA = pa.schema(
    [
        pa.field("id", pa.int64()),
        pa.field("country", pa.string()),
        pa.field("name", pa.string()),
        pa.field("meta", pa.struct([("source", pa.string()), ("score", pa.float64())])),
        pa.field("tags", pa.list_(pa.string())),
        pa.field("ts", pa.timestamp("us", tz="UTC")),
    ]
)


def batch(ids: range) -> pa.RecordBatch:
    return pa.RecordBatch.from_pylist(
        [
            {
                "id": i,
                "country": "SE" if i % 2 else "NO",
                "name": f"name-{i}",
                "meta": {"source": "api", "score": i / 4},
                "tags": [f"t{i % 3}"],
                "ts": i * 60_000_000,
            }
            for i in ids
        ],
        schema=SCHEMA,
    )


def write(tmp_path: Path, checkpoints: list[range], **config: Any) -> Any:
    settings = local_settings(tmp_path, **config)
    sink = make_sink(settings)
    sink.open_stream("s", StreamSchema(stream="s", json_schema={}, arrow=SCHEMA))
    for ids in checkpoints:
        sink.write("s", batch(ids))
        sink.commit({"bookmarks": {"s": ids[-1]}})
    sink.close()
    return settings, open_catalog(settings).load_table(("singer", "s"))


def encodings(path: str) -> dict[str, tuple[str, ...]]:
    meta = pq.ParquetFile(path.removeprefix("file://")).metadata.row_group(0)
    return {
        meta.column(i).path_in_schema: meta.column(i).encodings for i in range(meta.num_columns)
    }


def test_files_carry_the_tables_field_ids_and_read_back_everywhere(tmp_path):
    settings, table = write(tmp_path, [range(0, 500), range(500, 1000)])
    files = [task.file for task in table.scan().plan_files()]
    assert len(files) == 2
    ids_in_file = {
        f.name: int(f.metadata[b"PARQUET:field_id"])
        for f in pq.read_schema(files[0].file_path.removeprefix("file://"))
    }
    ids_in_table = {f.name: f.field_id for f in table.schema().fields}
    assert ids_in_file == ids_in_table
    expected = batch(range(1000)).to_pylist()
    assert sorted(table.scan().to_arrow().to_pylist(), key=lambda r: r["id"]) == expected
    sql = "select id, name, meta.score from read_parquet(?) order by id"
    got = duckdb.connect().execute(sql, [f"{tmp_path}/wh/**/*.parquet"])
    assert got.fetchall() == [(r["id"], r["name"], r["meta"]["score"]) for r in expected]
    assert rows(settings, "s")[0]["tags"] == ["t0"]


def test_column_metrics_prune_files_in_scans(tmp_path):
    _, table = write(tmp_path, [range(0, 100), range(100, 200), range(200, 300)])
    (only,) = list(table.scan(row_filter="id > 250").plan_files())
    assert only.file.record_count == 100
    assert only.file.lower_bounds
    assert only.file.upper_bounds
    assert only.file.null_value_counts[table.schema().find_field("id").field_id] == 0
    assert table.scan(row_filter="id = 150").to_arrow()["name"].to_pylist() == ["name-150"]


@pytest.mark.parametrize(
    ("dictionary", "dict_columns"),
    [
        ("strings", {"country", "meta.source"}),  # lists are not walked
        ("none", set()),
    ],
)
def test_only_repeating_strings_get_a_dictionary_unless_configured(
    tmp_path, dictionary, dict_columns
):
    _, table = write(tmp_path, [range(1000)], dictionary=dictionary)
    (task,) = list(table.scan().plan_files())
    found = {col for col, enc in encodings(task.file.file_path).items() if "RLE_DICTIONARY" in enc}
    assert found == dict_columns


def test_writer_properties_of_the_table_apply(tmp_path):
    props = {"write.parquet.compression-codec": "snappy", "write.parquet.row-group-limit": "100"}
    _, table = write(tmp_path, [range(1000)], table_properties=props)
    (task,) = list(table.scan().plan_files())
    meta = pq.ParquetFile(task.file.file_path.removeprefix("file://")).metadata
    assert meta.num_row_groups == 10
    assert meta.row_group(0).column(0).compression == "SNAPPY"


def test_partitioned_files_hold_their_partition_values(tmp_path):
    _, table = write(tmp_path, [range(40)], partition_by=["country", "day(ts)"])
    files = [task.file for task in table.scan().plan_files()]
    assert {f.partition[0] for f in files} == {"SE", "NO"}
    for f in files:
        path = f.file_path.removeprefix("file://")
        assert f"country={f.partition[0]}" in path
        assert set(pq.read_table(path).column("country").to_pylist()) == {f.partition[0]}
    scan = table.scan(row_filter="country = 'SE'")
    assert len(list(scan.plan_files())) == 1
    assert sorted(scan.to_arrow()["id"].to_pylist()) == list(range(1, 40, 2))


def test_column_names_avro_must_sanitise_go_through_pyiceberg(tmp_path):
    schema = pa.schema([("id", pa.int64()), ("first name", pa.string()), ("1st", pa.int64())])
    settings = local_settings(tmp_path)
    sink = make_sink(settings)
    sink.open_stream("odd", StreamSchema(stream="odd", json_schema={}, arrow=schema))
    sink.write(
        "odd",
        pa.RecordBatch.from_pydict({"id": [1, 2], "first name": ["a", "b"], "1st": [5, 6]}, schema),
    )
    sink.commit(None)
    sink.close()
    assert rows(settings, "odd") == [
        {"id": 1, "first name": "a", "1st": 5},
        {"id": 2, "first name": "b", "1st": 6},
    ]
