"""Singer-style METRIC lines on stderr (through the redacting logger)."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from dativo_protocol import codec


class Metrics:
    """``METRIC: {"type":"counter","metric":"record_count","value":5,"tags":{...}}`` lines."""

    __slots__ = ("_enabled", "_log")

    def __init__(self, logger: logging.Logger, *, enabled: bool = True) -> None:
        self._log = logger
        self._enabled = enabled

    def _emit(self, kind: str, metric: str, value: float, tags: Mapping[str, object]) -> None:
        if self._enabled:
            payload = {"type": kind, "metric": metric, "value": value, "tags": dict(tags)}
            self._log.info("METRIC: %s", codec.dumps_str(payload))

    def counter(self, metric: str, value: int, **tags: object) -> None:
        self._emit("counter", metric, value, tags)

    def timer(self, metric: str, seconds: float, **tags: object) -> None:
        self._emit("timer", metric, round(seconds, 6), tags)
