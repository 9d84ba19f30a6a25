"""The versioned connector registry: which connectors exist, how to launch them, what they can do.

Entries come from YAML files (``registry/connectors.yaml`` ships with Dativo; its JSON Schema is
``registry/schema.json``) and from third-party distributions through the ``dativo.connectors``
entry-point group. A reference is ``name`` (the latest release by PEP 440 ordering) or
``name@version`` (exact). See docs/registry.md.
"""

from __future__ import annotations

import difflib
import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from importlib import metadata
from pathlib import Path
from typing import Any

from packaging.version import InvalidVersion, Version
from pydantic import ValidationError

from dativo_protocol.errors import ConfigError
from dativo_protocol.runner.connector_entry import (
    KNOWN_CAPABILITIES,
    RESERVED_ENGINES,
    CapabilityError,
    ConnectorEntry,
    Engine,
    Launch,
    Role,
    UnknownConnectorError,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "KNOWN_CAPABILITIES",
    "RESERVED_ENGINES",
    "CapabilityError",
    "ConnectorEntry",
    "Engine",
    "Launch",
    "Problem",
    "Registry",
    "RegistryValidationError",
    "Role",
    "UnknownConnectorError",
    "default_paths",
]

log = logging.getLogger("dativo.registry")

ENTRY_POINT_GROUP = "dativo.connectors"
REGISTRY_FILE = "connectors.yaml"
FORMAT_VERSION = 1
#: extra registry files, separated by os.pathsep, loaded after the built-in one
REGISTRY_ENV = "DATIVO_REGISTRY"


# ---------------------------------------------------------------------------------- loading
@dataclass(frozen=True)
class Problem:
    """One validation problem, located by source, entry and field."""

    source: str
    entry: str
    field: str
    message: str
    #: from a third-party entry point (skipped with a warning by ``load``, not fatal)
    plugin: bool = False

    def __str__(self) -> str:
        where = f"{self.source}: {self.entry}" if self.entry else self.source
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


class RegistryValidationError(ConfigError):
    kind = "registry_invalid"

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        shown = "\n  ".join(str(p) for p in self.problems[:20])
        more = f"\n  ... and {len(self.problems) - 20} more" if len(self.problems) > 20 else ""
        super().__init__(f"invalid connector registry:\n  {shown}{more}")

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["problems"] = [p.__dict__ for p in self.problems]
        return out


def _entry_label(index: int, raw: Any) -> str:
    if isinstance(raw, Mapping):
        name, version = raw.get("name"), raw.get("version")
        if name:
            return (
                f"connectors[{index}] ({name}@{version})"
                if version
                else f"connectors[{index}] ({name})"
            )
    return f"connectors[{index}]"


def parse_entries(
    raw_entries: Any, *, source: str, base_dir: Path | None
) -> tuple[list[ConnectorEntry], list[Problem]]:
    """Validate raw entry mappings; returns the good entries and every problem found."""
    entries: list[ConnectorEntry] = []
    problems: list[Problem] = []
    if not isinstance(raw_entries, list):
        return [], [Problem(source, "", "connectors", "must be a list of connector entries")]
    for index, raw in enumerate(raw_entries):
        label = _entry_label(index, raw)
        if isinstance(raw, ConnectorEntry):
            entries.append(raw)
            continue
        if not isinstance(raw, Mapping):
            problems.append(Problem(source, label, "", "must be a mapping"))
            continue
        try:
            entry = ConnectorEntry.model_validate(dict(raw))
        except ValidationError as exc:
            for err in exc.errors(include_url=False, include_input=False):
                field = ".".join(str(p) for p in err["loc"])
                problems.append(Problem(source, label, field, _pydantic_message(err)))
            continue
        if entry.config_schema and base_dir is not None and "://" not in entry.config_schema:
            schema_path = Path(entry.config_schema)
            if not schema_path.is_absolute():
                schema_path = base_dir / schema_path
            if not schema_path.is_file():
                problems.append(
                    Problem(
                        source, label, "config_schema", f"file not found: {entry.config_schema}"
                    )
                )
                continue
            entry = entry.model_copy(update={"config_schema": str(schema_path)})
        if entry.engine == "rust" and base_dir is not None:
            entry = _resolve_rust_paths(entry, base_dir)
        entries.append(entry)
    return entries, problems


