"""Generate docs/cli.md from the ``--help`` of every ``dativo`` command.

    python scripts/gen_cli_docs.py          # rewrite docs/cli.md
    python scripts/gen_cli_docs.py --check  # exit 1 if docs/cli.md is stale

tests/runner/test_cli_docs.py runs the check, so a command whose help changed without
regenerating the reference fails the suite.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import click

from dativo_protocol.runner.cli import cli

DOC = Path(__file__).resolve().parents[1] / "docs" / "cli.md"
WIDTH = 100
HEADER = """# `dativo` command reference

Generated from `--help` by `scripts/gen_cli_docs.py`; do not edit by hand (a test fails when
this file is stale: run `python scripts/gen_cli_docs.py` after changing a command).
Job files: [jobs.md](jobs.md). State: [state.md](state.md).

Every command exits with one of these codes (`dativo_protocol/errors.py`):

| code | meaning |
|---|---|
| 0 | success |
| 1 | internal error (a bug: please report it) |
| 2 | bad command-line usage |
| 3 | invalid configuration, job file, registry entry or catalog |
| 4 | malformed message stream (bad JSON, wrong order, truncated) |
| 5 | a record breaks its schema |
| 6 | a connection check failed |
| 7 | a transient failure persisted after the retries |
| 8 | a connector process failed or broke its contract (e.g. exited 0 without acknowledging the tap's last STATE) |
| 9 | the state backend could not be read or written |
| 10 | the destination could not commit data |
| 130 | stopped by SIGINT/SIGTERM (state kept up to the last acknowledged STATE) |
"""


def _walk(
    command: click.Command, ctx: click.Context, path: list[str]
) -> Iterator[tuple[list[str], str]]:
    yield path, command.get_help(ctx)
    if isinstance(command, click.Group):
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is None or sub.hidden:
                continue
            sub_ctx = click.Context(
                sub, info_name=name, parent=ctx, max_content_width=WIDTH, terminal_width=WIDTH
            )
            yield from _walk(sub, sub_ctx, [*path, name])


def render() -> str:
    root = click.Context(cli, info_name="dativo", max_content_width=WIDTH, terminal_width=WIDTH)
    parts = [HEADER]
    for path, text in _walk(cli, root, ["dativo"]):
        parts.append(f"\n## `{' '.join(path)}`\n\n```text\n{text.rstrip()}\n```\n")
    return "".join(parts)


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if not DOC.exists() or DOC.read_text(encoding="utf-8") != text:
            print(f"{DOC} is stale: run python scripts/gen_cli_docs.py", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(text, encoding="utf-8")
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
