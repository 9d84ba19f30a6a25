"""Target settings: the kit's shared model and Singer-style loading (files, ``ENV``).

``--config`` may be given several times (later files win); ``--config ENV`` reads
``<TARGET_NAME>_<SETTING>`` environment variables (e.g. ``TARGET_PARQUET_DESTINATION_PATH``),
like singer-sdk. Complex settings (objects, lists) are JSON in the variable.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dativo_protocol import codec
from dativo_protocol.errors import ConfigError

S = TypeVar("S", bound="KitSettings")

MiB = 1024 * 1024
ENV_CONFIG = "ENV"


def secret(description: str, **kwargs: Any) -> Any:
    """A pydantic ``Field`` marked secret: redacted from every log and error, shown as such in
    ``--about``."""
    return Field(
        default=None, description=description, json_schema_extra={"secret": True}, **kwargs
    )


class KitSettings(BaseModel):
    """Settings every kit-based target understands (subclass it to add the target's own)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    validation: Literal["off", "fast", "strict"] = Field(
        default="fast",
        description="Record checks: 'off' (only what the Arrow conversion needs), 'fast' "
        "(vectorised type, required and format checks) or 'strict' (full JSON Schema per record).",
    )
    on_invalid_record: Literal["fail", "dead_letter"] = Field(
        default="fail",
        description="'fail' stops at the first invalid record; 'dead_letter' writes it, with "
        "the reason, to dead_letter_path and goes on.",
    )
    dead_letter_path: str | None = Field(
        default=None, description="Where rejected records go (local path or fsspec URL)."
    )
    flush_max_rows: int = Field(
        default=250_000,
        ge=1,
        description="Commit (and emit the latest STATE) after this many records.",
    )
    flush_max_bytes: int = Field(
        default=512 * MiB, ge=1, description="Commit after this many bytes of input."
    )
    flush_interval_seconds: float = Field(
        default=60.0, gt=0, description="Commit at least this often (checked as input arrives)."
    )
    read_chunk_bytes: int = Field(
        default=32 * MiB, ge=1024, description="Bytes of input parsed at once (bigger is faster)."
    )
    max_line_bytes: int = Field(
        default=64 * MiB, ge=1024, description="Longest accepted input line."
    )
    batch_storage_options: dict[str, Any] = Field(
        default_factory=dict,
        description="fsspec options for reading BATCH manifest files (e.g. s3 endpoint, key).",
    )
    metrics: bool = Field(default=True, description="Write singer-style METRIC lines on stderr.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Log level on stderr."
    )


def secret_fields(model: type[BaseModel]) -> set[str]:
    """Names of the settings marked with :func:`secret`."""
    out = set()
    for name, info in model.model_fields.items():
        extra = info.json_schema_extra
        if isinstance(extra, Mapping) and extra.get("secret"):
            out.add(name)
    return out


def _wants_text(annotation: Any) -> bool:
    """True when a setting is plain text (its env value is taken verbatim, not as JSON)."""
    origin = typing.get_origin(annotation)
    if annotation is str:
        return True
    if origin is Literal:
        return all(isinstance(a, str) for a in typing.get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return len(args) == 1 and _wants_text(args[0])
    return False


def env_config(model: type[BaseModel], prefix: str, environ: Mapping[str, str]) -> dict[str, Any]:
    """The settings found in ``<PREFIX>_<SETTING>`` environment variables."""
    out: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        raw = environ.get(f"{prefix}_{name.upper()}")
        if raw is None:
            continue
        if _wants_text(info.annotation):
            out[name] = raw
            continue
        try:
            out[name] = codec.loads(raw)
        except codec.JSONDecodeError:
            out[name] = raw
    return out


def read_configs(
    sources: Sequence[str], model: type[BaseModel], prefix: str, environ: Mapping[str, str]
) -> dict[str, Any]:
    """Merge the ``--config`` sources in order (later wins) into one raw dict."""
    merged: dict[str, Any] = {}
    for source in sources:
        if source == ENV_CONFIG:
            merged.update(env_config(model, prefix, environ))
            continue
        merged.update(codec.load_object_file(source, "config file"))
    return merged


def build_settings(model: type[S], raw: Mapping[str, Any]) -> S:
    """Validate ``raw`` into ``model``; errors name the settings, never their values."""
    try:
        return model.model_validate(dict(raw))
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_input=False, include_url=False):
            where = ".".join(str(p) for p in err["loc"]) or "config"
            problems.append(f"{where}: {err['msg']}")
        raise ConfigError("invalid settings: " + "; ".join(problems)) from None


def unknown_settings(model: type[BaseModel], raw: Mapping[str, Any]) -> list[str]:
    return sorted(k for k in raw if k not in model.model_fields)
