"""The Iceberg sink driven directly with Arrow batches, on the embedded SQLite catalog."""

from __future__ import annotations

import pyarrow as pa
import pytest
from dativo_targets.iceberg.catalog import open_catalog
from dativo_targets.iceberg.checkpoint import recover_state
from dativo_targets.iceberg.schema import IncompatibleSchemaError

from dativo_protocol.errors import ConfigError, RecordValidationError

from .helpers import local_settings, make_sink, rows, users, users_schema


def test_append_commits_one_snapshot_per_checkpoint_with_state(tmp_path):
    settings = local_settings(tmp_path)
    sink = make_sink(settings)
    sink.open_stream("users", users_schema())
    sink.write("users", users(range(3)))
    sink.write("users", users(range(3, 5)))
    sink.commit({"bookmarks": {"users": 4}})
    sink.write("users", users(range(5, 7)))
    sink.commit({"bookmarks": {"users": 6}})
    sink.close()

    assert [r["id"] for r in rows(settings)] == list(range(7))
    table = open_catalog(settings).load_table(("singer", "users"))
    snaps = table.metadata.snapshots
    assert len(snaps) == 2
    summary = snaps[-1].summary
    assert summary is not None
    assert summary["dativo.state"] == '{"bookmarks":{"users":6}}'
    assert summary["dativo.checkpoint"] == "2"
    assert recover_state(open_catalog(settings), "singer", "default") == {"bookmarks": {"users": 6}}


def test_nothing_written_means_no_snapshot_and_no_state(tmp_path):
    settings = local_settings(tmp_path)
    sink = make_sink(settings)
    sink.open_stream("users", users_schema())
    sink.write("users", users(range(3)))
    sink.abort()
    sink.commit({"bookmarks": {"users": 2}})
    table = open_catalog(settings).load_table(("singer", "users"))
    assert table.current_snapshot() is None
    assert recover_state(open_catalog(settings), "singer", "default") is None


def test_upsert_keeps_one_row_per_key_last_wins(tmp_path):
    settings = local_settings(tmp_path, load_method="upsert")
    sink = make_sink(settings)
    sink.open_stream("users", users_schema())
    sink.write("users", users(range(10), "v1"))
    sink.commit({"n": 1})
    sink.write("users", users([3, 4, 20], "v2"))
    sink.write("users", users([4], "v3"))  # same key twice in one checkpoint: the last wins
    sink.commit({"n": 2})
    got = {r["id"]: r["name"] for r in rows(settings)}
    assert len(got) == 11
    assert got[3] == "v2-3"
    assert got[4] == "v3-4"
    assert got[20] == "v2-20"
    assert got[0] == "v1-0"
    table = open_catalog(settings).load_table(("singer", "users"))
    assert table.schema().identifier_field_names() == {"id"}


def test_upsert_composite_key(tmp_path):
    schema = pa.schema([("a", pa.int64()), ("b", pa.string()), ("v", pa.int64())])
    settings = local_settings(tmp_path, load_method="upsert")
    sink = make_sink(settings)
    sink.open_stream("pairs", users_schema(schema, ("a", "b")))
    sink.write(
        "pairs", pa.RecordBatch.from_pydict({"a": [1, 1, 2], "b": ["x", "y", "x"], "v": [1, 2, 3]})
    )
    sink.commit(None)
    sink.write("pairs", pa.RecordBatch.from_pydict({"a": [1, 2], "b": ["y", "y"], "v": [20, 30]}))
    sink.commit(None)
    got = sorted((r["a"], r["b"], r["v"]) for r in rows(settings, "pairs"))
    assert got == [(1, "x", 1), (1, "y", 20), (2, "x", 3), (2, "y", 30)]


