"""`dativo run` end to end through the console script, with real tap and target processes."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from dativo_protocol import codec
from tests.fixtures.cli import assert_no_secret
from tests.runner.conftest import TAP, TARGET, read_output


def _state(tmp_path: Path, state_id: str = "dativo:job") -> Any:
    doc = codec.loads((tmp_path / "state" / state_id / "state.json").read_bytes())
    return doc["completed"]["singer_state"]


def test_run_moves_every_record_and_stores_meltano_state(run_cli, make_job, tmp_path):
    job = make_job(tap={"rows": 12, "streams": ["a", "b"], "state_every": 5})
    proc = run_cli("dativo", "run", job, "--json")
    assert proc.returncode == 0, proc.stderr
    summary = codec.loads(proc.stdout)
    run = summary["runs"][0]
    assert summary["ok"] is True
    assert run["status"] == "succeeded"
    assert run["streams"] == {
        "a": {"extracted": 12, "loaded": 12},
        "b": {"extracted": 12, "loaded": 12},
    }
    assert run["final_state"] == {"bookmarks": {"a": {"id": 12}, "b": {"id": 12}}}
    assert read_output(tmp_path / "out", "a") == list(range(1, 13))
    assert read_output(tmp_path / "out", "b") == list(range(1, 13))
    assert _state(tmp_path) == {"bookmarks": {"a": {"id": 12}, "b": {"id": 12}}}


def test_second_run_resumes_from_stored_state_and_full_refresh_ignores_it(
    run_cli, make_job, tmp_path
):
    assert run_cli("dativo", "run", make_job(tap={"rows": 10})).returncode == 0
    more = make_job(tap={"rows": 15})
    proc = run_cli("dativo", "run", more, "--json")
    assert proc.returncode == 0, proc.stderr
    assert codec.loads(proc.stdout)["runs"][0]["streams"]["a"]["extracted"] == 5
    assert read_output(tmp_path / "out", "a") == list(range(1, 16))
    proc = run_cli("dativo", "run", more, "--full-refresh", "--json")
    assert proc.returncode == 0
    assert codec.loads(proc.stdout)["runs"][0]["streams"]["a"]["extracted"] == 15


def test_inline_form_with_selection(run_cli, tmp_path):
    (tmp_path / "tap.json").write_bytes(codec.dumps({"rows": 3, "streams": ["a", "b", "c"]}))
    (tmp_path / "target.json").write_bytes(codec.dumps({"path": str(tmp_path / "out")}))
    proc = run_cli(
        "dativo", "run", "--tap", TAP, "--tap-config", tmp_path / "tap.json",
        "--target", TARGET, "--target-config", tmp_path / "target.json",
        "--select", "b.*", "--state-backend", tmp_path / "state", "--json",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    run = codec.loads(proc.stdout)["runs"][0]
    assert set(run["streams"]) == {"b"}
    assert run["state_id"] == "dativo:singer_tap-to-singer_target"
    assert read_output(tmp_path / "out", "b") == [1, 2, 3]
    assert not (tmp_path / "out" / "a.jsonl").exists()


def test_tap_failure_reports_its_redacted_stderr_and_exit_code(run_cli, make_job, tmp_path):
    canary = "canary-Pa55w0rd-7781"
    job = make_job(
        tap={"rows": 10, "exit_code": 3, "log_secret": True, "password": "${env:TAP_PW}"}
    )
    proc = run_cli("dativo", "run", job, env={"TAP_PW": canary})
    assert proc.returncode == 8
    err = proc.stderr.decode()
    assert "tap 'singer_tap' exited with code 3" in err
    assert "[tap] connecting with password ***" in err
    assert_no_secret(canary, proc.stdout, proc.stderr)
    # the target still committed and acknowledged what came before the failure
    assert _state(tmp_path) == {"bookmarks": {"a": {"id": 10}}}


def test_target_failure_stops_the_tap_and_state_stays_behind_data(run_cli, make_job, tmp_path):
    job = make_job(tap={"rows": 100000, "state_every": 10}, target={"fail_after": 25})
    proc = run_cli("dativo", "run", job, "--json")
    assert proc.returncode == 8
    err = codec.loads(proc.stdout)["runs"][0]["error"]
    assert "target 'singer_target' exited with code 1" in err["message"]
    assert "[target] target: giving up" in err["message"]
    assert _state(tmp_path)["bookmarks"]["a"]["id"] == 20
    assert set(range(1, 21)) <= set(read_output(tmp_path / "out", "a"))


def test_exit_zero_without_acknowledging_the_last_state_is_a_failure(run_cli, make_job, tmp_path):
    proc = run_cli("dativo", "run", make_job(target={"drop_final_state": True}))
    assert proc.returncode == 8
    assert b"without acknowledging the tap's last STATE" in proc.stderr
    assert not (tmp_path / "state" / "dativo:job" / "state.json").exists()


def test_target_that_stops_reading_early_is_a_failure(run_cli, make_job, tmp_path):
    job = make_job(tap={"rows": 200000, "state_every": 1000}, target={"stop_reading_after": 10})
    proc = run_cli("dativo", "run", job)
    assert proc.returncode == 8
    assert b"stopped reading before the end of the tap's output" in proc.stderr


def test_transient_failure_is_retried_and_resumes(run_cli, make_job, tmp_path):
    flag = tmp_path / "failed-once"
    job = make_job(
        tap={"rows": 10, "state_every": 2, "fail_once_file": str(flag)},
        retries={"attempts": 3, "backoff": 0.1},
    )
    proc = run_cli("dativo", "run", job, "--json")
    assert proc.returncode == 0, proc.stderr
    run = codec.loads(proc.stdout)["runs"][0]
    assert run["attempts"] == 2
    assert flag.exists()
    assert sorted(set(read_output(tmp_path / "out", "a"))) == list(range(1, 11))


def test_parallel_jobs_and_temp_files_are_wiped(run_cli, make_job, tmp_path):
    jobs = [make_job(name=f"j{i}", tap={"streams": [f"s{i}"], "rows": 5}) for i in range(3)]
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    proc = run_cli("dativo", "run", *jobs, "--parallel", "2", "--json", env={"TMPDIR": str(tmp)})
    assert proc.returncode == 0, proc.stderr
    runs = codec.loads(proc.stdout)["runs"]
    assert [r["job"] for r in runs] == ["j0", "j1", "j2"]
    assert all(r["status"] == "succeeded" for r in runs)
    assert list(tmp.iterdir()) == []


def test_bad_job_file_names_the_field(run_cli, tmp_path):
    job = tmp_path / "bad.yaml"
    job.write_text(
        yaml.safe_dump({"source": {"command": TAP}, "target": {"command": TARGET, "confg": {}}})
    )
    proc = run_cli("dativo", "run", job)
    assert proc.returncode == 3
    assert f"{job}: target.confg: Extra inputs are not permitted" in proc.stderr.decode()


def test_missing_secret_reference_is_a_config_error(run_cli, make_job):
    env = {k: v for k, v in os.environ.items() if k != "NOPE_NOT_SET"}
    proc = run_cli("dativo", "run", make_job(tap={"password": "${env:NOPE_NOT_SET}"}), env=env)
    assert proc.returncode == 3
    assert b"source.config.password: environment variable NOPE_NOT_SET is not set" in proc.stderr


def test_stream_maps_run_between_tap_and_target(run_cli, make_job, tmp_path):
    job = make_job(
        tap={"rows": 6, "streams": ["a", "b"]},
        stream_maps={"a": {"name": "md5(name)", "__filter__": "id % 2 == 0"}, "b": None},
    )
    proc = run_cli("dativo", "run", job, "--json")
    assert proc.returncode == 0, proc.stderr
    rows = [codec.loads(line) for line in (tmp_path / "out" / "a.jsonl").read_bytes().splitlines()]
    assert [r["id"] for r in rows] == [2, 4, 6]
    assert all(len(r["name"]) == 32 and not r["name"].startswith("a-") for r in rows)
    assert not (tmp_path / "out" / "b.jsonl").exists()
    assert _state(tmp_path) == {"bookmarks": {"a": {"id": 6}, "b": {"id": 6}}}
