"""Hypothesis strategies for Airbyte and Singer messages (shared by the airbyte tests)."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

# names without "." so that nested-path inference is unambiguous (dots are tested by hand)
names = st.text(st.characters(codec="utf-8", exclude_characters="."), min_size=1, max_size=8)
namespaces = st.none() | names
scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
)
json_values: st.SearchStrategy[Any] = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
objects = st.dictionaries(st.text(max_size=6), json_values, max_size=4)
# emitted_at: whole milliseconds (int) or sub-millisecond floats kept to the microsecond
ms = st.integers(0, 253402300799999)  # up to 9999-12-31
emitted_ats = ms | st.tuples(ms, st.integers(1, 999).filter(lambda u: u % 1000)).map(
    lambda t: float(f"{t[0]}.{t[1]:03d}")
)
extras = st.dictionaries(st.sampled_from(["meta", "x_unknown", "id"]), json_values, max_size=2)


def descriptor(name: str, namespace: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name}
    if namespace is not None:
        out["namespace"] = namespace
    return out


@st.composite
def record_payloads(draw: Any, stream: str | None = None, namespace: Any = ...) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "stream": stream if stream is not None else draw(names),
        "data": draw(objects),
        "emitted_at": draw(emitted_ats),
    }
    ns = draw(namespaces) if namespace is ... else namespace
    if ns is not None:
        payload["namespace"] = ns
    return payload


@st.composite
def stream_state_payloads(
    draw: Any, name: str | None = None, namespace: Any = ...
) -> dict[str, Any]:
    ns = draw(namespaces) if namespace is ... else namespace
    return {
        "stream_descriptor": descriptor(name if name is not None else draw(names), ns),
        "stream_state": draw(objects),
    }


@st.composite
def state_payloads(draw: Any) -> dict[str, Any]:
    kind = draw(st.sampled_from(["STREAM", "GLOBAL", "LEGACY"]))
    payload: dict[str, Any] = {"type": kind}
    if kind == "STREAM":
        payload["stream"] = draw(stream_state_payloads())
    elif kind == "GLOBAL":
        payload["global"] = {
            "shared_state": draw(objects),
            "stream_states": draw(st.lists(stream_state_payloads(), max_size=3)),
        }
    else:
        payload["data"] = draw(objects)
    if draw(st.booleans()):
        payload["sourceStats"] = {"recordCount": float(draw(st.integers(0, 1000)))}
    return payload


log_payloads = st.builds(
    lambda level, message, trace, extra: {
        "level": level,
        "message": message,
        **({"stack_trace": trace} if trace is not None else {}),
        **extra,
    },
    st.sampled_from(["FATAL", "ERROR", "WARN", "INFO", "DEBUG", "TRACE"]),
    st.text(max_size=20),
    st.none() | st.text(max_size=20),
    st.dictionaries(st.just("x_unknown"), json_values, max_size=1),
)
spec_payloads = st.builds(
    lambda spec, url: {"connectionSpecification": spec, "documentationUrl": url},
    objects,
    st.text(max_size=10),
)
status_payloads = st.builds(
    lambda status, message: {"status": status, **({"message": message} if message else {})},
    st.sampled_from(["SUCCEEDED", "FAILED"]),
    st.none() | st.text(min_size=1, max_size=10),
)
trace_payloads = st.builds(
    lambda kind, at, body: {"type": kind, "emitted_at": at, **body},
    st.sampled_from(["ERROR", "ESTIMATE", "STREAM_STATUS", "ANALYTICS"]),
    emitted_ats,
    st.fixed_dictionaries(
        {},
        optional={
            "error": st.fixed_dictionaries(
                {"message": st.text(max_size=10)},
                optional={"failure_type": st.sampled_from(["system_error", "config_error"])},
            ),
            "estimate": objects,
        },
    ),
)
control_payloads = st.builds(
    lambda at, config: {
        "type": "CONNECTOR_CONFIG",
        "emitted_at": at,
        "connectorConfig": {"config": config},
    },
    emitted_ats,
    objects,
)


@st.composite
def airbyte_streams(draw: Any) -> dict[str, Any]:
    props = draw(st.lists(names, min_size=1, max_size=4, unique=True))
    stream: dict[str, Any] = {
        "name": draw(names),
        "json_schema": {
            "type": "object",
            "properties": {p: {"type": ["null", "string"]} for p in props},
        },
        "supported_sync_modes": draw(
            st.sampled_from([["full_refresh"], ["incremental"], ["full_refresh", "incremental"]])
        ),
    }
    ns = draw(namespaces)
    if ns is not None:
        stream["namespace"] = ns
    if draw(st.booleans()):
        stream["source_defined_primary_key"] = draw(
            st.lists(
                st.sampled_from(props).map(lambda p: [p]), max_size=2, unique_by=lambda p: p[0]
            )
        )
    if draw(st.booleans()):
        stream["source_defined_cursor"] = draw(st.booleans())
        stream["default_cursor_field"] = [draw(st.sampled_from(props))]
    if draw(st.booleans()):
        stream["is_resumable"] = draw(st.booleans())
    return stream


def unique_streams(streams: list[dict[str, Any]]) -> bool:
    ids = [
        f"{s.get('namespace')}-{s['name']}" if s.get("namespace") else s["name"] for s in streams
    ]
    return len(set(ids)) == len(ids)
