"""Installed from a wheel (no repo checkout next to it), Dativo still finds its registry."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from dativo_protocol import codec

REPO = Path(__file__).resolve().parents[1]
UV = Path(sys.executable).parent / "uv"

pytestmark = pytest.mark.slow


def test_registry_data_ships_in_the_wheel_and_is_used(tmp_path: Path):
    subprocess.run(
        [str(UV), "build", "-q", "--wheel", "--out-dir", str(tmp_path / "dist"), str(REPO)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = (tmp_path / "dist").glob("dativo_protocol-*.whl")
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        assert "dativo_protocol/runner/_registry_data/connectors.yaml" in names
        assert "dativo_protocol/runner/_registry_data/schema.json" in names
        zf.extractall(site)
    probe = (
        "import dativo_protocol\n"
        "from dativo_protocol.runner.registry import Registry\n"
        "from dativo_protocol.runner.lifecycle import spec\n"
        "from dativo_protocol import codec\n"
        "entry = Registry.load().resolve('target-jsonl')\n"
        "print(codec.dumps_str({'pkg': dativo_protocol.__file__, 'schema': entry.config_schema,"
        " 'spec': spec(entry)}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
        capture_output=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    found = codec.loads(done.stdout)
    assert found["pkg"].startswith(str(site))  # the wheel's copy, not the repo
    assert found["schema"] == str(
        site / "dativo_protocol/runner/_registry_data/schemas/target-jsonl.json"
    )
    assert "destination_path" in found["spec"]["connectionSpecification"]["properties"]