def _resolve_rust_paths(entry: ConnectorEntry, base_dir: Path) -> ConnectorEntry:
    """Relative ``launch.cargo`` and ``launch.binary`` paths resolve against the registry file.

    They are checked when the connector starts, not here: a crate that ships only with the
    repository must not make the whole registry invalid elsewhere.
    """
    launch = entry.launch
    update: dict[str, str] = {}
    if launch.cargo is not None and not Path(launch.cargo).is_absolute():
        update["cargo"] = os.path.normpath(base_dir / launch.cargo)
    binary = launch.binary
    if launch.cargo is None and binary and "/" in binary and not Path(binary).is_absolute():
        update["binary"] = os.path.normpath(base_dir / binary)
    if not update:
        return entry
    return entry.model_copy(update={"launch": launch.model_copy(update=update)})


def _pydantic_message(err: Mapping[str, Any]) -> str:
    msg = str(err.get("msg", "invalid"))
    return msg.removeprefix("Value error, ")


def read_registry_file(path: Path) -> tuple[list[ConnectorEntry], list[Problem]]:
    """Read and validate one registry YAML file."""
    import yaml

    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        return [], [Problem(source, "", "", f"cannot read: {exc.strerror or exc}")]
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        reason = getattr(exc, "problem", None) or "invalid YAML"
        return [], [Problem(source, "", "", f"{where}{reason}")]
    if not isinstance(doc, Mapping):
        return [], [
            Problem(source, "", "", "must be a mapping with 'format_version' and 'connectors'")
        ]
    problems: list[Problem] = []
    unknown = sorted(set(doc) - {"format_version", "connectors"})
    if unknown:
        problems.append(Problem(source, "", unknown[0], "unknown top-level key"))
    if doc.get("format_version") != FORMAT_VERSION:
        problems.append(
            Problem(
                source,
                "",
                "format_version",
                f"must be {FORMAT_VERSION}, got {doc.get('format_version')!r}",
            )
        )
    entries, entry_problems = parse_entries(
        doc.get("connectors"), source=source, base_dir=path.parent
    )
    return entries, problems + entry_problems


def builtin_registry_dir() -> Path:
    """The registry shipped with Dativo: the wheel's ``_registry_data`` or the repo's ``registry/``."""
    here = Path(__file__).resolve().parent
    packaged = here / "_registry_data"
    if (packaged / REGISTRY_FILE).is_file():
        return packaged
    return here.parents[1] / "registry"


def default_paths() -> list[Path]:
    """The built-in registry file plus any listed in ``$DATIVO_REGISTRY``."""
    paths = [builtin_registry_dir() / REGISTRY_FILE]
    extra = os.environ.get(REGISTRY_ENV, "")
    paths.extend(Path(p) for p in extra.split(os.pathsep) if p)
    return paths


def _entry_point_entries(
    eps: Iterable[metadata.EntryPoint],
) -> tuple[list[ConnectorEntry], list[Problem]]:
    entries: list[ConnectorEntry] = []
    problems: list[Problem] = []
    for ep in eps:
        dist = getattr(ep, "dist", None)
        source = f"entry point {ep.name!r} ({ep.value}" + (f", {dist.name})" if dist else ")")
        try:
            provided = ep.load()
            if callable(provided):
                provided = provided()
        except Exception as exc:  # noqa: BLE001 - a broken plugin must not take the CLI down
            problems.append(Problem(source, "", "", f"failed to load: {type(exc).__name__}: {exc}"))
            continue
        if isinstance(provided, str | os.PathLike):
            got, found = read_registry_file(Path(provided))
        elif isinstance(provided, Mapping):
            base = provided.get("base_dir")
            got, found = parse_entries(
                provided.get("connectors"), source=source, base_dir=Path(base) if base else None
            )
        else:
            got, found = parse_entries(
                list(provided) if isinstance(provided, Iterable) else provided,
                source=source,
                base_dir=None,
            )
        entries.extend(got)
        problems.extend(found)
    return entries, problems


