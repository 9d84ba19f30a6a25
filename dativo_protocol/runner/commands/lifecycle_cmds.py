"""``dativo spec|check|discover|install``: the uniform connector lifecycle (docs/connectors.md)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from dativo_protocol import codec
from dativo_protocol.errors import ExitCode
from dativo_protocol.runner import lifecycle
from dativo_protocol.runner.commands._common import (
    app_for,
    json_option,
    load_registry,
    output_for,
    read_json_file,
    registry_option,
)
from dativo_protocol.runner.context import AppContext
from dativo_protocol.runner.launch import connector_for
from dativo_protocol.runner.registry import ConnectorEntry

F = TypeVar("F", bound=Callable[..., Any])

CONNECTOR_HELP = (
    "CONNECTOR is a registry name (latest release), NAME@VERSION, or a command line "
    "such as './tap-x' or 'tap-x --flag' (a plain Singer connector)."
)


def role_option(func: F) -> F:
    return click.option(
        "--role",
        type=click.Choice(["source", "target"]),
        default="source",
        show_default=True,
        help="Role of an ad-hoc command connector (registry entries know theirs).",
    )(func)


def config_option(required: bool) -> Callable[[F], F]:
    return click.option(
        "--config",
        "config_file",
        type=click.Path(dir_okay=False, exists=True, path_type=Path),
        required=required,
        help="Connector config (JSON). Its secret values are redacted from all output.",
    )


def _entry(connector: str, registry_files: tuple[Path, ...], role: str) -> ConnectorEntry:
    registry = load_registry(registry_files)
    entry = connector_for(connector, registry)
    if entry.engine == "command" and role == "target":
        entry = entry.model_copy(update={"role": "target", "capabilities": frozenset()})
    return entry


def _config(app: AppContext, entry: ConnectorEntry, path: Path) -> dict[str, Any]:
    config = read_json_file(path, "config", app)
    app.redactor.add(lifecycle.redactor_for_entry(entry, config).secrets)
    return config


@click.command("spec", epilog=CONNECTOR_HELP)
@click.argument("connector")
@registry_option
@role_option
@json_option
@click.pass_context
def spec_command(
    ctx: click.Context,
    connector: str,
    registry_files: tuple[Path, ...],
    role: str,
    json_output: bool,
) -> None:
    """Print a connector's config spec as an Airbyte-style SPEC (JSON).

    The spec comes from the connector's --spec (Dativo connectors), else the settings of
    `--about --format json` (singer-sdk connectors), else the registry's config_schema.
    Secret fields carry "airbyte_secret": true.
    """
    app = app_for(ctx, json_output)
    entry = _entry(connector, registry_files, role)
    output_for(app).result(lifecycle.spec(entry), codec.dumps_pretty)


def timeout_option(default: float) -> Callable[[F], F]:
    return click.option(
        "--timeout",
        type=click.FloatRange(min=0, min_open=True),
        default=default,
        show_default=True,
        help="Seconds before the connector process (and its children) is killed.",
    )


@click.command("check", epilog=CONNECTOR_HELP)
@click.argument("connector")
@config_option(required=True)
@timeout_option(lifecycle.CHECK_TIMEOUT)
@registry_option
@role_option
@json_option
@click.pass_context
def check_command(
    ctx: click.Context,
    connector: str,
    config_file: Path,
    timeout: float,
    registry_files: tuple[Path, ...],
    role: str,
    json_output: bool,
) -> None:
    """Check that a connector can connect with a config.

    Uses the connector's --check (Dativo), else singer-sdk's --test when declared, else a
    short --discover run; a target without a check has its config validated against its spec.
    Prints SUCCEEDED or FAILED with a one-line reason (JSON: an Airbyte CONNECTION_STATUS).
    Exit codes: 0 succeeded, 6 check failed, 3 bad config or registry, 8 connector misbehaved.
    """
    app = app_for(ctx, json_output)
    entry = _entry(connector, registry_files, role)
    result = lifecycle.check(entry, _config(app, entry, config_file), timeout=timeout)
    output_for(app).result(
        {**result.to_dict(), "connector": entry.ref},
        lambda d: f"{d['status']}: {d['connector']}: {d['message']}",
    )
    if not result.ok:
        ctx.exit(int(ExitCode.CONNECTION))


@click.command("discover", epilog=CONNECTOR_HELP)
@click.argument("connector")
@config_option(required=True)
@click.option(
    "--state",
    "state_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="State file passed to the tap alongside --discover (as Meltano does).",
)
@click.option(
    "-o",
    "--output",
    "output_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the catalog to this file instead of stdout.",
)
@timeout_option(lifecycle.DISCOVER_TIMEOUT)
@registry_option
@json_option
@click.pass_context
def discover_command(
    ctx: click.Context,
    connector: str,
    config_file: Path,
    state_file: Path | None,
    output_file: Path | None,
    timeout: float,
    registry_files: tuple[Path, ...],
    json_output: bool,
) -> None:
    """Run a source's discovery and print its Singer catalog (validated).

    Exit codes: 0 ok, 3 bad config or registry, 4 the output is not a valid catalog,
    8 the connector failed (its one-line reason is shown, secrets redacted).
    """
    app = app_for(ctx, json_output)
    entry = _entry(connector, registry_files, "source")
    config = _config(app, entry, config_file)
    state = read_json_file(state_file, "state", app) if state_file else None
    catalog = lifecycle.discover(entry, config, state, timeout=timeout)
    if output_file is not None:
        output_file.write_bytes(codec.dumps_pretty(catalog).encode() + b"\n")
        output_for(app).result(
            {"catalog": str(output_file), "streams": len(catalog["streams"])},
            lambda d: f"wrote {d['streams']} streams to {d['catalog']}",
        )
        return
    output_for(app).result(catalog, codec.dumps_pretty)


@click.command("install")
@click.argument("connector")
@registry_option
@json_option
@click.pass_context
def install_command(
    ctx: click.Context, connector: str, registry_files: tuple[Path, ...], json_output: bool
) -> None:
    """Pre-install a singer- or airbyte-engine connector into its isolated venv.

    The venv lives in $DATIVO_HOME/venvs/NAME-VERSION (DATIVO_HOME defaults to ~/.dativo) and
    is created once from the entry's pinned pip spec (uv when available, else venv + pip);
    otherwise it is installed on first use. A rust connector with a crate is built with cargo
    into $DATIVO_HOME/rust. Native and command connectors need no install.
    """
    from dativo_protocol.runner.install import PIP_ENGINES, ensure_installed, venv_dir

    app = app_for(ctx, json_output)
    entry = load_registry(registry_files).resolve(connector)
    if entry.engine == "rust":
        from dativo_protocol.runner.rust_build import ensure_built

        executable = str(ensure_built(entry))
        data = {"connector": entry.ref, "installed": True, "venv": None}
        data.update(executable=executable, note=f"executable {executable}")
    elif entry.engine not in PIP_ENGINES or not entry.launch.pip:
        data = {
            "connector": entry.ref,
            "installed": True,
            "venv": None,
            "note": f"engine {entry.engine}: nothing to install",
        }
    else:
        ensure_installed(entry)
        data = {
            "connector": entry.ref,
            "installed": True,
            "venv": str(venv_dir(entry)),
            "pip": entry.launch.pip,
        }
    output_for(app).result(
        data,
        lambda d: f"{d['connector']}: " + (f"installed in {d['venv']}" if d["venv"] else d["note"]),
    )
