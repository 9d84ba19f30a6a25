"""The YAML job file: what to run, with which configs, selection, stream maps, state and limits.

A job is validated with pydantic when it is loaded; errors name the file and the field
(``job.yaml: source.config_file: ...``). Secret references (``${env:VAR}``, ``${file:path}``)
stay unresolved in a loaded :class:`Job`; :func:`resolve_endpoint_config` resolves them at run
time. See docs/jobs.md for the reference.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from dativo_protocol import codec
from dativo_protocol.errors import ConfigError
from dativo_protocol.runner.refs import Resolver

JOB_VERSION = 1
#: default state backend: Meltano's local-filesystem layout under the working directory
DEFAULT_STATE_BACKEND = ".dativo/state"
_STATE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@=+-]{0,199}$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Endpoint(_Model):
    """A tap or a target: a registry reference or a command, and its config."""

    connector: str | None = Field(default=None, description="registry reference `name[@version]`")
    command: str | tuple[str, ...] | None = Field(
        default=None, description="a command line instead"
    )
    config: dict[str, Any] = Field(default_factory=dict, description="inline config")
    config_file: Path | None = Field(default=None, description="JSON or YAML config file")

    @model_validator(mode="after")
    def _one_launcher(self) -> Endpoint:
        if (self.connector is None) == (self.command is None):
            raise ValueError("give exactly one of `connector` (a registry name) or `command`")
        if self.command is not None and not self.command:
            raise ValueError("`command` is empty")
        return self

    @property
    def ref(self) -> str:
        """What :func:`launch.connector_for` takes: a registry reference or a command line."""
        if self.connector is not None:
            return self.connector
        if self.command is None:  # pragma: no cover - the validator forbids it
            raise ConfigError("an endpoint needs `connector` or `command`")
        return self.command if isinstance(self.command, str) else shlex.join(self.command)

    @property
    def short_name(self) -> str:
        return short_name(self.ref)


def short_name(ref: str) -> str:
    """A display name for a registry ref or a command (``python x/tap.py`` -> ``tap``)."""
    words = shlex.split(ref) or [ref]
    first = Path(words[0]).name
    if first.startswith("python") and len(words) > 1:
        return Path(words[-1]).stem
    return first.split("@", 1)[0]


class Streams(_Model):
    """Stream and field selection, Meltano style: `stream.field` globs, `!` excludes."""

    select: tuple[str, ...] = ()
    metadata: dict[str, dict[str, Any]] = Field(default_factory=dict)
    catalog: Path | None = None


class StateSettings(_Model):
    backend: str | None = None
    id: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("id")
    @classmethod
    def _valid_id(cls, value: str | None) -> str | None:
        if value is not None and not _STATE_ID.match(value):
            raise ValueError(
                "a state id is 1-200 characters: letters, digits and `_.:@=+-`, starting"
                " with a letter or digit"
            )
        return value


class Timeouts(_Model):
    run: float | None = Field(default=None, gt=0, description="seconds for one attempt")
    idle: float | None = Field(
        default=None, gt=0, description="seconds without output from the tap"
    )
    discover: float = Field(default=300, gt=0)
    stop: float = Field(default=30, gt=0, description="grace after SIGTERM before SIGKILL")


class Retries(_Model):
    attempts: int = Field(
        default=3, ge=1, le=100, description="total attempts for transient failures"
    )
    backoff: float = Field(
        default=2.0, ge=0, description="first delay in seconds, doubled each time"
    )
    max_backoff: float = Field(default=60.0, ge=0)


class Job(_Model):
    version: Literal[1] = 1
    name: str
    source: Endpoint
    target: Endpoint
    streams: Streams = Field(default_factory=Streams)
    stream_maps: dict[str, Any] | None = None
    stream_map_config: dict[str, Any] | None = None
    state: StateSettings = Field(default_factory=StateSettings)
    timeouts: Timeouts = Field(default_factory=Timeouts)
    retries: Retries = Field(default_factory=Retries)
    #: where relative paths in the job are resolved (the job file's folder)
    base_dir: Path = Field(default_factory=Path.cwd, exclude=True)

    @property
    def state_id(self) -> str:
        return self.state.id or f"dativo:{self.name}"

    @property
    def state_backend(self) -> str:
        return self.state.backend or DEFAULT_STATE_BACKEND

    def path(self, value: Path) -> Path:
        return value if value.is_absolute() else self.base_dir / value


def _format_errors(source: str, exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        lines.append(f"{source}: {loc}: {msg}")
    return "\n".join(lines)


def job_from_dict(data: Any, *, source: str, base_dir: Path, name: str) -> Job:
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: a job file holds a mapping (source:, target:, ...)")
    version = data.get("version", JOB_VERSION)
    if version != JOB_VERSION:
        raise ConfigError(
            f"{source}: version: unsupported job file version {version!r}"
            f" (this dativo reads version {JOB_VERSION})"
        )
    try:
        return Job.model_validate({"name": name, **data, "base_dir": base_dir})
    except ValidationError as exc:
        raise ConfigError(_format_errors(source, exc)) from None


def load_job(path: str | Path) -> Job:
    """Read and validate a job file (secret references stay unresolved)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read job file {path}: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}: invalid YAML{where}") from None
    return job_from_dict(data, source=str(path), base_dir=path.resolve().parent, name=path.stem)


def read_config_file(path: Path, where: str) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read {path}: {exc.strerror}") from None
    try:
        data = codec.loads(raw) if path.suffix == ".json" else yaml.safe_load(raw)
    except (codec.JSONDecodeError, yaml.YAMLError):
        raise ConfigError(f"{where}: {path} is not valid JSON/YAML") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: {path} must hold a JSON object")
    return data


def resolve_endpoint_config(
    job: Job, role: Literal["source", "target"], resolver: Resolver
) -> dict[str, Any]:
    """The endpoint's config: file (if any) overlaid with inline keys, references resolved."""
    endpoint: Endpoint = getattr(job, role)
    config: dict[str, Any] = {}
    if endpoint.config_file is not None:
        config.update(read_config_file(job.path(endpoint.config_file), f"{role}.config_file"))
    config.update(endpoint.config)
    resolved: dict[str, Any] = resolver.resolve(config, f"{role}.config")
    return resolved
