"""tap-csv settings: MeltanoLabs tap-csv's config shape, plus Dativo's additions.

A MeltanoLabs config (``files: [{entity, path, keys, encoding, delimiter, doublequote,
escapechar, quotechar, skipinitialspace, strict}]``, ``csv_files_definition``,
``add_metadata_columns``) works unchanged. Everything else is optional.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dativo_protocol import codec
from dativo_protocol.errors import ConfigError

MTIME_KEY = "_sdc_source_file_mtime"
FILE_KEY = "_sdc_source_file"
LINENO_KEY = "_sdc_source_lineno"
METADATA_COLUMNS = (FILE_KEY, MTIME_KEY, LINENO_KEY)

_STR = {"type": "string"}
_BOOL = {"type": "boolean"}
_OPT_STR = {"type": ["string", "null"]}  # Meltano sends null for declared but unset settings

FILE_SET_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["entity", "path"],
    "properties": {
        "entity": {**_STR, "description": "Stream (table) name."},
        "path": {
            **_STR,
            "description": "A file, a directory (read recursively), a glob, or any fsspec URL "
            "(s3://bucket/prefix/*.csv).",
        },
        "keys": {"type": "array", "items": _STR, "description": "Primary key columns."},
        "encoding": {**_STR, "default": "utf-8"},
        "delimiter": {**_STR, "default": ","},
        "doublequote": {**_BOOL, "default": True},
        "escapechar": {"type": ["string", "null"]},
        "quotechar": {**_STR, "default": '"'},
        "skipinitialspace": {**_BOOL, "default": False},
        "strict": {**_BOOL, "default": False},
        "header": {**_BOOL, "default": True, "description": "The first row names the columns."},
        "field_names": {
            "type": "array",
            "items": _STR,
            "description": "Column names when the files have no header row.",
        },
        "skip_rows": {"type": "integer", "default": 0, "description": "Lines to skip first."},
        "infer_types": {**_BOOL, "description": "Infer column types (default: tap setting)."},
        "schema_overrides": {
            "type": "object",
            "description": "Per-column JSON Schema (or a type name) that wins over inference.",
        },
        "replication_key": {
            **_STR,
            "description": f"A column for incremental sync, or '{MTIME_KEY}' to read only "
            "files modified since the last run.",
        },
        "is_sorted": {
            **_BOOL,
            "default": False,
            "description": "The rows (files in path order, then lines) come in replication_key "
            "order: the bookmark then advances with every STATE during the run, so a killed run "
            "resumes where it stopped. A row out of order stops the run (exit 4).",
        },
        "file_extensions": {"type": "array", "items": _STR},
    },
}

CONFIG_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "files": {"type": "array", "items": FILE_SET_SCHEMA, "description": "The file sets."},
        "csv_files_definition": {
            **_STR,
            "description": "A path to a JSON file holding the `files` array.",
        },
        "add_metadata_columns": {
            **_BOOL,
            "default": False,
            "description": f"Add {', '.join(METADATA_COLUMNS)} to every record.",
        },
        "infer_types": {
            **_BOOL,
            "default": True,
            "description": "Infer integer/number/boolean/date/date-time columns from a sample "
            "(false: every column is a string, like MeltanoLabs tap-csv).",
        },
        "infer_sample_rows": {"type": "integer", "default": 1000},
        "filesystem": {
            **_STR,
            "default": "local",
            "description": "Kept for MeltanoLabs compatibility; the protocol of `path` decides.",
        },
        "s3": {
            "type": "object",
            "description": "S3 settings for s3:// paths (or use the usual AWS variables).",
            "properties": {
                "key": {**_OPT_STR, "description": "Access key id."},
                "secret": {**_OPT_STR, "secret": True, "writeOnly": True},
                "token": {**_OPT_STR, "secret": True, "writeOnly": True},
                "endpoint_url": _OPT_STR,
                "region": _OPT_STR,
                "anon": {"type": ["boolean", "null"]},
            },
        },
        "storage_options": {
            "type": "object",
            "description": "Extra fsspec options for the path's filesystem.",
        },
    },
}

_DIALECT_KEYS = (
    "delimiter",
    "doublequote",
    "escapechar",
    "quotechar",
    "skipinitialspace",
    "strict",
)
DEFAULT_EXTENSIONS = (".csv", ".tsv", ".txt", ".csv.gz", ".tsv.gz", ".csv.bz2", ".csv.zst")


@dataclass(frozen=True)
class FileSet:
    """One configured file set, which becomes one stream."""

    entity: str
    path: str
    keys: tuple[str, ...] = ()
    encoding: str = "utf-8"
    dialect: Mapping[str, Any] = field(default_factory=dict)
    header: bool = True
    field_names: tuple[str, ...] = ()
    skip_rows: int = 0
    infer_types: bool = True
    schema_overrides: Mapping[str, Any] = field(default_factory=dict)
    replication_key: str | None = None
    extensions: tuple[str, ...] = DEFAULT_EXTENSIONS
    add_metadata_columns: bool = False
    is_sorted: bool = False

    @property
    def by_mtime(self) -> bool:
        return self.replication_key == MTIME_KEY

    @property
    def metadata_columns(self) -> bool:
        return self.add_metadata_columns or self.by_mtime


def _file_set(raw: Any, index: int, config: Mapping[str, Any]) -> FileSet:
    where = f"files[{index}]"
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where} must be an object")
    for required in ("entity", "path"):
        if not isinstance(raw.get(required), str) or not raw[required]:
            raise ConfigError(f"{where}.{required} is required (a non-empty string)")
    dialect = {k: raw[k] for k in _DIALECT_KEYS if raw.get(k) is not None}
    for one_char in ("delimiter", "quotechar", "escapechar"):
        value = dialect.get(one_char)
        if value is not None and (not isinstance(value, str) or len(value) != 1):
            raise ConfigError(f"{where}.{one_char} must be a single character")
    header = bool(raw.get("header", True))
    field_names = tuple(raw.get("field_names") or ())
    if not header and not field_names:
        raise ConfigError(f"{where}: header is false, so field_names is required")
    overrides = raw.get("schema_overrides") or {}
    if not isinstance(overrides, Mapping):
        raise ConfigError(f"{where}.schema_overrides must be an object")
    extensions = tuple(raw.get("file_extensions") or DEFAULT_EXTENSIONS)
    return FileSet(
        entity=raw["entity"],
        path=raw["path"],
        keys=tuple(raw.get("keys") or ()),
        encoding=raw.get("encoding") or "utf-8",
        dialect=dialect,
        header=header,
        field_names=field_names,
        skip_rows=int(raw.get("skip_rows") or 0),
        infer_types=bool(raw.get("infer_types", config.get("infer_types", True))),
        schema_overrides=dict(overrides),
        replication_key=raw.get("replication_key") or None,
        extensions=extensions,
        add_metadata_columns=bool(config.get("add_metadata_columns", False)),
        is_sorted=bool(raw.get("is_sorted", False)),
    )


def file_sets(config: Mapping[str, Any]) -> list[FileSet]:
    """The file sets of ``config`` (inline ``files`` or the ``csv_files_definition`` file)."""
    raw_sets: Any = config.get("files")
    definition = config.get("csv_files_definition")
    if definition:
        try:
            raw_sets = codec.loads(Path(definition).read_bytes())
        except FileNotFoundError:
            raise ConfigError(f"csv_files_definition file not found: {definition}") from None
        except (OSError, ValueError) as exc:
            raise ConfigError(f"csv_files_definition {definition} is unreadable: {exc}") from None
    if not raw_sets:
        raise ConfigError("no CSV file definitions: set `files` or `csv_files_definition`")
    if not isinstance(raw_sets, list):
        raise ConfigError("`files` must be a list of file settings")
    sets = [_file_set(raw, i, config) for i, raw in enumerate(raw_sets)]
    names = [s.entity for s in sets]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"duplicate entity names in files: {', '.join(dupes)}")
    return sets
