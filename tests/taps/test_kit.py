"""Tap kit parts in-process: rate limiter, Retry-After, spec marking, writer, redaction."""

from __future__ import annotations

import datetime
import decimal
import email.utils
import io
import logging
from typing import Any

from dativo_taps.kit.ratelimit import MAX_RETRY_AFTER_S, RateLimiter, parse_retry_after
from dativo_taps.kit.redaction import (
    RedactingFormatterProxy,
    RedactingStream,
    config_paths,
    redactor_from_argv,
)
from dativo_taps.kit.spec import mark_secrets
from dativo_taps.kit.writer import OrjsonWriter

from dativo_protocol import codec
from dativo_protocol.redact import Redactor
from tests.taps.conftest import CANARY, write_json


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_rate_limiter_paces_per_second_and_per_minute():
    clock = FakeClock()
    limiter = RateLimiter(per_second=2, per_minute=3, clock=clock, sleep=clock.sleep)
    waits = [limiter.acquire() for _ in range(4)]
    assert waits[:2] == [0.0, 0.0]
    assert waits[2] == 1.0  # third request of the second waits for the 1 s window
    assert clock.now == 160.0  # fourth request waits for the 60 s window (3 per minute)


def test_retry_after_holds_every_later_request():
    clock = FakeClock()
    limiter = RateLimiter(clock=clock, sleep=clock.sleep)
    assert limiter.acquire() == 0.0
    assert limiter.honour_retry_after("7") == 7.0
    assert limiter.acquire() == 7.0


def test_parse_retry_after_forms():
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("  1.5 ") == 1.5
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("-4") == 0.0
    assert parse_retry_after("99999") == MAX_RETRY_AFTER_S
    now = 1_700_000_000.0
    date = email.utils.formatdate(now + 30, usegmt=True)
    assert parse_retry_after(date, now=now) == 30.0


def test_mark_secrets_marks_nested_and_by_name_only_leaves():
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {
            "auth": {
                "type": "object",
                "properties": {"token": {"type": "string"}, "user": {"type": "string"}},
            },
            "s3": {"type": "object", "properties": {"secret": {"type": "string", "secret": True}}},
            "host": {"type": "string"},
        },
    }
    marked = mark_secrets(schema)
    assert marked["properties"]["auth"]["properties"]["token"]["airbyte_secret"] is True
    assert "airbyte_secret" not in marked["properties"]["auth"]["properties"]["user"]
    assert "airbyte_secret" not in marked["properties"]["auth"]  # an object is not a secret value
    assert marked["properties"]["s3"]["properties"]["secret"]["airbyte_secret"] is True
    assert "airbyte_secret" not in marked["properties"]["host"]
    assert "airbyte_secret" not in schema["properties"]["host"]  # the input is not modified


def test_orjson_writer_buffers_records_and_keeps_numbers_numbers():
    from singer_sdk.singerlib import RecordMessage, StateMessage

    out = io.BytesIO()
    writer = OrjsonWriter(out)
    when = datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
    writer.write_message(
        RecordMessage(
            stream="s",
            record={"d": decimal.Decimal("1.50"), "n": decimal.Decimal("2")},
            time_extracted=when,
        )
    )
    writer.write_record("s", {"x": 1}, None, when)
    writer.write_message(StateMessage(value={"bookmarks": {}}))
    lines = [codec.loads(line) for line in out.getvalue().splitlines()]
    assert lines[0]["record"] == {"d": 1.5, "n": 2}
    assert lines[0]["time_extracted"] == "2024-01-02T03:04:05+00:00"
    assert lines[1] == {
        "type": "RECORD",
        "stream": "s",
        "record": {"x": 1},
        "time_extracted": "2024-01-02T03:04:05+00:00",
    }
    assert lines[2] == {"type": "STATE", "value": {"bookmarks": {}}}


def test_redaction_of_config_files_handlers_and_stderr(tmp_path):
    cfg = write_json(
        tmp_path / "c.json", {"auth": {"token": CANARY}, "nested": {"password": "pw-secret-99"}}
    )
    argv = ["--config", str(cfg), f"--config={cfg}", "--discover"]
    assert config_paths(argv) == [str(cfg), str(cfg)]
    redactor = redactor_from_argv(argv, "TAP_X_", None)
    assert CANARY in redactor.secrets
    assert "pw-secret-99" in redactor.secrets

    sink = io.StringIO()
    handler = logging.StreamHandler(sink)
    handler.setFormatter(RedactingFormatterProxy(logging.Formatter("%(message)s"), redactor))
    logger = logging.getLogger("test-kit-redaction")
    logger.addHandler(handler)
    try:
        logger.error("token is %s", CANARY)
        try:
            raise ValueError(f"bad {CANARY}")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    assert CANARY not in sink.getvalue()
    assert "token is ***" in sink.getvalue()

    raw = io.StringIO()
    RedactingStream(raw, Redactor([CANARY])).write(f"echo {CANARY}\n")
    assert raw.getvalue() == "echo ***\n"
