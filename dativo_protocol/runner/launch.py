"""From a registry entry and an action to the process to start (argv, environment).

Engines:

- ``native``: a Dativo console script from this environment's ``bin`` directory;
- ``singer``: an existing Singer connector, pip-installed once into an isolated venv under
  ``$DATIVO_HOME/venvs/<name>-<version>`` (see :mod:`dativo_protocol.runner.install`);
- ``command``: the argv given in the entry (or on the command line);
- ``airbyte``: an Airbyte source from PyPI, pip-installed like a singer connector, started
  through Dativo's ``tap-airbyte`` adapter (``--executable <venv>/bin/<entry_point>``), which
  speaks Singer (see docs/adapters/airbyte.md);
- ``rust``: a prebuilt executable, or a crate built with cargo on first use (see
  :mod:`dativo_protocol.runner.rust_build`);

Singer CLI conventions: ``--config``, ``--catalog`` (``--properties`` for old taps),
``--state``, ``--discover``, ``--about --format json``; Dativo connectors add ``--spec`` and
``--check``; singer-sdk taps have ``--test``.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from dativo_protocol import codec
from dativo_protocol.errors import ConfigError
from dativo_protocol.runner.registry import (
    RESERVED_ENGINES,
    ConnectorEntry,
    Launch,
    Registry,
    Role,
    UnknownConnectorError,
)

Action = Literal["spec", "check", "discover", "read", "write", "about"]

#: capabilities assumed for an ad-hoc command (a plain Singer tap or target)
COMMAND_CAPABILITIES: dict[str, frozenset[str]] = {
    "source": frozenset({"catalog", "discover", "state"}),
    "target": frozenset(),
}
#: variables that would break a child's isolated Python environment
_ISOLATION_UNSET = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")


@dataclass(frozen=True)
class Invocation:
    """A process to start: ``argv`` and the complete environment ``env`` for it."""

    argv: tuple[str, ...]
    env: Mapping[str, str]
    cwd: Path | None = None


def _looks_like_command(text: str) -> bool:
    return any(ch.isspace() for ch in text.strip()) or "/" in text


def connector_for(
    ref_or_command: str, registry: Registry, *, role: Role | None = None
) -> ConnectorEntry:
    """A registry reference (``name``/``name@version``), or an ad-hoc command line.

    A command line is anything with whitespace or a ``/`` (``./tap-x``, ``"tap-x --flag"``),
    or a single word that is not in the registry but is an executable on ``PATH``.
    Ad-hoc commands become engine ``command`` entries with basic Singer capabilities and the
    given ``role`` (default source). With ``role`` given, a registry entry of the other role is
    a :class:`ConfigError` (a target where a tap is expected).
    """
    text = ref_or_command.strip()
    if not text:
        raise ConfigError("empty connector reference")
    if not _looks_like_command(text) or "@" in text:
        try:
            entry = registry.resolve(text)
        except UnknownConnectorError:
            if "@" in text or shutil.which(text) is None:
                raise
        else:
            if role is not None and entry.role != role:
                raise ConfigError(
                    f"{entry.ref} is a {entry.role}, but a {role} is expected here",
                    hint="taps are sources, targets are targets: check the order of the two",
                )
            return entry
    role = role or "source"
    argv = tuple(shlex.split(text))
    if not argv:
        raise ConfigError(f"empty command {ref_or_command!r}")
    return ConnectorEntry(
        name=_command_name(argv[0]),
        version="0",
        role=role,
        engine="command",
        description=f"ad-hoc command: {text}",
        launch=Launch(command=argv),
        capabilities=COMMAND_CAPABILITIES[role],
    )


def _command_name(program: str) -> str:
    base = Path(program).name.lower()
    cleaned = "".join(ch if ch.isalnum() or ch in "._-" else "-" for ch in base).strip("-._")
    return cleaned or "command"


def bin_dir() -> Path:
    """The ``bin`` directory of the running Python environment (where our scripts are)."""
    return Path(sys.executable).parent


def base_env(*, isolated: bool = False, prepend_path: Path | None = None) -> dict[str, str]:
    env = dict(os.environ)
    if isolated:
        for key in _ISOLATION_UNSET:
            env.pop(key, None)
    if prepend_path is not None:
        env["PATH"] = f"{prepend_path}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def program(entry: ConnectorEntry) -> tuple[tuple[str, ...], dict[str, str]]:
    """The argv prefix and environment that start ``entry`` (installing a singer venv if needed)."""
    engine = entry.engine
    if engine in RESERVED_ENGINES:
        raise ConfigError(
            f"engine {engine!r} of {entry.ref} is not available yet",
            hint="the engine is reserved for a later release; use a native, singer, airbyte or rust connector",
        )
    if engine == "native":
        script = entry.launch.entry_point or entry.name
        path = bin_dir() / script
        found = str(path) if path.exists() else shutil.which(script)
        if found is None:
            raise ConfigError(
                f"console script {script!r} of {entry.ref} is not installed in {bin_dir()}",
                hint="install Dativo with its connectors: pip install 'dativo-protocol[all]'",
            )
        return (found,), base_env(prepend_path=bin_dir())
    if engine == "singer":
        from dativo_protocol.runner.install import ensure_installed

        bindir = ensure_installed(entry)
        script = entry.launch.entry_point or entry.name
        path = bindir / script
        if not path.exists():
            raise ConfigError(
                f"{entry.launch.pip!r} installed no console script {script!r}",
                hint="set launch.entry_point in the registry entry to the script it provides",
            )
        return (str(path),), base_env(isolated=True, prepend_path=bindir)
    if engine == "rust":
        from dativo_protocol.runner.rust_build import ensure_built

        return (str(ensure_built(entry)),), base_env()
    if engine == "airbyte":
        return _airbyte_program(entry)
    if engine == "command" and entry.launch.command:
        return tuple(entry.launch.command), base_env()
    raise ConfigError(f"unknown engine {engine!r} of {entry.ref}")  # pragma: no cover


def _airbyte_program(entry: ConnectorEntry) -> tuple[tuple[str, ...], dict[str, str]]:
    """``tap-airbyte --executable <the connector's console script>`` (its config as is)."""
    if entry.launch.pip is None:
        raise ConfigError(
            f"launch.image (a Docker image) of {entry.ref} is not available yet",
            hint="give launch.pip (e.g. airbyte-source-faker==7.2.1) and launch.entry_point",
        )
    from dativo_protocol.runner.install import ensure_installed

    script = entry.launch.entry_point or entry.name
    connector = ensure_installed(entry) / script
    if not connector.exists():
        raise ConfigError(
            f"{entry.launch.pip!r} installed no console script {script!r}",
            hint="set launch.entry_point in the registry entry to the script it provides",
        )
    adapter = bin_dir() / "tap-airbyte"
    found = str(adapter) if adapter.exists() else shutil.which("tap-airbyte")
    if found is None:
        raise ConfigError(
            f"{entry.ref} needs Dativo's tap-airbyte, which is not installed in {bin_dir()}",
            hint="install Dativo with its adapters: pip install 'dativo-protocol[all]'",
        )
    argv = [found, "--executable", str(connector)]
    for field in entry.secret_fields:
        argv += ["--secret-field", field]
    return tuple(argv), base_env(isolated=True, prepend_path=bin_dir())


