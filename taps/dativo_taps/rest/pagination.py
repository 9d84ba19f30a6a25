"""Paginators for tap-rest: singer-sdk's, with "a short page is the last page"."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import requests
from singer_sdk.pagination import (
    BaseAPIPaginator,
    HeaderLinkPaginator,
    JSONPathPaginator,
    OffsetPaginator,
    PageNumberPaginator,
    SinglePagePaginator,
)

from dativo_protocol.errors import ConfigError

CountRecords = Callable[[requests.Response], int]


class SizedPageNumberPaginator(PageNumberPaginator):
    def __init__(self, start_value: int, page_size: int | None, count: CountRecords) -> None:
        super().__init__(start_value)
        self._size = page_size
        self._count = count

    def has_more(self, response: requests.Response) -> bool:
        n = self._count(response)
        return n >= self._size if self._size else n > 0


class SizedOffsetPaginator(OffsetPaginator):
    def __init__(self, start_value: int, page_size: int, count: CountRecords) -> None:
        super().__init__(start_value, page_size)
        self._count = count

    def has_more(self, response: requests.Response) -> bool:
        return self._count(response) >= self.page_size


def paginator(spec: Mapping[str, Any] | None, count: CountRecords) -> BaseAPIPaginator[Any]:
    spec = spec or {}
    kind = spec.get("type") or "none"
    if kind == "none":
        return SinglePagePaginator()
    if kind == "page_number":
        return SizedPageNumberPaginator(int(spec.get("start", 1)), spec.get("size"), count)
    if kind == "offset":
        if not spec.get("size"):
            raise ConfigError("offset pagination needs pagination.size")
        return SizedOffsetPaginator(int(spec.get("start", 0)), int(spec["size"]), count)
    if kind == "cursor":
        if not spec.get("cursor_path"):
            raise ConfigError("cursor pagination needs pagination.cursor_path (a JSONPath)")
        return JSONPathPaginator(spec["cursor_path"])
    if kind == "link_header":
        return HeaderLinkPaginator()
    raise ConfigError(f"unknown pagination type {kind!r}")


def default_param(kind: str) -> str | None:
    return {"page_number": "page", "offset": "offset", "cursor": "cursor"}.get(kind)
