"""Console-script scaffolding for kit-based targets: options, settings, errors → exit codes.

``main = target_main(TargetApp(...))`` gives a Singer target CLI: ``--config`` (repeatable,
later wins; ``--config ENV`` reads ``<TARGET_NAME>_<SETTING>`` variables), ``--input FILE``,
``--about [--format json|markdown]`` and ``--version``. Errors become one redacted line on
stderr and the exit code of their family (``dativo_protocol.errors``), in :func:`run_app` only.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import FrameType
from typing import Any, BinaryIO, Generic, NoReturn, TextIO, TypeVar

import click

from dativo_protocol import codec
from dativo_protocol.errors import ConfigError, DativoError, ExitCode, Interrupted, UsageError
from dativo_protocol.log import configure_logging, get_logger
from dativo_protocol.redact import Redactor, redactor_for
from dativo_targets.kit.settings import (
    KitSettings,
    build_settings,
    read_configs,
    secret_fields,
    unknown_settings,
)
from dativo_targets.kit.sink import Sink

S = TypeVar("S", bound=KitSettings)


@dataclass(frozen=True)
class TargetApp(Generic[S]):
    """What a target tells the kit about itself."""

    name: str
    description: str
    version: str
    settings_model: type[S]
    make_sink: Callable[[S, Redactor], Sink]
    #: builds the dead-letter writer when ``on_invalid_record=dead_letter`` (None: not offered)
    make_dead_letter: Callable[[S], Any] | None = None
    capabilities: tuple[str, ...] = ("about", "batch", "activate-version", "validate-records")

    @property
    def env_prefix(self) -> str:
        return self.name.upper().replace("-", "_")


def about(app: TargetApp[Any]) -> dict[str, Any]:
    schema = app.settings_model.model_json_schema()
    return {
        "name": app.name,
        "description": app.description,
        "version": app.version,
        "capabilities": list(app.capabilities),
        "settings": schema,
        "env_prefix": app.env_prefix,
    }


def about_markdown(app: TargetApp[Any]) -> str:
    info = about(app)
    rows = ["| Setting | Type | Default | Description |", "|---|---|---|---|"]
    secrets = secret_fields(app.settings_model)
    for name, field in app.settings_model.model_fields.items():
        default = (
            ""
            if field.is_required()
            else codec.dumps_str(field.get_default(call_default_factory=True))
        )
        kind = getattr(field.annotation, "__name__", None) or str(field.annotation)
        desc = (field.description or "") + (" (secret)" if name in secrets else "")
        rows.append(f"| `{name}` | {kind.replace('|', '/')} | {default} | {desc} |")
    return "\n".join(
        [
            f"# {app.name} {app.version}",
            "",
            app.description,
            "",
            "Capabilities: " + ", ".join(info["capabilities"]),
            "",
            f"Settings (also `{app.env_prefix}_<SETTING>` with `--config ENV`):",
            "",
            *rows,
            "",
        ]
    )


@dataclass
class _Args:
    configs: tuple[str, ...] = ()
    input: str | None = None
    about: bool = False
    format: str = "json"
    version: bool = False


def _parse(app: TargetApp[Any], argv: Sequence[str]) -> _Args:
    out = _Args()

    @click.command(name=app.name, help=app.description)
    @click.option(
        "--config",
        "configs",
        multiple=True,
        help="Config JSON file, or ENV (repeatable, later wins).",
    )
    @click.option(
        "--input",
        "input_",
        type=click.Path(dir_okay=False),
        help="Read messages from FILE, not stdin.",
    )
    @click.option("--about", "about_", is_flag=True, help="Describe this target and its settings.")
    @click.option("--format", "format_", type=click.Choice(["json", "markdown"]), default="json")
    @click.option("--version", "version_", is_flag=True, help="Print the version.")
    def command(
        configs: tuple[str, ...], input_: str | None, about_: bool, format_: str, version_: bool
    ) -> None:
        out.configs, out.input, out.about, out.format, out.version = (
            configs,
            input_,
            about_,
            format_,
            version_,
        )

    try:
        command.main(args=list(argv), prog_name=app.name, standalone_mode=False)
    except click.exceptions.Exit as exc:  # --help
        raise _Done(exc.exit_code) from None
    except click.ClickException as exc:
        raise UsageError(exc.format_message()) from None
    return out


class _Done(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


#: after SIGTERM the orderly stop (abort, let an in-flight commit land) gets this long; then
#: the process ends as if SIGKILLed, which every commit path is built to survive
SIGTERM_GRACE_SECONDS = 20.0


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    timer = threading.Timer(SIGTERM_GRACE_SECONDS, _stop_now)
    timer.daemon = True
    timer.start()
    raise Interrupted("stopped by SIGTERM; uncommitted data was discarded")


def _stop_now() -> None:
    os.write(
        2,
        b"target: error: did not stop within %d s of SIGTERM; exiting, uncommitted data was "
        b"discarded\n" % int(SIGTERM_GRACE_SECONDS),
    )
    os._exit(int(ExitCode.INTERRUPTED))


def run_app(
    app: TargetApp[S],
    argv: Sequence[str],
    *,
    stdin: BinaryIO,
    stdout: BinaryIO,
    stderr: TextIO,
    environ: Mapping[str, str],
) -> int:
    """Run the target; returns the exit code. The one place errors become output."""
    redactor = Redactor()
    debug = False
    try:
        args = _parse(app, argv)
        if args.version:
            stdout.write(f"{app.name} {app.version}\n".encode())
            return int(ExitCode.OK)
        if args.about:
            text = (
                about_markdown(app)
                if args.format == "markdown"
                else codec.dumps_pretty(about(app)) + "\n"
            )
            stdout.write(text.encode())
            return int(ExitCode.OK)
        if not args.configs:
            raise UsageError("--config is required (a JSON file, or ENV)")
        raw = read_configs(args.configs, app.settings_model, app.env_prefix, environ)
        redactor = redactor_for([raw], extra_keys=secret_fields(app.settings_model))
        settings = build_settings(app.settings_model, raw)
        configure_logging(redactor, level=settings.log_level, stream=stderr)
        debug = settings.log_level == "DEBUG"
        log = get_logger("target")
        for key in unknown_settings(app.settings_model, raw):
            log.warning("unknown setting ignored: %s", key)
        dead_letter = None
        if settings.on_invalid_record == "dead_letter":
            if app.make_dead_letter is None:
                raise ConfigError(f"{app.name} has no dead-letter output")
            dead_letter = app.make_dead_letter(settings)
        from dativo_targets.kit.loop import run_target

        sink = app.make_sink(settings, redactor)
        with _input(args.input, stdin) as source:
            stats = run_target(source, stdout, sink, settings, dead_letter=dead_letter, logger=log)
        log.info(
            "done: %d records, %d commits, %d states emitted, %d dead letters, %.2fs",
            stats.total_records,
            stats.commits,
            stats.states_emitted,
            stats.dead_letters,
            stats.seconds,
        )
        return int(ExitCode.OK)
    except _Done as done:
        return done.code
    except DativoError as exc:
        _report(stderr, redactor, app.name, exc.user_message())
        if debug:
            logging.getLogger("dativo").debug("error detail: %s", exc.detail, exc_info=exc)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        _report(stderr, redactor, app.name, "interrupted; uncommitted data was discarded")
        return int(ExitCode.INTERRUPTED)
    except BrokenPipeError:
        _report(stderr, redactor, app.name, "stdout was closed; STATE could not be emitted")
        return int(ExitCode.STATE)
    except Exception as exc:
        _report(
            stderr,
            redactor,
            app.name,
            f"internal error ({type(exc).__name__}); rerun with log_level=DEBUG for the traceback",
        )
        if debug:
            logging.getLogger("dativo").debug("internal error", exc_info=exc)
        return int(ExitCode.INTERNAL)


def _report(stderr: TextIO, redactor: Redactor, name: str, message: str) -> None:
    stderr.write(redactor.redact(f"{name}: error: {message}") + "\n")
    stderr.flush()


class _input:
    def __init__(self, path: str | None, stdin: BinaryIO) -> None:
        self.path, self.stdin = path, stdin
        self.file: BinaryIO | None = None

    def __enter__(self) -> BinaryIO:
        if self.path is None:
            return self.stdin
        try:
            self.file = open(self.path, "rb")
        except OSError as exc:
            raise UsageError(f"cannot read --input file: {exc.strerror}") from None
        return self.file

    def __exit__(self, *exc: object) -> None:
        if self.file is not None:
            self.file.close()


def _exit_now(code: int) -> NoReturn:
    """End the process without the interpreter's teardown.

    By now every commit is durable, every STATE written and flushed, the sink closed and its
    threads joined. What teardown would add is freeing every module and object one by one, which
    takes target-iceberg ~0.3 s (PyIceberg, SQLAlchemy and pydantic hold large object graphs),
    and running C++ static destructors that can abort a process that used S3 from pyarrow
    (apache/arrow#34314).
    """
    sys.stderr.flush()  # the log handlers write to it (no logging.shutdown: it takes their locks)
    os._exit(code)


def target_main(app: TargetApp[Any]) -> Callable[[], NoReturn]:
    """The console-script entry point of ``app``."""

    def main() -> NoReturn:
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
        protocol_out = sys.stdout.buffer
        # only the kit writes to the protocol channel: a library's print() goes to stderr
        real_stdout, sys.stdout = sys.stdout, sys.stderr
        try:
            code = run_app(
                app,
                sys.argv[1:],
                stdin=sys.stdin.buffer,
                stdout=protocol_out,
                stderr=sys.stderr,
                environ=os.environ,
            )
        finally:
            sys.stdout = real_stdout
            signal.signal(signal.SIGTERM, previous)
        try:
            protocol_out.flush()
            sys.stdout.flush()
        except BrokenPipeError:
            code = int(ExitCode.STATE)
        _exit_now(code)

    return main
