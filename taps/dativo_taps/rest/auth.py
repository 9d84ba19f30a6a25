"""Authenticators for tap-rest: singer-sdk's, chosen from config."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from singer_sdk.authenticators import (
    APIAuthenticatorBase,
    APIKeyAuthenticator,
    BasicAuthenticator,
    BearerTokenAuthenticator,
    OAuthAuthenticator,
    SimpleAuthenticator,
)

from dativo_protocol.errors import ConfigError


class ClientCredentialsAuthenticator(OAuthAuthenticator):
    """OAuth 2.0 client-credentials grant (token fetched and refreshed by singer-sdk)."""

    @property
    def oauth_request_body(self) -> dict[str, Any]:
        body = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self.client_secret,
        }
        if self.oauth_scopes:
            body["scope"] = self.oauth_scopes
        return body


def _need(auth: Mapping[str, Any], *keys: str) -> None:
    missing = [k for k in keys if not auth.get(k)]
    if missing:
        raise ConfigError(
            f"auth type {auth.get('type')!r} needs: {', '.join('auth.' + k for k in missing)}"
        )


def authenticator(auth: Mapping[str, Any] | None) -> APIAuthenticatorBase:
    auth = auth or {}
    kind = auth.get("type") or "none"
    if kind == "none":
        return SimpleAuthenticator()
    if kind == "bearer":
        _need(auth, "token")
        return BearerTokenAuthenticator(token=auth["token"])
    if kind == "api_key":
        _need(auth, "key", "value")
        return APIKeyAuthenticator(
            key=auth["key"], value=auth["value"], location=auth.get("location") or "header"
        )
    if kind == "basic":
        _need(auth, "username", "password")
        return BasicAuthenticator(username=auth["username"], password=auth["password"])
    if kind == "oauth_client_credentials":
        _need(auth, "token_url", "client_id", "client_secret")
        return ClientCredentialsAuthenticator(
            auth_endpoint=auth["token_url"],
            client_id=auth["client_id"],
            client_secret=auth["client_secret"],
            oauth_scopes=auth.get("scopes"),
        )
    raise ConfigError(f"unknown auth type {kind!r}")
