"""Resolving references: versions, unknown names and versions, capabilities, plugins, commands."""

from __future__ import annotations

import shutil
import sys
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from dativo_protocol import codec
from dativo_protocol.errors import ConfigError
from dativo_protocol.runner.launch import connector_for, invocation
from dativo_protocol.runner.registry import CapabilityError, Registry, RegistryValidationError
from tests.registry_helpers import TINY_TAP, VERSIONS_REGISTRY, write_json

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def registry() -> Registry:
    return Registry.load([VERSIONS_REGISTRY], entry_points=False)


def test_name_resolves_to_latest_by_pep440_not_by_text(registry: Registry):
    # 1.10.0 > 1.9.0 > 1.2.0, and the 2.0.0rc1 pre-release is not picked by default
    assert registry.resolve("tap-multi").version == "1.10.0"
    assert registry.resolve("tap-multi@2.0.0rc1").version == "2.0.0rc1"
    assert registry.resolve("tap-multi@1.9.0").version == "1.9.0"
    assert registry.resolve("tap-multi@1.10").version == "1.10.0"  # equal under PEP 440
    assert [e.version for e in registry.versions("tap-multi")] == [
        "1.2.0",
        "1.9.0",
        "1.10.0",
        "2.0.0rc1",
    ]


def test_cli_show_latest_and_exact(run_cli):
    done = run_cli(
        "dativo", "registry", "show", "tap-multi", "--registry", VERSIONS_REGISTRY, "--json"
    )
    assert done.returncode == 0, done.stderr
    shown = codec.loads(done.stdout)
    assert shown["ref"] == "tap-multi@1.10.0"
    assert shown["versions"] == ["1.2.0", "1.9.0", "1.10.0", "2.0.0rc1"]
    assert shown["defined_in"] == str(VERSIONS_REGISTRY)


def test_unknown_version_lists_the_known_ones(run_cli):
    done = run_cli("dativo", "registry", "show", "tap-multi@1.3", "--registry", VERSIONS_REGISTRY)
    assert done.returncode == 3
    assert (
        b"connector 'tap-multi' has no version '1.3' (known: 1.2.0, 1.9.0, 1.10.0, 2.0.0rc1)"
        in done.stderr
    )


def test_unknown_connector_suggests_close_names(run_cli):
    done = run_cli("dativo", "registry", "show", "tap-postgre")
    assert done.returncode == 3
    assert b"unknown connector 'tap-postgre'" in done.stderr
    assert b"did you mean tap-postgres" in done.stderr
    far = run_cli("dativo", "--json", "registry", "show", "zzzzzz")
    error = codec.loads(far.stdout or far.stderr.strip().splitlines()[-1])
    assert error["error"] == "unknown_connector"
    assert "dativo registry list" in error["hint"]


@pytest.mark.parametrize("ref", ["", "@1.0", "tap-multi@", "tap-multi@1@2"])
def test_malformed_reference(registry: Registry, ref: str):
    with pytest.raises(ConfigError):
        registry.resolve(ref)


def test_job_asking_for_a_missing_capability(registry: Registry):
    registry.resolve("tap-multi@2.0.0rc1").require("log-based", "state")
    with pytest.raises(CapabilityError) as info:
        registry.resolve("tap-multi").require("log-based", "stream-maps")
    message = str(info.value)
    assert "tap-multi@1.10.0 lacks capability 'log-based', 'stream-maps'" in message
    assert "(it has: discover, state)" in message


@pytest.mark.parametrize("name", ["source-faker"])
def test_reserved_engines_are_listed_but_fail_clearly_at_launch(
    run_cli, registry: Registry, name: str, tmp_path: Path
):
    listed = run_cli("dativo", "registry", "list", "--registry", VERSIONS_REGISTRY, "--json")
    assert name in {row["name"] for row in codec.loads(listed.stdout)}
    with pytest.raises(ConfigError, match="is not available yet"):
        invocation(registry.resolve(name), "discover", config=Path("c.json"))
    config = write_json(tmp_path / "config.json", {})
    done = run_cli("dativo", "discover", name, "--registry", VERSIONS_REGISTRY, "--config", config)
    assert done.returncode == 3
    assert b"is not available yet" in done.stderr