def test_overwrite_replaces_rows_in_one_commit(tmp_path):
    settings = local_settings(tmp_path)
    sink = make_sink(settings)
    sink.open_stream("users", users_schema())
    sink.write("users", users(range(5)))
    sink.commit(None)
    sink.close()

    refresh = make_sink(local_settings(tmp_path, load_method="overwrite"))
    refresh.open_stream("users", users_schema())
    refresh.write("users", users([100, 101]))
    refresh.commit({"done": True})
    refresh.write("users", users([102]))
    refresh.commit({"done": True})
    assert [r["id"] for r in rows(settings)] == [100, 101, 102]
    table = open_catalog(settings).load_table(("singer", "users"))
    assert len(table.metadata.snapshots) == 3  # the replacement was one snapshot


def test_activate_version_keeps_only_rows_since_the_last_activation(tmp_path):
    settings = local_settings(tmp_path)
    sink = make_sink(settings)
    sink.open_stream("users", users_schema())
    sink.write("users", users(range(5)))
    sink.commit(None)
    sink.write("users", users([7, 8]))
    sink.commit(None)
    sink.write("users", users([9]))
    sink.activate_version("users", 2)
    sink.commit(None)
    # this run's rows since the start (no earlier activation) are the new version
    assert [r["id"] for r in rows(settings)] == [0, 1, 2, 3, 4, 7, 8, 9]
    sink.write("users", users([50]))
    sink.activate_version("users", 3)
    sink.commit(None)
    assert [r["id"] for r in rows(settings)] == [50]


def test_schema_evolution_adds_columns_and_widens(tmp_path):
    narrow = pa.schema([("id", pa.int64()), ("score", pa.int32())])
    settings = local_settings(tmp_path)
    sink = make_sink(settings)
    sink.open_stream("s", users_schema(narrow))
    sink.write("s", pa.RecordBatch.from_pydict({"id": [1], "score": [5]}, schema=narrow))
    sink.commit(None)
    sink.close()

    wide = pa.schema([("id", pa.int64()), ("score", pa.int64()), ("extra", pa.string())])
    sink = make_sink(settings)
    sink.open_stream("s", users_schema(wide))
    sink.write(
        "s", pa.RecordBatch.from_pydict({"id": [2], "score": [2**40], "extra": ["x"]}, schema=wide)
    )
    sink.commit(None)
    table = open_catalog(settings).load_table(("singer", "s"))
    ids = {f.name: f.field_id for f in table.schema().fields}
    assert ids == {"id": 1, "score": 2, "extra": 3}
    got = sorted((r["id"], r["score"], r["extra"]) for r in rows(settings, "s"))
    assert got == [(1, 5, None), (2, 2**40, "x")]


def test_incompatible_schema_change_is_a_clear_error(tmp_path):
    settings = local_settings(tmp_path)
    sink = make_sink(settings)
    sink.open_stream("users", users_schema())
    bad = pa.schema([("id", pa.int64()), ("name", pa.int64())])
    with pytest.raises(IncompatibleSchemaError, match=r"stream 'users'.*name: string -> long"):
        sink.open_stream("users", users_schema(bad))


def test_null_key_is_rejected_before_any_commit(tmp_path):
    settings = local_settings(tmp_path, load_method="upsert")
    sink = make_sink(settings)
    sink.open_stream("users", users_schema())
    sink.write("users", pa.RecordBatch.from_pydict({"id": [1, None], "name": ["a", "b"]}))
    with pytest.raises(RecordValidationError, match="key property 'id' is null"):
        sink.commit({"x": 1})
    table = open_catalog(settings).load_table(("singer", "users"))
    assert table.current_snapshot() is None


def test_upsert_without_keys_is_a_config_error(tmp_path):
    sink = make_sink(local_settings(tmp_path, load_method="upsert"))
    with pytest.raises(ConfigError, match="needs key_properties"):
        sink.open_stream("users", users_schema(keys=()))


