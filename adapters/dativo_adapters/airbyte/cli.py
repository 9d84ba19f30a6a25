"""The ``tap-airbyte`` console script: Singer CLI conventions around an Airbyte source.

Errors become output here and only here: one line ``tap-airbyte: error: <message>`` on stderr
(redacted) and the exit code of the error's family (dativo_protocol/errors.py): 3 bad config,
4 malformed connector output, 6 a failed ``--check``, 8 the connector died or reported a TRACE
ERROR, 1 a bug.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

import click

from dativo_adapters.airbyte import settings as settings_mod
from dativo_adapters.airbyte import sync
from dativo_protocol import codec
from dativo_protocol.errors import DativoError, ExitCode, Interrupted, UsageError
from dativo_protocol.log import configure_logging
from dativo_protocol.redact import Redactor

NAME = "tap-airbyte"
CAPABILITIES = ["catalog", "discover", "state", "incremental", "about", "spec", "check"]
SETTINGS_SCHEMA = {
    "type": "object",
    "properties": {
        "connector": {"type": "string", "description": "executable name on PATH, or a path"},
        "command": {"type": "array", "items": {"type": "string"}, "description": "argv prefix"},
        "entry_point": {"type": "string", "description": "package.module:function"},
        "python": {"type": "string", "description": "interpreter for entry_point"},
        "connector_config": {"type": "object", "description": "the connector's own config"},
        "secret_fields": {"type": "array", "items": {"type": "string"}},
    },
}

_file = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.command(NAME)
@click.option(
    "--config",
    type=_file,
    help="tap-airbyte settings (or, with --executable, the connector's own config).",
)
@click.option(
    "--catalog",
    "--properties",
    "catalog",
    type=_file,
    help="Singer catalog; the selected streams are read.",
)
@click.option("--state", type=_file, help="Singer state (from an earlier run).")
@click.option("--discover", is_flag=True, help="Print the connector's streams as a Singer catalog.")
@click.option("--about", is_flag=True, help="Describe tap-airbyte.")
@click.option("--format", "about_format", type=click.Choice(["json", "markdown"]), default="json")
@click.option("--spec", "want_spec", is_flag=True, help="Print the connector's Airbyte SPEC.")
@click.option("--check", "want_check", is_flag=True, help="Run the connector's check.")
@click.option("--executable", help="The connector to run; --config is then its own config.")
@click.option("--secret-field", "secret_fields", multiple=True, help="A config key to redact.")
@click.pass_obj
def command(
    redactor: Redactor,
    config: Path | None,
    catalog: Path | None,
    state: Path | None,
    discover: bool,
    about: bool,
    about_format: str,
    want_spec: bool,
    want_check: bool,
    executable: str | None,
    secret_fields: tuple[str, ...],
) -> None:
    """Run an Airbyte source and print its output as Singer messages (docs/adapters/airbyte.md)."""
    out = sys.stdout.buffer
    if about:
        doc = {"name": NAME, "capabilities": CAPABILITIES, "settings": SETTINGS_SCHEMA}
        out.write(codec.dumps_pretty(doc).encode() + b"\n")
        return
    settings = _settings(config, executable, secret_fields, need_config=not want_spec)
    redactor.add(settings.redactor().secrets)
    if want_spec:
        out.write(codec.dumps_line(sync.spec(settings, redactor)))
    elif want_check:
        status = sync.check(settings, redactor)
        message = redactor.redact(str(status["connectionStatus"].get("message") or ""))
        status["connectionStatus"]["message"] = message
        out.write(codec.dumps_line(status))
        if status["connectionStatus"]["status"] != "SUCCEEDED":
            raise click.exceptions.Exit(int(ExitCode.CONNECTION))
    elif discover:
        out.write(codec.dumps_pretty(sync.discover(settings, redactor)).encode() + b"\n")
    else:
        sync.read(settings, redactor, out, catalog=catalog, state=state)


def _settings(
    config: Path | None,
    executable: str | None,
    secret_fields: tuple[str, ...],
    *,
    need_config: bool,
) -> settings_mod.Settings:
    if executable is not None:
        doc = codec.load_object_file(config, "config") if config is not None else {}
        if config is None and need_config:
            raise UsageError("--config is required")
        return settings_mod.for_executable(executable, doc, secret_fields)
    if config is None:
        raise UsageError("--config is required (the tap-airbyte settings)")
    found = settings_mod.from_file_value(codec.load_object_file(config, "config"))
    if secret_fields:
        found = settings_mod.Settings(
            found.argv, found.connector_config, found.secret_fields + secret_fields, found.name
        )
    return found


def _interrupt(signum: int, _frame: object) -> None:
    raise Interrupted(f"stopped by {signal.Signals(signum).name}")


def run(argv: Sequence[str] | None = None) -> int:
    """Run tap-airbyte with ``argv``; returns the exit code.

    SIGTERM (how ``dativo`` stops a tap) unwinds like Ctrl-C: the connector is stopped and the
    private directory holding its config is removed before we exit (130).
    """
    signal.signal(signal.SIGTERM, _interrupt)
    redactor = Redactor()
    configure_logging(redactor, level=logging.INFO)
    logger = logging.getLogger("dativo.tap-airbyte")
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        command.main(args=args, prog_name=NAME, standalone_mode=False, obj=redactor)
        code = 0
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except DativoError as exc:
        sys.stderr.write(f"{NAME}: error: {redactor.redact(exc.user_message())}\n")
        if exc.detail:
            logger.debug("detail: %s", redactor.redact(exc.detail))
        code = int(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        code = int(ExitCode.USAGE)
    except (click.Abort, KeyboardInterrupt, BrokenPipeError):
        code = int(ExitCode.INTERRUPTED)
    except Exception:
        logger.exception("%s failed with an unexpected error (a bug: please report it)", NAME)
        code = int(ExitCode.INTERNAL)
    with contextlib.suppress(OSError, ValueError):
        sys.stdout.flush()
    return code


def main() -> None:
    sys.exit(run())
