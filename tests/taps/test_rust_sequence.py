"""The Rust Singer tap rust_taps/tap-rs-sequence through the registry engine ``rust``.

The crate is built by the runner itself (``cargo build --release``) on first use into
``$DATIVO_HOME/rust``; these tests keep that home in ``.cache/rust-home`` so the build happens
once per checkout (a cold build takes ~10 s of CPU; ``make clean`` forgets it).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from dativo_protocol import codec
from dativo_protocol.errors import ExitCode
from dativo_protocol.runner.registry import Registry
from dativo_protocol.runner.rust_build import source_key
from tests.fixtures.cli import RunCli, assert_no_secret
from tests.taps.conftest import CANARY, messages, records, write_json

REPO = Path(__file__).resolve().parents[2]
CRATE = REPO / "rust_taps" / "tap-rs-sequence"
HOME = {"DATIVO_HOME": str(REPO / ".cache" / "rust-home")}
VERSIONS_REGISTRY = REPO / "tests" / "registry_data" / "versions.yaml"


@pytest.fixture(scope="module")
def tap_binary() -> str:
    """The tap's executable, as `dativo install` builds it (cargo, first use only)."""
    from tests.fixtures.cli import run_script

    done = run_script("dativo", "install", "tap-rs-sequence", "--json", env=HOME, timeout=900)
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    executable: str = codec.loads(done.stdout)["executable"]
    assert Path(executable).is_file()
    return executable


