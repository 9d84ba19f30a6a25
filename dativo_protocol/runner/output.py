"""Rendering of command results as text (humans) or JSON (machines)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import IO, Any

import click

from dativo_protocol import codec
from dativo_protocol.errors import DativoError
from dativo_protocol.redact import Redactor


class Output:
    """Where a command's result goes. Results on stdout; errors and progress on stderr."""

    def __init__(
        self,
        *,
        as_json: bool,
        redactor: Redactor,
        out: IO[str] | None = None,
        err: IO[str] | None = None,
    ) -> None:
        self.as_json = as_json
        self.redactor = redactor
        self.out = out or sys.stdout
        self.err = err or sys.stderr

    def result(self, data: Any, render_text: Callable[[Any], str]) -> None:
        text = codec.dumps_pretty(data) if self.as_json else render_text(data)
        click.echo(self.redactor.redact(text), file=self.out)

    def info(self, message: str) -> None:
        click.echo(self.redactor.redact(message), file=self.err)

    def error(self, exc: DativoError) -> None:
        text = codec.dumps_str(exc.to_dict()) if self.as_json else f"error: {exc.user_message()}"
        click.echo(self.redactor.redact(text), file=self.err)
