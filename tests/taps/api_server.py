"""A small real HTTP API on loopback for tap-rest tests (threaded stdlib server).

Endpoints (all need ``Authorization: Bearer <token>`` unless said otherwise):

* ``/users?page=N&per_page=M``: page-number pagination over ``users``, filter ``updated_since``;
* ``/items?offset=O&limit=L``: offset pagination; ``/events?cursor=C``: cursor in the body;
* ``/links?page=N``: pagination through ``Link: <...>; rel="next"`` headers;
* ``/key-only``: needs ``X-API-Key`` instead; ``/basic``: needs HTTP basic auth;
* ``/oauth/token`` (POST, client credentials) and ``/oauth-data`` (needs the issued token);
* ``/wrong-shape``, ``/not-json``: bodies of the wrong shape;
* faults: ``throttle`` (429 + Retry-After once per path), ``flaky`` (503 N times per path).
"""

from __future__ import annotations

import base64
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from dativo_protocol import codec


@dataclass
class Api:
    token: str
    users: list[dict[str, Any]]
    api_key: str = "key-123456"
    basic: tuple[str, str] = ("alice", "basic-pw-123")
    client: tuple[str, str] = ("client-1", "client-secret-123")
    throttle_paths: set[str] = field(default_factory=set)
    retry_after: str = "1"
    flaky: dict[str, int] = field(default_factory=dict)
    requests: list[tuple[float, str, str]] = field(default_factory=list)
    failures_left: Counter[str] = field(default_factory=Counter)
    throttled: set[str] = field(default_factory=set)
    oauth_token: str = "oauth-access-987654"
    lock: threading.Lock = field(default_factory=threading.Lock)


def _page(items: list[Any], start: int, size: int) -> list[Any]:
    return items[start : start + size]


class Handler(BaseHTTPRequestHandler):
    api: Api

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = body if isinstance(body, bytes) else codec.dumps(body)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _authorized(self, path: str) -> bool:
        api = self.api
        auth = self.headers.get("Authorization", "")
        if path == "/key-only":
            query = parse_qs(urlsplit(self.path).query)
            return api.api_key in (self.headers.get("X-API-Key"), query.get("api_key", [None])[-1])
        if path == "/basic":
            expected = base64.b64encode(f"{api.basic[0]}:{api.basic[1]}".encode()).decode()
            return auth == f"Basic {expected}"
        if path == "/oauth-data":
            return auth == f"Bearer {api.oauth_token}"
        return auth == f"Bearer {api.token}"

    def do_POST(self) -> None:
        api = self.api
        length = int(self.headers.get("Content-Length") or 0)
        form = parse_qs(self.rfile.read(length).decode())
        with api.lock:
            api.requests.append((time.monotonic(), "POST", self.path))
        ok = (
            form.get("grant_type") == ["client_credentials"]
            and form.get("client_id") == [api.client[0]]
            and form.get("client_secret") == [api.client[1]]
        )
        if self.path == "/oauth/token" and ok:
            self._send(200, {"access_token": api.oauth_token, "expires_in": 3600})
        else:
            self._send(401, {"error": "invalid_client"})

    def do_GET(self) -> None:
        api = self.api
        url = urlsplit(self.path)
        path = url.path
        q = {k: v[-1] for k, v in parse_qs(url.query).items()}
        with api.lock:
            api.requests.append((time.monotonic(), "GET", self.path))
            if path in api.throttle_paths and path not in api.throttled:
                api.throttled.add(path)
                self._send(429, {"error": "slow down"}, {"Retry-After": api.retry_after})
                return
            if api.flaky.get(path, 0) > api.failures_left[path]:
                api.failures_left[path] += 1
                self._send(503, {"error": "try later"})
                return
        if not self._authorized(path):
            self._send(401, {"error": "unauthorized"})
            return
        users = api.users
        if "updated_since" in q:
            users = [u for u in users if u["updated_at"] >= q["updated_since"]]
        if path == "/slow":
            time.sleep(0.3)
        if path in ("/users", "/key-only", "/basic", "/oauth-data", "/slow"):
            size = int(q.get("per_page", 10))
            page = int(q.get("page", 1))
            self._send(200, {"data": _page(users, (page - 1) * size, size), "page": page})
        elif path == "/items":
            offset, limit = int(q.get("offset", 0)), int(q.get("limit", 10))
            self._send(200, _page(users, offset, limit))
        elif path == "/events":
            start = int(q.get("cursor", "0") or 0)
            chunk = _page(users, start, 4)
            nxt = str(start + 4) if start + 4 < len(users) else None
            self._send(200, {"events": chunk, "meta": {"next_cursor": nxt}})
        elif path == "/links":
            page = int(q.get("page", 1))
            headers = {}
            if page * 5 < len(users):
                host = self.headers.get("Host")
                headers["Link"] = f'<http://{host}/links?page={page + 1}>; rel="next"'
            self._send(200, {"data": _page(users, (page - 1) * 5, 5)}, headers)
        elif path == "/wrong-shape":
            self._send(200, {"data": {"id": 1}})
        elif path == "/not-json":
            self._send(200, b"<html>maintenance</html>")
        else:
            self._send(404, {"error": "no such path"})


class ApiServer:
    def __init__(self, api: Api) -> None:
        handler = type("BoundHandler", (Handler,), {"api": api})
        self.api = api
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> ApiServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def make_users(n: int) -> list[dict[str, Any]]:
    return [
        {
            "id": i,
            "name": f"user {i}",
            "score": i * 1.5,
            "active": i % 2 == 0,
            "updated_at": f"2024-01-{1 + i % 28:02d}T00:00:00+00:00",
            "tags": ["a", "b"],
        }
        for i in range(1, n + 1)
    ]
