"""``tap-rest``: a REST/JSON API described in config, as Singer streams."""

from __future__ import annotations

import functools
import itertools
from typing import Any, ClassVar

from singer_sdk import Stream
from singer_sdk.authenticators import APIAuthenticatorBase

from dativo_protocol.errors import ConfigError
from dativo_taps.kit import DativoTap, RateLimiter, entry_point
from dativo_taps.rest.auth import authenticator
from dativo_taps.rest.infer import infer_schema
from dativo_taps.rest.settings import CONFIG_SCHEMA
from dativo_taps.rest.stream import ConfiguredRESTStream

_PLACEHOLDER: dict[str, Any] = {"type": "object", "properties": {}}


class TapREST(DativoTap):
    """Any paginated REST/JSON API, configured rather than coded."""

    name = "tap-rest"
    package_name = "dativo-protocol"
    config_jsonschema: ClassVar[dict[str, Any]] = CONFIG_SCHEMA

    @functools.cached_property
    def rate_limiter(self) -> RateLimiter:
        limits = self.config.get("rate_limit") or {}
        return RateLimiter(
            per_second=limits.get("requests_per_second"),
            per_minute=limits.get("requests_per_minute"),
        )

    @functools.cached_property
    def api_authenticator(self) -> APIAuthenticatorBase:
        return authenticator(self.config.get("auth"), self.redactor)

    def _known_schema(self, name: str) -> dict[str, Any] | None:
        catalog = self.input_catalog
        entry = catalog.get_stream(name) if catalog else None
        return entry.schema.to_dict() if entry else None

    def discover_streams(self) -> list[Stream]:
        streams: list[Stream] = []
        names: set[str] = set()
        for spec in self.config["streams"]:
            if spec["name"] in names:
                raise ConfigError(f"duplicate stream name {spec['name']!r}")
            names.add(spec["name"])
            schema = spec.get("schema") or self._known_schema(spec["name"])
            stream = ConfiguredRESTStream(
                self,
                spec,
                schema or _PLACEHOLDER,
                limiter=self.rate_limiter,
                auth=self.api_authenticator,
            )
            if not schema:
                limit = int(self.config.get("infer_sample_records") or 100)
                sample = list(itertools.islice(stream.get_records(None), limit))
                stream._schema = infer_schema(sample)
            streams.append(stream)
        return streams

    def check_connection(self) -> str:
        """Fetch the first page of every stream (authentication and paths included)."""
        for stream in self.streams.values():
            for _ in stream.get_records(None):
                break
        return f"{len(self.streams)} stream(s) answered"


main = entry_point(TapREST)