def test_partition_and_sort_from_config(tmp_path):
    settings = local_settings(
        tmp_path,
        streams={
            "users": {"partition_by": ["day(updated_at)", "bucket(4, id)"], "sort_by": ["id desc"]}
        },
    )
    sink = make_sink(settings)
    sink.open_stream("users", users_schema())
    sink.write("users", users([1, 2, 3, 90000, 90001]))
    sink.commit(None)
    table = open_catalog(settings).load_table(("singer", "users"))
    assert [str(f.transform) for f in table.spec().fields] == ["day", "bucket[4]"]
    assert table.sort_order().fields[0].direction.name == "DESC"
    assert len({t.file.partition for t in table.scan().plan_files()}) > 1
    assert [r["id"] for r in rows(settings)] == [1, 2, 3, 90000, 90001]


def test_bad_partition_spec_is_a_config_error(tmp_path):
    sink = make_sink(local_settings(tmp_path, partition_by=["bucket(id)"]))
    with pytest.raises(ConfigError, match="bucket"):
        sink.open_stream("users", users_schema())
    sink = make_sink(local_settings(tmp_path, partition_by=["day(nope)"]))
    with pytest.raises(ConfigError, match="nope"):
        sink.open_stream("users", users_schema())


def test_unknown_settings_value_is_a_config_error_without_echo(tmp_path):
    from dativo_targets.iceberg.settings import IcebergSettings

    with pytest.raises(ConfigError, match="load_method") as info:
        IcebergSettings.from_config({"load_method": "merge-s3cr3t-value"})
    assert "s3cr3t" not in str(info.value)


def test_metadata_files_are_pruned(tmp_path):
    settings = local_settings(tmp_path, expire_snapshots_every=5, snapshot_keep_last=3)
    sink = make_sink(settings)
    sink.open_stream("users", users_schema())
    for i in range(15):
        sink.write("users", users([i]))
        sink.commit({"i": i})
    table = open_catalog(settings).load_table(("singer", "users"))
    assert len(table.metadata.snapshots) <= 8
    metadata_dir = tmp_path / "wh" / "singer" / "users" / "metadata"
    assert 1 <= len(list(metadata_dir.glob("*.metadata.json"))) <= 12  # 16 commits + expiries
    assert len(rows(settings)) == 15
    assert recover_state(open_catalog(settings), "singer", "default") == {"i": 14}


def test_expiry_deletes_data_files_only_expired_snapshots_referenced(tmp_path):
    from dativo_targets.iceberg.maintenance import expire_snapshots

    settings = local_settings(tmp_path, load_method="upsert", expire_snapshots_every=0)
    sink = make_sink(settings)
    sink.open_stream("users", users_schema())
    sink.write("users", users(range(10)))
    sink.commit(None)
    for version in ("v2", "v3", "v4"):  # each upsert rewrites the file holding key 1
        sink.write("users", users([1], version))
        sink.commit(None)
    sink.close()
    data_dir = tmp_path / "wh" / "singer" / "users" / "data"
    on_disk = {p.name for p in data_dir.rglob("*.parquet")}
    table = open_catalog(settings).load_table(("singer", "users"))
    live = {t.file.file_path.rsplit("/", 1)[-1] for t in table.scan().plan_files()}
    assert len(on_disk) > len(live)

    result = expire_snapshots(table, keep_last=1)
    assert (result.expired, result.kept) == (3, 1)
    assert result.files_deleted == len(on_disk) - len(live)
    assert {p.name for p in data_dir.rglob("*.parquet")} == live
    assert {r["id"]: r["name"] for r in rows(settings)}[1] == "v4-1"
    assert len(rows(settings)) == 10


def test_unrelated_arrow_types_are_mapped(tmp_path):
    schema = pa.schema([("id", pa.int64()), ("ts", pa.timestamp("ns", tz="UTC")), ("n", pa.null())])
    settings = local_settings(tmp_path)
    sink = make_sink(settings)
    sink.open_stream("t", users_schema(schema))
    sink.write(
        "t",
        pa.RecordBatch.from_pydict(
            {"id": [1], "ts": pa.array([1_000], pa.timestamp("ns", tz="UTC")), "n": [None]},
            schema=schema,
        ),
    )
    sink.commit(None)
    assert rows(settings, "t")[0]["id"] == 1


