"""``tap-csv``: CSV files (local, glob, or any fsspec URL such as S3) as Singer streams."""

from __future__ import annotations

from typing import Any, ClassVar

from singer_sdk import Stream

from dativo_protocol.errors import ConnectionCheckError
from dativo_taps.csv.files import open_text
from dativo_taps.csv.settings import CONFIG_SCHEMA, file_sets
from dativo_taps.csv.stream import CSVStream
from dativo_taps.kit import DativoTap, entry_point


class TapCSV(DativoTap):
    """CSV files as Singer streams: one stream per configured file set."""

    name = "tap-csv"
    package_name = "dativo-protocol"
    config_jsonschema: ClassVar[dict[str, Any]] = CONFIG_SCHEMA

    def discover_streams(self) -> list[Stream]:
        sample = int(self.config.get("infer_sample_rows") or 1000)
        return [CSVStream(self, file_set, sample) for file_set in file_sets(self.config)]

    def check_connection(self) -> str:
        """Every file set lists at least one file and each file opens (header readable)."""
        count = 0
        for stream in self.streams.values():
            if not isinstance(stream, CSVStream):
                continue
            for file in stream.files:
                try:
                    with open_text(file, stream.file_set, self.config) as handle:
                        handle.readline()
                except OSError as exc:
                    raise ConnectionCheckError(
                        f"cannot read {file.path}: {exc}", stream=stream.name
                    ) from None
                count += 1
        return f"{len(self.streams)} stream(s), {count} readable file(s)"


main = entry_point(TapCSV)
