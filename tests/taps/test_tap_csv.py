"""tap-csv against real files on disk (and on the S3-compatible server in test_tap_csv_s3)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from dativo_protocol import codec
from tests.taps.conftest import messages, records, states, write_json

PEOPLE = (
    "id;name;score;active;joined;updated_at;zip\n"
    '1;"Smith; John";1.5;true;2024-01-02;2024-03-01T10:00:00+00:00;00123\n'
    '2;"Quote ""Q"" Person";2;false;2024-01-03;2024-03-02T10:00:00+00:00;00456\n'
    "3;Zoë;;;2024-01-04;2024-03-03T10:00:00+00:00;99999\n"
)


def tap(run_cli, tmp_path: Path, config: dict[str, Any], *args: str):
    path = write_json(tmp_path / "config.json", config)
    return run_cli("tap-csv", "--config", path, *args, timeout=120)


def test_meltanolabs_config_works_unchanged(run_cli, tmp_path):
    data = tmp_path / "data"
    (data / "sub").mkdir(parents=True)
    (data / "people.csv").write_text(PEOPLE, encoding="utf-8")
    (data / "sub" / "more.csv").write_text("id;name\n4;Dee\n", encoding="utf-8")
    (data / "notes.json").write_text("{}")
    config = {
        "files": [{"entity": "people", "path": str(data), "keys": ["id"], "delimiter": ";"}],
        "add_metadata_columns": True,
    }
    result = tap(run_cli, tmp_path, config)
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    schema = next(m for m in messages(result.stdout) if m["type"] == "SCHEMA")
    assert schema["key_properties"] == ["id"]
    props = schema["schema"]["properties"]
    assert props["id"]["type"] == ["integer", "null"]
    assert props["score"]["type"] == ["number", "null"]
    assert props["active"]["type"] == ["boolean", "null"]
    assert props["joined"]["format"] == "date"
    assert props["updated_at"]["format"] == "date-time"
    assert props["zip"]["type"] == ["string", "null"]  # leading zeros stay text
    rows = records(result.stdout, "people")
    assert [r["id"] for r in rows] == [1, 2, 3, 4]
    assert rows[0]["name"] == "Smith; John"
    assert rows[1]["name"] == 'Quote "Q" Person'
    assert rows[0]["score"] == 1.5
    assert rows[2]["active"] is None
    assert rows[0]["zip"] == "00123"
    assert rows[0]["_sdc_source_file"].endswith("people.csv")
    assert rows[1]["_sdc_source_lineno"] == 3
    assert rows[3]["_sdc_source_file"].endswith("more.csv")
    assert "zip" not in rows[3]  # the second file has fewer columns


def test_files_definition_glob_overrides_and_no_header(run_cli, tmp_path):
    for day in ("01", "02"):
        (tmp_path / f"sales-{day}.csv").write_text(f"{day},10\n{day},20\n")
    (tmp_path / "other.csv").write_text("x,y\n")
    definition = write_json(
        tmp_path / "files.json",
        [
            {
                "entity": "sales",
                "path": str(tmp_path / "sales-*.csv"),
                "keys": [],
                "header": False,
                "field_names": ["day", "amount"],
                "schema_overrides": {"day": "string", "amount": {"type": ["number", "null"]}},
            }
        ],
    )
    result = tap(run_cli, tmp_path, {"csv_files_definition": str(definition)})
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    assert records(result.stdout, "sales") == [
        {"day": "01", "amount": 10.0},
        {"day": "01", "amount": 20.0},
        {"day": "02", "amount": 10.0},
        {"day": "02", "amount": 20.0},
    ]


def test_all_strings_like_meltanolabs_when_inference_is_off(run_cli, tmp_path):
    (tmp_path / "p.csv").write_text(PEOPLE)
    config = {
        "files": [
            {"entity": "p", "path": str(tmp_path / "p.csv"), "keys": ["id"], "delimiter": ";"}
        ],
        "infer_types": False,
    }
    result = tap(run_cli, tmp_path, config)
    assert records(result.stdout)[0]["id"] == "1"


def test_discover_with_state_gives_keys_and_replication_keys(run_cli, tmp_path):
    (tmp_path / "p.csv").write_text(PEOPLE)
    state = write_json(tmp_path / "state.json", {})
    config = {
        "files": [
            {
                "entity": "p",
                "path": str(tmp_path / "p.csv"),
                "keys": ["id"],
                "delimiter": ";",
                "replication_key": "updated_at",
            }
        ]
    }
    result = tap(run_cli, tmp_path, config, "--discover", "--state", str(state))
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    entry = codec.loads(result.stdout)["streams"][0]
    meta = next(m["metadata"] for m in entry["metadata"] if m["breadcrumb"] == [])
    assert meta["table-key-properties"] == ["id"]
    assert meta["valid-replication-keys"] == ["updated_at"]


def test_incremental_by_file_modification_time(run_cli, tmp_path):
    data = tmp_path / "in"
    data.mkdir()
    (data / "a.csv").write_text("id,v\n1,a\n2,a\n")
    old = 1_700_000_000
    os.utime(data / "a.csv", (old, old))
    config = {
        "files": [
            {
                "entity": "t",
                "path": str(data),
                "keys": ["id"],
                "replication_key": "_sdc_source_file_mtime",
            }
        ]
    }
    first = tap(run_cli, tmp_path, config)
    assert first.returncode == 0, first.stderr.decode()[-2000:]
    assert [r["id"] for r in records(first.stdout)] == [1, 2]
    state = states(first.stdout)[-1]
    partitions = state["bookmarks"]["t"]["partitions"]
    assert [p["context"]["_sdc_source_file"].endswith("a.csv") for p in partitions] == [True]
    state_file = write_json(tmp_path / "state.json", state)

    (data / "b.csv").write_text("id,v\n3,b\n")
    second = tap(run_cli, tmp_path, config, "--state", str(state_file))
    assert second.returncode == 0
    assert [r["id"] for r in records(second.stdout)] == [3]  # a.csv unchanged: skipped

    (data / "a.csv").write_text("id,v\n1,a\n2,a\n5,a\n")  # modified now: read again
    state_file = write_json(tmp_path / "state.json", states(second.stdout)[-1])
    third = tap(run_cli, tmp_path, config, "--state", str(state_file))
    assert [r["id"] for r in records(third.stdout)] == [1, 2, 5]


def test_incremental_by_column(run_cli, tmp_path):
    path = tmp_path / "events.csv"
    path.write_text("id,seq\n1,10\n2,30\n3,20\n")
    config = {
        "files": [{"entity": "e", "path": str(path), "keys": ["id"], "replication_key": "seq"}]
    }
    first = tap(run_cli, tmp_path, config)
    assert [r["seq"] for r in records(first.stdout)] == [10, 30, 20]
    final = states(first.stdout)[-1]
    assert final["bookmarks"]["e"]["replication_key_value"] == 30
    path.write_text("id,seq\n1,10\n2,30\n3,20\n4,40\n5,5\n")
    state_file = write_json(tmp_path / "state.json", final)
    second = tap(run_cli, tmp_path, config, "--state", str(state_file))
    assert [r["id"] for r in records(second.stdout)] == [2, 4]  # >= bookmark (at-least-once)


def test_bad_input_is_located_and_leaves_no_state(run_cli, tmp_path):
    missing = tap(
        run_cli, tmp_path, {"files": [{"entity": "m", "path": str(tmp_path / "nope.csv")}]}
    )
    assert missing.returncode == 3
    assert "stream 'm'" in missing.stderr.decode()
    assert "nope.csv" in missing.stderr.decode()

    ragged = tmp_path / "ragged.csv"
    ragged.write_text("a,b\n1,2\n3,4\n5\n6,7\n")
    result = tap(run_cli, tmp_path, {"files": [{"entity": "r", "path": str(ragged)}]})
    assert result.returncode == 4
    err = result.stderr.decode()
    assert "stream 'r'" in err
    assert "ragged.csv line 4: expected 2 fields, found 1" in err
    assert "Traceback" not in err
    assert not states(result.stdout)

    typed = tmp_path / "typed.csv"
    typed.write_text("n\n" + "".join(f"{i}\n" for i in range(5)) + "oops\n")
    config = {"files": [{"entity": "t", "path": str(typed)}], "infer_sample_rows": 3}
    result = tap(run_cli, tmp_path, config)
    assert result.returncode == 5
    assert "typed.csv line 7: column 'n' does not match its schema type" in result.stderr.decode()
    assert "oops" not in result.stderr.decode()  # values are never echoed
    assert not states(result.stdout)

    latin = tmp_path / "latin.csv"
    latin.write_bytes(b"a\nok\n" + "caf\xe9\n".encode("latin-1"))
    result = tap(run_cli, tmp_path, {"files": [{"entity": "l", "path": str(latin)}]})
    assert result.returncode in (3, 4)
    assert "cannot decode as utf-8" in result.stderr.decode()


def test_selection_and_stream_maps_still_apply(run_cli, tmp_path):
    (tmp_path / "p.csv").write_text(PEOPLE)
    config = {
        "files": [
            {"entity": "p", "path": str(tmp_path / "p.csv"), "keys": ["id"], "delimiter": ";"}
        ],
        "stream_maps": {"p": {"name": "md5(name)", "zip": None}},
    }
    discovered = codec.loads(tap(run_cli, tmp_path, config, "--discover").stdout)
    for entry in discovered["streams"]:
        for m in entry["metadata"]:
            if m["breadcrumb"] == []:
                m["metadata"]["selected"] = True
            elif m["breadcrumb"] == ["properties", "score"]:
                m["metadata"]["selected"] = False
    catalog = write_json(tmp_path / "catalog.json", discovered)
    result = tap(run_cli, tmp_path, config, "--catalog", str(catalog))
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    row = records(result.stdout)[0]
    assert "score" not in row
    assert "zip" not in row
    assert len(row["name"]) == 32
    assert row["name"] != "Smith; John"


def test_check_and_spec(run_cli, tmp_path):
    (tmp_path / "p.csv").write_text(PEOPLE)
    ok = tap(
        run_cli, tmp_path, {"files": [{"entity": "p", "path": str(tmp_path / "p.csv")}]}, "--check"
    )
    assert ok.returncode == 0
    assert codec.loads(ok.stdout)["connectionStatus"]["status"] == "SUCCEEDED"
    bad = tap(
        run_cli, tmp_path, {"files": [{"entity": "p", "path": str(tmp_path / "x.csv")}]}, "--check"
    )
    assert bad.returncode == 1
    status = codec.loads(bad.stdout)["connectionStatus"]
    assert status["status"] == "FAILED"
    assert "path does not exist" in status["message"]
    spec = codec.loads(run_cli("tap-csv", "--spec").stdout)["spec"]["connectionSpecification"]
    assert spec["properties"]["s3"]["properties"]["secret"]["airbyte_secret"] is True
    assert "files" in spec["properties"]