class Registry:
    """Connector entries by name and version."""

    def __init__(
        self, entries: Iterable[ConnectorEntry] = (), *, sources: Mapping[str, str] | None = None
    ):
        self._by_name: dict[str, list[ConnectorEntry]] = {}
        self._sources: dict[str, str] = dict(sources or {})
        for entry in entries:
            self._by_name.setdefault(entry.name, []).append(entry)
        for versions in self._by_name.values():
            versions.sort(key=lambda e: e.parsed_version)

    @classmethod
    def load(
        cls,
        paths: Sequence[Path] | None = None,
        *,
        entry_points: bool | Iterable[metadata.EntryPoint] = True,
    ) -> Registry:
        """Load and validate registry files (default: :func:`default_paths`) and plugins.

        ``entry_points`` is True (the installed ``dativo.connectors`` entry points), False, or
        an explicit iterable of entry points. Raises :class:`RegistryValidationError` listing
        every problem (file, entry and field) when a registry file is invalid. A broken
        third-party plugin must not block unrelated runs: its problems are logged as warnings
        and its bad entries skipped (``dativo registry validate`` reports them).
        """
        entries, problems, sources = cls._collect(paths, entry_points)
        fatal = [p for p in problems if not p.plugin]
        if fatal:
            raise RegistryValidationError(fatal)
        for problem in problems:
            log.warning("ignoring a broken connector plugin: %s", problem)
        return cls(entries, sources=sources)

    @classmethod
    def validate(
        cls,
        paths: Sequence[Path] | None = None,
        *,
        entry_points: bool | Iterable[metadata.EntryPoint] = True,
    ) -> tuple[Registry, list[Problem]]:
        """Like :meth:`load` but returns the problems (and the valid part) instead of raising."""
        entries, problems, sources = cls._collect(paths, entry_points)
        return cls(entries, sources=sources), problems

    @classmethod
    def _collect(
        cls,
        paths: Sequence[Path] | None,
        entry_points: bool | Iterable[metadata.EntryPoint],
    ) -> tuple[list[ConnectorEntry], list[Problem], dict[str, str]]:
        all_entries: list[ConnectorEntry] = []
        problems: list[Problem] = []
        sources: dict[str, str] = {}

        def add(found: Iterable[ConnectorEntry], source: str) -> None:
            for entry in found:
                if entry.ref in sources:
                    problems.append(
                        Problem(
                            source,
                            entry.ref,
                            "",
                            f"already defined in {sources[entry.ref]}",
                            plugin=source.startswith("entry point"),
                        )
                    )
                    continue
                sources[entry.ref] = source
                all_entries.append(entry)

        for path in default_paths() if paths is None else paths:
            found, file_problems = read_registry_file(Path(path))
            problems.extend(file_problems)
            add(found, str(path))
        if entry_points is not False:
            eps = (
                metadata.entry_points(group=ENTRY_POINT_GROUP)
                if entry_points is True
                else entry_points
            )
            for ep in eps:
                found, ep_problems = _entry_point_entries([ep])
                problems.extend(replace(p, plugin=True) for p in ep_problems)
                add(found, f"entry point {ep.name!r}")
        return all_entries, problems, sources

    # ------------------------------------------------------------------------------ queries
    def entries(self) -> list[ConnectorEntry]:
        """Every entry, by name then version (oldest first)."""
        return [e for name in sorted(self._by_name) for e in self._by_name[name]]

    def names(self) -> list[str]:
        return sorted(self._by_name)

    def versions(self, name: str) -> list[ConnectorEntry]:
        """All releases of ``name``, oldest first (raises for an unknown name)."""
        if name not in self._by_name:
            raise self._unknown(name)
        return list(self._by_name[name])

    def source_of(self, entry: ConnectorEntry) -> str | None:
        return self._sources.get(entry.ref)

    def __contains__(self, ref: object) -> bool:
        if not isinstance(ref, str):
            return False
        try:
            self.resolve(ref)
        except ConfigError:
            return False
        return True

    def resolve(self, ref: str) -> ConnectorEntry:
        """``name`` -> latest release (pre-releases only if nothing else), ``name@v`` -> exact."""
        name, sep, wanted = ref.strip().partition("@")
        if not name or (sep and not wanted) or "@" in wanted:
            raise ConfigError(
                f"invalid connector reference {ref!r}", hint="use NAME or NAME@VERSION"
            )
        versions = self.versions(name)
        if not sep:
            stable = [e for e in versions if not e.parsed_version.is_prerelease]
            return (stable or versions)[-1]
        for entry in versions:
            if entry.version == wanted:
                return entry
        try:
            parsed = Version(wanted)
        except InvalidVersion:
            parsed = None
        for entry in versions:
            if parsed is not None and entry.parsed_version == parsed:
                return entry
        known = ", ".join(e.version for e in versions)
        raise UnknownConnectorError(
            f"connector {name!r} has no version {wanted!r} (known: {known})",
            hint=f"use {name}@{versions[-1].version} or just {name} for the latest",
        )

    def _unknown(self, name: str) -> UnknownConnectorError:
        close = difflib.get_close_matches(name, self.names(), n=3, cutoff=0.6)
        hint = f"did you mean {', '.join(close)}?" if close else "see `dativo registry list`"
        return UnknownConnectorError(f"unknown connector {name!r}", hint=hint)
