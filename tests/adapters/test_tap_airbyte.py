"""tap-airbyte with the real airbyte-source-faker from PyPI: discover, a read piped into
target-parquet, a re-run from its state, secrets, and connectors that die, fail or misbehave."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dativo_protocol import codec
from tests.fixtures.cli import BIN, assert_no_secret, run_script, script
from tests.fixtures.peers import InstallPeer, faker
from tests.target_parquet.helpers import read_rows, states

pytestmark = [pytest.mark.peers, pytest.mark.slow]

COUNT = 6
SELECTED = ("users", "purchases")
CANARY = f"canary-{secrets.token_hex(8)}"
FAKER_CONFIG = {
    "count": COUNT,
    "seed": 11,
    "records_per_slice": 2,
    "always_updated": False,
    "parallelism": 1,
    "api_token": CANARY,  # faker ignores it; it must never appear in any output
}


@dataclass
class Setup:
    work: Path
    settings: Path
    catalog: Path
    discovered: subprocess.CompletedProcess[bytes]
    faker: Path


def write(path: Path, doc: Any) -> Path:
    path.write_bytes(codec.dumps(doc))
    return path


def select_incremental(catalog: dict[str, Any], streams: tuple[str, ...]) -> dict[str, Any]:
    for stream in catalog["streams"]:
        for item in stream["metadata"]:
            if item["breadcrumb"] == []:
                item["metadata"]["selected"] = stream["tap_stream_id"] in streams
                item["metadata"]["replication-method"] = "INCREMENTAL"
    return catalog


@pytest.fixture(scope="module")
def setup(peer: InstallPeer, tmp_path_factory: pytest.TempPathFactory) -> Setup:
    work = tmp_path_factory.mktemp("tap-airbyte")
    exe = faker(peer)
    settings = write(
        work / "settings.json", {"connector": str(exe), "connector_config": FAKER_CONFIG}
    )
    discovered = run_script("tap-airbyte", "--config", settings, "--discover")
    assert discovered.returncode == 0, discovered.stderr[-2000:]
    catalog = select_incremental(codec.loads(discovered.stdout), SELECTED)
    return Setup(work, settings, write(work / "catalog.json", catalog), discovered, exe)


def tap_into_parquet(
    tap_args: list[str | Path], dest: Path, work: Path
) -> tuple[int, bytes, bytes, subprocess.CompletedProcess[bytes]]:
    """``tap-airbyte ARGS | target-parquet`` through a real OS pipe; returns the tap's exit
    code, stdout and stderr, and the target's result."""
    target_config = write(work / "target.json", {"destination_path": str(dest)})
    logs = {name: work / f"{dest.name}.{name}" for name in ("tap.err", "target.out", "target.err")}
    with (
        open(logs["tap.err"], "wb") as tap_err,
        open(logs["target.out"], "wb") as target_out,
        open(logs["target.err"], "wb") as target_err,
    ):
        tap = subprocess.Popen(
            [script("tap-airbyte"), *map(str, tap_args)], stdout=subprocess.PIPE, stderr=tap_err
        )
        target = subprocess.Popen(
            [script("target-parquet"), "--config", str(target_config)],
            stdin=subprocess.PIPE,
            stdout=target_out,
            stderr=target_err,
        )
        assert tap.stdout is not None
        assert target.stdin is not None
        seen = bytearray()
        fd = tap.stdout.fileno()
        for chunk in iter(lambda: os.read(fd, 65536), b""):
            seen += chunk
            target.stdin.write(chunk)
        target.stdin.close()
        code = tap.wait(timeout=120)
        target.wait(timeout=120)
    done = subprocess.CompletedProcess(
        target.args,
        target.returncode,
        logs["target.out"].read_bytes(),
        logs["target.err"].read_bytes(),
    )
    return code, bytes(seen), logs["tap.err"].read_bytes(), done


def messages(stdout: bytes) -> list[dict[str, Any]]:
    return [codec.loads(line) for line in stdout.splitlines()]


def test_discover_prints_the_singer_catalog(setup: Setup) -> None:
    catalog = codec.loads(setup.discovered.stdout)
    streams = {s["tap_stream_id"]: s for s in catalog["streams"]}
    assert set(streams) == {"users", "products", "purchases"}
    root = next(m for m in streams["users"]["metadata"] if m["breadcrumb"] == [])["metadata"]
    assert root["table-key-properties"] == ["id"]
    assert root["valid-replication-keys"] == ["updated_at"]
    assert "email" in streams["users"]["schema"]["properties"]
    assert_no_secret(CANARY, setup.discovered.stdout, setup.discovered.stderr)


