"""A real Singer tap from PyPI through the registry: meltanolabs-tap-postgres, installed by
Dativo's own install path into an isolated venv, against the real PostgreSQL test server."""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dativo_protocol import codec
from dativo_protocol.runner.launch import invocation, mapper_invocation
from dativo_protocol.runner.registry import Registry
from tests.fixtures.cli import assert_no_secret
from tests.fixtures.peers import CACHE
from tests.fixtures.services import PostgresServer
from tests.registry_helpers import write_json

pytestmark = [pytest.mark.postgres, pytest.mark.peers, pytest.mark.slow]


@pytest.fixture(scope="module")
def home() -> dict[str, str]:
    """DATIVO_HOME in the shared peer cache, so the tap's venv is built once per machine."""
    path = CACHE / "dativo-home"
    path.mkdir(parents=True, exist_ok=True)
    return {"DATIVO_HOME": str(path)}


@pytest.fixture(scope="module")
def pg(postgres_server: PostgresServer) -> Iterator[dict[str, Any]]:
    """A database with two tables and a role that must authenticate by password."""
    db = postgres_server.create_database()
    role = f"dativo_pw_{secrets.token_hex(4)}"
    password = f"Right-{secrets.token_hex(8)}"
    postgres_server.psql(
        "CREATE TABLE customers (id int PRIMARY KEY, email text, country text);"
        "INSERT INTO customers SELECT i, 'c' || i || '@example.com', CASE WHEN i % 2 = 0"
        " THEN 'DE' ELSE 'FR' END FROM generate_series(1, 5) i;"
        "CREATE TABLE orders (order_id int PRIMARY KEY, customer_id int);",
        database=db,
    )
    grant = f"CREATE ROLE {role} LOGIN PASSWORD '{password}'; GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role};"
    postgres_server.psql(grant, database=db)
    # the test server trusts everyone; make this one role prove its password
    hba = Path(postgres_server.psql("SHOW hba_file").strip())
    original = hba.read_text()
    hba.write_text(f"host all {role} 127.0.0.1/32 scram-sha-256\n{original}")
    postgres_server.psql("SELECT pg_reload_conf()")
    yield {
        "host": postgres_server.host,
        "port": postgres_server.port,
        "user": role,
        "password": password,
        "database": db,
        "filter_schemas": ["public"],
    }
    hba.write_text(original)
    postgres_server.psql("SELECT pg_reload_conf()")


def test_install_spec_check_discover(
    run_cli, tmp_path: Path, home: dict[str, str], pg: dict[str, Any]
):
    installed = run_cli("dativo", "--json", "install", "tap-postgres", env=home, timeout=900)
    assert installed.returncode == 0, installed.stderr
    venv = Path(codec.loads(installed.stdout)["venv"])
    assert venv.parent == Path(home["DATIVO_HOME"]) / "venvs"
    assert (venv / "bin" / "tap-postgres").exists()

    spec = run_cli("dativo", "spec", "tap-postgres", env=home)
    assert spec.returncode == 0, spec.stderr
    props = codec.loads(spec.stdout)["connectionSpecification"]["properties"]
    assert props["password"]["airbyte_secret"] is True  # from --about settings
    assert props["sqlalchemy_url"]["airbyte_secret"] is True  # from the registry's secret_fields
    assert "airbyte_secret" not in props["host"]

    good = write_json(tmp_path / "good.json", pg)
    checked = run_cli("dativo", "check", "tap-postgres", "--config", good, env=home)
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.startswith(
        b"SUCCEEDED: tap-postgres@0.10.0: discovery succeeded: 2 streams"
    )

    discovered = run_cli("dativo", "discover", "tap-postgres", "--config", good, env=home)
    assert discovered.returncode == 0, discovered.stderr
    streams = {s["tap_stream_id"]: s for s in codec.loads(discovered.stdout)["streams"]}
    assert set(streams) == {"public-customers", "public-orders"}
    assert set(streams["public-customers"]["schema"]["properties"]) == {"id", "email", "country"}


def test_wrong_password_fails_check_with_one_line_and_never_prints_it(
    run_cli, tmp_path: Path, home: dict[str, str], pg: dict[str, Any]
):
    canary = f"Wrong-canary-{secrets.token_hex(6)}"
    bad = write_json(tmp_path / "bad.json", {**pg, "password": canary})
    checked = run_cli("dativo", "check", "tap-postgres", "--config", bad, env=home)
    assert checked.returncode == 6, checked.stderr  # ExitCode.CONNECTION
    lines = checked.stdout.decode().strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("FAILED: tap-postgres@0.10.0: ")
    assert "password authentication failed" in lines[0]
    discovered = run_cli("dativo", "--json", "discover", "tap-postgres", "--config", bad, env=home)
    assert discovered.returncode == 8
    error = codec.loads(discovered.stderr.strip().splitlines()[-1])
    assert "password authentication failed" in error["message"]
    assert_no_secret(canary, checked.stdout, checked.stderr, discovered.stdout, discovered.stderr)


def test_real_tap_streams_through_the_mapper(
    tmp_path: Path, home: dict[str, str], pg: dict[str, Any], monkeypatch
):
    """tap-postgres (singer engine, launched by `invocation`) | dativo map: hash, drop, filter, rename."""
    monkeypatch.setenv("DATIVO_HOME", home["DATIVO_HOME"])
    entry = Registry.load().resolve("tap-postgres")
    config = write_json(tmp_path / "config.json", pg)
    discover = invocation(entry, "discover", config=config)
    catalog = codec.loads(
        subprocess.run(
            list(discover.argv), env=dict(discover.env), capture_output=True, check=True
        ).stdout
    )
    for stream in catalog["streams"]:
        for item in stream["metadata"]:
            if item["breadcrumb"] == []:
                item["metadata"]["selected"] = stream["tap_stream_id"] == "public-customers"
    catalog_path = write_json(tmp_path / "catalog.json", catalog)
    read = invocation(entry, "read", config=config, catalog=catalog_path)
    assert read.argv[-2:] == ("--catalog", str(catalog_path))
    maps = {
        "public-customers": {
            "__alias__": "clients",
            "email": "md5(email)",
            "country": None,
            "__filter__": "country == 'DE'",
        }
    }
    mapper = mapper_invocation(maps, None, tmp_path / "work")
    tap = subprocess.Popen(
        list(read.argv), env=dict(read.env), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    mapped = subprocess.run(
        list(mapper.argv), env=dict(mapper.env), stdin=tap.stdout, capture_output=True
    )
    assert tap.wait(120) == 0
    assert mapped.returncode == 0, mapped.stderr
    out = [codec.loads(line) for line in mapped.stdout.splitlines()]
    records = [m["record"] for m in out if m["type"] == "RECORD"]
    assert {m["stream"] for m in out if m["type"] in ("RECORD", "SCHEMA")} == {"clients"}
    assert sorted(r["id"] for r in records) == [2, 4]
    import hashlib

    for r in records:
        assert "country" not in r
        assert r["email"] == hashlib.md5(f"c{r['id']}@example.com".encode()).hexdigest()  # noqa: S324
    assert out[-1]["type"] == "STATE"
