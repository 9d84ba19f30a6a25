"""target-parquet on S3 with files larger than the multipart threshold.

s3fs uploads a file in parts once its buffer passes the filesystem's block size (5 MiB at the
least, S3's smallest part), and the object appears only when the upload is completed at commit.
A 5 MiB block size (``storage_options.default_block_size``) keeps the data here at about 11 MB.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from tests.fixtures.cli import script
from tests.fixtures.services import S3Server
from tests.target_parquet.helpers import (
    line,
    read_s3_ids,
    record,
    s3_config,
    schema,
    state,
    states,
    target,
    write_config,
)

pytestmark = pytest.mark.s3

BLOCK = 5 * 2**20
ROWS = 36_000  # x ~300 bytes of incompressible text: ~11 MB of Parquet, three parts
BLOB = {"id": {"type": "integer"}, "blob": {"type": "string"}}


def blob_records(n: int, start: int = 1) -> bytes:
    return b"".join(
        record({"id": i, "blob": os.urandom(150).hex()}, stream="blobs")
        for i in range(start, start + n)
    )


def big_file_config(s3: S3Server, bucket: str) -> dict[str, Any]:
    """One file per commit, written as it fills (small row groups), uncompressed."""
    return s3_config(
        s3,
        bucket,
        storage_options={"default_block_size": BLOCK},
        compression="none",
        row_group_rows=2_000,
        flush_max_rows=1_000_000,
        flush_interval_seconds=3600,
        read_chunk_bytes=64 * 1024,
    )


def objects(s3: S3Server, bucket: str) -> list[dict[str, Any]]:
    listed = s3.client().list_objects_v2(Bucket=bucket).get("Contents", [])
    return [o for o in listed if o["Key"].startswith("lake/")]


def open_uploads(s3: S3Server, bucket: str) -> list[dict[str, Any]]:
    uploads: list[dict[str, Any]] = (
        s3.client().list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    )
    return uploads


def test_file_over_the_multipart_threshold_is_published_whole(
    tmp_path: Path, s3_server: S3Server, s3_bucket: str
) -> None:
    data = schema("blobs", BLOB) + blob_records(ROWS) + state({"upto": ROWS})
    res = target(tmp_path, big_file_config(s3_server, s3_bucket), data)
    assert res.returncode == 0, res.stderr
    assert states(res.stdout) == [{"upto": ROWS}]
    [obj] = objects(s3_server, s3_bucket)
    assert obj["Size"] > 2 * BLOCK
    assert obj["ETag"].strip('"').endswith("-3")  # a completed three-part upload
    assert open_uploads(s3_server, s3_bucket) == []
    # pyarrow reads the whole file back, footer and all
    fs = s3_server.filesystem()
    key = f"{s3_bucket}/{obj['Key']}"
    table = pq.read_table(fs.open(key, "rb"))
    assert table.column("id").to_pylist() == list(range(1, ROWS + 1))
    assert all(len(b) == 300 for b in table.column("blob").to_pylist())
    # and so does DuckDB, through the same fsspec filesystem
    import duckdb

    con = duckdb.connect()
    con.register_filesystem(fs)
    count, low, high = con.execute(
        "SELECT count(*), min(id), max(id) FROM read_parquet(?)", [f"s3://{key}"]
    ).fetchone() or (0, 0, 0)
    assert (count, low, high) == (ROWS, 1, ROWS)


def test_failed_run_aborts_its_multipart_upload(
    tmp_path: Path, s3_server: S3Server, s3_bucket: str
) -> None:
    data = schema("blobs", BLOB) + blob_records(ROWS) + b'{"type": "RECORD", broken\n'
    res = target(tmp_path, big_file_config(s3_server, s3_bucket), data)
    assert res.returncode == 4, res.stderr
    assert states(res.stdout) == []
    assert objects(s3_server, s3_bucket) == []
    # parts had been uploaded (the file passed the block size) and the upload was cancelled
    assert open_uploads(s3_server, s3_bucket) == []


def _wait_for_uploaded_part(s3: S3Server, bucket: str, proc: subprocess.Popen[bytes]) -> None:
    client = s3.client()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        for upload in open_uploads(s3, bucket):
            parts = client.list_parts(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])
            if parts.get("Parts"):
                return
        time.sleep(0.1)
    raise AssertionError("no multipart upload with an uploaded part appeared")


def test_sigkill_mid_upload_leaves_no_object_and_rerun_is_complete(
    tmp_path: Path, s3_server: S3Server, s3_bucket: str
) -> None:
    config = write_config(tmp_path, big_file_config(s3_server, s3_bucket))
    proc = subprocess.Popen(
        [script("target-parquet"), "--config", str(config)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdin is not None
    # two thirds of the rows, and stdin stays open: the tap is still running
    proc.stdin.write(schema("blobs", BLOB) + blob_records(ROWS * 2 // 3))
    proc.stdin.flush()
    try:
        _wait_for_uploaded_part(s3_server, s3_bucket, proc)
    finally:
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert out == b""  # nothing was committed, so no STATE
    # the parts are on the server but no object is visible under the destination
    assert objects(s3_server, s3_bucket) == []
    # a killed process cannot cancel its upload: it stays until a lifecycle rule reclaims it
    [leftover] = open_uploads(s3_server, s3_bucket)
    assert leftover["Key"].startswith("lake/blobs/")

    # the tap runs again from the start (no state): everything arrives once
    data = schema("blobs", BLOB) + blob_records(ROWS) + line({"type": "STATE", "value": {"a": 1}})
    res = target(tmp_path, big_file_config(s3_server, s3_bucket), data)
    assert res.returncode == 0, res.stderr
    assert read_s3_ids(s3_server, s3_bucket, "blobs") == list(range(1, ROWS + 1))
