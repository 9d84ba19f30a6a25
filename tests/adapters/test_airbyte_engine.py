"""The registry engine ``airbyte``: airbyte-source-faker installed from PyPI by Dativo's own
install path into an isolated venv, started through tap-airbyte by spec/check/discover/run."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from dativo_protocol import codec
from dativo_protocol.runner.launch import invocation
from dativo_protocol.runner.registry import Registry
from tests.fixtures.cli import RunCli, assert_no_secret
from tests.fixtures.peers import CACHE
from tests.target_parquet.helpers import read_rows

pytestmark = [pytest.mark.peers, pytest.mark.slow]

CANARY = f"canary-{secrets.token_hex(8)}"
CONFIG = {
    "count": 4,
    "seed": 5,
    "records_per_slice": 2,
    "always_updated": False,
    "parallelism": 1,
    "api_key": CANARY,
}


@pytest.fixture(scope="module")
def home() -> dict[str, str]:
    """DATIVO_HOME in the shared peer cache, so the connector's venv is built once per machine."""
    path = CACHE / "dativo-home"
    path.mkdir(parents=True, exist_ok=True)
    return {"DATIVO_HOME": str(path)}


def test_the_entry_launches_through_tap_airbyte(
    home: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATIVO_HOME", home["DATIVO_HOME"])
    entry = Registry.load().resolve("airbyte-source-faker")
    assert (entry.engine, entry.version) == ("airbyte", "7.2.1")
    inv = invocation(entry, "read", config=Path("c.json"), catalog=Path("k.json"))
    assert Path(inv.argv[0]).name == "tap-airbyte"
    assert inv.argv[1] == "--executable"
    connector = Path(inv.argv[2])
    assert connector.name == "source-faker"
    assert connector.parent.parent.parent == Path(home["DATIVO_HOME"]) / "venvs"
    assert inv.argv[3:] == ("--config", "c.json", "--catalog", "k.json")


def test_spec_check_discover_and_run(run_cli: RunCli, tmp_path: Path, home: dict[str, str]) -> None:
    config = tmp_path / "faker.json"
    config.write_bytes(codec.dumps(CONFIG))
    spec = run_cli("dativo", "spec", "airbyte-source-faker", env=home, timeout=600)
    assert spec.returncode == 0, spec.stderr.decode()[-2000:]
    assert "count" in codec.loads(spec.stdout)["connectionSpecification"]["properties"]

    checked = run_cli("dativo", "check", "airbyte-source-faker", "--config", config, env=home)
    assert checked.returncode == 0, checked.stderr.decode()[-2000:]
    assert checked.stdout.startswith(b"SUCCEEDED: airbyte-source-faker@7.2.1")

    found = run_cli("dativo", "discover", "airbyte-source-faker", "--config", config, env=home)
    assert found.returncode == 0, found.stderr.decode()[-2000:]
    streams = {s["tap_stream_id"] for s in codec.loads(found.stdout)["streams"]}
    assert streams == {"users", "products", "purchases"}

    dest = tmp_path / "out"
    target_config = tmp_path / "target.json"
    target_config.write_bytes(codec.dumps({"destination_path": str(dest)}))
    run_args = [
        "--json",
        "run",
        "--tap",
        "airbyte-source-faker",
        "--tap-config",
        config,
        "--target",
        "target-parquet",
        "--target-config",
        target_config,
        "--select",
        "users",
        "--state-backend",
        tmp_path / "state",
    ]
    first = run_cli("dativo", *run_args, env=home)
    assert first.returncode == 0, first.stderr.decode()[-2000:]
    (run,) = codec.loads(first.stdout)["runs"]
    assert run["streams"] == {"users": {"loaded": 4}}
    assert [r["id"] for r in read_rows(dest / "users")] == [1, 2, 3, 4]
    (stored,) = run["final_state"]["airbyte_state"]
    assert stored["stream"]["stream_descriptor"] == {"name": "users"}

    # the next run starts from the stored state: the source reads nothing again
    second = run_cli("dativo", *run_args, env=home)
    assert second.returncode == 0, second.stderr.decode()[-2000:]
    (again,) = codec.loads(second.stdout)["runs"]
    assert again["streams"].get("users", {}).get("loaded", 0) == 0
    assert again["final_state"] == run["final_state"]
    assert [r["id"] for r in read_rows(dest / "users")] == [1, 2, 3, 4]
    outputs = [spec, checked, found, first, second]
    assert_no_secret(CANARY, *[o.stdout for o in outputs], *[o.stderr for o in outputs])
