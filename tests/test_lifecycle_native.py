"""spec / check / discover of Dativo's own connectors (native engine), as registered."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from dativo_protocol import codec
from dativo_protocol.runner.registry import Registry
from tests.fixtures.cli import assert_no_secret
from tests.registry_helpers import write_json

BIN = Path(sys.executable).parent
NATIVE = [e for e in Registry.load(entry_points=False).entries() if e.engine == "native"]
#: Dativo-level capabilities a connector's --about does not list (they are ours, not singer-sdk's)
DATIVO_ONLY = {"spec", "check", "incremental", "test"}


def installed(script: str) -> bool:
    return (BIN / script).exists() or shutil.which(script) is not None


@pytest.mark.parametrize("entry", NATIVE, ids=lambda e: e.name)
def test_registry_claims_match_the_connectors_own_about(entry, run_cli):
    script = entry.launch.entry_point or entry.name
    if not installed(script):
        pytest.skip(f"{script} is not installed yet (it lands with its own branch)")
    about = run_cli(script, "--about", "--format", "json")
    assert about.returncode == 0, about.stderr
    declared = set(codec.loads(about.stdout)["capabilities"])
    assert set(entry.capabilities) - DATIVO_ONLY <= declared


def test_target_parquet_spec_and_config_check(run_cli, tmp_path: Path):
    if not installed("target-parquet"):
        pytest.skip("target-parquet is not installed yet")
    spec = run_cli("dativo", "spec", "target-parquet")
    assert spec.returncode == 0, spec.stderr
    connection = codec.loads(spec.stdout)["connectionSpecification"]
    assert "destination_path" in connection["required"]
    assert connection["properties"]["aws_secret_access_key"]["airbyte_secret"] is True
    assert "airbyte_secret" not in connection["properties"]["destination_path"]

    canary = "aws-Canary-secret-5511"
    missing = write_json(tmp_path / "missing.json", {"aws_secret_access_key": canary})
    failed = run_cli("dativo", "check", "target-parquet", "--config", missing)
    assert failed.returncode == 6
    assert b"invalid config: config: 'destination_path' is a required property" in failed.stdout
    good = write_json(
        tmp_path / "good.json",
        {"destination_path": str(tmp_path / "out"), "aws_secret_access_key": canary},
    )
    passed = run_cli("dativo", "--json", "check", "target-parquet", "--config", good)
    assert passed.returncode == 0, passed.stderr
    assert codec.loads(passed.stdout)["status"] == "SUCCEEDED"
    assert_no_secret(canary, failed.stdout, failed.stderr, passed.stdout, passed.stderr)


def test_tap_csv_spec_check_discover(run_cli, tmp_path: Path):
    if not installed("tap-csv"):
        pytest.skip("tap-csv is not installed yet")
    (tmp_path / "people.csv").write_text("id,name\n1,ada\n2,grace\n")
    spec = run_cli("dativo", "spec", "tap-csv")
    assert spec.returncode == 0, spec.stderr
    assert "files" in codec.loads(spec.stdout)["connectionSpecification"]["properties"]

    config = {"files": [{"entity": "people", "path": str(tmp_path / "people.csv"), "keys": ["id"]}]}
    good = write_json(tmp_path / "good.json", config)
    checked = run_cli("dativo", "check", "tap-csv", "--config", good)
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.startswith(b"SUCCEEDED: tap-csv@")
    missing = {"files": [{"entity": "people", "path": str(tmp_path / "nope.csv")}]}
    failed = run_cli(
        "dativo", "check", "tap-csv", "--config", write_json(tmp_path / "bad.json", missing)
    )
    assert failed.returncode == 6
    assert len(failed.stdout.strip().splitlines()) == 1
    assert b"FAILED: tap-csv@" in failed.stdout

    discovered = run_cli("dativo", "discover", "tap-csv", "--config", good)
    assert discovered.returncode == 0, discovered.stderr
    (stream,) = codec.loads(discovered.stdout)["streams"]
    assert stream["tap_stream_id"] == "people"
    assert {"id", "name"} <= set(stream["schema"]["properties"])
