"""The ``target-parquet`` console script."""

from __future__ import annotations

from dativo_protocol import __version__
from dativo_protocol.redact import Redactor
from dativo_targets.kit.cli import TargetApp, target_main
from dativo_targets.kit.deadletter import DeadLetter
from dativo_targets.kit.sink import Sink
from dativo_targets.parquet.settings import ParquetSettings


def _sink(settings: ParquetSettings, redactor: Redactor) -> Sink:
    from dativo_targets.parquet.sink import ParquetSink

    return ParquetSink(settings)


def _dead_letter(settings: ParquetSettings) -> DeadLetter:
    root = settings.destination_path.rstrip("/")
    path = settings.dead_letter_path or f"{root}/_dead_letter"
    options = settings.fs_options() if path.startswith(root) else {}
    return DeadLetter(path, options)


APP = TargetApp(
    name="target-parquet",
    description="Writes Singer streams to Parquet files (local disk, S3 or any fsspec URL), "
    "fast, with STATE emitted only after the data before it is published.",
    version=__version__,
    settings_model=ParquetSettings,
    make_sink=_sink,
    make_dead_letter=_dead_letter,
)

main = target_main(APP)
