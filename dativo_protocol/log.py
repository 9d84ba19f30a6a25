"""Logging to stderr with redaction. Stdout is reserved for protocol messages.

Nothing here runs at import time: the process edge (a CLI ``main``) calls
:func:`configure_logging` once with the redactor built from its config.
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Callable
from types import TracebackType
from typing import IO

from dativo_protocol import codec
from dativo_protocol.redact import Redactor

LOGGER_NAME = "dativo"


class RedactingFormatter(logging.Formatter):
    """Formats a record (message, args and traceback) and redacts every secret value."""

    def __init__(self, redactor: Redactor, fmt: str | None = None, *, as_json: bool = False):
        super().__init__(fmt or "%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.redactor = redactor
        self.as_json = as_json

    def format(self, record: logging.LogRecord) -> str:
        if self.as_json:
            payload = {
                "ts": self.formatTime(record),
                "level": record.levelname,
                "logger": record.name,
                "message": record.getMessage(),
            }
            if record.exc_info:
                payload["stack_trace"] = self.formatException(record.exc_info)
            return self.redactor.redact(codec.dumps_str(payload))
        return self.redactor.redact(super().format(record))


def configure_logging(
    redactor: Redactor,
    *,
    level: int | str = logging.INFO,
    stream: IO[str] | None = None,
    as_json: bool = False,
) -> logging.Handler:
    """Send every log record to stderr through a redacting formatter; returns the handler.

    Also installs an excepthook so that an uncaught traceback is redacted too.
    """
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(RedactingFormatter(redactor, as_json=as_json))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    sys.excepthook = _redacting_excepthook(redactor)
    return handler


def _redacting_excepthook(
    redactor: Redactor,
) -> Callable[[type[BaseException], BaseException, TracebackType | None], None]:
    def hook(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        text = "".join(traceback.format_exception(exc_type, exc, tb))
        sys.stderr.write(redactor.redact(text))
        sys.stderr.flush()

    return hook


def get_logger(name: str | None = None) -> logging.Logger:
    return logging.getLogger(f"{LOGGER_NAME}.{name}" if name else LOGGER_NAME)
