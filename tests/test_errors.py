from __future__ import annotations

import pytest

from dativo_protocol import errors
from dativo_protocol.errors import DativoError, ExitCode


def _all_error_classes() -> list[type[DativoError]]:
    seen: list[type[DativoError]] = []
    stack: list[type[DativoError]] = [DativoError]
    while stack:
        cls = stack.pop()
        seen.append(cls)
        stack.extend(cls.__subclasses__())
    return seen


@pytest.mark.parametrize("cls", _all_error_classes(), ids=lambda c: c.__name__)
def test_every_error_has_a_documented_exit_code(cls: type[DativoError]) -> None:
    assert isinstance(cls.exit_code, ExitCode)
    doc = errors.__doc__ or ""
    assert f"{int(cls.exit_code)}" in doc
    assert cls.exit_code.name in doc


def test_message_names_stream_and_line() -> None:
    exc = errors.MalformedLineError("invalid JSON", stream="users", line=12)
    assert exc.user_message() == "stream 'users', line 12: invalid JSON"
    assert exc.to_dict() == {
        "error": "malformed_line",
        "exit_code": 4,
        "message": "invalid JSON",
        "stream": "users",
        "line": 12,
    }


def test_families_by_what_to_do() -> None:
    assert issubclass(errors.RecordValidationError, errors.InputError)
    assert issubclass(errors.TruncatedStreamError, errors.ProtocolError)
    assert errors.TransientError.retriable
    assert not errors.ConfigError.retriable
