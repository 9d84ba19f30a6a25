"""Private stand-in for part B (registry, launch, lifecycle), `command` engine only.

Deleted when branch `registry` lands on main; the names mirror its published interface.
"""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from dativo_protocol import codec
from dativo_protocol.errors import ConfigError, ConnectorError

Action = Literal["spec", "check", "discover", "read", "write", "about"]


class Launch(BaseModel):
    model_config = ConfigDict(frozen=True)
    entry_point: str | None = None
    pip: str | None = None
    command: tuple[str, ...] | None = None
    image: str | None = None
    binary: str | None = None
    catalog_flag: Literal["--catalog", "--properties"] = "--catalog"


class ConnectorEntry(BaseModel):
    model_config = ConfigDict(frozen=True)
    name: str
    version: str
    role: Literal["source", "target"]
    engine: Literal["native", "singer", "command", "airbyte", "rust"]
    description: str = ""
    launch: Launch
    capabilities: frozenset[str] = frozenset()
    config_schema: str | None = None
    secret_fields: tuple[str, ...] = ()

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    def require(self, *capabilities: str) -> None:
        missing = set(capabilities) - self.capabilities
        if missing:
            raise ConfigError(f"connector {self.ref} lacks {', '.join(sorted(missing))}")


class Registry:
    @classmethod
    def load(cls, paths: Sequence[Path] | None = None, *, entry_points: bool = True) -> Registry:
        return cls()

    def entries(self) -> list[ConnectorEntry]:
        return []


@dataclass(frozen=True)
class Invocation:
    argv: tuple[str, ...]
    env: Mapping[str, str]
    cwd: Path | None = None


def connector_for(ref_or_command: str, registry: Registry) -> ConnectorEntry:
    argv = tuple(shlex.split(ref_or_command))
    if not argv:
        raise ConfigError("empty connector command")
    return ConnectorEntry(
        name=Path(argv[0]).name,
        version="0",
        role="source",
        engine="command",
        launch=Launch(command=argv),
        capabilities=frozenset({"discover", "catalog", "state"}),
    )


def invocation(
    entry: ConnectorEntry,
    action: Action,
    *,
    config: Path | None,
    catalog: Path | None = None,
    state: Path | None = None,
) -> Invocation:
    if entry.launch.command is None:
        raise ConfigError(f"{entry.ref}: no command")
    argv = list(entry.launch.command)
    if config is not None:
        argv += ["--config", str(config)]
    if action == "discover":
        argv.append("--discover")
    if action == "read":
        if catalog is not None:
            argv += [entry.launch.catalog_flag, str(catalog)]
        if state is not None:
            argv += ["--state", str(state)]
    return Invocation(argv=tuple(argv), env={})


def mapper_invocation(
    stream_maps: Mapping[str, Any], stream_map_config: Mapping[str, Any] | None, workdir: Path
) -> Invocation:
    raise ConfigError("stream maps need the registry part (not merged yet)")


def discover(
    entry: ConnectorEntry, config: Mapping[str, Any], state: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    import tempfile

    with tempfile.TemporaryDirectory(prefix="dativo-discover-") as tmp:
        path = Path(tmp) / "config.json"
        path.write_bytes(codec.dumps(dict(config)))
        path.chmod(0o600)
        inv = invocation(entry, "discover", config=path)
        proc = subprocess.run(inv.argv, capture_output=True, timeout=300, check=False)
    if proc.returncode != 0:
        raise ConnectorError(f"{entry.name}: discovery failed with exit code {proc.returncode}")
    try:
        catalog = codec.loads(proc.stdout)
    except codec.JSONDecodeError:
        raise ConnectorError(f"{entry.name}: discovery printed no JSON catalog") from None
    if not isinstance(catalog, dict):
        raise ConnectorError(f"{entry.name}: discovery printed no JSON catalog")
    return catalog
