"""One background thread that runs submitted jobs in order (e.g. Parquet encoding while the
loop parses the next chunk; pyarrow releases the GIL for both)."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

Job = Callable[[], None]


class Worker:
    """Runs jobs in submission order on one thread. The first job error stops the worker: later
    jobs are skipped, and every :meth:`submit` or :meth:`drain` re-raises it (until :meth:`stop`). The queue is bounded, so a fast
    producer waits instead of piling batches up in memory."""

    def __init__(self, name: str, max_pending: int = 3) -> None:
        self._q: queue.Queue[Job | None] = queue.Queue(maxsize=max_pending)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            job = self._q.get()
            try:
                if job is None:
                    return
                if self._error is None:
                    job()
            except BaseException as exc:  # noqa: BLE001 - handed to the submitting thread
                self._error = exc
            finally:
                self._q.task_done()

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def check(self) -> None:
        """Re-raise the first job error, if any (without waiting)."""
        self._raise()

    def submit(self, job: Job) -> None:
        self._raise()
        self._q.put(job)

    def submit_waitable(self, job: Job) -> Callable[[], None]:
        """Submit ``job``; returns a function that waits for that job only (not for the jobs
        submitted after it) and raises its error, or the error that made the worker skip it."""
        done = threading.Event()
        failed: list[BaseException] = []

        def run() -> None:
            try:
                job()
            except BaseException as exc:
                failed.append(exc)
                raise
            finally:
                done.set()

        self.submit(run)

        def wait() -> None:
            while not done.wait(0.05):
                error = self._error
                if error is not None:  # an earlier job failed: this one will not run
                    raise error
                if not self._thread.is_alive():
                    raise RuntimeError(f"worker {self._thread.name} stopped before the job ran")
            if failed:
                raise failed[0]

        return wait

    def drain(self) -> None:
        """Wait for every submitted job; re-raise the first error."""
        self._q.join()
        self._raise()

    def stop(self) -> None:
        """Finish queued jobs (errors are dropped) and end the thread."""
        if self._thread.is_alive():
            self._q.put(None)
            self._thread.join()
        self._error = None
