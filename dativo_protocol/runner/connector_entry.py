"""One registry entry: a release of a connector, how to launch it and what it can do.

The models are frozen pydantic models (documents, not hot-path objects); validation errors
name the field. :mod:`dativo_protocol.runner.registry` loads them from files and plugins.
"""

from __future__ import annotations

import difflib
from typing import Any, Literal

from packaging.version import InvalidVersion, Version
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from dativo_protocol.errors import ConfigError

Engine = Literal["native", "singer", "command", "airbyte", "rust"]
Role = Literal["source", "target"]
#: engines whose launchers arrive with the adapter work; entries are accepted, launching fails
RESERVED_ENGINES: frozenset[str] = frozenset()

#: capabilities the registry knows (singer-sdk's tap and target capabilities plus Dativo's own);
#: third parties may add their own with an ``x-`` prefix
KNOWN_CAPABILITIES = frozenset(
    {
        # singer-sdk / Meltano, taps
        "catalog",
        "properties",
        "discover",
        "state",
        "about",
        "stream-maps",
        "schema-flattening",
        "batch",
        "test",
        "activate-version",
        "structured-logging",
        "log-based",
        # singer-sdk, targets
        "validate-records",
        "hard-delete",
        "soft-delete",
        "datatype-failsafe",
        "target-schema",
        # Dativo
        "incremental",
        "spec",
        "check",
    }
)


class CapabilityError(ConfigError):
    """A job asks for something the chosen connector cannot do."""

    kind = "capability"


class UnknownConnectorError(ConfigError):
    kind = "unknown_connector"


class Launch(BaseModel):
    """How to start a connector. Which field is used depends on the entry's engine."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: console script name (native: in Dativo's environment; singer: in the connector's venv)
    entry_point: str | None = None
    #: pip requirement installed into an isolated venv (singer and airbyte engines), pinned:
    #: ``pkg==1.2.3``
    pip: str | None = None
    #: argv of an arbitrary command (command engine)
    command: tuple[str, ...] | None = None
    #: Docker image with tag (airbyte engine; not launchable yet, use ``pip``)
    image: str | None = None
    #: rust engine: an executable path or a name on PATH; with ``cargo``, the crate's bin target
    binary: str | None = None
    #: rust engine: a crate directory (relative to the registry file), built on first use
    cargo: str | None = None
    #: old Singer taps take the catalog as ``--properties``
    catalog_flag: Literal["--catalog", "--properties"] = "--catalog"

    @field_validator("command")
    @classmethod
    def _command_not_empty(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is not None and (not value or not all(value)):
            raise ValueError("command must be a non-empty list of non-empty strings")
        return value


def _check_pinned(spec: str) -> None:
    """A pip spec names one release (``pkg==1.2.3``), so ``name@version`` means one thing.

    Local paths and URLs (``./pkg``, ``pkg @ git+https://...``) are accepted as they are.
    """
    from packaging.requirements import InvalidRequirement, Requirement

    if spec.startswith((".", "/", "~")) or "://" in spec:
        return
    try:
        req = Requirement(spec)
    except InvalidRequirement:
        raise ValueError(f"launch.pip {spec!r} is not a valid pip requirement") from None
    if req.url:
        return
    pins = [s for s in req.specifier if s.operator in ("==", "===") and "*" not in s.version]
    if not pins:
        raise ValueError(f"launch.pip {spec!r} must pin one release, e.g. {req.name}==1.2.3")


_REQUIRED_LAUNCH: dict[str, tuple[str, ...]] = {
    "native": ("entry_point",),
    "singer": ("pip",),
    "command": ("command",),
}


class ConnectorEntry(BaseModel):
    """One release of one connector."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$", max_length=100)
    version: str
    role: Role
    engine: Engine
    description: str = ""
    launch: Launch
    capabilities: frozenset[str] = frozenset()
    #: path of the config JSON Schema (relative paths are resolved against the registry file)
    config_schema: str | None = None
    #: config keys whose values are secret (redacted everywhere, ``airbyte_secret`` in SPEC)
    secret_fields: tuple[str, ...] = ()
    documentation_url: str | None = None

    @field_validator("version", mode="before")
    @classmethod
    def _version_is_pep440(cls, value: Any) -> Any:
        if not isinstance(value, str):
            raise ValueError(
                f"must be a quoted string (YAML reads an unquoted {value!r} as a number)"
            )
        try:
            Version(value)
        except InvalidVersion:
            raise ValueError(f"{value!r} is not a PEP 440 version (e.g. 1.2.3)") from None
        return value

    @field_validator("capabilities", mode="before")
    @classmethod
    def _known_capabilities(cls, value: Any) -> Any:
        if not isinstance(value, list | tuple | set | frozenset):
            return value
        for cap in value:
            if isinstance(cap, str) and cap not in KNOWN_CAPABILITIES and not cap.startswith("x-"):
                close = difflib.get_close_matches(cap, sorted(KNOWN_CAPABILITIES), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise ValueError(f"unknown capability {cap!r}{hint} (custom ones start with x-)")
        return value

    @model_validator(mode="after")
    def _launch_fits_engine(self) -> ConnectorEntry:
        for field in _REQUIRED_LAUNCH.get(self.engine, ()):
            if getattr(self.launch, field) is None:
                raise ValueError(f"engine {self.engine!r} needs launch.{field}")
        if self.engine == "airbyte" and self.launch.image is None and self.launch.pip is None:
            raise ValueError("engine 'airbyte' needs launch.image or launch.pip")
        if self.engine == "rust" and self.launch.binary is None and self.launch.cargo is None:
            raise ValueError("engine 'rust' needs launch.binary or launch.cargo")
        if self.launch.pip is not None:
            _check_pinned(self.launch.pip)
        return self

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def parsed_version(self) -> Version:
        return Version(self.version)

    def has(self, capability: str) -> bool:
        return capability in self.capabilities

    def require(self, *capabilities: str) -> None:
        """Raise :class:`CapabilityError` naming every capability this connector lacks."""
        missing = [c for c in capabilities if c not in self.capabilities]
        if missing:
            has = ", ".join(sorted(self.capabilities)) or "none"
            raise CapabilityError(
                f"connector {self.ref} lacks capability {', '.join(repr(m) for m in missing)} "
                f"(it has: {has})",
                hint="pick a connector or version that declares it, or drop it from the job",
            )

    def to_dict(self) -> dict[str, Any]:
        data = self.model_dump(mode="json", exclude_none=True)
        data["capabilities"] = sorted(self.capabilities)
        data["launch"] = self.launch.model_dump(mode="json", exclude_none=True)
        return data
