"""One line that says why a connector failed, taken from what it printed.

Used for check results and error messages: never a traceback, never a whole log. The caller
redacts the result (connectors do print secrets).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from dativo_protocol import codec

MAX_REASON = 300
#: the final line of a Python traceback: ``package.module.SomeError: message``
_EXCEPTION_LINE = re.compile(
    r"^(?:[A-Za-z_][\w]*\.)*(?P<cls>[A-Za-z_]\w*(?:Error|Exception|Exit|Failure|Fault|Refused|Denied))"
    r"(?::\s*(?P<msg>.*))?$"
)
_FRAME_LINE = re.compile(
    r"^\s*(File \"|Traceback \(most recent call last\)|\^+$|~+|During handling|The above exception)"
)
#: a leading log prefix: timestamp / level / logger
_LOG_PREFIX = re.compile(
    r"^(?:\d{4}-\d\d-\d\d[T ][\d:.,]+Z?\s*)?(?:\[?(?:DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL|FATAL)\]?\s*)?(?:[\w.]+:\s+)?",
)
_LEVELS = ("ERROR", "CRITICAL", "FATAL", "EXCEPTION")


def _json_message(line: str) -> tuple[str | None, bool]:
    """(message, is_error) of a structured (JSON) log line, or (None, False)."""
    try:
        doc = codec.loads(line)
    except codec.JSONDecodeError:
        return None, False
    if not isinstance(doc, Mapping):
        return None, False
    level = str(doc.get("level") or doc.get("levelname") or "").upper()
    exc = doc.get("exception") or doc.get("exc_info") or doc.get("stack_trace")
    if isinstance(exc, Mapping):
        exc_type, exc_msg = exc.get("type"), exc.get("message")
        if exc_type or exc_msg:
            return f"{exc_type}: {exc_msg}" if exc_type else str(exc_msg), True
    if isinstance(exc, str) and exc.strip():
        last = _last_exception_line(exc.splitlines())
        if last:
            return last, True
    message = doc.get("message") or doc.get("msg") or doc.get("event")
    if isinstance(doc.get("log"), Mapping):  # Airbyte LOG / TRACE
        message = doc["log"].get("message")
    if isinstance(doc.get("trace"), Mapping) and isinstance(doc["trace"].get("error"), Mapping):
        message, level = doc["trace"]["error"].get("message"), "ERROR"
    if isinstance(doc.get("connectionStatus"), Mapping):
        message, level = doc["connectionStatus"].get("message"), "ERROR"
    return (str(message) if message else None), level in _LEVELS


def _last_exception_line(lines: list[str]) -> str | None:
    for line in reversed(lines):
        stripped = line.strip()
        match = _EXCEPTION_LINE.match(stripped)
        if match and not stripped.startswith("File "):
            msg = (match.group("msg") or "").strip()
            return f"{match.group('cls')}: {msg}" if msg else match.group("cls")
    return None


def _clean(text: str) -> str:
    one = " ".join(text.split())
    return one if len(one) <= MAX_REASON else one[: MAX_REASON - 3] + "..."


def one_line_reason(stderr: str, stdout: str = "") -> str:
    """The most telling line: an exception, else an error log line, else the last line."""
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    # structured logs (JSON lines), newest first
    error_msg: str | None = None
    for line in reversed(lines):
        if line.lstrip().startswith("{"):
            message, is_error = _json_message(line.strip())
            if message and is_error:
                error_msg = message
                break
    if error_msg is None:
        plain = [ln for ln in lines if not ln.lstrip().startswith("{")]
        error_msg = _last_exception_line(plain)
        if error_msg is None:
            for line in reversed(plain):
                if any(level in line for level in _LEVELS) and not _FRAME_LINE.match(line):
                    error_msg = _LOG_PREFIX.sub("", line.strip()) or line.strip()
                    break
        if error_msg is None:
            candidates = [ln for ln in plain if not _FRAME_LINE.match(ln)]
            if candidates:
                error_msg = _LOG_PREFIX.sub("", candidates[-1].strip()) or candidates[-1].strip()
    if error_msg is None:
        for line in reversed(stdout.splitlines()):
            if line.strip().startswith("{"):
                message, _ = _json_message(line.strip())
                if message:
                    error_msg = message
                    break
            elif line.strip():
                error_msg = line.strip()
                break
    return _clean(error_msg) if error_msg else "no error message (the connector printed nothing)"
