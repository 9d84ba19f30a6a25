"""Start-up stays cheap: the core and ``dativo --help`` load no heavy module."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("pyarrow", "pyiceberg", "docker", "s3fs", "boto3", "botocore", "singer_sdk", "duckdb")


def _loaded_modules(code: str) -> set[str]:
    probe = code + "\nimport sys\nprint('\\n'.join(sys.modules))\n"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return {m.split(".")[0] for m in out.stdout.split()}


def test_import_core_loads_no_heavy_module() -> None:
    loaded = _loaded_modules("import dativo_protocol")
    assert not loaded & set(HEAVY)


def test_dativo_help_loads_no_heavy_module() -> None:
    code = (
        "import sys\nfrom dativo_protocol.runner import cli\n"
        "try:\n    cli.cli.main(['--help'], standalone_mode=False)\nexcept SystemExit:\n    pass\n"
    )
    loaded = _loaded_modules(code)
    assert "click" in loaded
    assert not loaded & set(HEAVY)


def test_dativo_version_through_console_script(run_cli) -> None:
    proc = run_cli("dativo", "--version")
    assert proc.returncode == 0
    assert b"dativo, version 0.1.0" in proc.stdout
