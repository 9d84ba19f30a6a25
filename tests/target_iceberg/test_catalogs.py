"""The same sink on a PostgreSQL-backed SQL catalog and on an S3 warehouse (real servers)."""

from __future__ import annotations

import duckdb
import pytest
from dativo_targets.iceberg.catalog import open_catalog
from dativo_targets.iceberg.checkpoint import recover_state
from dativo_targets.iceberg.settings import IcebergSettings

from dativo_protocol.errors import DestinationError

from .helpers import make_sink, rows, users, users_schema


@pytest.mark.postgres
def test_postgres_catalog(postgres_server, tmp_path):
    db = postgres_server.create_database()
    settings = IcebergSettings.from_config(
        {
            "warehouse": str(tmp_path / "wh"),
            "namespace": "raw",
            "catalog": {"type": "sql", "uri": postgres_server.dsn(db, "postgresql+psycopg")},
            "load_method": "upsert",
        }
    )
    sink = make_sink(settings)
    sink.open_stream("users", users_schema())
    sink.write("users", users(range(4)))
    sink.commit({"bookmarks": {"users": 3}})
    sink.write("users", users([1, 9], "v2"))
    sink.commit({"bookmarks": {"users": 9}})
    got = {r["id"]: r["name"] for r in rows(settings)}
    assert got == {0: "v1-0", 1: "v2-1", 2: "v1-2", 3: "v1-3", 9: "v2-9"}
    assert recover_state(open_catalog(settings), "raw", "default") == {"bookmarks": {"users": 9}}
    # the catalog really lives in PostgreSQL
    assert "users" in postgres_server.psql("SELECT table_name FROM iceberg_tables", db)


@pytest.mark.postgres
def test_unreachable_catalog_is_a_destination_error_without_the_password(tmp_path):
    settings = IcebergSettings.from_config(
        {
            "warehouse": str(tmp_path / "wh"),
            "catalog": {"uri": "postgresql+psycopg://u:Canary-Pw-123@127.0.0.1:9/x"},
        }
    )
    with pytest.raises(DestinationError, match="cannot open Iceberg catalog") as info:
        open_catalog(settings)
    assert "Canary-Pw-123" not in info.value.user_message()


@pytest.mark.s3
def test_s3_warehouse_read_back_with_duckdb(s3_server, s3_bucket, tmp_path):
    settings = IcebergSettings.from_config(
        {
            "warehouse": f"s3://{s3_bucket}/lake",
            "catalog": {"type": "sql", "uri": f"sqlite:///{tmp_path / 'catalog.db'}"},
            "s3_endpoint_url": s3_server.endpoint_url,
            "aws_access_key_id": s3_server.access_key,
            "aws_secret_access_key": s3_server.secret_key,
            "aws_region": s3_server.region,
        }
    )
    sink = make_sink(settings)
    sink.open_stream("users", users_schema())
    sink.write("users", users(range(5)))
    sink.commit({"n": 1})
    assert [r["id"] for r in rows(settings)] == list(range(5))

    table = open_catalog(settings).load_table(("singer", "users"))
    files = [t.file.file_path for t in table.scan().plan_files()]
    assert files
    assert all(f.startswith(f"s3://{s3_bucket}/lake/") for f in files)
    fs = s3_server.filesystem()
    local = []
    for i, path in enumerate(files):
        target = tmp_path / f"f{i}.parquet"
        fs.get(path, str(target))
        local.append(str(target))
    con = duckdb.connect()
    found = con.execute(
        "SELECT count(*), sum(id) FROM read_parquet($files)", {"files": local}
    ).fetchone()
    assert found == (5, 10)
