"""An existing Singer tap from PyPI (meltanolabs-tap-postgres, `singer` engine of the registry)
against the real PostgreSQL server, through `dativo run`, incremental across two runs."""

from __future__ import annotations

import pytest
import yaml

from dativo_protocol import codec
from tests.fixtures.cli import assert_no_secret
from tests.fixtures.peers import CACHE
from tests.runner.conftest import TARGET, read_output

CANARY = "canary-pg-Secr3t-4411"


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.peers
def test_tap_postgres_incremental_through_the_singer_engine(run_cli, postgres_server, tmp_path):
    db = postgres_server.create_database()
    postgres_server.psql(
        "CREATE TABLE users (id int PRIMARY KEY, name text NOT NULL);"
        "INSERT INTO users SELECT g, 'user-' || g FROM generate_series(1, 20) g;",
        db,
    )
    job = tmp_path / "pg.yaml"
    job.write_text(
        yaml.safe_dump(
            {
                "source": {
                    "connector": "tap-postgres",
                    "config": {
                        "host": postgres_server.host,
                        "port": postgres_server.port,
                        "user": postgres_server.user,
                        "password": CANARY,  # trust auth ignores it; it must never be printed
                        "database": db,
                    },
                },
                "target": {"command": TARGET, "config": {"path": str(tmp_path / "out")}},
                "streams": {
                    "select": ["public-users.*"],
                    "metadata": {
                        "public-users": {
                            "replication-method": "INCREMENTAL",
                            "replication-key": "id",
                        }
                    },
                },
                "state": {"backend": str(tmp_path / "state")},
            }
        )
    )
    env = {"DATIVO_HOME": str(CACHE / "dativo-home")}
    proc = run_cli("dativo", "run", job, "--json", env=env, timeout=900)
    assert proc.returncode == 0, proc.stderr.decode()[-3000:]
    run = codec.loads(proc.stdout)["runs"][0]
    assert run["streams"]["public-users"]["loaded"] == 20
    assert sorted(read_output(tmp_path / "out", "public-users")) == list(range(1, 21))
    bookmark = run["final_state"]["bookmarks"]["public-users"]
    assert bookmark["replication_key_value"] == 20

    postgres_server.psql(
        "INSERT INTO users SELECT g, 'user-' || g FROM generate_series(21, 25) g", db
    )
    proc = run_cli("dativo", "run", job, "--json", env=env, timeout=900)
    assert proc.returncode == 0, proc.stderr.decode()[-3000:]
    run = codec.loads(proc.stdout)["runs"][0]
    # singer-sdk's incremental filter is `>=`, so the bookmarked row comes again
    assert run["streams"]["public-users"]["loaded"] == 6
    assert sorted(set(read_output(tmp_path / "out", "public-users"))) == list(range(1, 26))
    assert_no_secret(CANARY, proc.stdout, proc.stderr)
