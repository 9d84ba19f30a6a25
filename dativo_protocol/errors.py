"""One exception root, with families grouped by what the caller should do.

Every error carries its process exit code and a user-facing message that never contains raw
input lines or secret values. The CLI edge (``dativo_protocol.runner.cli``) converts them to
output in one place; library code only raises.

Exit codes (documented in docs/protocol.md):

==  ===========  ==============================================================
0   OK           success
1   INTERNAL     unexpected error (a bug): please report it
2   USAGE        bad command-line usage
3   CONFIG       invalid configuration, job, registry entry, catalog or schema: fix it
4   PROTOCOL     malformed message stream: bad JSON, wrong order, truncated
5   RECORD       a record breaks its schema
6   CONNECTION   a connection check failed (unreachable, bad credentials)
7   TRANSIENT    a transient failure persisted after retries: try again later
8   CONNECTOR    a connector process failed or misbehaved
9   STATE        the state backend could not be read or written
10  DESTINATION  the destination could not commit data
130 INTERRUPTED  stopped by SIGINT/SIGTERM before finishing
==  ===========  ==============================================================
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any, ClassVar


class ExitCode(IntEnum):
    OK = 0
    INTERNAL = 1
    USAGE = 2
    CONFIG = 3
    PROTOCOL = 4
    RECORD = 5
    CONNECTION = 6
    TRANSIENT = 7
    CONNECTOR = 8
    STATE = 9
    DESTINATION = 10
    INTERRUPTED = 130


class DativoError(Exception):
    """Root of every error Dativo raises on purpose.

    ``message`` is for users (safe to print); ``detail`` is extra internal context that is
    logged at debug level. ``stream`` and ``line`` locate data errors in a message stream.
    """

    exit_code: ClassVar[ExitCode] = ExitCode.INTERNAL
    retriable: ClassVar[bool] = False
    kind: ClassVar[str] = "internal"

    def __init__(
        self,
        message: str,
        *,
        stream: str | None = None,
        line: int | None = None,
        detail: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.stream = stream
        self.line = line
        self.detail = detail
        self.hint = hint

    def location(self) -> str:
        parts = []
        if self.stream is not None:
            parts.append(f"stream '{self.stream}'")
        if self.line is not None:
            parts.append(f"line {self.line}")
        return ", ".join(parts)

    def user_message(self) -> str:
        where = self.location()
        text = f"{where}: {self.message}" if where else self.message
        if self.hint:
            text = f"{text} (hint: {self.hint})"
        return text

    def __str__(self) -> str:
        return self.user_message()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "error": self.kind,
            "exit_code": int(self.exit_code),
            "message": self.message,
        }
        if self.stream is not None:
            out["stream"] = self.stream
        if self.line is not None:
            out["line"] = self.line
        if self.hint is not None:
            out["hint"] = self.hint
        return out


# --------------------------------------------------------------------------- fix your input
class ConfigError(DativoError):
    """Configuration, job file, registry entry or catalog is invalid. Fix it and re-run."""

    exit_code = ExitCode.CONFIG
    kind = "config"


class UsageError(ConfigError):
    """Command-line usage is wrong."""

    exit_code = ExitCode.USAGE
    kind = "usage"


class SchemaError(ConfigError):
    """A stream's JSON Schema cannot be mapped to columns (remote ``$ref``, unknown type name,
    malformed keyword). Fix the schema or the catalog that carries it."""

    kind = "schema"


class SchemaEvolutionError(SchemaError):
    """A stream's new schema is incompatible with the columns already written (e.g. a string
    column that became an integer, a struct that became a string). The message lists every
    incompatible field with its old and new type; nothing of the new data was written."""

    kind = "schema_evolution"


class InputError(DativoError):
    """The data given to us is bad. Retrying will not help; fix the producer."""

    exit_code = ExitCode.PROTOCOL
    kind = "input"


class ProtocolError(InputError):
    """The message stream breaks the protocol (bad JSON, order, truncation, size)."""

    exit_code = ExitCode.PROTOCOL
    kind = "protocol"


class MalformedLineError(ProtocolError):
    kind = "malformed_line"


class LineTooLongError(ProtocolError):
    kind = "line_too_long"


class TruncatedStreamError(ProtocolError):
    kind = "truncated_stream"


class RecordBeforeSchemaError(ProtocolError):
    kind = "record_before_schema"


class RecordValidationError(InputError):
    """A record does not conform to its stream's schema."""

    exit_code = ExitCode.RECORD
    kind = "record_invalid"


# --------------------------------------------------------------------------- the outside world
class ConnectionCheckError(DativoError):
    """A source or destination could not be reached or refused our credentials."""

    exit_code = ExitCode.CONNECTION
    kind = "connection"


class TransientError(DativoError):
    """Temporary failure (timeouts, 5xx, throttling); the caller may retry with backoff."""

    exit_code = ExitCode.TRANSIENT
    retriable = True
    kind = "transient"


class ConnectorError(DativoError):
    """A connector process failed, died, or broke its contract."""

    exit_code = ExitCode.CONNECTOR
    kind = "connector"


class StateError(DativoError):
    """State could not be read, parsed or stored."""

    exit_code = ExitCode.STATE
    kind = "state"


class DestinationError(DativoError):
    """Data could not be committed to the destination."""

    exit_code = ExitCode.DESTINATION
    kind = "destination"


class Interrupted(DativoError):
    """Stopped by a signal before the work finished."""

    exit_code = ExitCode.INTERRUPTED
    kind = "interrupted"