def action_args(
    entry: ConnectorEntry,
    action: Action,
    *,
    config: Path | None,
    catalog: Path | None = None,
    state: Path | None = None,
) -> list[str]:
    """The Singer CLI arguments for ``action``."""
    args: list[str] = []
    if action == "about":
        return ["--about", "--format", "json"]
    if action == "spec":
        entry.require("spec")
        return ["--spec"]
    if config is not None:
        args += ["--config", str(config)]
    if action == "check":
        if config is None:
            raise ConfigError(f"checking {entry.ref} needs a config file")
        if entry.has("check"):
            args.append("--check")
        elif entry.has("test"):
            args.append("--test")
        elif entry.role == "source" and (entry.has("discover") or entry.engine == "command"):
            args.append("--discover")
        else:
            entry.require("check")
        return args
    if action == "discover":
        if entry.role != "source":
            raise ConfigError(f"{entry.ref} is a target; only sources discover")
        if entry.engine != "command":
            entry.require("discover")
        args.append("--discover")
        if state is not None:
            args += ["--state", str(state)]
        return args
    if action == "read":
        if catalog is not None:
            args += [entry.launch.catalog_flag, str(catalog)]
        if state is not None:
            args += ["--state", str(state)]
        return args
    if action == "write":
        return args
    raise ConfigError(f"unknown action {action!r}")


def invocation(
    entry: ConnectorEntry,
    action: Action,
    *,
    config: Path | None,
    catalog: Path | None = None,
    state: Path | None = None,
) -> Invocation:
    """How to run ``action`` on ``entry``; installs a singer-engine venv on first use."""
    args = action_args(entry, action, config=config, catalog=catalog, state=state)
    prefix, env = program(entry)
    return Invocation(argv=(*prefix, *args), env=env)


def dativo_argv() -> tuple[str, ...]:
    """How to start this environment's ``dativo`` command."""
    script = bin_dir() / "dativo"
    if script.exists():
        return (str(script),)
    return (sys.executable, "-c", "from dativo_protocol.runner.cli import main; main()")


def mapper_invocation(
    stream_maps: Mapping[str, Any],
    stream_map_config: Mapping[str, Any] | None,
    workdir: Path,
) -> Invocation:
    """The ``dativo map`` filter process applying singer-sdk stream maps between tap and target.

    Writes ``stream-maps.json`` (mode 0600: ``stream_map_config`` may hold hashing salts) into
    ``workdir``, which the caller owns and removes.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "stream-maps.json"
    doc = {"stream_maps": dict(stream_maps), "stream_map_config": dict(stream_map_config or {})}
    codec.write_private(path, doc)
    return Invocation(argv=(*dativo_argv(), "map", "--config", str(path)), env=base_env())
