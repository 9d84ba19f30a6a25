"""ParquetSink's two-step commit (``begin_commit`` then *finish*) and the writer thread's
per-job wait: a commit covers exactly what was written before it began, while the next
checkpoint's batches keep flowing."""

from __future__ import annotations

import threading
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from dativo_targets.kit.sink import StreamSchema
from dativo_targets.kit.worker import Worker
from dativo_targets.parquet.settings import ParquetSettings
from dativo_targets.parquet.sink import ParquetSink

SCHEMA = pa.schema([pa.field("id", pa.int64(), nullable=False)])


def open_sink(tmp_path: Path) -> ParquetSink:
    sink = ParquetSink(ParquetSettings(destination_path=str(tmp_path / "out")))
    sink.open_stream("s", StreamSchema(stream="s", json_schema={}, arrow=SCHEMA))
    return sink


def ids(start: int, stop: int) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays([pa.array(range(start, stop), pa.int64())], schema=SCHEMA)


def visible(tmp_path: Path) -> list[int]:
    """The ids a reader sees in the published files."""
    files = sorted((tmp_path / "out" / "s").glob("*.parquet"))
    return sorted(i for f in files for i in pq.read_table(f).column("id").to_pylist())


def test_a_commit_covers_what_was_written_before_it_began(tmp_path: Path) -> None:
    sink = open_sink(tmp_path)
    sink.write("s", ids(0, 100))
    finish = sink.begin_commit({"at": 100})
    sink.write("s", ids(100, 250))  # the next checkpoint, while this one finishes
    assert visible(tmp_path) == []
    finish()
    assert visible(tmp_path) == list(range(100))
    sink.commit(None)
    assert visible(tmp_path) == list(range(250))
    sink.close()
    assert not (tmp_path / "out" / "_dativo_tmp").exists()


def test_abort_with_a_commit_begun_but_not_finished_publishes_nothing(tmp_path: Path) -> None:
    sink = open_sink(tmp_path)
    sink.write("s", ids(0, 100))
    sink.begin_commit(None)
    sink.write("s", ids(100, 200))
    sink.abort()
    sink.close()
    assert visible(tmp_path) == []
    assert not (tmp_path / "out" / "_dativo_tmp").exists()


def test_a_batch_that_cannot_be_written_fails_the_commit_that_covers_it(tmp_path: Path) -> None:
    sink = open_sink(tmp_path)
    sink.write("s", ids(0, 10))
    bad = pa.RecordBatch.from_arrays([pa.array(["x"])], names=["id"])
    sink.write("s", bad)
    finish = sink.begin_commit(None)
    with pytest.raises(pa.ArrowInvalid):
        finish()
    sink.abort()
    sink.close()
    assert visible(tmp_path) == []


def test_waiting_for_a_job_does_not_wait_for_the_jobs_after_it() -> None:
    worker = Worker("test")
    gate = threading.Event()
    done: list[str] = []
    wait = worker.submit_waitable(lambda: done.append("first"))

    def block() -> None:  # a later job that blocks
        gate.wait(10)

    worker.submit(block)
    wait()
    assert done == ["first"]
    gate.set()
    worker.drain()
    worker.stop()


def test_a_job_skipped_after_an_earlier_failure_reports_that_failure() -> None:
    worker = Worker("test")
    gate = threading.Event()

    def fail() -> None:
        gate.wait(10)
        raise ValueError("the earlier job failed")

    worker.submit(fail)
    ran: list[bool] = []
    wait = worker.submit_waitable(lambda: ran.append(True))
    gate.set()
    with pytest.raises(ValueError, match="earlier job"):
        wait()
    assert ran == []
    worker.stop()
