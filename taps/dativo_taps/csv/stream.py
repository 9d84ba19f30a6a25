"""One CSV stream per configured file set, on singer-sdk's ``Stream`` with the fast path.

Incremental modes (``replication_key`` of the file set):

* ``_sdc_source_file_mtime``: one singer-sdk state partition per file; a file whose
  modification time is not newer than its bookmark is skipped. The bookmark of a file is
  written only after all its rows were emitted (the stream is declared unsorted, so
  singer-sdk finalises a partition's bookmark at its end), so no STATE claims unread rows.
* a column: rows whose value is below the bookmark are skipped (equal ones are re-read:
  at-least-once). By default the rows are taken as unsorted, and singer-sdk keeps the largest
  value read as a progress marker, promoted to the bookmark only at the end of the run: a STATE
  during the run cannot claim a value, since a row still unread may hold a smaller one. With
  ``is_sorted`` the user promises the order (files by path, rows as they stand), so the bookmark
  is the value of the last row emitted and every STATE during the run carries it (singer-sdk's
  sorted mode); a resumed run re-reads from that value. A row out of order stops the run
  before it is emitted (an earlier STATE may then have claimed too much: the error says so).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from dativo_protocol.errors import ConfigError
from dativo_taps.csv.files import SourceFile, list_files, open_text
from dativo_taps.csv.infer import ColumnPlan, plan_columns
from dativo_taps.csv.reader import CSVFileError, iter_records, sample_rows
from dativo_taps.csv.settings import FILE_KEY, LINENO_KEY, MTIME_KEY, FileSet
from dativo_taps.kit.fastpath import FastPathStream

METADATA_SCHEMA: dict[str, dict[str, Any]] = {
    FILE_KEY: {"type": ["string", "null"]},
    MTIME_KEY: {"type": ["string", "null"], "format": "date-time"},
    LINENO_KEY: {"type": ["integer", "null"]},
}


def iso(ts: datetime.datetime) -> str:
    return ts.astimezone(datetime.UTC).isoformat(timespec="microseconds")


class CSVStream(FastPathStream):
    """Records of every file of one file set."""

    def __init__(self, tap: Any, file_set: FileSet, sample_limit: int) -> None:
        self.file_set = file_set
        self._sample_limit = sample_limit
        # discovery needs the files and their columns before singer-sdk's Stream exists
        self.files: list[SourceFile] = list_files(file_set, tap.config)
        self.plan: ColumnPlan = self._plan(self.files, tap.config)
        super().__init__(tap, schema=self._build_schema(), name=file_set.entity)
        self.primary_keys = list(file_set.keys)
        self._last_sorted_value: Any = None  # with is_sorted: the key of the last row read
        if file_set.replication_key:
            self.replication_key = file_set.replication_key

    # ------------------------------------------------------------------ discovery
    @property
    def _tap_config(self) -> Mapping[str, Any]:
        return self._tap.config

    def _build_schema(self) -> dict[str, Any]:
        properties = dict(self.plan.properties)
        if self.file_set.metadata_columns:
            properties.update(METADATA_SCHEMA)
        missing_keys = [k for k in self.file_set.keys if k not in properties]
        if missing_keys:
            raise ConfigError(
                f"keys name columns the files do not have: {', '.join(missing_keys)}",
                stream=self.file_set.entity,
            )
        rk = self.file_set.replication_key
        if rk and rk not in properties:
            raise ConfigError(
                f"replication_key {rk!r} is not a column of the files", stream=self.file_set.entity
            )
        return {"type": "object", "properties": properties}

    def _plan(self, files: list[SourceFile], config: Mapping[str, Any]) -> ColumnPlan:
        columns: list[str] = []
        sample: list[list[str]] = []
        for index, file in enumerate(files):
            with open_text(file, self.file_set, config) as handle:
                limit = self._sample_limit if index == 0 else 0
                try:
                    header, rows = sample_rows(handle, self.file_set, limit)
                except UnicodeDecodeError as exc:
                    raise ConfigError(
                        f"{file.path}: cannot decode as {self.file_set.encoding} ({exc.reason})",
                        stream=self.file_set.entity,
                        hint="set `encoding` for this file set",
                    ) from None
            if index == 0:
                sample = rows
            columns.extend(c for c in header if c not in columns)
        return plan_columns(
            columns,
            sample,
            infer=self.file_set.infer_types,
            overrides=self.file_set.schema_overrides,
        )

    # ------------------------------------------------------------------ partitions and state
    @property
    def is_sorted(self) -> bool:
        """Rows in replication-key order (declared per file set; a file-mtime key never is)."""
        return self.file_set.is_sorted and self.replication_key not in (None, MTIME_KEY)

    @property
    def partitions(self) -> list[dict[str, Any]] | None:
        if self.file_set.by_mtime and self.replication_key == MTIME_KEY:
            return [{FILE_KEY: f.path} for f in self.files]
        return None

    def _unchanged(self, file: SourceFile, context: Mapping[str, Any] | None) -> bool:
        if self.replication_method != "INCREMENTAL" or self.replication_key != MTIME_KEY:
            return False
        previous = self.get_starting_replication_key_value(dict(context) if context else None)
        if not previous:
            return False
        seen = datetime.datetime.fromisoformat(str(previous))
        return file.mtime <= seen

    def _column_start(self) -> Any:
        key = self.replication_key
        if self.replication_method != "INCREMENTAL" or not key or key == MTIME_KEY:
            return None
        start = self.get_starting_replication_key_value(None)
        if start is None or key not in self.plan.converters or not isinstance(start, str):
            return start
        return self.plan.converters[key](start)

    # ------------------------------------------------------------------ records
    def get_records(self, context: Mapping[str, Any] | None) -> Iterable[dict[str, Any]]:
        files = self.files
        if context and FILE_KEY in context:
            files = [f for f in files if f.path == context[FILE_KEY]]
        known = list(self.plan.properties)
        start = self._column_start()
        key = self.replication_key
        for file in files:
            if self._unchanged(file, context):
                self.logger.info("Skipping %s: not modified since the last run", file.path)
                continue
            extra = None
            if self.file_set.metadata_columns:
                extra = {FILE_KEY: file.path, MTIME_KEY: iso(file.mtime)}
            with open_text(file, self.file_set, self._tap_config) as handle:
                records = iter_records(
                    handle,
                    self.file_set,
                    self.plan.converters,
                    display_path=file.path,
                    extra=extra,
                    lineno_key=LINENO_KEY if self.file_set.metadata_columns else None,
                    known_columns=known,
                )
                if self.is_sorted and key is not None:
                    records = self._in_order(records, key, file.path)
                if start is None or key is None:
                    yield from records
                else:
                    for record in records:
                        value = record.get(key)
                        if value is None or value >= start:
                            yield record

    def _in_order(
        self, records: Iterator[dict[str, Any]], key: str, path: str
    ) -> Iterator[dict[str, Any]]:
        """``records``, stopping (before the offending row) at one that breaks the order."""
        last = self._last_sorted_value
        for number, record in enumerate(records, 1):
            value = record.get(key)
            if value is not None:
                if last is not None and value < last:
                    raise CSVFileError(
                        f"{path} row {number}: '{key}' is lower than in an earlier row, but "
                        "is_sorted is set",
                        stream=self.name,
                        hint="remove is_sorted, or sort the files; a STATE of this run may have "
                        "claimed a value past this row: re-run it without state",
                    )
                last = self._last_sorted_value = value
            yield record