def _run_tap(tap_binary: str, *args: str | Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([tap_binary, *map(str, args)], capture_output=True, check=False)


def test_output_validates_and_catalog_selects_streams(
    run_cli: RunCli, tap_binary: str, tmp_path: Path
):
    config = write_json(
        tmp_path / "c.json", {"records": 40, "streams": ["a", "b"], "state_every": 9}
    )
    discovered = _run_tap(tap_binary, "--config", config, "--discover")
    assert discovered.returncode == 0
    catalog = codec.loads(discovered.stdout)
    assert [s["tap_stream_id"] for s in catalog["streams"]] == ["a", "b"]
    catalog["streams"][0]["metadata"][0]["metadata"]["selected"] = False
    cat = write_json(tmp_path / "cat.json", catalog)

    done = _run_tap(tap_binary, "--config", config, "--catalog", cat)
    assert done.returncode == 0, done.stderr
    assert {m.get("stream") for m in messages(done.stdout) if m["type"] == "RECORD"} == {"b"}
    assert [r["id"] for r in records(done.stdout, "b")] == list(range(1, 41))
    assert b'"metric":"record_count"' in done.stderr  # logs on stderr, not stdout

    report = run_cli("dativo", "--json", "validate", "-", input=done.stdout)
    assert report.returncode == 0, report.stdout
    summary = codec.loads(report.stdout)
    assert summary["valid"] is True
    assert summary["streams"]["b"]["records"] == 40
    assert summary["states"] == 5  # every 9 records, and at the end


def test_run_into_parquet_then_resume_from_state(run_cli: RunCli, tap_binary: str, tmp_path: Path):
    import pyarrow.dataset as ds

    def job(records: int) -> Path:
        doc = {
            "source": {
                "connector": "tap-rs-sequence",
                "config": {
                    "records": records,
                    "streams": ["items"],
                    "state_every": 7,
                    "api_key": CANARY,
                },
            },
            "target": {"connector": "target-parquet", "config": {"destination_path": "lake"}},
        }
        path = tmp_path / "job.yaml"
        path.write_text(yaml.safe_dump(doc))
        return path

    first = run_cli("dativo", "run", job(30), "--json", env=HOME)
    assert first.returncode == 0, first.stderr.decode()[-3000:]
    run = codec.loads(first.stdout)["runs"][0]
    assert run["streams"]["items"] == {"extracted": 30, "loaded": 30}
    assert run["final_state"]["bookmarks"]["items"]["replication_key_value"] == 30

    second = run_cli("dativo", "run", job(45), "--json", env=HOME)
    assert second.returncode == 0, second.stderr.decode()[-3000:]
    run = codec.loads(second.stdout)["runs"][0]
    assert run["streams"]["items"] == {"extracted": 15, "loaded": 15}
    stored = codec.loads((tmp_path / ".dativo/state/dativo:job/state.json").read_bytes())
    assert stored["completed"]["singer_state"]["bookmarks"]["items"]["replication_key_value"] == 45

    table = ds.dataset(tmp_path / "lake" / "items", format="parquet").to_table()
    rows = sorted(table.to_pylist(), key=lambda r: r["id"])
    assert [r["id"] for r in rows] == list(range(1, 46))  # nothing twice, nothing lost
    assert (rows[5]["amount"], rows[5]["active"], rows[4]["note"]) == (1.5, True, None)
    assert_no_secret(CANARY, first.stdout, first.stderr, second.stdout, second.stderr)


def test_bad_config_exits_3_without_echoing_the_secret(
    run_cli: RunCli, tap_binary: str, tmp_path: Path
):
    bad = write_json(tmp_path / "bad.json", {"records": CANARY, "api_key": CANARY})
    done = _run_tap(tap_binary, "--config", bad)
    assert done.returncode == ExitCode.CONFIG
    assert b"'records' must be a non-negative integer" in done.stderr
    assert done.stdout == b""
    broken = tmp_path / "broken.json"
    broken.write_text('{"records": 1, "api_key": "' + CANARY)  # not JSON: never quoted back
    garbled = _run_tap(tap_binary, "--config", broken)
    assert garbled.returncode == ExitCode.CONFIG
    usage = _run_tap(tap_binary, "--config")
    assert usage.returncode == ExitCode.USAGE

    check = run_cli("dativo", "check", "tap-rs-sequence", "--config", bad, "--json", env=HOME)
    assert check.returncode != 0
    assert b"records" in check.stdout + check.stderr
    assert_no_secret(CANARY, done.stderr, garbled.stderr, check.stdout, check.stderr)


def test_spec_comes_from_about(run_cli: RunCli, tap_binary: str):
    done = run_cli("dativo", "spec", "tap-rs-sequence", "--json", env=HOME)
    assert done.returncode == 0, done.stderr
    spec = codec.loads(done.stdout)["connectionSpecification"]
    assert spec["required"] == ["records"]
    assert spec["properties"]["api_key"]["airbyte_secret"] is True


def test_prebuilt_binary_entry_and_missing_ones(run_cli: RunCli, tap_binary: str, tmp_path: Path):
    reg = tmp_path / "reg.yaml"
    copy = tmp_path / "bin" / "tap-copy"
    copy.parent.mkdir()
    shutil.copy2(tap_binary, copy)
    entries = [
        {
            "name": "tap-prebuilt",
            "version": "1.0.0",
            "role": "source",
            "engine": "rust",
            "launch": {"binary": "bin/tap-copy"},
            "capabilities": ["discover", "catalog", "state"],
        },
        {
            "name": "tap-nocrate",
            "version": "1.0.0",
            "role": "source",
            "engine": "rust",
            "launch": {"cargo": "nowhere/crate"},
            "capabilities": ["discover"],
        },
    ]
    reg.write_text(yaml.safe_dump({"format_version": 1, "connectors": entries}))
    config = write_json(tmp_path / "c.json", {"records": 1})
    found = run_cli("dativo", "discover", "tap-prebuilt", "--registry", reg, "--config", config)
    assert found.returncode == 0, found.stderr
    assert codec.loads(found.stdout)["streams"][0]["stream"] == "sequence"
    missing = run_cli("dativo", "discover", "tap-nocrate", "--registry", reg, "--config", config)
    assert missing.returncode == ExitCode.CONFIG
    assert b"has no Cargo.toml" in missing.stderr
    on_path = run_cli(
        "dativo", "discover", "tap-rusty", "--registry", VERSIONS_REGISTRY, "--config", config
    )
    assert on_path.returncode == ExitCode.CONFIG
    assert b"'tap-rusty' of tap-rusty@0.1.0 is not on PATH" in on_path.stderr


def test_build_key_follows_the_sources(tmp_path: Path):
    crate = tmp_path / "ws" / "tap"
    shutil.copytree(CRATE, crate, ignore=shutil.ignore_patterns("target"))
    shutil.copy2(CRATE.parent / "Cargo.toml", crate.parent / "Cargo.toml")
    key = source_key(crate)
    assert source_key(crate) == key
    (crate / "target").mkdir()
    (crate / "target" / "junk").write_text("build output is not a source")
    assert source_key(crate) == key
    main = crate / "src" / "main.rs"
    main.write_text(main.read_text() + "\n// edited\n")
    assert source_key(crate) != key
    entry = Registry.load().resolve("tap-rs-sequence")
    assert entry.launch.cargo == str(CRATE)
