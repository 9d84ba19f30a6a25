"""``dativo convert``: a streaming filter between the Airbyte and Singer protocols."""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, BinaryIO

import click

from dativo_protocol import codec
from dativo_protocol.errors import ConfigError, UsageError
from dativo_protocol.runner.context import AppContext
from dativo_protocol.runner.output import Output

PROTOCOLS = click.Choice(["airbyte", "singer"], case_sensitive=False)


@click.command("convert")
@click.option("--from", "source", type=PROTOCOLS, required=True, help="Protocol of the input.")
@click.option("--to", "target", type=PROTOCOLS, required=True, help="Protocol of the output.")
@click.option(
    "--catalog",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="airbyte->singer: the (configured) Airbyte catalog, for SCHEMA messages. "
    "singer->airbyte: a Singer or Airbyte catalog naming each stream's Airbyte name/namespace.",
)
@click.option(
    "--state",
    "state_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="airbyte->singer: the state the source was started with (Airbyte --state list, or a "
    "Singer/Meltano state), so every STATE out stays complete.",
)
@click.option(
    "--control-out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="airbyte->singer: write connector configs sent by CONTROL messages here (mode 0600).",
)
@click.option(
    "--allow-schemaless",
    is_flag=True,
    help='airbyte->singer: give streams missing from the catalog the schema {"type": "object"}.',
)
@click.option(
    "--catalog-out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="singer->airbyte: write the configured Airbyte catalog built from the SCHEMA messages.",
)
@click.argument("input_file", default="-", type=click.Path(allow_dash=True, dir_okay=False))
@click.pass_obj
def command(
    app: AppContext,
    source: str,
    target: str,
    catalog: Path | None,
    state_file: Path | None,
    control_out: Path | None,
    allow_schemaless: bool,
    catalog_out: Path | None,
    input_file: str,
) -> None:
    """Convert a message stream (INPUT_FILE or stdin) from one protocol to the other on stdout.

    \b
    source-faker read --config c.json --catalog cc.json \\
      | dativo convert --from airbyte --to singer --catalog cc.json | target-x
    tap-x --config c.json | dativo convert --from singer --to airbyte | destination-y write ...

    Airbyte LOG messages go to stderr; a TRACE ERROR makes the command fail (exit 8) after the
    rest of the stream is converted. Rules: docs/airbyte.md.
    """
    from dativo_protocol.airbyte import pipe

    direction = (source.lower(), target.lower())
    output = Output(as_json=app.json_output, redactor=app.redactor)
    logging.getLogger("dativo.source").setLevel(logging.DEBUG if app.verbose > 1 else logging.INFO)
    with _open_input(input_file) as stream:
        sink = sys.stdout.buffer
        if direction == ("airbyte", "singer"):
            if catalog_out is not None:
                raise UsageError("--catalog-out is for --from singer --to airbyte")
            summary = pipe.airbyte_to_singer(
                stream, sink, _to_singer(catalog, state_file, control_out, allow_schemaless)
            )
        elif direction == ("singer", "airbyte"):
            if state_file or control_out or allow_schemaless:
                raise UsageError("--state/--control-out/--allow-schemaless are for --from airbyte")
            converter = _to_airbyte(catalog)
            summary = pipe.singer_to_airbyte(stream, sink, converter)
            if catalog_out is not None:
                _write_private(catalog_out, converter.configured_catalog().to_dict())
        else:
            raise UsageError(f"nothing to convert: --from {source} --to {target}")
    if app.verbose:
        counts = ", ".join(f"{k}={v}" for k, v in summary.records.items()) or "none"
        output.info(f"converted {summary.lines} lines; records: {counts}; states: {summary.states}")


def _open_input(name: str) -> Any:
    if name == "-":
        return _Borrowed(sys.stdin.buffer)
    return open(name, "rb")


class _Borrowed:
    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream

    def __enter__(self) -> BinaryIO:
        return self.stream

    def __exit__(self, *exc: object) -> None:
        return None


def _read_json(path: Path, what: str) -> Any:
    try:
        return codec.loads(path.read_bytes())
    except codec.JSONDecodeError as exc:
        raise ConfigError(
            f"{what} {path} is not JSON ({codec.describe_decode_error(exc)})"
        ) from None


def _to_singer(
    catalog: Path | None, state_file: Path | None, control_out: Path | None, schemaless: bool
) -> Any:
    from dativo_protocol.airbyte.state import airbyte_states_from_file_value
    from dativo_protocol.airbyte.to_singer import AirbyteToSinger
    from dativo_protocol.catalog.airbyte import load_airbyte_catalog

    parsed = load_airbyte_catalog(_read_json(catalog, "catalog")) if catalog else None
    initial = airbyte_states_from_file_value(_read_json(state_file, "state")) if state_file else []
    on_control = None
    if control_out is not None:
        target = control_out

        def on_control(config: dict[str, Any]) -> None:
            _write_private(target, config)
            logging.getLogger("dativo.airbyte").warning(
                "the source updated its connector config (%d keys); saved to %s",
                len(config),
                target,
            )

    return AirbyteToSinger(
        parsed, initial_state=initial, allow_schemaless=schemaless, on_control=on_control
    )


def _to_airbyte(catalog: Path | None) -> Any:
    from dativo_protocol.airbyte.from_singer import SingerToAirbyte
    from dativo_protocol.catalog.airbyte import load_airbyte_catalog
    from dativo_protocol.catalog.singer import load_singer_catalog

    if catalog is None:
        return SingerToAirbyte()
    data = _read_json(catalog, "catalog")
    streams = data.get("streams") if isinstance(data, dict) else None
    if isinstance(streams, list) and any(
        isinstance(s, dict) and "tap_stream_id" in s for s in streams
    ):
        return SingerToAirbyte(load_singer_catalog(data))
    return SingerToAirbyte(load_airbyte_catalog(data))


def _write_private(path: Path, data: Any) -> None:
    """Write JSON atomically with mode 0600 (it may hold secrets)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(codec.dumps_pretty(data).encode())
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
