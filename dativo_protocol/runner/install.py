"""Isolated virtualenvs for singer-engine connectors (their pins clash with ours and each other).

Each entry gets ``$DATIVO_HOME/venvs/<name>-<version>`` (``DATIVO_HOME`` defaults to
``~/.dativo``), installed once from its pinned pip spec with ``uv`` when available, else
``venv`` + ``pip``. A file lock serialises concurrent installs; a marker written last (holding
the pip spec) says the venv is complete, so an interrupted install is redone on next use.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

from dativo_protocol.errors import ConfigError, ConnectorError
from dativo_protocol.redact import Redactor, collect_secrets
from dativo_protocol.runner.registry import ConnectorEntry

HOME_ENV = "DATIVO_HOME"
MARKER = ".dativo-installed"
INSTALL_TIMEOUT = 900.0
#: engines whose connectors are pip-installed into their own venv
PIP_ENGINES = frozenset({"singer", "airbyte"})

log = logging.getLogger("dativo.install")


def dativo_home() -> Path:
    return Path(os.environ.get(HOME_ENV) or Path.home() / ".dativo")


def venv_dir(entry: ConnectorEntry) -> Path:
    return dativo_home() / "venvs" / f"{entry.name}-{entry.version}"


def _uv() -> str | None:
    local = Path(sys.executable).parent / "uv"
    return str(local) if local.exists() else shutil.which("uv")


def is_installed(entry: ConnectorEntry) -> bool:
    marker = venv_dir(entry) / MARKER
    try:
        return marker.read_text(encoding="utf-8") == (entry.launch.pip or "")
    except OSError:
        return False


def ensure_installed(entry: ConnectorEntry) -> Path:
    """Install ``entry`` (engine singer or airbyte) if needed; returns the venv's ``bin`` dir."""
    if entry.engine not in PIP_ENGINES or not entry.launch.pip:
        raise ConfigError(f"{entry.ref} is not a pip-installed singer or airbyte connector")
    venv = venv_dir(entry)
    if is_installed(entry):
        return venv / "bin"
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / f".{venv.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not is_installed(entry):
            shown = spec_redactor(entry.launch.pip).redact(entry.launch.pip)
            log.warning("installing %s (%s) into %s", entry.ref, shown, venv)
            _install(entry.launch.pip, venv, entry.ref)
            (venv / MARKER).write_text(entry.launch.pip, encoding="utf-8")
    return venv / "bin"


def spec_redactor(spec: str) -> Redactor:
    """Hides credentials of URLs inside a pip spec (``pkg @ https://user:token@host/...``)."""
    return Redactor(collect_secrets({"urls": spec.split()}))


def _install(spec: str, venv: Path, ref: str) -> None:
    # an index or VCS URL in the spec may carry credentials: never print them
    redactor = spec_redactor(spec)
    try:
        _run_install_steps(spec, venv)
    except ConnectorError as exc:
        raise ConnectorError(
            redactor.redact(f"installing {ref} ({spec}) failed: {exc.message}"),
            detail=redactor.redact(exc.detail or ""),
            hint="check the pip spec in the registry and that the package index is reachable",
        ) from None


def _run_install_steps(spec: str, venv: Path) -> None:
    uv = _uv()
    python = venv / "bin" / "python"
    if uv is not None:
        steps = [
            [uv, "venv", "-q", "--clear", "--python", sys.executable, str(venv)],
            [uv, "pip", "install", "-q", "--python", str(python), spec],
        ]
    else:
        steps = [
            [sys.executable, "-m", "venv", "--clear", str(venv)],
            [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", spec],
        ]
    env = {
        k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")
    }
    for argv in steps:
        try:
            done = subprocess.run(
                argv, capture_output=True, text=True, env=env, timeout=INSTALL_TIMEOUT, check=False
            )
        except subprocess.TimeoutExpired:
            raise ConnectorError(f"timed out after {INSTALL_TIMEOUT:g}s") from None
        if done.returncode != 0:
            lines = [ln.strip() for ln in done.stderr.splitlines() if ln.strip()]
            reason = lines[-1] if lines else f"exit code {done.returncode}"
            raise ConnectorError(reason[:300], detail=done.stderr[-4000:])
