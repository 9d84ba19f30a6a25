"""``DativoTap``: a singer-sdk ``Tap`` with the Dativo additions.

* ``--spec``: the config schema with secrets marked (an Airbyte SPEC message on stdout);
* ``--check``: a real connection check, one CONNECTION_STATUS line, exit 0 or 1;
* the orjson message writer (:mod:`dativo_taps.kit.writer`);
* config errors raised as :class:`dativo_protocol.errors.ConfigError` (exit 3), SIGTERM/SIGINT
  ending with exit 130 after the last safe STATE (singer-sdk would exit 0).

Run a tap through :func:`dativo_taps.kit.cli.run` (its console-script ``main``), which adds
redaction of every secret and one-line errors with the documented exit codes.
"""

from __future__ import annotations

import functools
import sys
from types import FrameType
from typing import Any, ClassVar, Self

import click
from singer_sdk import Stream, Tap
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.helpers.capabilities import PluginCapabilities, TapCapabilities

from dativo_protocol import codec
from dativo_protocol.errors import ConfigError, DativoError, ExitCode
from dativo_protocol.redact import Redactor
from dativo_taps.kit.spec import connection_status, spec_message
from dativo_taps.kit.writer import OrjsonWriter, serialize

DOCS_URL = "https://github.com/dativo/dativo/tree/main/docs/taps"


class DativoTap(Tap):
    """Base class of every Dativo Python tap."""

    message_writer_class = OrjsonWriter
    documentation_url: ClassVar[str] = DOCS_URL

    capabilities: ClassVar[list[Any]] = [
        TapCapabilities.CATALOG,
        TapCapabilities.STATE,
        TapCapabilities.DISCOVER,
        TapCapabilities.TEST,
        PluginCapabilities.ABOUT,
        PluginCapabilities.STREAM_MAPS,
        PluginCapabilities.FLATTENING,
    ]

    #: the process's redactor, on the class :meth:`with_redactor` made (``kit.cli.run`` does)
    bound_redactor: ClassVar[Redactor | None] = None

    @classmethod
    def with_redactor(cls, redactor: Redactor) -> type[Self]:
        """A subclass of this tap whose instances add secrets learnt at run time (an OAuth
        access token, say) to ``redactor``: the one the process's stderr and log handlers use."""
        attrs = {
            "bound_redactor": redactor,
            "__module__": cls.__module__,
            "__qualname__": cls.__qualname__,
            "__doc__": cls.__doc__,
        }
        return type(cls.__name__, (cls,), attrs)

    @functools.cached_property
    def redactor(self) -> Redactor:
        """Where secrets learnt at run time go: the process's redactor when run through
        ``kit.cli.run``, else (a tap used from Python) one of this instance's own."""
        return self.bound_redactor if self.bound_redactor is not None else Redactor()

    # ------------------------------------------------------------------ lifecycle additions
    @classmethod
    def spec(cls) -> dict[str, Any]:
        schema = dict(cls.config_jsonschema)
        cls.append_builtin_config(schema)
        return spec_message(schema, documentation_url=cls.documentation_url)

    def check_connection(self) -> str:
        """Raise a :class:`DativoError` if the source cannot be read; return a short summary.

        The default reads the first record of every stream (nothing is written to stdout).
        Taps override this when a cheaper or more telling check exists.
        """
        for stream in self.streams.values():
            partitions: list[Any] = list(stream.partitions or [])
            contexts: list[Any] = partitions or [None]
            for context in contexts:
                for _ in stream.get_records(context):
                    break
                break
        return f"read {len(self.streams)} stream(s)"

    # ------------------------------------------------------------------ singer-sdk hooks
    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        try:
            return list(super()._validate_config(raise_errors=raise_errors))
        except ConfigValidationError as exc:
            errors = "; ".join(str(e) for e in exc.errors) or str(exc)
            raise ConfigError(f"invalid config: {errors}") from None

    def _handle_termination(self, signum: int, frame: FrameType | None) -> None:
        """Write the last safe STATE (singer-sdk does), then exit 130 rather than 0."""
        try:
            self.state_writer.write_state(self.state)
        finally:
            sys.stdout.flush()
            self.logger.warning("Interrupted by signal %d", signum)
            sys.exit(int(ExitCode.INTERRUPTED))

    # ------------------------------------------------------------------ CLI
    @classmethod
    def cb_spec(cls, ctx: click.Context, param: click.Parameter, value: bool) -> None:
        if not value:
            return
        sys.stdout.buffer.write(serialize(cls.spec()))
        sys.stdout.flush()
        ctx.exit(0)

    @classmethod
    def cb_check(cls, ctx: click.Context, param: click.Parameter, value: bool) -> None:
        if not value:
            return
        config = ctx.params.get("config")
        try:
            tap = cls(
                config=dict(config.config) if config else {},
                parse_env_config=bool(config and config.parse_env),
                validate_config=True,
                setup_mapper=False,
            )
            summary = tap.check_connection()
            ok, message = True, summary
        except DativoError as exc:
            ok, message = False, exc.user_message()
        line = codec.dumps_line(connection_status(ok, message))
        sys.stdout.buffer.write(line)
        sys.stdout.flush()
        if not ok:
            cls.logger.error("check failed: %s", message)
        ctx.exit(0 if ok else 1)

    @classmethod
    def get_singer_command(cls) -> click.Command:
        command = super().get_singer_command()
        command.params.extend(
            [
                click.Option(
                    ["--spec"],
                    is_flag=True,
                    expose_value=False,
                    callback=cls.cb_spec,
                    help="Print the config JSON Schema (secrets marked) as an Airbyte SPEC.",
                ),
                click.Option(
                    ["--check"],
                    is_flag=True,
                    expose_value=False,
                    callback=cls.cb_check,
                    help="Check the connection: one CONNECTION_STATUS line, exit 0 or 1.",
                ),
            ]
        )
        return command


__all__ = ["DativoTap", "Stream"]
