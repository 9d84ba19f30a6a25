from __future__ import annotations

import logging
import subprocess
import sys

from hypothesis import given
from hypothesis import strategies as st

from dativo_protocol.log import RedactingFormatter
from dativo_protocol.redact import MASK, Redactor, collect_secrets

CANARY = "canary-Sup3r$ecret-9f2c"


def test_collect_secrets_by_schema_name_and_url() -> None:
    config = {
        "host": "db.local",
        "password": CANARY,
        "nested": {"api_key": "k-123456", "list": [{"client_secret": "cs-abcdef"}]},
        "custom": "marked-by-schema",
        "url": "postgresql://u:pw-in-url-1234@h/db",
        "port": 5432,
    }
    schema = {"properties": {"custom": {"type": "string", "secret": True}}}
    found = collect_secrets(config, schema)
    assert found == {CANARY, "k-123456", "cs-abcdef", "marked-by-schema", "pw-in-url-1234"}


def test_redactor_masks_raw_json_and_url_forms() -> None:
    secret = 'p"a/ss w0rd'
    r = Redactor([secret])
    assert r.redact(f"x {secret} y") == f"x {MASK} y"
    assert MASK in r.redact('{"password": "p\\"a/ss w0rd"}')
    assert r.redact("q=p%22a%2Fss%20w0rd") == f"q={MASK}"


def test_short_values_are_not_secrets() -> None:
    assert not Redactor(["ab", ""])


@given(st.text(min_size=4, max_size=30), st.text(max_size=40), st.text(max_size=40))
def test_secret_never_survives_redaction(secret: str, before: str, after: str) -> None:
    out = Redactor([secret]).redact(before + secret + after)
    assert secret not in out or secret in MASK


def test_formatter_redacts_messages_and_tracebacks() -> None:
    fmt = RedactingFormatter(Redactor([CANARY]))
    try:
        raise ValueError(f"bad value {CANARY}")
    except ValueError:
        record = logging.LogRecord(
            "t", logging.ERROR, __file__, 1, "got %s", (CANARY,), sys.exc_info()
        )
    text = fmt.format(record)
    assert CANARY not in text
    assert "ValueError" in text


def test_uncaught_traceback_is_redacted_in_a_real_process() -> None:
    code = (
        "from dativo_protocol.log import configure_logging\n"
        "from dativo_protocol.redact import Redactor\n"
        f"configure_logging(Redactor([{CANARY!r}]))\n"
        f"raise RuntimeError('boom ' + {CANARY!r})\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 1
    assert "RuntimeError" in proc.stderr
    assert CANARY not in proc.stderr + proc.stdout
