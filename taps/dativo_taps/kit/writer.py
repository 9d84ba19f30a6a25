"""An orjson Singer message writer, plugged in through singer-sdk's ``message_writer_class``.

singer-sdk's default writer serialises with simplejson and flushes stdout after every
message. This one serialises with orjson straight to bytes and lets the OS buffer RECORD
messages; every other message (SCHEMA, STATE, ACTIVATE_VERSION, BATCH) flushes, so a STATE
reaches the reader together with every record before it, in order.
"""

from __future__ import annotations

import datetime
import decimal
import sys
from typing import IO, Any

import orjson
from singer_sdk.singerlib.encoding.base import GenericSingerWriter
from singer_sdk.singerlib.encoding.simple import Message, RecordMessage

_OPTIONS = orjson.OPT_APPEND_NEWLINE | orjson.OPT_NON_STR_KEYS


def _default(obj: Any) -> Any:
    """Types orjson does not serialise natively."""
    if isinstance(obj, decimal.Decimal):
        # JSON numbers stay numbers: integral decimals as ints, the rest as floats.
        return int(obj) if obj == obj.to_integral_value() else float(obj)
    if isinstance(obj, datetime.datetime | datetime.date | datetime.time):
        return obj.isoformat()
    if isinstance(obj, bytes | bytearray):
        return obj.decode("utf-8", "replace")
    if isinstance(obj, set | frozenset | tuple):
        return list(obj)
    return str(obj)


def serialize(obj: Any) -> bytes:
    """One JSONL line (with the newline) for a message dict."""
    return orjson.dumps(obj, default=_default, option=_OPTIONS)


class OrjsonWriter(GenericSingerWriter[bytes, Message]):
    """Writes Singer messages as orjson lines on stdout, flushing at every non-RECORD message."""

    def __init__(self, out: IO[bytes] | None = None) -> None:
        self._out = out

    def serialize_message(self, message: Message) -> bytes:
        return serialize(message.to_dict())

    def write_record(
        self, stream: str, record: dict[str, Any], version: int | None, time_extracted: Any
    ) -> None:
        """A RECORD without building a message object first (the fast path's writer call)."""
        message: dict[str, Any] = {"type": "RECORD", "stream": stream, "record": record}
        if version is not None:
            message["version"] = version
        message["time_extracted"] = time_extracted
        (self._out or sys.stdout.buffer).write(serialize(message))

    def write_message(self, message: Message) -> None:
        out = self._out or sys.stdout.buffer
        out.write(serialize(message.to_dict()))
        if not isinstance(message, RecordMessage):
            out.flush()
