"""HTTP failures, located: which stream, which request; never the body or the headers."""

from __future__ import annotations

from singer_sdk.exceptions import FatalAPIError

from dativo_protocol.errors import InputError


class HTTPStatusError(FatalAPIError):
    """A non-retriable HTTP status (4xx), with the request that got it."""

    def __init__(self, message: str, status: int, location: str) -> None:
        super().__init__(message)
        self.status = status
        self.location = location


class BadResponseError(InputError):
    """The API answered 2xx with a body of the wrong shape (not JSON, records not objects)."""

    kind = "bad_response"