def test_entry_point_plugin_constructed(tmp_path: Path):
    good = EntryPoint("acme", "tests.fake_connectors.plugin:connectors", "dativo.connectors")
    registry = Registry.load([], entry_points=[good])
    entry = registry.resolve("acme-tap")
    assert entry.ref == "acme-tap@3.1.0"
    assert "x-acme-turbo" in entry.capabilities
    assert registry.source_of(entry) == "entry point 'acme'"
    bad = EntryPoint("acme-bad", "tests.fake_connectors.plugin:broken", "dativo.connectors")
    missing = EntryPoint("gone", "tests.fake_connectors.nowhere:connectors", "dativo.connectors")
    # a broken plugin does not block the good ones: load() warns and skips it
    assert Registry.load([], entry_points=[good, bad, missing]).names() == ["acme-tap"]
    _, problems = Registry.validate([], entry_points=[good, bad, missing])
    text = str(RegistryValidationError(problems))
    assert "entry point 'acme-bad'" in text
    assert "connectors[0] (acme-broken@1): engine 'singer' needs launch.pip" in text
    assert "entry point 'gone'" in text
    assert "ModuleNotFoundError" in text


def test_entry_point_from_an_installed_distribution(tmp_path: Path, run_cli):
    """A real (tiny) installed dist declaring the entry point is picked up by `dativo`."""
    site = tmp_path / "site"
    dist_info = site / "acme_connectors-0.1.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: acme-connectors\nVersion: 0.1\n"
    )
    (dist_info / "entry_points.txt").write_text(
        "[dativo.connectors]\nacme = acme_connectors:connectors\n"
    )
    shutil.copy(HERE / "fake_connectors" / "plugin.py", site / "acme_connectors.py")
    shutil.copy(TINY_TAP, site / "tiny_tap.py")
    env = {"PYTHONPATH": str(site)}
    listed = run_cli("dativo", "registry", "list", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    rows = {row["name"]: row for row in codec.loads(listed.stdout)}
    assert rows["acme-tap"]["version"] == "3.1.0"
    assert "tap-csv" in rows  # the built-in registry is still there
    shown = run_cli("dativo", "registry", "show", "acme-tap", env=env)
    assert b"defined in:    entry point 'acme'" in shown.stdout
    # and the plugin's connector is usable end to end
    config = write_json(tmp_path / "config.json", {"api_key": "letmein"})
    discovered = run_cli("dativo", "discover", "acme-tap", "--config", config, env=env)
    assert discovered.returncode == 0, discovered.stderr
    assert {s["stream"] for s in codec.loads(discovered.stdout)["streams"]} == {"users", "orders"}


def test_adhoc_command_connector(registry: Registry, tmp_path: Path, run_cli):
    command = f"{sys.executable} {TINY_TAP}"
    entry = connector_for(command, registry)
    assert entry.engine == "command"
    assert entry.launch.command == (sys.executable, str(TINY_TAP))
    assert connector_for("tap-multi@1.9.0", registry).version == "1.9.0"
    with pytest.raises(ConfigError, match="unknown connector 'no-such-tap-anywhere'"):
        connector_for("no-such-tap-anywhere", registry)
    config = write_json(tmp_path / "config.json", {"api_key": "letmein"})
    done = run_cli("dativo", "discover", command, "--config", config)
    assert done.returncode == 0, done.stderr
    assert len(codec.loads(done.stdout)["streams"]) == 2


def test_singer_invocation_conventions(tmp_path: Path):
    """argv per action for an installed singer entry, incl. old taps' --properties."""
    registry = Registry.load([VERSIONS_REGISTRY], entry_points=False)
    entry = registry.resolve("tap-multi").model_copy(
        update={
            "launch": registry.resolve("tap-multi").launch.model_copy(
                update={"catalog_flag": "--properties"}
            )
        }
    )
    c, cat, st = tmp_path / "c.json", tmp_path / "cat.json", tmp_path / "s.json"
    assert invocation(entry, "read", config=c, catalog=cat, state=st).argv == (
        "tap-multi",
        "--config",
        str(c),
        "--properties",
        str(cat),
        "--state",
        str(st),
    )
    assert invocation(entry, "discover", config=c, state=st).argv[1:] == (
        "--config",
        str(c),
        "--discover",
        "--state",
        str(st),
    )
    assert invocation(entry, "check", config=c).argv[-1] == "--discover"
    assert invocation(entry, "about", config=None).argv[1:] == ("--about", "--format", "json")
    with pytest.raises(CapabilityError):
        invocation(entry, "spec", config=None)
