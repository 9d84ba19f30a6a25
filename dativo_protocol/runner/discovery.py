"""Discovery for a run: like :func:`lifecycle.discover`, but in the run's private folder, with
the job's working directory (relative paths in connector configs are relative to the job file)
and the job's discovery timeout."""

from __future__ import annotations

import dataclasses
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dativo_protocol import codec
from dativo_protocol.errors import ConfigError, ConnectorError, ProtocolError
from dativo_protocol.redact import Redactor
from dativo_protocol.runner.catalog_check import validate_catalog
from dativo_protocol.runner.launch import invocation
from dativo_protocol.runner.reason import one_line_reason
from dativo_protocol.runner.registry import ConnectorEntry
from dativo_protocol.runner.rundir import RunDir


def _last_json_object(text: bytes) -> Any:
    try:
        return codec.loads(text)
    except codec.JSONDecodeError:
        pass
    for line in reversed(text.splitlines()):  # tolerate log lines on stdout
        if line.lstrip().startswith(b"{"):
            try:
                return codec.loads(line)
            except codec.JSONDecodeError:
                continue
    return None


def discover_catalog(
    entry: ConnectorEntry,
    config_path: Path,
    state: Mapping[str, Any] | None,
    *,
    rundir: RunDir,
    cwd: Path,
    timeout: float,
    redactor: Redactor,
) -> dict[str, Any]:
    state_path = rundir.write_json("discover-state.json", state) if state else None
    inv = invocation(entry, "discover", config=config_path, state=state_path)
    inv = dataclasses.replace(inv, cwd=inv.cwd or cwd)
    try:
        done = subprocess.run(
            list(inv.argv),
            env={**inv.env, **rundir.env()},
            cwd=inv.cwd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except OSError as exc:
        raise ConfigError(f"cannot start {entry.ref} for discovery: {exc.strerror}") from None
    except subprocess.TimeoutExpired:
        raise ConnectorError(
            f"discovery of {entry.ref} did not finish within {timeout:g}s"
        ) from None
    if done.returncode != 0:
        stderr = done.stderr.decode("utf-8", "replace")
        reason = redactor.redact(one_line_reason(stderr, done.stdout.decode("utf-8", "replace")))
        raise ConnectorError(
            f"discovery of {entry.ref} failed (exit code {done.returncode}): {reason}",
            detail=redactor.redact(stderr[-4000:]),
        )
    doc = _last_json_object(done.stdout)
    if doc is None:
        raise ProtocolError(f"discovery output of {entry.ref} is not a JSON catalog")
    return validate_catalog(doc, source=entry.ref)
