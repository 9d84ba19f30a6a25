"""Airbyte state <-> the value of a Singer STATE message.

The shape (documented in docs/airbyte.md)::

    {"airbyte_state": [<Airbyte STATE payload>, ...]}

is the *complete* state: the latest STATE payload per stream (STREAM), the latest GLOBAL and
the latest LEGACY payload, verbatim, the most recently updated last. It is exactly the JSON list
an Airbyte source takes back as ``read --state``. Singer targets keep the latest STATE they saw,
and Meltano stores it as ``{"singer_state": <value>}``; each Singer STATE we emit therefore
carries everything, not just the stream that moved.

A Singer state that did not come from Airbyte (any other JSON value ``V``) travels through
Airbyte as one GLOBAL state whose ``shared_state`` is ``{"dativo_singer_state": V}`` and comes
back as ``V`` unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeAlias

from dativo_protocol.airbyte.messages import AirbyteState, JSONDict
from dativo_protocol.errors import ProtocolError, StateError

SINGER_KEY = "airbyte_state"
WRAP_KEY = "dativo_singer_state"

StateKey: TypeAlias = tuple[str, str | None, str | None]


def state_key(payload: Mapping[str, Any]) -> StateKey:
    """Which slot a STATE payload fills: one per stream for STREAM, one for GLOBAL/LEGACY."""
    kind = payload.get("type", "LEGACY")
    if kind == "STREAM":
        descriptor = payload["stream"]["stream_descriptor"]
        return ("STREAM", descriptor["name"], descriptor.get("namespace"))
    return (str(kind), None, None)


def wrap_singer_state(value: Any) -> JSONDict:
    """A Singer state value (not from Airbyte) as one Airbyte GLOBAL STATE payload."""
    return {"type": "GLOBAL", "global": {"shared_state": {WRAP_KEY: value}, "stream_states": []}}


def _unwrap(payload: Mapping[str, Any]) -> tuple[bool, Any]:
    glob = payload.get("global")
    if payload.get("type") != "GLOBAL" or not isinstance(glob, Mapping):
        return False, None
    shared = glob.get("shared_state")
    if glob.get("stream_states") or not isinstance(shared, Mapping) or set(shared) != {WRAP_KEY}:
        return False, None
    return True, shared[WRAP_KEY]


def is_airbyte_shape(value: Any) -> bool:
    return (
        isinstance(value, Mapping)
        and set(value) == {SINGER_KEY}
        and isinstance(value[SINGER_KEY], list)
    )


class StateAccumulator:
    """The latest STATE payload per slot, in update order (the Airbyte ``--state`` list)."""

    __slots__ = ("_latest",)

    def __init__(self, initial: Iterable[Mapping[str, Any]] = ()) -> None:
        self._latest: dict[StateKey, JSONDict] = {}
        for payload in initial:
            self.update(payload)

    def update(self, payload: Mapping[str, Any]) -> StateKey:
        """Record one STATE payload (validated); returns its slot."""
        try:
            AirbyteState.from_dict(payload)
        except ProtocolError as exc:
            raise StateError(f"invalid Airbyte state: {exc.message}") from exc
        key = state_key(payload)
        self._latest.pop(key, None)
        self._latest[key] = dict(payload)
        return key

    def as_list(self) -> list[JSONDict]:
        return list(self._latest.values())

    def get(self, key: StateKey) -> JSONDict | None:
        return self._latest.get(key)

    def __len__(self) -> int:
        return len(self._latest)


def singer_value(states: list[JSONDict]) -> Any:
    """The Singer STATE value for a complete Airbyte state list."""
    if len(states) == 1:
        wrapped, value = _unwrap(states[0])
        if wrapped:
            return value
    return {SINGER_KEY: states}


def airbyte_states(value: Any) -> list[JSONDict]:
    """The Airbyte ``--state`` list for a Singer STATE value (inverse of :func:`singer_value`)."""
    if is_airbyte_shape(value):
        states = value[SINGER_KEY]
        for payload in states:
            if not isinstance(payload, Mapping):
                raise StateError(f"'{SINGER_KEY}' must be a list of Airbyte STATE objects")
        return [dict(p) for p in states]
    return [wrap_singer_state(value)]


def airbyte_states_from_file_value(value: Any) -> list[JSONDict]:
    """Accept any stored shape: an Airbyte ``--state`` list, Meltano's ``{"singer_state": V}``,
    or a Singer value; returns the Airbyte list."""
    if isinstance(value, list):
        return airbyte_states({SINGER_KEY: value})
    if isinstance(value, Mapping) and set(value) == {"singer_state"}:
        return airbyte_states(value["singer_state"])
    return airbyte_states(value)
