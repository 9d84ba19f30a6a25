"""A REST stream described by config, on singer-sdk's ``RESTStream``.

singer-sdk does the requests, pagination, authentication, retries with backoff, state and
record messages. This class only reads the stream's config, paces requests with the kit's
:class:`~dativo_taps.kit.ratelimit.RateLimiter` (honouring ``Retry-After``), checks the
shape of every body, and turns failures into located Dativo errors.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable, Mapping
from http import HTTPStatus
from typing import Any
from urllib.parse import ParseResult, parse_qsl, urlunparse

import backoff
import orjson
import requests
from singer_sdk.authenticators import APIAuthenticatorBase
from singer_sdk.exceptions import RetriableAPIError
from singer_sdk.helpers.jsonpath import extract_jsonpath
from singer_sdk.streams.rest import HTTPRequest, PageContext, RESTStream

from dativo_protocol.errors import ConfigError, ConnectionCheckError, TransientError
from dativo_taps.kit.ratelimit import RateLimiter
from dativo_taps.rest.errors import BadResponseError, HTTPStatusError
from dativo_taps.rest.pagination import default_param, paginator

_AUTH_STATUSES = (HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN)


def location(response: requests.Response) -> str:
    request = response.request
    return f"{request.method} {request.path_url}"


class ConfiguredRESTStream(RESTStream[Any]):
    """One entry of ``streams`` in tap-rest's config."""

    def __init__(
        self,
        tap: Any,
        spec: Mapping[str, Any],
        schema: dict[str, Any],
        *,
        limiter: RateLimiter,
        auth: APIAuthenticatorBase,
    ) -> None:
        self.spec = spec
        self._limiter = limiter
        self._auth = auth
        super().__init__(tap, name=spec["name"], schema=schema, path=spec["path"])
        self.primary_keys = list(spec.get("primary_keys") or [])
        if spec.get("replication_key"):
            self.replication_key = spec["replication_key"]

    # ------------------------------------------------------------------ request shape
    @property
    def url_base(self) -> str:
        return str(self.config["api_url"]).rstrip("/")

    @property
    def records_jsonpath(self) -> str:
        return str(self.spec.get("records_path") or "$[*]")

    @property
    def authenticator(self) -> APIAuthenticatorBase:
        return self._auth

    @property
    def http_headers(self) -> dict[str, Any]:
        headers = dict(super().http_headers)
        headers.update(self.config.get("headers") or {})
        return headers

    @property
    def timeout(self) -> int:
        return int(self.config.get("timeout") or 60)

    @property
    def is_sorted(self) -> bool:
        return bool(self.spec.get("is_sorted", False))

    @property
    def _pagination(self) -> Mapping[str, Any]:
        return self.spec.get("pagination") or self.config.get("pagination") or {}

    def get_new_paginator(self) -> Any:
        return paginator(self._pagination, self._count_records)

    def get_url_params(self, context: Any, next_page_token: Any) -> dict[str, Any]:
        params: dict[str, Any] = dict(self.config.get("params") or {})
        params.update(self.spec.get("params") or {})
        page = self._pagination
        kind = page.get("type") or "none"
        param = page.get("param") or default_param(kind)
        if kind in ("page_number", "offset", "cursor") and next_page_token is not None and param:
            params[param] = next_page_token
        if page.get("size") and page.get("size_param"):
            params[page["size_param"]] = page["size"]
        rparam = self.spec.get("replication_param")
        if rparam and self.replication_key:
            start = self.get_starting_replication_key_value(context)
            if start is None:
                start = self.spec.get("start_value")
            if start is not None:
                params[rparam] = start
        return params

    def get_http_request(self, *, page: PageContext[Any]) -> HTTPRequest:
        request = super().get_http_request(page=page)
        token = page.next_page_token
        if isinstance(token, ParseResult):  # a Link: rel="next" URL
            request.url = urlunparse(token._replace(query="", fragment=""))
            request.params = dict(parse_qsl(token.query, keep_blank_values=True))
        return request

    # ------------------------------------------------------------------ pacing and retries
    def request_decorator(self, func: Callable[..., Any]) -> Callable[..., Any]:
        limiter = self._limiter

        def paced(prepared_request: requests.PreparedRequest, context: Any) -> Any:
            limiter.acquire()
            try:
                return func(prepared_request, context)
            except RetriableAPIError as exc:
                if exc.response is not None:
                    limiter.honour_retry_after(exc.response.headers.get("Retry-After"))
                raise

        return super().request_decorator(paced)

    def _retry(self) -> Mapping[str, Any]:
        return self.config.get("retry") or {}

    def backoff_wait_generator(self) -> Generator[float, None, None]:
        retry = self._retry()
        return backoff.expo(
            factor=float(retry.get("backoff_factor", 1.0)),
            max_value=float(retry.get("max_backoff", 60.0)),
        )

    def backoff_max_tries(self) -> int:
        return int(self._retry().get("max_tries", 5))

    def response_error_message(self, response: requests.Response) -> str:
        return f"HTTP {response.status_code} {response.reason} for {location(response)}"

    def validate_response(self, response: requests.Response) -> None:
        status = response.status_code
        if 400 <= status < 500 and status not in self.extra_retry_statuses:
            raise HTTPStatusError(self.response_error_message(response), status, location(response))
        super().validate_response(response)

    # ------------------------------------------------------------------ bodies
    def _body(self, response: requests.Response) -> Any:
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError as exc:
            raise BadResponseError(
                f"{location(response)}: the body is not JSON ({exc.msg})", stream=self.name
            ) from None

    def _records(self, response: requests.Response) -> list[Any]:
        cached = getattr(response, "_dativo_records", None)
        if cached is not None:
            return list(cached)
        body = self._body(response)
        path = self.records_jsonpath
        if path.endswith("[*]"):
            container = path[: -len("[*]")] or "$"
            found = list(extract_jsonpath(container, body)) if container != "$" else [body]
            if not found:
                raise BadResponseError(
                    f"{location(response)}: the body has nothing at {container}", stream=self.name
                )
            if not all(isinstance(f, list) for f in found):
                raise BadResponseError(
                    f"{location(response)}: {container} is not a list", stream=self.name
                )
        records = list(extract_jsonpath(path, body))
        for index, record in enumerate(records):
            if not isinstance(record, dict):
                raise BadResponseError(
                    f"{location(response)}: record {index} at {path} is a "
                    f"{type(record).__name__}, not an object",
                    stream=self.name,
                )
        response._dativo_records = records  # type: ignore[attr-defined]
        return records

    def _count_records(self, response: requests.Response) -> int:
        return len(self._records(response))

    def parse_response(self, response: requests.Response) -> Iterable[dict[str, Any]]:
        yield from self._records(response)

    # ------------------------------------------------------------------ records and failures
    def get_records(self, context: Any) -> Iterable[dict[str, Any]]:
        try:
            yield from super().get_records(context)
        except HTTPStatusError as exc:
            if exc.status in _AUTH_STATUSES:
                raise ConnectionCheckError(
                    f"HTTP {exc.status}: credentials refused for {exc.location}",
                    stream=self.name,
                    hint="check `auth` in the config",
                ) from None
            raise ConfigError(
                f"{exc}", stream=self.name, hint="check the stream's path and params"
            ) from None
        except RetriableAPIError as exc:
            where = location(exc.response) if exc.response is not None else self.path
            status = exc.response.status_code if exc.response is not None else "error"
            raise TransientError(
                f"HTTP {status} for {where} still failing after {self.backoff_max_tries()} tries",
                stream=self.name,
            ) from None
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise TransientError(
                f"cannot reach {self.url_base} after {self.backoff_max_tries()} tries "
                f"({type(exc).__name__})",
                stream=self.name,
            ) from None
        except RuntimeError as exc:
            if "access token" in str(exc):
                raise ConnectionCheckError(
                    f"OAuth token request failed: {exc}", stream=self.name
                ) from None
            raise