def test_read_lands_in_parquet_and_a_rerun_resumes(setup: Setup) -> None:
    dest = setup.work / "out"
    args: list[str | Path] = ["--config", setup.settings, "--catalog", setup.catalog]
    code, out, err, target = tap_into_parquet(args, dest, setup.work)
    assert code == 0, err.decode()[-2000:]
    assert target.returncode == 0, target.stderr.decode()[-2000:]
    singer = messages(out)
    assert {m["type"] for m in singer} == {"SCHEMA", "RECORD", "STATE"}  # logs stayed on stderr
    for stream in SELECTED:
        assert [r["id"] for r in read_rows(dest / stream)] == list(range(1, COUNT + 1))
    # the target's final state is the tap's last STATE, which comes after every record
    tap_states = [m["value"] for m in singer if m["type"] == "STATE"]
    last_state_at = max(i for i, m in enumerate(singer) if m["type"] == "STATE")
    assert all(m["type"] != "RECORD" for m in singer[last_state_at + 1 :])
    final = states(target.stdout)[-1]
    assert final == tap_states[-1]
    assert sorted(s["stream"]["stream_descriptor"]["name"] for s in final["airbyte_state"]) == [
        "purchases",
        "users",
    ]

    # re-run from that state: the source resumes where it stopped (nothing is read again) and
    # the state it ends with is still complete
    state = write(setup.work / "state.json", final)
    again = run_script(
        "tap-airbyte", "--config", setup.settings, "--catalog", setup.catalog, "--state", state
    )
    assert again.returncode == 0, again.stderr.decode()[-2000:]
    resumed = messages(again.stdout)
    assert [m for m in resumed if m["type"] == "RECORD"] == []
    last = resumed[-1]
    assert last["type"] == "STATE"
    assert len(last["value"]["airbyte_state"]) == len(SELECTED)
    assert_no_secret(CANARY, out, err, target.stdout, target.stderr, again.stdout, again.stderr)


# ---------------------------------------------------------------- connectors that go wrong
WRAPPER = """\
import os, signal, subprocess, sys
import orjson

FAKER = {faker!r}
args = sys.argv[1:]
config = orjson.loads(open(args[args.index("--config") + 1], "rb").read())
mode, secret = config.pop("x_mode"), config["api_token"]
# what a careless connector does: its config in a traceback on stderr, its token in a LOG
sys.stderr.write(f"Traceback (most recent call last): config={{config}}\\n")
sys.stderr.flush()
out = sys.stdout.buffer
def emit(message):
    out.write(orjson.dumps(message) + b"\\n")
    out.flush()
emit({{"type": "LOG", "log": {{"level": "INFO", "message": f"token is {{secret}}"}}}})
if mode == "trace":
    error = {{"message": f"401 for token {{secret}}", "internal_message": secret,
              "stack_trace": secret, "failure_type": "config_error"}}
    emit({{"type": "TRACE", "trace": {{"type": "ERROR", "emitted_at": 1.0, "error": error}}}})
    sys.exit(1)
if mode == "malformed":  # line 4: a RECORD whose emitted_at is not a number
    emit({{"type": "RECORD", "record": {{"stream": "users", "data": {{"id": 1}}, "emitted_at": 1}}}})
    emit({{"type": "STATE", "state": {{"type": "LEGACY", "data": {{"users": 1}}}}}})
    emit({{"type": "RECORD", "record": {{"stream": "users", "data": {{"id": 2}},
                                         "emitted_at": "soon " + secret}}}})
    emit({{"type": "RECORD", "record": {{"stream": "users", "data": {{"id": 3}}, "emitted_at": 3}}}})
    sys.exit(0)
# "die": the real source-faker, killed (SIGKILL) in the middle of a line after 2 STATEs
config_path = args[args.index("--config") + 1]
open(config_path, "wb").write(orjson.dumps(config))
proc = subprocess.Popen([FAKER, *args], stdout=subprocess.PIPE)
seen_states = 0
for line in proc.stdout:
    if seen_states >= 2 and b'"RECORD"' in line:
        out.write(line + line[: len(line) // 2])
        out.flush()
        os.kill(os.getpid(), signal.SIGKILL)
    out.write(line)
    out.flush()
    seen_states += b'"type":"STATE"' in line.replace(b" ", b"")
"""


def broken_connector(setup: Setup, mode: str) -> Path:
    wrapper = setup.work / "broken-connector"
    if not wrapper.exists():
        wrapper.write_text(f"#!{sys.executable}\n" + WRAPPER.format(faker=str(setup.faker)))
        wrapper.chmod(0o755)
    config = {**FAKER_CONFIG, "x_mode": mode}
    return write(
        setup.work / f"settings-{mode}.json",
        {"connector": str(wrapper), "connector_config": config},
    )


