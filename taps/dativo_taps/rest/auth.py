"""Authenticators for tap-rest: singer-sdk's, chosen from config.

Secrets from the config are redacted by the tap kit. An OAuth token endpoint hands out new
secrets at run time (access, refresh and id tokens): every answer of the token endpoint is read
for them, and they join the process's redactor before singer-sdk stores, uses or logs them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests
from singer_sdk.authenticators import (
    APIAuthenticatorBase,
    APIKeyAuthenticator,
    BasicAuthenticator,
    BearerTokenAuthenticator,
    OAuthAuthenticator,
    SimpleAuthenticator,
)

from dativo_protocol import codec
from dativo_protocol.errors import ConfigError
from dativo_protocol.redact import Redactor, collect_secrets


def _learn_token_secrets(redactor: Redactor) -> Any:
    """A requests response hook: secrets in a token endpoint's JSON answer join ``redactor``
    (keys named like ``access_token``/``refresh_token``/``id_token``, nested ones too)."""

    def hook(response: requests.Response, *args: Any, **kwargs: Any) -> None:
        try:
            body = codec.loads(response.content)
        except ValueError:
            return
        if isinstance(body, dict):
            found = collect_secrets(body)
            # a value with stray white space is also shown stripped (e.g. inside a header)
            redactor.add(found | {s.strip() for s in found})

    return hook


class ClientCredentialsAuthenticator(OAuthAuthenticator):
    """OAuth 2.0 client-credentials grant (token fetched and refreshed by singer-sdk)."""

    def __init__(self, *args: Any, redactor: Redactor, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._session.hooks["response"].append(_learn_token_secrets(redactor))

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


def authenticator(auth: Mapping[str, Any] | None, redactor: Redactor) -> APIAuthenticatorBase:
    """The authenticator ``auth`` describes; secrets it learns at run time join ``redactor``."""
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
            redactor=redactor,
        )
    raise ConfigError(f"unknown auth type {kind!r}")
