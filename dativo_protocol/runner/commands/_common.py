"""Option bundles and helpers shared by the registry and lifecycle commands."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from dativo_protocol import codec
from dativo_protocol.redact import collect_secrets
from dativo_protocol.runner.context import AppContext
from dativo_protocol.runner.output import Output
from dativo_protocol.runner.registry import Registry, default_paths

F = TypeVar("F", bound=Callable[..., Any])


def registry_option(func: F) -> F:
    """``--registry FILE`` (repeatable): extra registry files on top of the built-in one."""
    option = click.option(
        "--registry",
        "registry_files",
        multiple=True,
        type=click.Path(dir_okay=False, path_type=Path),
        help="Extra registry YAML file, loaded after the built-in registry and "
        "$DATIVO_REGISTRY (repeatable).",
    )
    return option(func)


def load_registry(registry_files: tuple[Path, ...]) -> Registry:
    return Registry.load([*default_paths(), *registry_files])


def output_for(app: AppContext) -> Output:
    return Output(as_json=app.json_output, redactor=app.redactor)


def read_json_file(path: Path, what: str, app: AppContext) -> dict[str, Any]:
    """Read a JSON object file and register its secret values for redaction at once."""
    data = codec.load_object_file(path, what)
    app.redactor.add(collect_secrets(data))
    return data


json_option = click.option(
    "--json",
    "json_output",
    is_flag=True,
    help="Machine-readable JSON output (same as `dativo --json ...`).",
)


def app_for(ctx: click.Context, json_output: bool = False) -> AppContext:
    app = ctx.ensure_object(AppContext)
    app.json_output = app.json_output or json_output
    return app
