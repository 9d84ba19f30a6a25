"""``dativo validate [FILE|-]``: check a Singer stream for conformance and summarise it."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Any

import click

from dativo_protocol import codec
from dativo_protocol.jsonl import DEFAULT_MAX_LINE_BYTES
from dativo_protocol.redact import collect_secrets
from dativo_protocol.runner.context import AppContext
from dativo_protocol.runner.output import Output


def render(data: dict[str, Any]) -> str:
    verdict = "valid" if data["valid"] else "INVALID"
    out = [
        f"{verdict}: {data['lines']} lines, {data['messages']} messages, "
        f"{data['states']} states, {len(data['streams'])} streams"
        + (f", {data['unknown_types']} messages of unknown type" if data["unknown_types"] else "")
    ]
    if data["streams"]:
        header = ("stream", "schemas", "records", "versions", "batches", "lines")
        rows = [header]
        for name, s in data["streams"].items():
            rows.append(
                (
                    name,
                    str(s["schemas"]),
                    str(s["records"]),
                    str(s["activate_versions"]),
                    str(s["batches"]),
                    f"{s['first_line']}-{s['last_line']}",
                )
            )
        widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
        out += [
            "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
        ]
    if data["violations"]:
        out.append(f"{len(data['violations'])} violation(s):")
        for v in data["violations"]:
            where = ", ".join(
                p
                for p in (
                    f"line {v.get('line')}",
                    f"stream '{v['stream']}'" if "stream" in v else "",
                )
                if p
            )
            out.append(f"  {where}: {v['message']} [{v['error']}, exit {v['exit_code']}]")
    return "\n".join(out)


@click.command("validate")
@click.argument("file", default="-", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option(
    "--all", "collect_all", is_flag=True, help="Report every violation, not only the first."
)
@click.option(
    "--max-line-bytes",
    type=click.IntRange(min=1),
    default=DEFAULT_MAX_LINE_BYTES,
    show_default=True,
    help="Refuse lines longer than this.",
)
@click.option(
    "--batch-files",
    is_flag=True,
    help="Also check the records in the files of BATCH messages (local paths, file:// or any "
    "fsspec URL such as s3://).",
)
@click.option(
    "--storage-options",
    "storage_options",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A JSON file of fsspec options for remote BATCH files (for S3: key, secret, "
    "client_kwargs.endpoint_url); its secret values are masked in all output.",
)
@click.option("--json", "json_output", is_flag=True, help="Machine-readable JSON output.")
@click.pass_obj
def command(
    app: AppContext,
    file: str,
    collect_all: bool,
    max_line_bytes: int,
    batch_files: bool,
    storage_options: Path | None,
    json_output: bool,
) -> None:
    """Check a Singer stream (FILE or - for stdin) and print a per-stream summary.

    Exits non-zero with the first violation's exit code (see docs/protocol.md).
    """
    from dativo_protocol.runner.batch_open import fsspec_opener
    from dativo_protocol.validate import validate_stream

    app.json_output = app.json_output or json_output
    output = Output(as_json=app.json_output, redactor=app.redactor)
    options = _storage_options(app, storage_options) if storage_options else {}
    with contextlib.ExitStack() as stack:
        stream = sys.stdin.buffer if file == "-" else stack.enter_context(open(file, "rb"))
        report = validate_stream(
            stream,
            collect_all=collect_all,
            batch_files=batch_files,
            batch_opener=fsspec_opener(options),
            max_line_bytes=max_line_bytes,
        )
    output.result(report.to_dict(), render)
    if report.violations:
        raise report.violations[0].error


def _storage_options(app: AppContext, path: Path) -> dict[str, Any]:
    """The fsspec options in ``path``; their secret values join the redactor first."""
    options = codec.load_object_file(path, "--storage-options file")
    app.redactor.add(collect_secrets(options))
    return options
