"""tap-csv reading from the S3-compatible server on loopback (moto), through fsspec/s3fs."""

from __future__ import annotations

import pytest

from tests.fixtures.cli import assert_no_secret
from tests.taps.conftest import records, states, write_json

pytestmark = pytest.mark.s3


def test_s3_glob_with_incremental_by_mtime(run_cli, tmp_path, s3_server, s3_bucket):
    fs = s3_server.filesystem()
    fs.pipe(f"{s3_bucket}/exports/2024-01.csv", b"id,amount\n1,10.5\n2,11\n")
    fs.pipe(f"{s3_bucket}/exports/readme.md", b"# not data\n")
    config = {
        "files": [
            {
                "entity": "payments",
                "path": f"s3://{s3_bucket}/exports/*.csv",
                "keys": ["id"],
                "replication_key": "_sdc_source_file_mtime",
            }
        ],
        "s3": {
            "key": s3_server.access_key,
            "secret": s3_server.secret_key,
            "endpoint_url": s3_server.endpoint_url,
            "region": s3_server.region,
        },
    }
    cfg = write_json(tmp_path / "config.json", config)
    first = run_cli("tap-csv", "--config", cfg, timeout=120)
    assert first.returncode == 0, first.stderr.decode()[-2000:]
    rows = records(first.stdout)
    assert [(r["id"], r["amount"]) for r in rows] == [(1, 10.5), (2, 11.0)]
    assert rows[0]["_sdc_source_file"] == f"s3://{s3_bucket}/exports/2024-01.csv"
    assert_no_secret(s3_server.secret_key, first.stdout, first.stderr)

    fs.pipe(f"{s3_bucket}/exports/2024-02.csv", b"id,amount\n3,12\n")
    state = write_json(tmp_path / "state.json", states(first.stdout)[-1])
    second = run_cli("tap-csv", "--config", cfg, "--state", state, timeout=120)
    assert second.returncode == 0, second.stderr.decode()[-2000:]
    assert [r["id"] for r in records(second.stdout)] == [3]
    assert_no_secret(s3_server.secret_key, second.stdout, second.stderr)
