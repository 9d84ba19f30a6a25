"""A real Airbyte source (airbyte-source-faker from PyPI) through ``dativo convert``.

discover -> our catalog selection -> configured catalog -> ``read`` -> ``dativo convert --from
airbyte --to singer`` -> checks; then the converted state goes back to the source as ``--state``
and the source resumes from it.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dativo_protocol import codec
from dativo_protocol.airbyte.mapping import time_extracted_to_emitted_at
from dativo_protocol.airbyte.state import airbyte_states_from_file_value
from dativo_protocol.catalog.airbyte import AirbyteCatalog, load_airbyte_catalog
from dativo_protocol.catalog.convert import configured_from_singer, singer_from_airbyte
from dativo_protocol.catalog.select import select, with_metadata
from tests.fixtures.cli import dativo_convert, run_script
from tests.fixtures.peers import airbyte_messages, run_airbyte
from tests.fixtures.peers import faker as faker_exe

pytestmark = [pytest.mark.peers, pytest.mark.slow]

COUNT = 6
CONFIG = {
    "count": COUNT,
    "seed": 7,
    "records_per_slice": 2,
    "always_updated": False,
    "parallelism": 1,
}
SELECTED = ("users", "purchases")


@dataclass
class Faker:
    exe: Path
    work: Path

    def run(self, *args: str) -> subprocess.CompletedProcess[bytes]:
        return run_airbyte(self.exe, self.work, *args)


@dataclass
class FirstRun:
    faker: Faker
    catalog_path: Path
    config_path: Path
    airbyte: list[dict[str, Any]]
    converted: subprocess.CompletedProcess[bytes]


@pytest.fixture(scope="module")
def first_run(peer: Any, tmp_path_factory: pytest.TempPathFactory) -> FirstRun:
    work = tmp_path_factory.mktemp("faker")
    faker = Faker(faker_exe(peer), work)
    config_path = work / "config.json"
    config_path.write_bytes(codec.dumps(CONFIG))

    discovered = faker.run("discover", "--config", str(config_path))
    assert discovered.returncode == 0, discovered.stderr[-2000:]
    (catalog_msg,) = [m for m in airbyte_messages(discovered.stdout) if m["type"] == "CATALOG"]
    catalog = load_airbyte_catalog(catalog_msg)
    assert isinstance(catalog, AirbyteCatalog)

    # our catalog layer picks the streams: Airbyte catalog -> Singer catalog -> select ->
    # incremental -> configured Airbyte catalog
    singer = select(singer_from_airbyte(catalog), list(SELECTED))
    singer = singer.model_copy(
        update={
            "streams": [
                with_metadata(e, {(): {"replication-method": "INCREMENTAL"}})
                for e in singer.streams
            ]
        }
    )
    configured = configured_from_singer(singer)
    assert [c.stream.name for c in configured.streams] == list(SELECTED)
    for stream in configured.streams:  # keys and cursor are spelled out for the source
        assert (stream.sync_mode, stream.cursor_field, stream.primary_key) == (
            "incremental",
            ["updated_at"],
            [["id"]],
        )
    catalog_path = work / "configured.json"
    catalog_path.write_bytes(codec.dumps(configured.to_dict()))

    read = faker.run("read", "--config", str(config_path), "--catalog", str(catalog_path))
    assert read.returncode == 0, read.stderr[-2000:]
    converted = dativo_convert("airbyte", "singer", catalog_path, read.stdout)
    return FirstRun(faker, catalog_path, config_path, airbyte_messages(read.stdout), converted)


def test_read_converts_to_a_complete_singer_stream(first_run: FirstRun) -> None:
    proc = first_run.converted
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    singer = [codec.loads(line) for line in proc.stdout.splitlines()]
    assert {m["type"] for m in singer} == {"SCHEMA", "RECORD", "STATE"}  # LOG/TRACE left stdout

    # every Airbyte record is there, in order, data untouched, time_extracted = emitted_at
    source_records = [m["record"] for m in first_run.airbyte if m["type"] == "RECORD"]
    records = [m for m in singer if m["type"] == "RECORD"]
    assert len(source_records) == COUNT * len(SELECTED)
    assert [(r["stream"], r["record"]) for r in records] == [
        (r["stream"], r["data"]) for r in source_records
    ]
    for ours, theirs in zip(records, source_records, strict=True):
        assert time_extracted_to_emitted_at(ours["time_extracted"]) == theirs["emitted_at"]
    # a SCHEMA per stream, before its first RECORD, with keys and cursor from the catalog
    schemas = {m["stream"]: (i, m) for i, m in enumerate(singer) if m["type"] == "SCHEMA"}
    assert set(schemas) == set(SELECTED)
    for stream, (index, schema) in schemas.items():
        first_record = next(
            i for i, m in enumerate(singer) if m["type"] == "RECORD" and m["stream"] == stream
        )
        assert index < first_record
        assert schema["key_properties"] == ["id"]
        assert schema["bookmark_properties"] == ["updated_at"]
        assert "email" in schema["schema"]["properties"] or stream == "purchases"


def test_every_singer_state_is_the_complete_airbyte_state(first_run: FirstRun) -> None:
    singer = [codec.loads(line) for line in first_run.converted.stdout.splitlines()]
    states = [m["value"] for m in singer if m["type"] == "STATE"]
    source_states = [m["state"] for m in first_run.airbyte if m["type"] == "STATE"]
    assert len(states) == len(source_states) >= len(SELECTED)
    latest: dict[str, Any] = {}
    for value, source_state in zip(states, source_states, strict=True):
        latest[source_state["stream"]["stream_descriptor"]["name"]] = source_state
        assert set(value) == {"airbyte_state"}
        assert sorted(value["airbyte_state"], key=str) == sorted(latest.values(), key=str)
    # no STATE is emitted before the records it covers: each state follows its stream's records
    last_state_at = max(i for i, m in enumerate(singer) if m["type"] == "STATE")
    assert all(m["type"] != "RECORD" for m in singer[last_state_at + 1 :])


def test_converted_state_resumes_the_source(first_run: FirstRun) -> None:
    singer = [codec.loads(line) for line in first_run.converted.stdout.splitlines()]
    final = [m["value"] for m in singer if m["type"] == "STATE"][-1]
    # stored the way Meltano stores it, then handed back to the source as its --state list
    state_list = airbyte_states_from_file_value({"singer_state": final})
    assert [s["type"] for s in state_list] == ["STREAM"] * len(SELECTED)
    state_path = first_run.faker.work / "state.json"
    state_path.write_bytes(codec.dumps(state_list))

    resumed = first_run.faker.run(
        "read",
        "--config",
        str(first_run.config_path),
        "--catalog",
        str(first_run.catalog_path),
        "--state",
        str(state_path),
    )
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    messages = airbyte_messages(resumed.stdout)
    assert not [m for m in messages if m["type"] == "TRACE" and m["trace"]["type"] == "ERROR"]
    # the first run emitted COUNT records per stream; resumed from its state, nothing is new
    assert [m for m in messages if m["type"] == "RECORD"] == []
    assert {
        m["state"]["stream"]["stream_descriptor"]["name"] for m in messages if m["type"] == "STATE"
    } == set(SELECTED)

    # converting the resumed run, seeded with the state it started from, keeps the state complete
    converted = dativo_convert(
        "airbyte", "singer", first_run.catalog_path, resumed.stdout, "--state", state_path
    )
    assert converted.returncode == 0, converted.stderr.decode()
    values = [codec.loads(line)["value"] for line in converted.stdout.splitlines()]
    assert len(values[-1]["airbyte_state"]) == len(SELECTED)


def test_converted_stream_passes_dativo_validate(first_run: FirstRun) -> None:
    """Issue 2's "done when": a real Airbyte source's stream, converted, is valid Singer."""
    proc = run_script("dativo", "--json", "validate", "-", input=first_run.converted.stdout)
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    summary = codec.loads(proc.stdout)
    assert summary["valid"] is True
    assert {name: s["records"] for name, s in summary["streams"].items()} == dict.fromkeys(
        SELECTED, COUNT
    )
    assert summary["states"] == len([m for m in first_run.airbyte if m["type"] == "STATE"])


def test_converted_stream_converts_back_to_the_source_messages(first_run: FirstRun) -> None:
    back = dativo_convert("singer", "airbyte", first_run.catalog_path, first_run.converted.stdout)
    assert back.returncode == 0, back.stderr.decode()
    expected = [m for m in first_run.airbyte if m["type"] in ("RECORD", "STATE")]
    assert [codec.loads(line) for line in back.stdout.splitlines()] == expected
