"""Rows of one CSV file as records: header handling, converters, precise errors.

The hot loop stays small: ``dict(zip(names, row))`` then one converter per typed column.
Errors name the stream, the file and the line (csv's physical line number) and never echo
the row itself.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping, Sequence
from typing import IO, Any

from dativo_protocol.errors import InputError, RecordValidationError
from dativo_taps.csv.infer import Converter, clean_header
from dativo_taps.csv.settings import FileSet


class CSVFileError(InputError):
    """A CSV file that cannot be parsed (undecodable bytes, wrong field count, bad quoting)."""

    kind = "csv_file"


def dialect(file_set: FileSet) -> dict[str, Any]:
    return dict(file_set.dialect)


def read_header(handle: IO[str], file_set: FileSet) -> list[str]:
    """Skip ``skip_rows`` lines and return the column names of the file."""
    for _ in range(file_set.skip_rows):
        handle.readline()
    if not file_set.header:
        return list(file_set.field_names)
    reader = csv.reader(handle, **dialect(file_set))
    first = next(reader, None)
    if first is None:
        return list(file_set.field_names)
    return clean_header(first)


def sample_rows(
    handle: IO[str], file_set: FileSet, limit: int
) -> tuple[list[str], list[list[str]]]:
    header = read_header(handle, file_set)
    reader = csv.reader(handle, **dialect(file_set))
    rows: list[list[str]] = []
    for row in reader:
        if row:
            rows.append(row)
        if len(rows) >= limit:
            break
    return header, rows


def iter_records(
    handle: IO[str],
    file_set: FileSet,
    converters: Mapping[str, Converter],
    *,
    display_path: str,
    extra: Mapping[str, Any] | None = None,
    lineno_key: str | None = None,
    known_columns: Sequence[str] | None = None,
) -> Iterator[dict[str, Any]]:
    """Records of one file. ``extra`` values are added to every record."""
    stream = file_set.entity
    try:
        names = read_header(handle, file_set)
    except UnicodeDecodeError as exc:
        raise CSVFileError(
            f"{display_path}: cannot decode the header as {file_set.encoding} ({exc.reason})",
            stream=stream,
        ) from None
    if known_columns is not None:
        unknown = [n for n in names if n not in known_columns]
        if unknown:
            raise CSVFileError(
                f"{display_path}: columns not in the stream schema: {', '.join(unknown)} "
                "(re-run discovery)",
                stream=stream,
            )
    width = len(names)
    typed = [(i, name, converters[name]) for i, name in enumerate(names) if name in converters]
    first_line = 1 + file_set.skip_rows + (1 if file_set.header else 0)
    reader = csv.reader(handle, **dialect(file_set))
    extra_items = dict(extra or {})
    line_offset = first_line - 1
    try:
        for row in reader:
            if len(row) != width:
                if not row:
                    continue  # blank line
                raise CSVFileError(
                    f"{display_path} line {reader.line_num + line_offset}: expected {width} "
                    f"fields, found {len(row)}",
                    stream=stream,
                )
            record: dict[str, Any] = dict(zip(names, row, strict=True))
            try:
                for i, name, conv in typed:
                    value = row[i]
                    record[name] = conv(value) if value != "" else None
            except (ValueError, KeyError):
                bad = next(n for i, n, c in typed if not _converts(c, row[i]))
                raise RecordValidationError(
                    f"{display_path} line {reader.line_num + line_offset}: column '{bad}' "
                    "does not match its schema type",
                    stream=stream,
                    hint="fix the value or set schema_overrides for this column",
                ) from None
            if extra_items:
                record.update(extra_items)
            if lineno_key is not None:
                record[lineno_key] = reader.line_num + line_offset
            yield record
    except csv.Error as exc:
        raise CSVFileError(
            f"{display_path} line {reader.line_num + line_offset}: malformed CSV ({exc})",
            stream=stream,
        ) from None
    except UnicodeDecodeError as exc:
        raise CSVFileError(
            f"{display_path} near line {reader.line_num + line_offset + 1}: cannot decode as "
            f"{file_set.encoding} ({exc.reason})",
            stream=stream,
            hint="set `encoding` for this file set",
        ) from None


def _converts(conv: Converter, value: str) -> bool:
    if value == "":
        return True
    try:
        conv(value)
    except (ValueError, KeyError):
        return False
    return True
