"""``dativo validate --batch-files`` on BATCH files in S3 (moto's server on loopback, fsspec)."""

from __future__ import annotations

import gzip
import io
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dativo_protocol.errors import ExitCode
from tests.fixtures.cli import RunCli, assert_no_secret
from tests.fixtures.services import S3Server

pytestmark = pytest.mark.s3

CANARY = "canary-batch-s3cret-4417"  # the S3 secret key (moto accepts any) and a bad value
SCHEMA = {
    "type": "SCHEMA",
    "stream": "s",
    "schema": {"type": "object", "properties": {"id": {"type": "integer"}}},
    "key_properties": ["id"],
}


def batch_stream(*manifest: str, fmt: str = "jsonl", compression: str = "gzip") -> bytes:
    batch = {
        "type": "BATCH",
        "stream": "s",
        "encoding": {"format": fmt, "compression": compression},
        "manifest": list(manifest),
    }
    return b"".join(orjson.dumps(m) + b"\n" for m in (SCHEMA, batch))


def storage_options(tmp_path: Path, s3: S3Server) -> Path:
    options = {**s3.storage_options(), "secret": CANARY}
    path = tmp_path / "storage.json"
    path.write_bytes(orjson.dumps(options))
    return path


def validate(run_cli: RunCli, tmp_path: Path, s3: S3Server, data: bytes) -> Any:
    opts = storage_options(tmp_path, s3)
    args = ("--json", "validate", "--all", "--batch-files", "--storage-options", opts, "-")
    result = run_cli("dativo", *args, input=data)
    assert_no_secret(CANARY, result.stdout, result.stderr)
    return result


def test_batch_files_on_s3_are_read_and_checked(
    run_cli: RunCli, tmp_path: Path, s3_server: S3Server, s3_bucket: str
) -> None:
    fs = s3_server.filesystem()
    fs.pipe(f"{s3_bucket}/b/good.jsonl.gz", gzip.compress(b'{"id": 1}\n{"id": 2}\n'))

    good = validate(run_cli, tmp_path, s3_server, batch_stream(f"s3://{s3_bucket}/b/good.jsonl.gz"))
    assert good.returncode == 0, good.stderr.decode()
    assert orjson.loads(good.stdout)["streams"]["s"]["batch_records"] == 2
    assert b"not checked" not in good.stderr


def test_parquet_batch_files_on_s3_through_the_runners_opener(
    tmp_path: Path, s3_server: S3Server, s3_bucket: str
) -> None:
    """In-process: a process that read Parquet with pyarrow while fsspec's IO thread runs can
    abort at exit now and then (SIGABRT, "terminate called without an active exception":
    apache/arrow#34314), so the console script is exercised with JSON lines above."""
    from dativo_protocol.runner.batch_open import fsspec_opener
    from dativo_protocol.validate import validate_stream

    sink = io.BytesIO()
    pq.write_table(pa.table({"id": [3, None, 5]}), sink)
    s3_server.filesystem().pipe(f"{s3_bucket}/b/part.parquet", sink.getvalue())
    data = batch_stream(f"s3://{s3_bucket}/b/part.parquet", fmt="parquet", compression="none")
    opener = fsspec_opener(orjson.loads(storage_options(tmp_path, s3_server).read_bytes()))
    report = validate_stream(io.BytesIO(data), batch_files=True, batch_opener=opener)
    assert report.streams["s"].batch_records == 2
    assert [v.reason for v in report.violations] == [
        "BATCH file 1, record 2: field 'id' must be of type integer"
    ]


def test_bad_and_missing_s3_batch_files_are_violations(
    run_cli: RunCli, tmp_path: Path, s3_server: S3Server, s3_bucket: str
) -> None:
    bad = gzip.compress(b'{"id": 7}\n{"id": "' + CANARY.encode() + b'"}\n')
    s3_server.filesystem().pipe(f"{s3_bucket}/b/bad.jsonl.gz", bad)
    data = batch_stream(f"s3://{s3_bucket}/b/bad.jsonl.gz", f"s3://{s3_bucket}/b/gone.jsonl.gz")
    result = validate(run_cli, tmp_path, s3_server, data)
    assert result.returncode == ExitCode.RECORD
    reasons = [v["message"] for v in orjson.loads(result.stdout)["violations"]]
    assert reasons == [
        "BATCH file 1, record 2: field 'id' must be of type integer",
        "BATCH file 2: BATCH manifest file does not exist",
    ]
