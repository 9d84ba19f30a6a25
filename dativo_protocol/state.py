"""Singer state: bookmark helpers, merging partial states, and the versioned state document.

A Singer state value is conventionally ``{"bookmarks": {stream: {key: value}}, ...}``; taps may
add other top-level keys (``currently_syncing``). Helpers never mutate their input: they return
a new value sharing the untouched parts.

The stored document embeds the Singer value under ``"singer_state"`` exactly as Meltano stores
it (``{"singer_state": {...}}``), plus ``format_version``; :func:`load_state_document` reads
Meltano's shape (version 0) and migrates it.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from dativo_protocol.airbyte.state import SINGER_KEY, StateAccumulator, is_airbyte_shape
from dativo_protocol.errors import StateError

BOOKMARKS = "bookmarks"
FORMAT_VERSION: Final = 1

State = dict[str, Any]


# ---------------------------------------------------------------------------- bookmarks
def _as_state(state: Mapping[str, Any] | None) -> State:
    if state is None:
        return {}
    if not isinstance(state, Mapping):
        raise StateError("a Singer state must be a JSON object")
    return dict(state)


def get_bookmarks(state: Mapping[str, Any] | None) -> dict[str, Any]:
    bookmarks = (state or {}).get(BOOKMARKS)
    return dict(bookmarks) if isinstance(bookmarks, Mapping) else {}


def get_bookmark(
    state: Mapping[str, Any] | None, stream: str, key: str | None = None, default: Any = None
) -> Any:
    """The bookmark dict of ``stream``, or one ``key`` of it; ``default`` when absent."""
    bookmark = get_bookmarks(state).get(stream)
    if key is None:
        return bookmark if bookmark is not None else default
    if not isinstance(bookmark, Mapping):
        return default
    return bookmark.get(key, default)


def set_bookmark(state: Mapping[str, Any] | None, stream: str, key: str, value: Any) -> State:
    """A new state with ``bookmarks[stream][key] = value``."""
    new = _as_state(state)
    bookmarks = get_bookmarks(new)
    current = bookmarks.get(stream)
    bookmarks[stream] = {**(current if isinstance(current, Mapping) else {}), key: value}
    new[BOOKMARKS] = bookmarks
    return new


def clear_bookmark(state: Mapping[str, Any] | None, stream: str, key: str | None = None) -> State:
    """A new state without the bookmark of ``stream`` (or only without its ``key``)."""
    new = _as_state(state)
    bookmarks = get_bookmarks(new)
    if stream not in bookmarks:
        return new
    if key is None:
        del bookmarks[stream]
    elif isinstance(bookmarks[stream], Mapping):
        bookmarks[stream] = {k: v for k, v in bookmarks[stream].items() if k != key}
    new[BOOKMARKS] = bookmarks
    return new


def merge_states(*states: Mapping[str, Any] | None) -> State:
    """Merge partial states, later wins: per stream for ``bookmarks`` (a stream's bookmark is
    replaced as a whole), per key for other top-level keys. States in the Airbyte shape
    (``{"airbyte_state": [...]}``) merge per Airbyte stream slot. Inputs are not changed."""
    present = [s for s in states if s is not None]
    if present and all(is_airbyte_shape(s) for s in present):
        accumulator = StateAccumulator()
        for state in present:
            for payload in state[SINGER_KEY]:
                accumulator.update(payload)
        return {SINGER_KEY: accumulator.as_list()}
    merged: State = {}
    bookmarks: dict[str, Any] = {}
    seen_bookmarks = False
    for state in present:
        state = _as_state(state)
        for key, value in state.items():
            if key == BOOKMARKS and isinstance(value, Mapping):
                seen_bookmarks = True
                bookmarks.update(copy.deepcopy(dict(value)))
            else:
                merged[key] = copy.deepcopy(value)
    if seen_bookmarks:
        merged[BOOKMARKS] = bookmarks
    return merged


# ---------------------------------------------------------------------- stored document
class StateDocument(BaseModel):
    """What a state backend stores for one pipeline (state id)."""

    model_config = ConfigDict(frozen=True, extra="allow")

    format_version: Literal[1] = FORMAT_VERSION
    singer_state: Any = None
    updated_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)

    def to_meltano(self) -> dict[str, Any]:
        """Meltano's shape: ``{"singer_state": <value>}``."""
        return {"singer_state": self.singer_state}


def _from_meltano(doc: dict[str, Any]) -> dict[str, Any]:
    """Version 0 (Meltano: ``{"singer_state": V}``, maybe with ``completed``-style extras) -> 1."""
    return {**doc, "format_version": 1}


#: format_version n -> function migrating a document of version n to n + 1
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {0: _from_meltano}


def load_state_document(data: Any) -> StateDocument:
    """Read a stored state document of any known version (Meltano's shape is version 0)."""
    if not isinstance(data, Mapping) or "singer_state" not in data:
        raise StateError("a state document must be an object with a 'singer_state' key")
    doc = dict(data)
    version = doc.get("format_version", 0)
    if not isinstance(version, int) or isinstance(version, bool):
        raise StateError("state document 'format_version' must be an integer")
    if version > FORMAT_VERSION:
        raise StateError(
            f"state document has format_version {version}, newer than this Dativo "
            f"understands ({FORMAT_VERSION})",
            hint="upgrade Dativo",
        )
    while version < FORMAT_VERSION:
        doc = MIGRATIONS[version](doc)
        version = doc["format_version"]
    try:
        return StateDocument.model_validate(doc)
    except ValidationError as exc:
        raise StateError(f"invalid state document: {exc.error_count()} error(s)") from None
