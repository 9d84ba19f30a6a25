"""The settings of tap-airbyte: which connector to start and the connector's own config.

A settings file (``tap-airbyte --config F``)::

    {"connector": "source-faker",            # executable name on PATH, or a path
     "connector_config": {"count": 100},     # handed to the connector as --config
     "secret_fields": ["my_key"]}            # optional: more config keys to redact

instead of ``connector``: ``"command": ["python", "-m", "x"]`` (an argv prefix), or
``"entry_point": "source_faker.run:run"`` (a Python package's entry point, started with
``"python"``, default: this interpreter). With ``--executable PATH`` on the command line (how
``dativo`` starts registry entries) the whole ``--config`` file is the connector's config.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dativo_protocol.errors import ConfigError
from dativo_protocol.redact import Redactor, collect_secrets

_ENTRY_POINT = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
_KNOWN = frozenset(
    {"connector", "command", "entry_point", "python", "connector_config", "secret_fields"}
)


@dataclass(frozen=True)
class Settings:
    """How to start the connector (``argv``) and the config it reads."""

    argv: tuple[str, ...]
    connector_config: dict[str, Any]
    secret_fields: tuple[str, ...] = ()
    #: a short name for messages (the executable's file name, or the entry point)
    name: str = "connector"

    def redactor(self) -> Redactor:
        """Every secret value of the connector config (by key name and ``secret_fields``)."""
        return Redactor(collect_secrets(self.connector_config, extra_keys=self.secret_fields))


def from_file_value(doc: Mapping[str, Any]) -> Settings:
    """Settings from a tap-airbyte config file."""
    unknown = sorted(set(doc) - _KNOWN)
    if unknown:
        raise ConfigError(
            f"unknown tap-airbyte setting(s): {', '.join(unknown)}",
            hint="the connector's own settings go under 'connector_config'",
        )
    given = [k for k in ("connector", "command", "entry_point") if doc.get(k)]
    if len(given) != 1:
        raise ConfigError(
            "tap-airbyte needs exactly one of 'connector', 'command' or 'entry_point'",
            hint='e.g. {"connector": "source-faker", "connector_config": {...}}',
        )
    config = doc.get("connector_config", {})
    if not isinstance(config, Mapping):
        raise ConfigError("'connector_config' must be a JSON object")
    argv = _argv(doc, given[0])
    name = doc["entry_point"] if given[0] == "entry_point" else Path(argv[0]).name
    return Settings(argv, dict(config), _secret_fields(doc.get("secret_fields")), name)


def for_executable(
    executable: str, config: Mapping[str, Any], secret_fields: tuple[str, ...] = ()
) -> Settings:
    """Settings for ``--executable PATH``: the config file is the connector's config as is."""
    path = _which(executable)
    return Settings((path,), dict(config), secret_fields, Path(path).name)


def _argv(doc: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = doc[key]
    if key == "connector":
        if not isinstance(value, str):
            raise ConfigError("'connector' must be an executable name or path")
        return (_which(value),)
    if key == "command":
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise ConfigError("'command' must be a non-empty list of strings")
        return (_which(value[0]), *value[1:])
    if not isinstance(value, str) or not _ENTRY_POINT.match(value):
        raise ConfigError("'entry_point' must look like 'package.module:function'")
    module, func = value.split(":")
    python = doc.get("python") or _python()
    if not isinstance(python, str):
        raise ConfigError("'python' must be the path of a Python interpreter")
    code = f"import sys; from {module} import {func} as f; sys.argv[0] = {func!r}; sys.exit(f())"
    return (_which(python), "-c", code)


def _python() -> str:
    import sys

    return sys.executable


def _which(program: str) -> str:
    found = program if "/" in program else shutil.which(program)
    if found is None or not Path(found).exists():
        raise ConfigError(
            f"connector executable {program!r} not found",
            hint="install the connector (pip install airbyte-source-x) or give its path",
        )
    return str(found)


def _secret_fields(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError("'secret_fields' must be a list of config keys")
    return tuple(value)
