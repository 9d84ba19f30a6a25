"""tap-rest against a real HTTP API on loopback (tests/taps/api_server.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dativo_protocol import codec
from tests.fixtures.cli import assert_no_secret
from tests.taps.api_server import ApiServer
from tests.taps.conftest import CANARY, messages, records, states, write_json

PAGES = {"type": "page_number", "size": 10, "size_param": "per_page"}
FAST_RETRY = {"max_tries": 3, "backoff_factor": 0.05, "max_backoff": 0.2}


def users_stream(**extra: Any) -> dict[str, Any]:
    return {
        "name": "users",
        "path": "/users",
        "records_path": "$.data[*]",
        "primary_keys": ["id"],
        "pagination": PAGES,
        **extra,
    }


def config(server: ApiServer, streams: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "api_url": server.url,
        "auth": {"type": "bearer", "token": CANARY},
        "retry": FAST_RETRY,
        "streams": streams,
        **extra,
    }


def run(run_cli, tmp_path: Path, cfg: dict[str, Any], *args: str):
    path = write_json(tmp_path / "config.json", cfg)
    result = run_cli("tap-rest", "--config", path, *args, timeout=120)
    assert_no_secret(CANARY, result.stdout, result.stderr)
    return result


def test_every_pagination_style_reads_every_record(run_cli, tmp_path, api):
    streams = [
        users_stream(),
        {
            "name": "items",
            "path": "/items",
            "pagination": {"type": "offset", "size": 10, "size_param": "limit"},
        },
        {
            "name": "events",
            "path": "/events",
            "records_path": "$.events[*]",
            "pagination": {"type": "cursor", "cursor_path": "$.meta.next_cursor"},
        },
        {
            "name": "links",
            "path": "/links",
            "records_path": "$.data[*]",
            "pagination": {"type": "link_header"},
        },
    ]
    schema = {
        "type": "object",
        "properties": {"id": {"type": "integer"}, "name": {"type": "string"}},
    }
    for s in streams:
        s["schema"] = schema  # no discovery sampling: count the sync's requests only
    result = run(run_cli, tmp_path, config(api, streams))
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    for name in ("users", "items", "events", "links"):
        assert [r["id"] for r in records(result.stdout, name)] == list(range(1, 24)), name
    paths = [p for _, _, p in api.api.requests]
    # a short page ends page-number and offset pagination: no extra empty request
    assert [p for p in paths if p.startswith("/users")] == [
        "/users?page=1&per_page=10",
        "/users?page=2&per_page=10",
        "/users?page=3&per_page=10",
    ]
    assert "/links?page=5" in paths
    assert "/events?cursor=20" in paths
    first = {m["stream"]: m["type"] for m in reversed(messages(result.stdout)) if "stream" in m}
    assert set(first.values()) == {"SCHEMA"}  # each stream's first message is its SCHEMA


def test_429_retry_after_is_honoured_and_5xx_retried(run_cli, tmp_path, api):
    api.api.throttle_paths = {"/users"}
    api.api.retry_after = "1"
    api.api.flaky = {"/users": 2}
    cfg = config(api, [users_stream()], retry={**FAST_RETRY, "max_tries": 5})
    result = run(run_cli, tmp_path, cfg)
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    assert [r["id"] for r in records(result.stdout)] == list(range(1, 24))
    times = [t for t, _, p in api.api.requests if p.startswith("/users?page=1")]
    assert len(times) >= 3  # 429, then two 503s, then success (after discovery sampling)
    assert times[1] - times[0] >= 0.95  # nothing sent before Retry-After elapsed


def test_transient_errors_fail_clearly_after_retries(run_cli, tmp_path, api):
    api.api.flaky = {"/users": 99}
    cfg = config(
        api, [users_stream(schema={"type": "object", "properties": {"id": {"type": "integer"}}})]
    )
    result = run(run_cli, tmp_path, cfg)
    assert result.returncode == 7  # TRANSIENT
    err = result.stderr.decode()
    assert "stream 'users'" in err
    assert "HTTP 503" in err
    assert "/users?page=1" in err
    assert "after 3 tries" in err
    assert "Traceback" not in err
    assert not records(result.stdout)
    assert not states(result.stdout)


def test_bad_credentials_exit_connection_without_traceback(run_cli, tmp_path, api):
    cfg = config(api, [users_stream()])
    cfg["auth"]["token"] = "wrong-token-value"
    result = run(run_cli, tmp_path, cfg)
    assert result.returncode == 6
    err = result.stderr.decode()
    assert "stream 'users'" in err
    assert "HTTP 401" in err
    assert "Traceback" not in err
    assert "wrong-token-value" not in err


@pytest.mark.parametrize(
    ("path", "records_path", "reason"),
    [("/wrong-shape", "$.data[*]", "$.data is not a list"), ("/not-json", "$[*]", "not JSON")],
)
def test_wrong_body_shape_is_a_located_input_error(
    run_cli, tmp_path, api, path, records_path, reason
):
    stream = {"name": "odd", "path": path, "records_path": records_path}
    result = run(run_cli, tmp_path, config(api, [stream]))
    assert result.returncode == 4
    err = result.stderr.decode()
    assert "stream 'odd'" in err
    assert f"GET {path}" in err
    assert reason in err


def test_unknown_path_is_a_config_error(run_cli, tmp_path, api):
    stream = {"name": "nope", "path": "/nope", "schema": {"type": "object", "properties": {}}}
    result = run(run_cli, tmp_path, config(api, [stream]))
    assert result.returncode == 3
    assert "HTTP 404" in result.stderr.decode()
    assert "stream 'nope'" in result.stderr.decode()


@pytest.mark.parametrize(
    ("path", "auth"),
    [
        ("/key-only", {"type": "api_key", "key": "X-API-Key", "value": "key-123456"}),
        ("/basic", {"type": "basic", "username": "alice", "password": "basic-pw-123"}),
        (
            "/oauth-data",
            {
                "type": "oauth_client_credentials",
                "token_url": "{url}/oauth/token",
                "client_id": "client-1",
                "client_secret": "client-secret-123",
            },
        ),
    ],
)
def test_auth_types(run_cli, tmp_path, api, path, auth):
    auth = {k: v.format(url=api.url) if isinstance(v, str) else v for k, v in auth.items()}
    cfg = config(api, [users_stream(path=path)], auth=auth)
    result = run(run_cli, tmp_path, cfg)
    assert result.returncode == 0, result.stderr.decode()[-1500:]
    assert len(records(result.stdout)) == 23
    for secret in ("key-123456", "basic-pw-123", "client-secret-123"):
        assert_no_secret(secret, result.stdout, result.stderr)


def test_incremental_sends_the_bookmark_and_advances_it(run_cli, tmp_path, api):
    stream = users_stream(
        replication_key="updated_at",
        replication_param="updated_since",
        start_value="2024-01-20T00:00:00+00:00",
    )
    first = run(run_cli, tmp_path, config(api, [stream]))
    assert first.returncode == 0, first.stderr.decode()[-1500:]
    got = records(first.stdout)
    assert got
    assert all(r["updated_at"] >= "2024-01-20" for r in got)
    final = states(first.stdout)[-1]
    bookmark = final["bookmarks"]["users"]["replication_key_value"]
    assert bookmark == max(r["updated_at"] for r in got)
    state_path = write_json(tmp_path / "state.json", final)
    api.api.requests.clear()
    second = run(run_cli, tmp_path, config(api, [stream]), "--state", str(state_path))
    assert second.returncode == 0
    assert all(r["updated_at"] >= bookmark for r in records(second.stdout))
    assert any(f"updated_since={bookmark[:10]}" in p for _, _, p in api.api.requests)


def test_proactive_rate_limit(run_cli, tmp_path, api):
    stream = users_stream(pagination={"type": "page_number", "size": 3, "size_param": "per_page"})
    stream["schema"] = {"type": "object", "properties": {"id": {"type": "integer"}}}
    cfg = config(api, [stream], rate_limit={"requests_per_second": 4})
    result = run(run_cli, tmp_path, cfg)
    assert result.returncode == 0
    times = sorted(t for t, _, _ in api.api.requests)
    assert len(times) == 8  # 23 records in pages of 3
    for i in range(len(times) - 4):
        assert times[i + 4] - times[i] >= 0.95  # never 5 requests within one second


def test_check_and_spec(run_cli, tmp_path, api):
    ok = run(run_cli, tmp_path, config(api, [users_stream()]), "--check")
    assert ok.returncode == 0
    status = codec.loads(ok.stdout)
    assert status["connectionStatus"]["status"] == "SUCCEEDED"
    cfg = config(api, [users_stream()])
    cfg["auth"]["token"] = "not-the-token"
    bad = run(run_cli, tmp_path, cfg, "--check")
    assert bad.returncode == 1
    assert len(bad.stdout.splitlines()) == 1
    failed = codec.loads(bad.stdout)["connectionStatus"]
    assert failed["status"] == "FAILED"
    assert "HTTP 401" in failed["message"]
    assert "Traceback" not in bad.stderr.decode()
    spec = codec.loads(run_cli("tap-rest", "--spec").stdout)["spec"]["connectionSpecification"]
    auth = spec["properties"]["auth"]["properties"]
    assert auth["token"]["airbyte_secret"] is True
    assert auth["client_secret"]["airbyte_secret"] is True
    assert "airbyte_secret" not in spec["properties"]["api_url"]


def test_discover_accepts_state_and_lists_keys(run_cli, tmp_path, api):
    state = write_json(tmp_path / "state.json", {"bookmarks": {}})
    stream = users_stream(replication_key="updated_at", replication_param="updated_since")
    result = run(run_cli, tmp_path, config(api, [stream]), "--discover", "--state", str(state))
    assert result.returncode == 0, result.stderr.decode()[-1500:]
    entry = codec.loads(result.stdout)["streams"][0]
    meta = next(m["metadata"] for m in entry["metadata"] if m["breadcrumb"] == [])
    assert meta["table-key-properties"] == ["id"]
    assert meta["valid-replication-keys"] == ["updated_at"]
    props = entry["schema"]["properties"]
    assert props["id"]["type"] == ["integer", "null"]
    assert props["updated_at"]["format"] == "date-time"


def test_api_key_in_urls_is_redacted_from_retry_logs(run_cli, tmp_path, api):
    key = api.api.api_key
    api.api.throttle_paths = {"/key-only"}
    api.api.retry_after = "0"
    auth = {"type": "api_key", "key": "api_key", "value": key, "location": "params"}
    stream = users_stream(
        path="/key-only", schema={"type": "object", "properties": {"id": {"type": "integer"}}}
    )
    result = run(run_cli, tmp_path, config(api, [stream], auth=auth))
    assert result.returncode == 0, result.stderr.decode()[-1500:]
    err = result.stderr.decode()
    assert "HTTP 429 Too Many Requests for GET /key-only?" in err  # logged with its query...
    assert "=***" in err  # ...where the key is masked
    assert_no_secret(key, result.stdout, result.stderr)


def test_sigterm_exits_130_without_claiming_unread_records(tmp_path, api):
    import signal
    import subprocess

    from tests.fixtures.cli import script

    stream = users_stream(
        path="/slow",
        replication_key="updated_at",
        schema={
            "type": "object",
            "properties": {"id": {"type": "integer"}, "updated_at": {"type": "string"}},
        },
        pagination={"type": "page_number", "size": 2, "size_param": "per_page"},
    )
    cfg = write_json(tmp_path / "config.json", config(api, [stream]))
    proc = subprocess.Popen(
        [script("tap-rest"), "--config", str(cfg)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdout is not None
    head = [proc.stdout.readline() for _ in range(2)]  # SCHEMA, first RECORD
    assert b'"RECORD"' in head[1]
    proc.send_signal(signal.SIGTERM)
    rest, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err.decode()[-1500:]
    out = b"".join(head) + rest
    emitted = records(out)
    assert 0 < len(emitted) < 23
    for state in states(out):
        users = state.get("bookmarks", {}).get("users", {})
        # unsorted stream: only a progress marker, never a bookmark for a half-read stream
        assert "replication_key_value" not in users


OAUTH = {"type": "oauth_client_credentials", "client_id": "client-1"}
RUNTIME_CANARY = "runtime-acc3ss-9c4b-beef"


def test_oauth_token_fetched_at_run_time_is_redacted(run_cli, tmp_path, api):
    # a token requests refuses to put in a header: its error names the header's value, and the
    # tap reports it as an unexpected error with a traceback
    api.api.oauth_token = RUNTIME_CANARY + "\n"
    auth = {**OAUTH, "token_url": f"{api.url}/oauth/token", "client_secret": "client-secret-123"}
    cfg = config(api, [users_stream(path="/oauth-data")], auth=auth)
    result = run(run_cli, tmp_path, cfg)
    assert result.returncode == 1, result.stderr.decode()[-1500:]
    assert any(p == "/oauth/token" for _, _, p in api.api.requests)  # the token was issued
    err = result.stderr.decode()
    assert "Invalid header value b'Bearer ***'" in err  # the failure is reported, token masked
    assert_no_secret(RUNTIME_CANARY, result.stdout, result.stderr)
