"""The ``dativo`` command line: a lazy click group and the one place errors become output."""

from __future__ import annotations

import importlib
import logging
import sys
from typing import Any

import click

from dativo_protocol import __version__
from dativo_protocol.errors import DativoError, ExitCode, Interrupted
from dativo_protocol.log import configure_logging
from dativo_protocol.runner.context import AppContext
from dativo_protocol.runner.output import Output

#: command name -> "module:attribute"; modules are imported only when the command runs
#: (or when help lists it), so ``dativo --help`` stays cheap.
COMMANDS: dict[str, str] = {
    "run": "dativo_protocol.runner.commands.run:command",
    "state": "dativo_protocol.runner.commands.state:command",
    "convert": "dativo_protocol.runner.commands.convert:command",
    "registry": "dativo_protocol.runner.commands.registry:command",
    "spec": "dativo_protocol.runner.commands.lifecycle_cmds:spec_command",
    "check": "dativo_protocol.runner.commands.lifecycle_cmds:check_command",
    "discover": "dativo_protocol.runner.commands.lifecycle_cmds:discover_command",
    "install": "dativo_protocol.runner.commands.lifecycle_cmds:install_command",
    "map": "dativo_protocol.runner.commands.map:command",
    "validate": "dativo_protocol.runner.commands.validate:command",
}


class LazyGroup(click.Group):
    def __init__(self, *args: Any, lazy: dict[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self._lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self._lazy:
            module_name, attr = self._lazy[cmd_name].split(":")
            command = getattr(importlib.import_module(module_name), attr)
            if not isinstance(command, click.Command):
                raise TypeError(f"{self._lazy[cmd_name]} is not a click command")
            return command
        return super().get_command(ctx, cmd_name)


@click.group(cls=LazyGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dativo")
@click.option("--json", "json_output", is_flag=True, help="Machine-readable JSON output.")
@click.option("-v", "--verbose", count=True, help="More log output on stderr (repeatable).")
@click.pass_context
def cli(ctx: click.Context, json_output: bool, verbose: int) -> None:
    """Dativo: move data with the Singer and Airbyte protocols, fast and state-safe."""
    app = ctx.ensure_object(AppContext)
    app.json_output = app.json_output or json_output
    app.verbose = verbose
    level = logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING
    configure_logging(app.redactor, level=level)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: runs the CLI and converts errors to messages and exit codes."""
    app = AppContext(json_output="--json" in (argv if argv is not None else sys.argv[1:]))
    code = run(argv, app)
    sys.exit(code)


def run(argv: list[str] | None, app: AppContext) -> int:
    output = Output(as_json=app.json_output, redactor=app.redactor)
    try:
        # with standalone_mode=False click returns the code of ctx.exit(n) instead of raising
        returned = cli.main(args=argv, prog_name="dativo", obj=app, standalone_mode=False)
    except DativoError as exc:
        output.error(exc)
        logging.getLogger("dativo").debug("error detail: %s", exc.detail, exc_info=exc)
        return int(exc.exit_code)
    except click.exceptions.Abort:
        output.error(Interrupted("interrupted"))
        return int(ExitCode.INTERRUPTED)
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except KeyboardInterrupt:
        output.error(Interrupted("interrupted"))
        return int(ExitCode.INTERRUPTED)
    except BrokenPipeError:
        return int(ExitCode.OK)
    return returned if isinstance(returned, int) else int(ExitCode.OK)
