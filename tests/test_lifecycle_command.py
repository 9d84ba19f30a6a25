"""spec / check / discover through the CLI for a `command`-engine tap, a registry-only target,
and the redaction of what a careless connector prints."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dativo_protocol import codec
from tests.fixtures.cli import assert_no_secret
from tests.registry_helpers import TINY_TAP, tiny_tap_entry, write_json, write_registry

CANARY = "canary-Secret-7f3a9"


@pytest.fixture
def reg(tmp_path: Path) -> Path:
    return write_registry(tmp_path / "r.yaml", [tiny_tap_entry()])


def test_spec_from_about_marks_secrets(run_cli, reg: Path):
    done = run_cli("dativo", "spec", "tiny-tap", "--registry", reg)
    assert done.returncode == 0, done.stderr
    spec = codec.loads(done.stdout)
    props = spec["connectionSpecification"]["properties"]
    assert props["api_key"]["airbyte_secret"] is True
    assert "airbyte_secret" not in props["rows"]
    assert spec["connectionSpecification"]["required"] == ["api_key"]


def test_spec_from_registry_config_schema_without_running_anything(run_cli, tmp_path: Path):
    (tmp_path / "s.json").write_text(
        '{"type": "object", "properties": {"token": {"type": "string"}, "dir": {"type": "string"}}}'
    )
    reg = write_registry(
        tmp_path / "r.yaml",
        [
            tiny_tap_entry(
                name="quiet-target",
                role="target",
                launch={"command": ["/nonexistent/never-run"]},
                capabilities=[],
                config_schema="s.json",
                secret_fields=["token"],
            )
        ],
    )
    done = run_cli("dativo", "spec", "quiet-target", "--registry", reg)
    assert done.returncode == 0, done.stderr
    props = codec.loads(done.stdout)["connectionSpecification"]["properties"]
    assert props["token"]["airbyte_secret"] is True
    assert "airbyte_secret" not in props["dir"]
    # a target without a check validates its config against the spec, contacting nothing
    bad = write_json(tmp_path / "bad.json", {"token": CANARY, "dir": 5})
    failed = run_cli("dativo", "check", "quiet-target", "--registry", reg, "--config", bad)
    assert failed.returncode == 6
    assert (
        b"FAILED: quiet-target@1.0.0: invalid config: dir: 5 is not of type 'string'"
        in failed.stdout
    )
    good = write_json(tmp_path / "good.json", {"token": CANARY, "dir": "/tmp"})
    passed = run_cli("dativo", "check", "quiet-target", "--registry", reg, "--config", good)
    assert passed.returncode == 0
    assert b"nothing was contacted" in passed.stdout
    assert_no_secret(CANARY, failed.stdout, failed.stderr, passed.stdout, passed.stderr)


def test_check_by_discovery_succeeds_and_fails_with_one_redacted_line(
    run_cli, reg: Path, tmp_path: Path
):
    good = write_json(tmp_path / "good.json", {"api_key": "letmein"})
    done = run_cli("dativo", "check", "tiny-tap", "--registry", reg, "--config", good)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == b"SUCCEEDED: tiny-tap@1.0.0: discovery succeeded: 2 streams"

    bad = write_json(tmp_path / "bad.json", {"api_key": CANARY})
    failed = run_cli("dativo", "check", "tiny-tap", "--registry", reg, "--config", bad)
    assert failed.returncode == 6  # ExitCode.CONNECTION
    lines = failed.stdout.decode().strip().splitlines()
    assert lines == ["FAILED: tiny-tap@1.0.0: PermissionError: authentication failed for key ***"]
    assert b"Traceback" not in failed.stdout + failed.stderr
    as_json = run_cli("dativo", "--json", "check", "tiny-tap", "--registry", reg, "--config", bad)
    assert as_json.returncode == 6
    status = codec.loads(as_json.stdout)
    assert status["status"] == "FAILED"
    assert status["message"].startswith("PermissionError: authentication failed")
    assert_no_secret(CANARY, failed.stdout, failed.stderr, as_json.stdout, as_json.stderr)


def test_discover_validates_and_errors_are_redacted(run_cli, reg: Path, tmp_path: Path):
    good = write_json(tmp_path / "good.json", {"api_key": "letmein"})
    out = tmp_path / "catalog.json"
    done = run_cli("dativo", "discover", "tiny-tap", "--registry", reg, "--config", good, "-o", out)
    assert done.returncode == 0, done.stderr
    catalog = codec.loads(out.read_bytes())
    assert [s["tap_stream_id"] for s in catalog["streams"]] == ["users", "orders"]

    bad = write_json(tmp_path / "bad.json", {"api_key": CANARY})
    failed = run_cli("dativo", "discover", "tiny-tap", "--registry", reg, "--config", bad)
    assert failed.returncode == 8  # ExitCode.CONNECTOR
    assert b"discovery of tiny-tap@1.0.0 failed (exit code 1): PermissionError" in failed.stderr
    verbose = run_cli("dativo", "-vv", "discover", "tiny-tap", "--registry", reg, "--config", bad)
    assert verbose.returncode == 8
    assert_no_secret(CANARY, failed.stdout, failed.stderr, verbose.stdout, verbose.stderr)


def test_discover_rejects_output_that_is_not_a_catalog(run_cli, tmp_path: Path):
    liar = tmp_path / "liar.py"
    liar.write_text('print(\'{"streams": [{"stream": "a"}]}\')\n')
    reg = write_registry(
        tmp_path / "r.yaml",
        [tiny_tap_entry(name="liar", launch={"command": ["python3", str(liar)]})],
    )
    config = write_json(tmp_path / "c.json", {})
    done = run_cli("dativo", "discover", "liar", "--registry", reg, "--config", config)
    assert done.returncode == 4  # ExitCode.PROTOCOL
    assert (
        b"catalog from liar@1.0.0: streams[0] (a): 'schema' must be a JSON Schema object"
        in done.stderr
    )


def test_dativo_style_spec_and_check(run_cli, tmp_path: Path):
    """Connectors declaring `spec` and `check` (the Dativo tap kit contract) are asked directly."""
    reg = write_registry(
        tmp_path / "r.yaml",
        [tiny_tap_entry(capabilities=["discover", "catalog", "state", "about", "spec", "check"])],
    )
    spec = run_cli("dativo", "spec", "tiny-tap", "--registry", reg)
    assert spec.returncode == 0, spec.stderr
    doc = codec.loads(spec.stdout)
    assert doc["connectionSpecification"]["properties"]["api_key"]["airbyte_secret"] is True
    good = write_json(tmp_path / "good.json", {"api_key": "letmein"})
    ok = run_cli("dativo", "check", "tiny-tap", "--registry", reg, "--config", good)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == b"SUCCEEDED: tiny-tap@1.0.0: 2 streams readable"
    bad = write_json(tmp_path / "bad.json", {"api_key": CANARY})
    failed = run_cli("dativo", "check", "tiny-tap", "--registry", reg, "--config", bad)
    assert failed.returncode == 6
    assert failed.stdout.strip() == b"FAILED: tiny-tap@1.0.0: key *** was refused"
    assert_no_secret(CANARY, failed.stdout, failed.stderr)


def test_hanging_connector_is_killed_at_the_timeout(run_cli, tmp_path: Path):
    config = write_json(tmp_path / "c.json", {})
    marker = tmp_path / "still-running"
    # a wrapper shell whose child would outlive it: the whole process group must go
    hang = f"sh -c 'sleep 30; touch {marker}' --"
    checked = run_cli("dativo", "check", hang, "--config", config, "--timeout", "1")
    assert checked.returncode == 6
    assert b"did not finish within 1s" in checked.stdout
    discovered = run_cli("dativo", "discover", hang, "--config", config, "--timeout", "0.5")
    assert discovered.returncode == 8
    assert b"did not finish within 0.5s" in discovered.stderr
    out = subprocess.run(["pgrep", "-f", f"touch {marker}"], capture_output=True, check=False)
    assert out.stdout == b""  # no sleeping leftovers
    assert not marker.exists()


def test_spec_of_an_adhoc_command_asks_about(run_cli):
    """A plain Singer command declares nothing; `spec` still tries its --about settings."""
    done = run_cli("dativo", "spec", f"{sys.executable} {TINY_TAP}")
    assert done.returncode == 0, done.stderr
    props = codec.loads(done.stdout)["connectionSpecification"]["properties"]
    assert props["api_key"]["airbyte_secret"] is True
    none = run_cli("dativo", "spec", "sh -c 'echo not-json' --")
    assert none.returncode == 3
    assert b"no config schema for sh@0" in none.stderr
