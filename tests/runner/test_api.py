"""The Python API runs jobs in-process (no `dativo` subprocess) for orchestrators."""

from __future__ import annotations

import threading
import time

import pytest

from dativo_protocol.errors import ConnectorError, Interrupted
from dativo_protocol.runner import api
from tests.runner.conftest import read_output


def test_run_job_returns_a_summary_and_state_functions_work(make_job, tmp_path):
    job = api.load_job(make_job(tap={"rows": 7}))
    summary = api.run_job(job)
    summary.raise_for_status()
    assert summary.ok
    assert summary.to_dict()["streams"] == {"a": {"extracted": 7, "loaded": 7}}
    assert api.get_state(job) == {"bookmarks": {"a": {"id": 7}}}
    api.set_state(job, {"bookmarks": {"a": {"id": 5}}})
    assert api.run_job(job).streams["a"]["extracted"] == 2
    assert api.clear_state(job) is True
    assert api.get_state(job) is None
    assert read_output(tmp_path / "out", "a") == [1, 2, 3, 4, 5, 6, 7, 6, 7]


def test_failed_run_raises_on_request(make_job):
    summary = api.run_job(api.load_job(make_job(target={"fail_after": 3})))
    assert summary.status == "failed"
    assert summary.exit_code == 8
    with pytest.raises(ConnectorError, match="singer_target"):
        summary.raise_for_status()


def test_stop_request_stops_the_tap_cleanly_and_keeps_state_consistent(make_job, tmp_path):
    job = api.load_job(make_job(tap={"rows": 100000, "state_every": 100, "sleep": 0.001}))
    stop = api.StopRequest()
    timer = threading.Timer(1.5, stop.request)
    timer.start()
    started = time.monotonic()
    summary = api.run_job(job, stop=stop)
    timer.join()
    assert isinstance(summary.error, Interrupted)
    assert summary.exit_code == 130
    assert time.monotonic() - started < 30
    state = api.get_state(job)
    if state is not None:  # nothing past the committed data
        done = set(read_output(tmp_path / "out", "a"))
        assert set(range(1, state["bookmarks"]["a"]["id"] + 1)) <= done
