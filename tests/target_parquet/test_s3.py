"""target-parquet on S3 (moto's standalone server on loopback, through s3fs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures.cli import assert_no_secret
from tests.fixtures.services import S3Server
from tests.target_parquet.helpers import (
    read_s3_ids,
    record,
    s3_config,
    schema,
    state,
    states,
    target,
    user,
    users_stream,
)

pytestmark = pytest.mark.s3


def test_writes_partitioned_files_to_s3_and_emits_state(
    tmp_path: Path, s3_server: S3Server, s3_bucket: str
) -> None:
    config = s3_config(
        s3_server,
        s3_bucket,
        partition_by=[{"field": "updated_at", "granularity": "day"}],
        flush_max_rows=10,
    )
    res = target(tmp_path, config, users_stream(20, state_every=10))
    assert res.returncode == 0, res.stderr
    assert states(res.stdout) == [
        {"bookmarks": {"users": {"id": 10}}},
        {"bookmarks": {"users": {"id": 20}}},
    ]
    assert read_s3_ids(s3_server, s3_bucket, "users") == list(range(1, 21))
    keys = s3_server.filesystem().find(f"{s3_bucket}/lake/users")
    assert any("/updated_at_day=2024-01-02/" in k for k in keys)
    assert_no_secret(s3_server.secret_key, res.stdout, res.stderr)


def test_failed_run_leaves_no_object_on_s3(
    tmp_path: Path, s3_server: S3Server, s3_bucket: str
) -> None:
    config = s3_config(s3_server, s3_bucket, flush_max_rows=3)
    data = (
        schema()
        + b"".join(record(user(i)) for i in (1, 2, 3))
        + state({"upto": 3})
        + record(user(4))
        + b"{broken\n"
    )
    res = target(tmp_path, config, data)
    assert res.returncode == 4
    assert states(res.stdout) == [{"upto": 3}]
    # the uncommitted upload of record 4 was aborted: only the committed file exists
    assert read_s3_ids(s3_server, s3_bucket, "users") == [1, 2, 3]
