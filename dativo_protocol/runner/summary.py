"""The result of a run, for humans (text) and machines (``--json``, the Python API)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from dativo_protocol.errors import DativoError, ExitCode, Interrupted

Status = Literal["succeeded", "failed", "interrupted"]


@dataclass
class RunSummary:
    job: str
    state_id: str
    state_backend: str
    status: Status = "succeeded"
    attempts: int = 0
    duration_s: float = 0.0
    #: time the connector processes ran (start to reap), summed over attempts
    pipeline_s: float = 0.0
    #: Singer messages (lines) and bytes the tap printed, counted by the relay
    messages: int = 0
    bytes: int = 0
    states_stored: int = 0
    final_state: Any = None
    #: per stream: records the tap extracted and the target loaded (from METRIC lines)
    streams: dict[str, dict[str, int]] = field(default_factory=dict)
    #: what the target reported landing (its last-stderr lines are not parsed for this)
    error: DativoError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def exit_code(self) -> int:
        return int(self.error.exit_code) if self.error is not None else int(ExitCode.OK)

    def raise_for_status(self) -> None:
        if self.error is not None:
            raise self.error

    def fail(self, error: DativoError) -> None:
        self.error = error
        self.status = "interrupted" if isinstance(error, Interrupted) else "failed"

    def add_counts(self, key: str, counts: dict[str, int]) -> None:
        for stream, n in counts.items():
            entry = self.streams.setdefault(stream, {})
            entry[key] = entry.get(key, 0) + n

    def to_dict(self) -> dict[str, Any]:
        return {
            "job": self.job,
            "status": self.status,
            "exit_code": self.exit_code,
            "state_id": self.state_id,
            "state_backend": self.state_backend,
            "attempts": self.attempts,
            "duration_s": round(self.duration_s, 3),
            "pipeline_s": round(self.pipeline_s, 3),
            "messages": self.messages,
            "bytes": self.bytes,
            "states_stored": self.states_stored,
            "final_state": self.final_state,
            "streams": self.streams,
            "error": self.error.to_dict() if self.error is not None else None,
        }

    def render_text(self) -> str:
        head = f"{self.job}: {self.status} in {self.duration_s:.1f}s"
        if self.attempts > 1:
            head += f" ({self.attempts} attempts)"
        lines = [
            head,
            f"  {self.messages:,} messages, {self.bytes:,} bytes from the tap;"
            f" {self.states_stored} state(s) stored as {self.state_id!r} in {self.state_backend}",
        ]
        for stream in sorted(self.streams):
            counts = self.streams[stream]
            parts = [f"{k} {v:,}" for k, v in sorted(counts.items())]
            lines.append(f"  stream {stream}: {', '.join(parts)}")
        return "\n".join(lines)
