"""The record fast path: for sources that already yield the schema's JSON types.

singer-sdk conforms every record to its schema (walks every value, converts types, drops
unknown keys) and walks it again to pop deselected properties. A stream whose
``get_records`` already yields exactly the schema's properties with JSON-ready values (a CSV
reader with per-column converters, for instance) can skip both:

* ``TYPE_CONFORMANCE_LEVEL = NONE`` (singer-sdk's own switch) skips conformance;
* when no property is deselected in the catalog, the selection walk is skipped too;
* a stream without child streams builds no per-record child context;
* with the kit's orjson writer, a RECORD is serialised straight from the record dict (no
  message object in between).

Stream maps, flattening, metrics and state still run exactly as in singer-sdk.
"""

from __future__ import annotations

import datetime
from collections.abc import Generator, Iterable
from dataclasses import dataclass
from typing import Any

from singer_sdk import Stream
from singer_sdk.helpers._catalog import pop_deselected_record_properties
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.mapper import SameRecordTransform
from singer_sdk.singerlib import RecordMessage
from singer_sdk.singerlib.encoding.base import SingerMessageType

from dativo_taps.kit.writer import OrjsonWriter

_UTC = datetime.UTC


@dataclass(slots=True)
class FastRecordMessage(RecordMessage):
    """A RECORD whose ``time_extracted`` is already an aware UTC datetime (no re-conversion)."""

    def __post_init__(self) -> None:
        self.type = SingerMessageType.RECORD


class FastPathStream(Stream):
    """A singer-sdk ``Stream`` whose records already match its schema's types."""

    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    _all_selected: bool | None = None

    def _nothing_deselected(self) -> bool:
        if self._all_selected is None:
            # missing breadcrumbs inherit their parent's selection, so checking the explicit
            # entries is enough
            self._all_selected = all(self.mask.values())
        return self._all_selected

    def generate_child_contexts(self, record: dict[str, Any], context: Any) -> Iterable[Any]:
        """No child streams, no per-record child contexts (singer-sdk yields one per record)."""
        if not self.child_streams:
            return ()
        return super().generate_child_contexts(record, context)

    def _fast_plan(self) -> tuple[OrjsonWriter, list[Any] | None, bool] | None:
        """What every record of this sync needs, worked out once (None: no fast path)."""
        writer = self._tap.message_writer
        if not isinstance(writer, OrjsonWriter):
            return None
        maps = list(self.stream_maps)
        identity = (
            len(maps) == 1
            and type(maps[0]) is SameRecordTransform
            and not maps[0].flattening_enabled
            and maps[0].stream_alias == self.name
        )
        return writer, None if identity else maps, not self._nothing_deselected()

    def _write_record_message(self, record: dict[str, Any]) -> None:
        plan = self.__dict__.get("_dativo_plan", False)
        if plan is False:
            plan = self.__dict__["_dativo_plan"] = self._fast_plan()
        if plan is None:
            super()._write_record_message(record)
            return
        writer, maps, deselect = plan
        if deselect:
            pop_deselected_record_properties(record, self.schema, self.mask)
        now = datetime.datetime.now(_UTC)
        version = self._stream_version
        if maps is None:  # no stream map, no flattening: the record goes out as it is
            writer.write_record(self.name, record, version, now)
        else:
            for stream_map in maps:
                mapped = stream_map.transform(record)
                if mapped is not None:
                    writer.write_record(stream_map.stream_alias, mapped, version, now)
        self.state_manager.is_flushed = False

    def _generate_record_messages(
        self, record: dict[str, Any]
    ) -> Generator[RecordMessage, None, None]:
        if not self._nothing_deselected():
            pop_deselected_record_properties(record, self.schema, self.mask)
        now = datetime.datetime.now(_UTC)
        version = self._stream_version
        for stream_map in self.stream_maps:
            mapped = stream_map.transform(record)
            if mapped is not None:
                yield FastRecordMessage(
                    stream=stream_map.stream_alias,
                    record=mapped,
                    version=version,
                    time_extracted=now,
                )
