"""Helpers for the runner's tests: tiny Singer scripts started as real processes, job files."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from dativo_protocol import codec

HERE = Path(__file__).parent
TAP = f"{shlex.quote(sys.executable)} {shlex.quote(str(HERE / 'singer_tap.py'))}"
TARGET = f"{shlex.quote(sys.executable)} {shlex.quote(str(HERE / 'singer_target.py'))}"

MakeJob = Callable[..., Path]


def read_output(folder: Path, stream: str) -> list[int]:
    path = folder / f"{stream}.jsonl"
    if not path.exists():
        return []
    return [codec.loads(line)["id"] for line in path.read_bytes().splitlines() if line.strip()]


@pytest.fixture
def make_job(tmp_path: Path) -> MakeJob:
    """Write a job file running the test tap into the test target; returns its path."""

    def make(
        name: str = "job",
        tap: dict[str, Any] | None = None,
        target: dict[str, Any] | None = None,
        **extra: Any,
    ) -> Path:
        job: dict[str, Any] = {
            "version": 1,
            "source": {"command": TAP, "config": {"rows": 10, "streams": ["a"], **(tap or {})}},
            "target": {
                "command": TARGET,
                "config": {"path": str(tmp_path / "out"), **(target or {})},
            },
            "state": {"backend": str(tmp_path / "state")},
            "retries": {"attempts": 1},
            **extra,
        }
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump(job))
        return path

    return make
