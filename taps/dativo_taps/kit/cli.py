"""The process edge of every Dativo tap: redaction, then singer-sdk's CLI, then exit codes.

Errors become output here and only here: a :class:`DativoError` prints one line
``<tap>: error: <message>`` on stderr and exits with its family's code; an unexpected
exception logs a (redacted) traceback and exits 1.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Callable, Sequence

import click

from dativo_protocol.errors import DativoError, ExitCode
from dativo_taps.kit.redaction import (
    install_stderr_redaction,
    redact_log_handlers,
    redactor_from_argv,
)
from dativo_taps.kit.tap import DativoTap


def _flush_stdout() -> None:
    with contextlib.suppress(OSError, ValueError):
        sys.stdout.flush()


def run(tap_cls: type[DativoTap], argv: Sequence[str] | None = None) -> int:
    """Run ``tap_cls`` as a console script with ``argv``; returns the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    redactor = redactor_from_argv(args, tap_cls._env_var_prefix, tap_cls.config_jsonschema)
    install_stderr_redaction(redactor)
    tap_cls = tap_cls.with_redactor(redactor)  # run-time secrets join the same redactor
    command = tap_cls.cli  # singer-sdk configures its logging here
    redact_log_handlers(redactor)
    logger = logging.getLogger(tap_cls.name)
    try:
        result = command.main(args=args, prog_name=tap_cls.name, standalone_mode=False)
        code = result if isinstance(result, int) else 0
    except DativoError as exc:
        sys.stderr.write(f"{tap_cls.name}: error: {redactor.redact(exc.user_message())}\n")
        if exc.detail:
            logger.debug("detail: %s", exc.detail)
        code = int(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        code = int(ExitCode.USAGE)
    except click.Abort:
        code = int(ExitCode.INTERRUPTED)
    except BrokenPipeError:
        code = int(ExitCode.INTERRUPTED)
    except Exception:
        logger.exception(
            "%s failed with an unexpected error (a bug: please report it)", tap_cls.name
        )
        code = int(ExitCode.INTERNAL)
    _flush_stdout()
    return code


def entry_point(tap_cls: type[DativoTap]) -> Callable[[], None]:
    """A ``[project.scripts]`` target for ``tap_cls``."""

    def main() -> None:
        sys.exit(run(tap_cls))

    return main
