"""The registry file format: the shipped registry is valid, bad files are rejected precisely."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest
import yaml

from dativo_protocol import codec
from dativo_protocol.runner.registry import Registry, RegistryValidationError, builtin_registry_dir
from tests.registry_helpers import tiny_tap_entry, write_registry

SCHEMA = codec.loads((builtin_registry_dir() / "schema.json").read_bytes())


def test_shipped_registry_is_valid_for_pydantic_and_json_schema(run_cli):
    shipped = builtin_registry_dir() / "connectors.yaml"
    jsonschema.Draft202012Validator(SCHEMA).validate(yaml.safe_load(shipped.read_text()))
    done = run_cli("dativo", "registry", "validate")
    assert done.returncode == 0, done.stderr
    assert b"ok: " in done.stdout
    names = {e.name for e in Registry.load().entries()}
    assert {"tap-csv", "tap-rest", "target-parquet", "target-iceberg", "tap-postgres"} <= names


def _good() -> dict[str, object]:
    return tiny_tap_entry()


BAD_ENTRIES = [
    # (mutation, field the error must name, words the message must contain)
    (lambda e: e.update(version=1.1), "version", "quoted string"),
    (lambda e: e.update(version="one"), "version", "PEP 440"),
    (lambda e: e.update(engine="docker"), "engine", "native"),
    (lambda e: e.update(role="sink"), "role", "source"),
    (lambda e: e.update(capabilities=["discovr"]), "capabilities", "did you mean 'discover'"),
    (lambda e: e.update(engine="native", launch={"pip": "x==1"}), "", "launch.entry_point"),
    (lambda e: e.update(engine="singer", launch={"entry_point": "tap-x"}), "", "launch.pip"),
    (lambda e: e.update(launch={"command": []}), "launch.command", "non-empty"),
    (
        lambda e: e.update(engine="singer", launch={"pip": "tap-x>=1.0"}),
        "",
        "must pin one release, e.g. tap-x==1.2.3",
    ),
    (
        lambda e: e.update(launch={"command": ["x"], "catalog_flag": "--cat"}),
        "launch.catalog_flag",
        "--properties",
    ),
    (lambda e: e.update(name="Tap X"), "name", "pattern"),
    (lambda e: e.update(colour="blue"), "colour", "Extra inputs"),
    (lambda e: e.pop("role"), "role", "required"),
]


@pytest.mark.parametrize(("mutate", "field", "words"), BAD_ENTRIES)
def test_bad_entry_is_rejected_naming_entry_and_field(
    tmp_path: Path, run_cli, mutate, field, words
):
    entry = _good()
    mutate(entry)
    path = write_registry(tmp_path / "bad.yaml", [tiny_tap_entry(name="fine-tap"), entry])
    done = run_cli("dativo", "registry", "validate", path)
    assert done.returncode == 3, done.stderr
    err = done.stderr.decode()
    assert f"{path}: connectors[1]" in err  # the file and the entry
    if field:
        assert f": {field}:" in err
    assert words in err
    assert "connectors[0]" not in err  # the good entry is not blamed
    # the JSON Schema agrees that the entry is bad (it documents the same format)
    doc = yaml.safe_load(path.read_text())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(SCHEMA).validate(doc)


def test_every_problem_is_reported_at_once_in_json(tmp_path: Path, run_cli):
    path = write_registry(
        tmp_path / "bad.yaml",
        [tiny_tap_entry(version="x"), tiny_tap_entry(name="other", engine="rust")],
    )
    done = run_cli("dativo", "--json", "registry", "validate", path)
    assert done.returncode == 3
    error = codec.loads(done.stderr.strip().splitlines()[-1])
    assert error["error"] == "registry_invalid"
    fields = {(p["entry"], p["field"]) for p in error["problems"]}
    assert ("connectors[0] (tiny-tap@x)", "version") in fields
    assert any(entry.startswith("connectors[1] (other") for entry, _ in fields)


def test_file_level_problems(tmp_path: Path):
    cases = {
        "syntax.yaml": ("format_version: 1\nconnectors:\n\t- name: x\n", "line 3, column 1"),
        "version.yaml": ("format_version: 2\nconnectors: []\n", "format_version: must be 1"),
        "shape.yaml": ("- just a list\n", "must be a mapping"),
        "extra.yaml": (
            "format_version: 1\nconnectors: []\nplugins: []\n",
            "plugins: unknown top-level key",
        ),
    }
    for name, (text, words) in cases.items():
        path = tmp_path / name
        path.write_text(text)
        with pytest.raises(RegistryValidationError) as info:
            Registry.load([path], entry_points=False)
        assert words in str(info.value), name


def test_duplicate_release_and_missing_schema_file(tmp_path: Path):
    first = write_registry(tmp_path / "a.yaml", [tiny_tap_entry()])
    second = write_registry(
        tmp_path / "b.yaml",
        [tiny_tap_entry(), tiny_tap_entry(name="schema-tap", config_schema="missing.json")],
    )
    with pytest.raises(RegistryValidationError) as info:
        Registry.load([first, second], entry_points=False)
    text = str(info.value)
    assert f"tiny-tap@1.0.0: already defined in {first}" in text
    assert "config_schema: file not found: missing.json" in text


def test_relative_config_schema_resolves_next_to_the_file(tmp_path: Path):
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "x.json").write_text('{"type": "object"}')
    path = write_registry(tmp_path / "r.yaml", [tiny_tap_entry(config_schema="schemas/x.json")])
    entry = Registry.load([path], entry_points=False).resolve("tiny-tap")
    assert entry.config_schema == str(tmp_path / "schemas" / "x.json")
