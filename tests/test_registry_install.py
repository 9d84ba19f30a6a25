"""The singer engine's install path: one isolated venv per release, built once under a lock."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from dativo_protocol import codec
from tests.fixtures.cli import script
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
