"""Secrets out of every log line, including the handlers singer-sdk installs itself.

singer-sdk sets up its own root handler (and, with ``SINGER_SDK_LOG_CONFIG``, any handlers a
logging config file names) when its CLI is built. We redact at two levels:

* every handler's formatter is wrapped so the formatted line (message, args, traceback) is
  redacted with :class:`dativo_protocol.redact.Redactor`;
* ``sys.stderr`` itself is wrapped, so anything else written there (click errors, warnings,
  tracebacks printed by hand) is redacted as well.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from dativo_protocol import codec
from dativo_protocol.redact import Redactor, redactor_for


class RedactingStream:
    """A text stream proxy that redacts every write."""

    def __init__(self, inner: TextIO, redactor: Redactor) -> None:
        self._inner = inner
        self._redactor = redactor

    def write(self, text: str) -> int:
        self._inner.write(self._redactor.redact(text))
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        self._inner.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class RedactingFormatterProxy(logging.Formatter):
    """Wraps any formatter and redacts what it produces."""

    def __init__(self, inner: logging.Formatter | None, redactor: Redactor) -> None:
        super().__init__()
        self._inner = inner or logging.Formatter()
        self._redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        return self._redactor.redact(self._inner.format(record))


def _all_handlers() -> list[logging.Handler]:
    handlers = list(logging.getLogger().handlers)
    for logger in list(logging.Logger.manager.loggerDict.values()):
        if isinstance(logger, logging.Logger):
            handlers.extend(logger.handlers)
    return handlers


def redact_log_handlers(redactor: Redactor) -> None:
    """Wrap the formatter of every handler configured so far (idempotent)."""
    for handler in _all_handlers():
        if not isinstance(handler.formatter, RedactingFormatterProxy):
            handler.setFormatter(RedactingFormatterProxy(handler.formatter, redactor))


def install_stderr_redaction(redactor: Redactor) -> None:
    if not isinstance(sys.stderr, RedactingStream):
        sys.stderr = RedactingStream(sys.stderr, redactor)


def config_paths(argv: Sequence[str]) -> list[str]:
    """The values of every ``--config`` option in ``argv`` (``--config X`` or ``--config=X``)."""
    paths: list[str] = []
    for i, arg in enumerate(argv):
        if arg == "--config" and i + 1 < len(argv):
            paths.append(argv[i + 1])
        elif arg.startswith("--config="):
            paths.append(arg.split("=", 1)[1])
    return paths


def _read_config(path: str) -> Mapping[str, Any]:
    try:
        data = codec.loads(Path(path).read_bytes())
    except (OSError, ValueError):
        return {}  # the CLI reports unreadable config files itself
    return data if isinstance(data, Mapping) else {}


def redactor_from_argv(
    argv: Sequence[str], env_prefix: str, schema: Mapping[str, Any] | None
) -> Redactor:
    """Every secret in the config files (and ``ENV`` settings) named on the command line."""
    configs: list[Mapping[str, Any]] = []
    for path in config_paths(argv):
        if path == "ENV":
            configs.append(
                {
                    k[len(env_prefix) :].lower(): v
                    for k, v in os.environ.items()
                    if k.startswith(env_prefix)
                }
            )
        else:
            configs.append(_read_config(path))
    return redactor_for(configs, schema)
