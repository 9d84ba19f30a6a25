"""The singer engine's install path: one isolated venv per release, built once under a lock."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from dativo_protocol import codec
from tests.fixtures.cli import assert_no_secret, script
from tests.registry_helpers import TINY_TAP, write_json, write_registry

pytestmark = pytest.mark.slow


def tiny_package(root: Path) -> Path:
    """A local project that installs the tiny tap as console script `tiny-singer-tap`."""
    root.mkdir()
    shutil.copy(TINY_TAP, root / "tiny_tap.py")
    (root / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n'
        '[project]\nname = "tiny-singer-tap"\nversion = "1.0.0"\n'
        '[project.scripts]\ntiny-singer-tap = "tiny_tap:main"\n'
        '[tool.hatch.build.targets.wheel]\nonly-include = ["tiny_tap.py"]\n'
    )
    return root


def test_concurrent_installs_build_one_venv_then_it_is_used(tmp_path: Path, run_cli):
    package = tiny_package(tmp_path / "pkg")
    reg = write_registry(
        tmp_path / "r.yaml",
        [
            {
                "name": "tiny-singer",
                "version": "1.0.0",
                "role": "source",
                "engine": "singer",
                "launch": {"pip": str(package), "entry_point": "tiny-singer-tap"},
                "capabilities": ["discover", "catalog", "state", "about"],
                "secret_fields": ["api_key"],
            },
            {
                "name": "broken-singer",
                "version": "1.0.0",
                "role": "source",
                "engine": "singer",
                "launch": {"pip": str(tmp_path / "no-such-project")},
                "capabilities": ["discover"],
            },
        ],
    )
    home = tmp_path / "home"
    env = {"DATIVO_HOME": str(home), "DATIVO_REGISTRY": str(reg)}
    procs = [
        subprocess.Popen(
            [script("dativo"), "--json", "install", "tiny-singer"],
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    results = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    venv = home / "venvs" / "tiny-singer-1.0.0"
    assert {codec.loads(out)["venv"] for out, _ in results} == {str(venv)}
    assert sum(err.count(b"installing tiny-singer@1.0.0") for _, err in results) == 1
    assert (venv / ".dativo-installed").read_text() == str(package)

    config = write_json(tmp_path / "c.json", {"api_key": "letmein"})
    discovered = run_cli("dativo", "discover", "tiny-singer", "--config", config, env=env)
    assert discovered.returncode == 0, discovered.stderr
    assert b"installing" not in discovered.stderr  # already there
    assert len(codec.loads(discovered.stdout)["streams"]) == 2

    # an interrupted install (no marker) is redone on next use
    (venv / ".dativo-installed").unlink()
    again = run_cli("dativo", "install", "tiny-singer", env=env)
    assert again.returncode == 0, again.stderr
    assert b"installing tiny-singer@1.0.0" in again.stderr

    broken = run_cli("dativo", "install", "broken-singer", env=env)
    assert broken.returncode == 8  # ExitCode.CONNECTOR
    lines = broken.stderr.decode().strip().splitlines()
    assert lines[-1].startswith("error: installing broken-singer@1.0.0 (")
    assert "failed:" in lines[-1]


def test_without_uv_it_falls_back_to_venv_and_pip(tmp_path: Path, monkeypatch):
    from dativo_protocol.runner import install
    from dativo_protocol.runner.registry import ConnectorEntry

    package = tiny_package(tmp_path / "pkg")
    entry = ConnectorEntry.model_validate(
        {
            "name": "tiny-pip",
            "version": "1.0.0",
            "role": "source",
            "engine": "singer",
            "launch": {"pip": str(package), "entry_point": "tiny-singer-tap"},
            "capabilities": ["about"],
        }
    )
    monkeypatch.setenv("DATIVO_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(install, "_uv", lambda: None)
    bindir = install.ensure_installed(entry)
    assert (bindir.parent / "pyvenv.cfg").exists()
    assert not (bindir / "uv").exists()
    about = subprocess.run(
        [str(bindir / "tiny-singer-tap"), "--about"], capture_output=True, check=True
    )
    assert codec.loads(about.stdout)["name"] == "tiny-tap"


def test_credentials_in_a_pip_url_are_never_printed(tmp_path: Path, run_cli):
    token = "Tok3n-canary-8c1f"
    reg = write_registry(
        tmp_path / "r.yaml",
        [
            {
                "name": "private-tap",
                "version": "1.0.0",
                "role": "source",
                "engine": "singer",
                # port 9 on loopback refuses at once
                "launch": {"pip": f"private-tap @ https://bob:{token}@127.0.0.1:9/p-1.0.tar.gz"},
                "capabilities": ["discover"],
            }
        ],
    )
    env = {"DATIVO_HOME": str(tmp_path / "home")}
    installed = run_cli("dativo", "install", "private-tap", "--registry", reg, env=env)
    assert installed.returncode == 8
    assert (
        b"installing private-tap@1.0.0 (private-tap @ https://bob:***@127.0.0.1:9"
        in installed.stderr
    )
    shown = run_cli("dativo", "registry", "show", "private-tap", "--registry", reg)
    assert shown.returncode == 0
    assert b"bob:***@127.0.0.1" in shown.stdout
    assert_no_secret(token, installed.stdout, installed.stderr, shown.stdout, shown.stderr)
