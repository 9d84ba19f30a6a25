"""Rows of one CSV file as records: header handling, converters, precise errors.

The hot loop stays small: one generated function per file builds each record in a single
dict display (see :func:`row_builder`).
Errors name the stream, the file and the line (csv's physical line number) and never echo
the row itself.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator, Mapping, Sequence
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
    build = row_builder(names, converters, extra or {})
    first_line = 1 + file_set.skip_rows + (1 if file_set.header else 0)
    reader = csv.reader(handle, **dialect(file_set))
    line_offset = first_line - 1
    row: list[str] = []
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
            record = build(row)
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
    except (ValueError, KeyError):
        bad = next(
            (
                n
                for i, n in enumerate(names)
                if n in converters and not _converts(converters[n], row[i])
            ),
            "?",
        )
        raise RecordValidationError(
            f"{display_path} line {reader.line_num + line_offset}: column '{bad}' "
            "does not match its schema type",
            stream=stream,
            hint="fix the value or set schema_overrides for this column",
        ) from None


def row_builder(
    names: Sequence[str], converters: Mapping[str, Converter], extra: Mapping[str, Any]
) -> Callable[[list[str]], dict[str, Any]]:
    """A function turning one CSV row into a record, generated for this file's columns.

    One dict display per row instead of a Python loop over the columns: the hot path of the
    tap. Column names enter the generated source only through ``repr`` (string literals);
    converters and extra values are passed in the namespace, never as source text.
    """
    namespace: dict[str, Any] = {}
    items: list[str] = []
    for i, name in enumerate(names):
        conv = converters.get(name)
        if conv is None:
            items.append(f"{name!r}: row[{i}]")
        else:
            namespace[f"c{i}"] = conv
            items.append(f"{name!r}: (c{i}(row[{i}]) if row[{i}] else None)")
    for j, (key, value) in enumerate(extra.items()):
        namespace[f"e{j}"] = value
        items.append(f"{key!r}: e{j}")
    source = "def build(row):\n    return {" + ", ".join(items) + "}\n"
    exec(source, namespace)  # noqa: S102 - generated from reprs only, see docstring
    return namespace["build"]  # type: ignore[no-any-return]


def _converts(conv: Converter, value: str) -> bool:
    if value == "":
        return True
    try:
        conv(value)
    except (ValueError, KeyError):
        return False
    return True
