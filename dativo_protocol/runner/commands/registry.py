"""``dativo registry list|show|validate``: browse and check the connector registry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from dativo_protocol.runner.commands._common import (
    app_for,
    json_option,
    load_registry,
    output_for,
    registry_option,
)
from dativo_protocol.runner.registry import (
    ConnectorEntry,
    Registry,
    RegistryValidationError,
    default_paths,
)


@click.group("registry")
def command() -> None:
    """Browse and validate the connector registry.

    Connectors are named NAME (the latest release) or NAME@VERSION (an exact one). The
    built-in registry ships with Dativo; more files come from $DATIVO_REGISTRY (separated by
    ':'), --registry FILE, and installed packages that declare a `dativo.connectors` entry point.
    """


def _row(entry: ConnectorEntry, versions: list[ConnectorEntry]) -> dict[str, Any]:
    return {
        "name": entry.name,
        "version": entry.version,
        "versions": [e.version for e in versions],
        "role": entry.role,
        "engine": entry.engine,
        "capabilities": sorted(entry.capabilities),
        "description": entry.description,
    }


@command.command("list")
@registry_option
@json_option
@click.pass_context
def list_cmd(ctx: click.Context, registry_files: tuple[Path, ...], json_output: bool) -> None:
    """List connectors: name, latest version, role, engine and capabilities."""
    app = app_for(ctx, json_output)
    registry = load_registry(registry_files)
    rows = [_row(registry.resolve(name), registry.versions(name)) for name in registry.names()]

    def text(data: list[dict[str, Any]]) -> str:
        if not data:
            return "no connectors"
        width = max(len(r["name"]) for r in data)
        lines = [f"{'NAME':<{width}}  {'VERSION':<9} {'ROLE':<7} {'ENGINE':<8} CAPABILITIES"]
        for r in data:
            more = f" (+{len(r['versions']) - 1} older)" if len(r["versions"]) > 1 else ""
            lines.append(
                f"{r['name']:<{width}}  {r['version']:<9} {r['role']:<7} {r['engine']:<8} "
                f"{', '.join(r['capabilities']) or '-'}{more}"
            )
        return "\n".join(lines)

    output_for(app).result(rows, text)


@command.command("show")
@click.argument("connector")
@registry_option
@json_option
@click.pass_context
def show_cmd(
    ctx: click.Context, connector: str, registry_files: tuple[Path, ...], json_output: bool
) -> None:
    """Show one registry entry: CONNECTOR is NAME (latest) or NAME@VERSION."""
    app = app_for(ctx, json_output)
    registry = load_registry(registry_files)
    entry = registry.resolve(connector)
    if entry.launch.pip:
        from dativo_protocol.runner.install import spec_redactor

        app.redactor.add(spec_redactor(entry.launch.pip).secrets)
    data = entry.to_dict()
    data["ref"] = entry.ref
    data["versions"] = [e.version for e in registry.versions(entry.name)]
    data["defined_in"] = registry.source_of(entry)

    def text(d: dict[str, Any]) -> str:
        launch = ", ".join(f"{k}={v}" for k, v in d["launch"].items())
        lines = [
            f"{d['ref']}  ({d['role']}, engine {d['engine']})",
            f"  description:   {d.get('description') or '-'}",
            f"  launch:        {launch}",
            f"  capabilities:  {', '.join(d['capabilities']) or '-'}",
            f"  secret fields: {', '.join(d.get('secret_fields', [])) or '-'}",
            f"  config schema: {d.get('config_schema') or '-'}",
            f"  versions:      {', '.join(d['versions'])}",
            f"  defined in:    {d['defined_in']}",
        ]
        return "\n".join(lines)

    output_for(app).result(data, text)


@command.command("validate")
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@json_option
@click.pass_context
def validate_cmd(ctx: click.Context, files: tuple[Path, ...], json_output: bool) -> None:
    """Validate registry files (default: the built-in registry, $DATIVO_REGISTRY and plugins).

    Every problem is reported with its file, entry and field; exit code 3 if any.
    """
    app = app_for(ctx, json_output)
    paths = list(files) if files else default_paths()
    registry, problems = Registry.validate(paths, entry_points=not files)
    if problems:
        raise RegistryValidationError(problems)
    data = {
        "valid": True,
        "files": [str(p) for p in paths],
        "connectors": len(registry.entries()),
    }
    output_for(app).result(
        data, lambda d: f"ok: {d['connectors']} connector entries in {', '.join(d['files'])}"
    )