def test_a_connector_killed_mid_stream_exits_8_with_no_state_past_its_records(
    setup: Setup,
) -> None:
    settings = broken_connector(setup, "die")
    dest = setup.work / "out-die"
    args: list[str | Path] = ["--config", settings, "--catalog", setup.catalog]
    code, out, err, target = tap_into_parquet(args, dest, setup.work)
    assert code == 8, err.decode()[-2000:]  # ExitCode.CONNECTOR
    text = err.decode()
    assert "tap-airbyte: error: the connector broken-connector was killed by signal 9" in text
    assert "truncated" in text
    singer = messages(out)  # every line we emitted is whole: the cut line never went out
    tap_states = [m["value"] for m in singer if m["type"] == "STATE"]
    assert len(tap_states) >= 2
    last_state_at = max(i for i, m in enumerate(singer) if m["type"] == "STATE")
    after = singer[last_state_at + 1 :]  # the records after the last STATE: never covered
    assert [m["type"] for m in after] == ["SCHEMA", "RECORD"]
    assert after[1]["stream"] == "purchases"
    # the target only acknowledges the connector's last complete STATE
    assert target.returncode == 0, target.stderr.decode()[-2000:]
    assert states(target.stdout)[-1] == tap_states[-1]
    assert_no_secret(CANARY, out, err, target.stdout, target.stderr)


def test_a_trace_error_exits_8_and_never_shows_the_secret(setup: Setup) -> None:
    done = run_script(
        "tap-airbyte", "--config", broken_connector(setup, "trace"), "--catalog", setup.catalog
    )
    assert done.returncode == 8, done.stderr.decode()[-2000:]
    err = done.stderr.decode()
    assert "config_error: 401 for token ***" in err
    assert "exited with code 1" in err
    assert "token is ***" in err  # the connector's LOG, redacted
    assert "Traceback (most recent call last)" in err  # its stderr, forwarded and redacted
    assert done.stdout == b""
    assert_no_secret(CANARY, done.stdout, done.stderr)


def test_malformed_output_exits_4_with_the_line_and_no_echo(setup: Setup) -> None:
    done = run_script(
        "tap-airbyte", "--config", broken_connector(setup, "malformed"), "--catalog", setup.catalog
    )
    assert done.returncode == 4, done.stderr.decode()[-2000:]  # ExitCode.PROTOCOL
    err = done.stderr.decode()
    assert "line 4" in err
    assert '"data"' not in err  # the line itself is not echoed
    singer = messages(done.stdout)
    assert [m["type"] for m in singer] == ["SCHEMA", "RECORD", "STATE"]  # nothing after it
    assert_no_secret(CANARY, done.stdout, done.stderr)


def test_bad_settings_exit_3_with_a_hint(setup: Setup) -> None:
    bad = write(setup.work / "bad.json", {"connector_config": {}, "count": 3})
    done = run_script("tap-airbyte", "--config", bad, "--discover")
    assert done.returncode == 3
    assert b"unknown tap-airbyte setting(s): count" in done.stderr
    missing = write(setup.work / "missing.json", {"connector": "no-such-source-x"})
    done = run_script("tap-airbyte", "--config", missing, "--discover")
    assert done.returncode == 3
    assert b"connector executable 'no-such-source-x' not found" in done.stderr


def test_about_names_the_capabilities() -> None:
    done = run_script("tap-airbyte", "--about", "--format", "json")
    assert done.returncode == 0
    about = codec.loads(done.stdout)
    assert about["name"] == "tap-airbyte"
    assert {"discover", "state", "catalog"} <= set(about["capabilities"])
    assert (BIN / "tap-airbyte").exists()


def test_sigterm_stops_the_connector_and_wipes_its_files(setup: Setup, tmp_path: Path) -> None:
    """How `dativo` stops a tap: SIGTERM. The connector goes too, and so do its secret files."""
    config = {**FAKER_CONFIG, "count": 200_000}
    settings = write(
        tmp_path / "big.json", {"connector": str(setup.faker), "connector_config": config}
    )
    private = tmp_path / "tmp"
    private.mkdir()
    tap = subprocess.Popen(
        [script("tap-airbyte"), "--config", str(settings), "--catalog", str(setup.catalog)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "TMPDIR": str(private)},
    )
    assert tap.stdout is not None
    for line in tap.stdout:  # wait until records flow
        if b'"RECORD"' in line:
            break
    children = Path(f"/proc/{tap.pid}/task/{tap.pid}/children").read_text().split()
    assert len(children) == 1
    assert [p.name for p in private.iterdir()] != []  # the connector's private files exist now
    tap.send_signal(signal.SIGTERM)
    _, err = tap.communicate(timeout=60)
    assert tap.returncode == 130, err.decode()[-2000:]  # ExitCode.INTERRUPTED
    assert not Path(f"/proc/{children[0]}").exists()  # the connector is gone (and reaped)
    assert list(private.iterdir()) == []  # config (with the canary) and TMPDIR removed
    assert_no_secret(CANARY, err)


def test_a_python_entry_point_works_like_the_console_script(setup: Setup) -> None:
    settings = write(
        setup.work / "entry-point.json",
        {
            "entry_point": "source_faker.run:run",
            "python": str(setup.faker.parent / "python"),
            "connector_config": FAKER_CONFIG,
        },
    )
    done = run_script("tap-airbyte", "--config", settings, "--spec")
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    spec = codec.loads(done.stdout)
    assert spec["connectionSpecification"]["title"] == "Faker Source Spec"
