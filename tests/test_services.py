"""The real services the suite relies on actually work (so failures elsewhere mean something)."""

from __future__ import annotations

import pytest

from tests.fixtures.services import PostgresServer, S3Server


@pytest.mark.postgres
def test_postgres_server_answers_sql(postgres_server: PostgresServer) -> None:
    db = postgres_server.create_database()
    assert postgres_server.psql("select 40 + 2", database=db).strip() == "42"


@pytest.mark.s3
def test_s3_server_round_trips_through_s3fs(s3_server: S3Server, s3_bucket: str) -> None:
    fs = s3_server.filesystem()
    fs.pipe(f"{s3_bucket}/a/b.txt", b"hello")
    assert fs.cat(f"{s3_bucket}/a/b.txt") == b"hello"
    assert fs.ls(f"{s3_bucket}/a") == [f"{s3_bucket}/a/b.txt"]
