"""``dativo map``: apply singer-sdk stream maps to a Singer stream (stdin -> stdout)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import IO

import click

from dativo_protocol.runner.commands._common import app_for, read_json_file


@click.command("map")
@click.option(
    "--config",
    "config_file",
    required=True,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help='Stream maps (JSON): {"stream_maps": {...}, "stream_map_config": {...}}.',
)
@click.option(
    "--input",
    "input_file",
    type=click.File("rb"),
    help="Read messages from this file instead of stdin.",
)
@click.pass_context
def command(ctx: click.Context, config_file: Path, input_file: IO[bytes] | None) -> None:
    """Apply stream maps to a Singer message stream: stdin -> stdout.

    Uses singer-sdk's stream-map syntax: per stream, `"prop": "<expression>"` to set or
    hash (md5(), sha256()), `"prop": null` to drop, `__alias__` to rename the stream,
    `__filter__` to keep matching records, `__key_properties__` to change keys,
    `__source__` to duplicate, and `"__else__": null` to drop unmapped streams; a stream
    mapped to null is dropped. STATE messages pass through unchanged and in order.
    The runner inserts this filter when a job has stream maps and a side lacks the
    `stream-maps` capability. Exit codes: 3 bad maps or a failing expression (with stream
    and line), 4 malformed input.

    Example: {"stream_maps": {"users": {"__alias__": "customers", "email": "sha256(email)",
    "ssn": null, "__filter__": "country == 'DE'"}}}
    """
    from dativo_protocol.runner.mapper import StreamMapper

    app = app_for(ctx)
    config = read_json_file(config_file, "stream map config", app)
    mapper = StreamMapper(config)
    out = sys.stdout.buffer
    source = input_file if input_file is not None else sys.stdin.buffer
    mapper.run(source, out.write, out.flush)