def test_multi_table_checkpoint_interrupted_recovers_the_previous_state(tmp_path, monkeypatch):
    from dativo_targets.iceberg import sink as sink_module

    settings = local_settings(tmp_path)
    sink = make_sink(settings)
    sink.open_stream("a", users_schema(stream="a"))
    sink.open_stream("b", users_schema(stream="b"))
    sink.write("a", users([1]))
    sink.write("b", users([1]))
    sink.commit({"n": 1})
    sink.write("a", users([2]))
    sink.write("b", users([2]))
    calls = []
    real = sink_module.IcebergSink._commit_stream

    def die_on_second_table(self, stream, data, props):
        calls.append(stream.name)
        if len(calls) == 2:
            raise KeyboardInterrupt  # the process dies between the two table commits
        return real(self, stream, data, props)

    monkeypatch.setattr(sink_module.IcebergSink, "_commit_stream", die_on_second_table)
    with pytest.raises(KeyboardInterrupt):
        sink.commit({"n": 2})
    assert calls == ["a", "b"]
    catalog = open_catalog(settings)
    head = catalog.load_table(("singer", "a")).current_snapshot()
    assert head is not None
    assert head.summary is not None
    assert head.summary["dativo.state"] == '{"n":2}'
    # table b never got checkpoint 2: the safe state is the previous one
    assert recover_state(catalog, "singer", "default") == {"n": 1}
    assert recover_state(catalog, "singer", "another-pipeline") is None


def test_background_writes_are_invisible_until_commit_and_removed_on_abort(tmp_path, monkeypatch):
    from dativo_targets.iceberg import sink as sink_module

    monkeypatch.setattr(sink_module, "PREWRITE_BYTES", 1)  # every batch goes to the writer thread
    settings = local_settings(tmp_path)
    sink = make_sink(settings)
    sink.open_stream("users", users_schema())
    data_dir = tmp_path / "wh" / "singer" / "users" / "data"
    sink.write("users", users(range(3)))
    sink.write("users", users(range(3, 6)))
    sink.commit({"n": 1})
    assert [r["id"] for r in rows(settings)] == list(range(6))
    committed = set(data_dir.rglob("*.parquet"))
    assert len(committed) == 2

    sink.write("users", users(range(6, 9)))
    sink._drain()
    assert len(set(data_dir.rglob("*.parquet"))) == 3  # written, but not part of the table
    assert [r["id"] for r in rows(settings)] == list(range(6))
    sink.abort()
    assert set(data_dir.rglob("*.parquet")) == committed
    sink.close()


def test_upsert_on_a_partitioned_table_rewrites_only_files_with_hits(tmp_path):
    settings = local_settings(tmp_path, load_method="upsert", partition_by=["bucket(4, id)"])
    sink = make_sink(settings)
    sink.open_stream("users", users_schema())
    sink.write("users", users(range(40)))
    sink.commit(None)
    table = open_catalog(settings).load_table(("singer", "users"))
    before = {t.file.file_path for t in table.scan().plan_files()}
    assert len(before) == 4
    sink.write("users", users([5], "v2"))
    sink.commit(None)
    table = table.refresh()
    after = {t.file.file_path for t in table.scan().plan_files()}
    assert len(before & after) == 3  # the three buckets without key 5 were left alone
    got = {r["id"]: r["name"] for r in rows(settings)}
    assert len(got) == 40
    assert got[5] == "v2-5"


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({}, "65536"),  # high-cardinality columns fall back to plain encoding early
        ({"table_properties": {"write.parquet.dict-size-bytes": "2097152"}}, "2097152"),
    ],
)
def test_new_tables_get_a_small_dictionary_size_limit_unless_configured(tmp_path, extra, expected):
    settings = local_settings(tmp_path, **extra)
    sink = make_sink(settings)
    sink.open_stream("users", users_schema())
    sink.write("users", users(range(3)))
    sink.commit(None)
    sink.close()
    table = open_catalog(settings).load_table(("singer", "users"))
    assert table.properties["write.parquet.dict-size-bytes"] == expected
    assert [r["id"] for r in rows(settings)] == [0, 1, 2]
