"""Job files: validation errors name the field; secret references resolve only at run time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from dativo_protocol.errors import ConfigError
from dativo_protocol.runner.jobs import load_job, resolve_endpoint_config
from dativo_protocol.runner.refs import Resolver
from dativo_protocol.runner.selection import apply_selection, selected_streams


def _write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "orders.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_defaults_and_relative_paths(tmp_path):
    job = load_job(
        _write(
            tmp_path,
            {"source": {"connector": "tap-csv"}, "target": {"connector": "target-parquet@0.1.0"}},
        )
    )
    assert job.name == "orders"
    assert job.state_id == "dativo:orders"
    assert job.retries.attempts == 3
    assert job.base_dir == tmp_path.resolve()
    assert job.target.short_name == "target-parquet"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"source": {"connector": "x", "command": "y"}, "target": {"connector": "t"}},
            "source: give exactly one of",
        ),
        ({"source": {"connector": "x"}}, "target: Field required"),
        (
            {"version": 2, "source": {"connector": "x"}, "target": {"connector": "t"}},
            "version: unsupported job file version 2",
        ),
        (
            {
                "source": {"connector": "x"},
                "target": {"connector": "t"},
                "retries": {"attempts": 0},
            },
            "retries.attempts: Input should be greater than or equal to 1",
        ),
        (
            {"source": {"connector": "x"}, "target": {"connector": "t"}, "state": {"id": "../up"}},
            "state.id: a state id is",
        ),
    ],
)
def test_errors_point_to_the_field(tmp_path, data, message):
    path = _write(tmp_path, data)
    with pytest.raises(ConfigError) as info:
        load_job(path)
    assert f"{path}: " in info.value.message
    assert message in info.value.message


def test_invalid_yaml_names_the_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("source:\n  connector: [unclosed\n")
    with pytest.raises(ConfigError, match="invalid YAML at line"):
        load_job(path)


def test_secret_references_resolve_and_are_collected(tmp_path):
    (tmp_path / "pw.txt").write_text("from-a-file-secret\n")
    (tmp_path / "base.json").write_text('{"host": "db", "password": "overridden"}')
    job = load_job(
        _write(
            tmp_path,
            {
                "source": {
                    "connector": "tap-x",
                    "config_file": "base.json",
                    "config": {
                        "password": "${file:pw.txt}",
                        "token": "${env:TOKEN_X}",
                        "lit": "$${env:NOT}",
                    },
                },
                "target": {"connector": "t"},
            },
        )
    )
    resolver = Resolver(job.base_dir, environ={"TOKEN_X": "env-token-value"})
    config = resolve_endpoint_config(job, "source", resolver)
    assert config == {
        "host": "db",
        "password": "from-a-file-secret",
        "token": "env-token-value",
        "lit": "${env:NOT}",
    }
    assert resolver.secrets == {"from-a-file-secret", "env-token-value"}
    assert job.source.config["password"] == "${file:pw.txt}"  # a loaded job keeps the reference


def test_selection_meltano_style():
    schema: dict[str, Any] = {"properties": {"id": {}, "email": {}, "name": {}}}
    catalog: dict[str, Any] = {
        "streams": [
            {"tap_stream_id": s, "schema": schema, "metadata": []}
            for s in ("users", "orders", "logs")
        ]
    }
    out = apply_selection(
        catalog,
        ["users.*", "orders.id", "!users.email"],
        {"orders": {"replication-method": "INCREMENTAL"}},
    )
    assert selected_streams(out) == ["users", "orders"]
    meta = {
        (s["tap_stream_id"], tuple(m["breadcrumb"])): m["metadata"]
        for s in out["streams"]
        for m in s["metadata"]
    }
    assert meta[("users", ("properties", "email"))]["selected"] is False
    assert meta[("users", ("properties", "name"))]["selected"] is True
    assert meta[("orders", ("properties", "name"))]["selected"] is False
    assert meta[("orders", ())]["replication-method"] == "INCREMENTAL"
    with pytest.raises(ConfigError, match="matches no stream"):
        apply_selection(catalog, ["nope.*"])
