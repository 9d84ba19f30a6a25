"""Secret references in job files: ``${env:VAR}`` and ``${file:path}``.

References are resolved when a job runs (never when it is loaded or shown), and every resolved
value is registered as a secret so the runner redacts it from logs, errors and child stderr.
``$${`` escapes a literal ``${``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dativo_protocol.errors import ConfigError

_REF = re.compile(r"\$\$\{|\$\{(env|file):([^}]*)\}")


@dataclass
class Resolver:
    """Resolves references relative to ``base_dir``; collects every value it produced."""

    base_dir: Path
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    secrets: set[str] = field(default_factory=set)

    def value(self, text: str, where: str) -> str:
        def sub(match: re.Match[str]) -> str:
            if match.group(0) == "$${":
                return "${"
            kind, arg = match.group(1), match.group(2).strip()
            if not arg:
                raise ConfigError(f"{where}: empty ${{{kind}:}} reference")
            if kind == "env":
                if arg not in self.environ:
                    raise ConfigError(
                        f"{where}: environment variable {arg} is not set",
                        hint="export it, or put the value in a file and use ${file:path}",
                    )
                resolved = self.environ[arg]
            else:
                path = Path(arg).expanduser()
                if not path.is_absolute():
                    path = self.base_dir / path
                try:
                    resolved = path.read_text(encoding="utf-8").rstrip("\r\n")
                except OSError as exc:
                    raise ConfigError(
                        f"{where}: cannot read secret file {path}: {exc.strerror}"
                    ) from None
            self.secrets.add(resolved)
            return resolved

        return _REF.sub(sub, text)

    def resolve(self, node: Any, where: str) -> Any:
        """A deep copy of ``node`` with every string's references resolved."""
        if isinstance(node, str):
            return self.value(node, where)
        if isinstance(node, Mapping):
            return {k: self.resolve(v, f"{where}.{k}") for k, v in node.items()}
        if isinstance(node, list | tuple):
            return [self.resolve(v, f"{where}[{i}]") for i, v in enumerate(node)]
        return node


def has_reference(text: str) -> bool:
    return any(m.group(0) != "$${" for m in _REF.finditer(text))
