"""The runner as a Python API: what ``dativo run`` and ``dativo state`` do, without a subprocess.

For orchestrators (Dagster, Airflow)::

    from dativo_protocol.runner.api import load_job, run_job

    summary = run_job(load_job("jobs/orders.yaml"))
    summary.raise_for_status()          # DativoError with an exit code on failure
    print(summary.to_dict())

``run_job`` installs no signal handler (that is the caller's business); pass a
:class:`StopRequest` and call ``stop.request()`` to stop a run cleanly from another thread.
"""

from __future__ import annotations

import contextlib
import logging
import random
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from dativo_protocol.errors import DativoError, Interrupted
from dativo_protocol.redact import Redactor, collect_secrets
from dativo_protocol.runner.discovery import discover_catalog
from dativo_protocol.runner.jobs import (
    Job,
    job_from_dict,
    load_job,
    read_config_file,
    resolve_endpoint_config,
    short_name,
)
from dativo_protocol.runner.launch import connector_for, invocation, mapper_invocation
from dativo_protocol.runner.pipe import Leg, Limits, Pipeline, Progress, StopRequest
from dativo_protocol.runner.refs import Resolver
from dativo_protocol.runner.registry import ConnectorEntry, Registry
from dativo_protocol.runner.rundir import RunDir, sweep_stale
from dativo_protocol.runner.selection import apply_selection
from dativo_protocol.runner.state_store import StateStore, open_store
from dativo_protocol.runner.summary import RunSummary

__all__ = [
    "Job",
    "RunSummary",
    "StopRequest",
    "clear_state",
    "get_state",
    "handle_signals",
    "inline_job",
    "load_job",
    "run_job",
    "run_jobs",
    "set_state",
    "state_store",
]

log = logging.getLogger("dativo.runner")
ProgressCallback = Callable[[str, Progress], None]


def inline_job(
    tap: str,
    target: str,
    *,
    tap_config: Path | None = None,
    target_config: Path | None = None,
    state_backend: str | None = None,
    state_id: str | None = None,
    select: Sequence[str] = (),
    name: str | None = None,
) -> Job:
    """The job that ``dativo run --tap X --target Y`` describes (X, Y: registry refs or commands)."""

    def endpoint(ref: str, config: Path | None) -> dict[str, Any]:
        key = "command" if any(c in ref for c in " /") else "connector"
        return {key: ref, **({"config_file": str(config)} if config else {})}

    data: dict[str, Any] = {
        "source": endpoint(tap, tap_config),
        "target": endpoint(target, target_config),
        "streams": {"select": list(select)},
        "state": {"backend": state_backend, "id": state_id},
    }
    return job_from_dict(
        data,
        source="command line",
        base_dir=Path.cwd(),
        name=name or f"{short_name(tap)}-to-{short_name(target)}",
    )


def state_store(job: Job, resolver: Resolver | None = None) -> StateStore:
    resolver = resolver or Resolver(job.base_dir)
    url = resolver.value(job.state_backend, "state.backend")
    options = resolver.resolve(job.state.options, "state.options")
    return open_store(url, options, base_dir=job.base_dir)


def get_state(job: Job) -> dict[str, Any] | None:
    store = state_store(job)
    try:
        return store.get(job.state_id)
    finally:
        store.close()


def set_state(job: Job, value: Mapping[str, Any]) -> None:
    store = state_store(job)
    try:
        with store.lock(job.state_id):
            store.put(job.state_id, value)
    finally:
        store.close()


def clear_state(job: Job) -> bool:
    store = state_store(job)
    try:
        with store.lock(job.state_id):
            return store.clear(job.state_id)
    finally:
        store.close()


@contextlib.contextmanager
def handle_signals(stop: StopRequest) -> Iterator[None]:
    """Turn SIGINT/SIGTERM into ``stop.request()`` while the block runs (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def handler(signum: int, frame: Any) -> None:
        stop.request()

    for sig in previous:
        signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


class _Run:
    """Everything one job's run needs, resolved once; attempts reuse it."""

    def __init__(self, job: Job, registry: Registry, redactor: Redactor) -> None:
        self.job = job
        resolver = Resolver(job.base_dir)
        self.tap_config = resolve_endpoint_config(job, "source", resolver)
        self.target_config = resolve_endpoint_config(job, "target", resolver)
        self.tap: ConnectorEntry = connector_for(job.source.ref, registry, role="source")
        self.target: ConnectorEntry = connector_for(job.target.ref, registry, role="target")
        self.store = state_store(job, resolver)
        secrets = set(resolver.secrets)
        secrets |= collect_secrets(self.tap_config, extra_keys=self.tap.secret_fields)
        secrets |= collect_secrets(self.target_config, extra_keys=self.target.secret_fields)
        secrets |= collect_secrets({"backend": job.state_backend, "options": job.state.options})
        redactor.add(secrets)
        self.redactor = redactor

    def catalog(
        self, rundir: RunDir, config: Path, state: Mapping[str, Any] | None
    ) -> dict[str, Any] | None:
        streams = self.job.streams
        if streams.catalog is not None:
            raw = read_config_file(self.job.path(streams.catalog), "streams.catalog")
        elif "discover" in self.tap.capabilities:
            raw = discover_catalog(
                self.tap,
                config,
                state,
                rundir=rundir,
                cwd=self.job.base_dir,
                timeout=self.job.timeouts.discover,
                redactor=self.redactor,
            )
        else:
            if streams.select or streams.metadata:
                self.tap.require("discover")
            return None
        return apply_selection(raw, streams.select, streams.metadata)

    def legs(self, rundir: RunDir, state: Mapping[str, Any] | None) -> tuple[Leg, Leg, Leg | None]:
        tap_config = rundir.write_json("tap-config.json", self.tap_config)
        catalog = self.catalog(rundir, tap_config, state)
        target_config = rundir.write_json("target-config.json", self.target_config)
        catalog_path = rundir.write_json("catalog.json", catalog) if catalog is not None else None
        state_path = None
        if state:
            if "state" in self.tap.capabilities:
                state_path = rundir.write_json("state.json", state)
            else:
                log.warning(
                    "%s does not declare the `state` capability; running without state",
                    self.tap.ref,
                )
        tap_inv = invocation(
            self.tap, "read", config=tap_config, catalog=catalog_path, state=state_path
        )
        target_inv = invocation(self.target, "write", config=target_config)
        env = rundir.env()
        tap = Leg(
            "tap",
            self.job.source.short_name,
            tap_inv.argv,
            {**tap_inv.env, **env},
            tap_inv.cwd or self.job.base_dir,
        )
        target = Leg(
            "target",
            self.job.target.short_name,
            target_inv.argv,
            {**target_inv.env, **env},
            target_inv.cwd or self.job.base_dir,
        )
        mapper = None
        if self.job.stream_maps:
            inv = mapper_invocation(self.job.stream_maps, self.job.stream_map_config, rundir.path)
            mapper = Leg(
                "mapper", "stream-maps", inv.argv, {**inv.env, **env}, inv.cwd or self.job.base_dir
            )
        return tap, target, mapper


def _backoff(job: Job, attempt: int) -> float:
    base = job.retries.backoff * float(2 ** (attempt - 1))
    jitter: float = random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not crypto
    return min(job.retries.max_backoff, base) * jitter


def run_job(
    job: Job,
    *,
    full_refresh: bool = False,
    registry: Registry | None = None,
    stop: StopRequest | None = None,
    redactor: Redactor | None = None,
    echo: Callable[[str], None] | None = None,
    on_progress: ProgressCallback | None = None,
) -> RunSummary:
    """Run ``job`` to completion (with retries for transient failures); never raises DativoError.

    Check ``summary.ok`` or call ``summary.raise_for_status()``.
    """
    started = time.monotonic()
    stop = stop or StopRequest()
    redactor = redactor if redactor is not None else Redactor()
    summary = RunSummary(job=job.name, state_id=job.state_id, state_backend=job.state_backend)
    try:
        run = _Run(job, registry or Registry.load(), redactor)
        summary.state_backend = run.store.url
        try:
            with run.store.lock(job.state_id):
                _attempts(run, summary, full_refresh, stop, redactor, echo, on_progress)
        finally:
            run.store.close()
    except DativoError as exc:
        summary.fail(exc)
    summary.duration_s = time.monotonic() - started
    return summary


def _attempts(
    run: _Run,
    summary: RunSummary,
    full_refresh: bool,
    stop: StopRequest,
    redactor: Redactor,
    echo: Callable[[str], None] | None,
    on_progress: ProgressCallback | None,
) -> None:
    job = run.job
    sweep_stale()
    for attempt in range(1, job.retries.attempts + 1):
        summary.attempts = attempt
        ignore_stored = full_refresh and summary.states_stored == 0
        state = None if ignore_stored else run.store.get(job.state_id)
        summary.final_state = state
        error: DativoError | None
        try:
            with RunDir() as rundir:
                tap, target, mapper = run.legs(rundir, state)
                pipeline = Pipeline(
                    tap,
                    target,
                    mapper=mapper,
                    store=run.store,
                    state_id=job.state_id,
                    redactor=redactor,
                    limits=Limits(job.timeouts.run, job.timeouts.idle, job.timeouts.stop),
                    stop=stop,
                    echo=echo,
                    on_progress=(lambda p: on_progress(job.name, p)) if on_progress else None,
                )
                result = pipeline.run()
            summary.pipeline_s += result.duration
            summary.messages += result.scan.lines
            summary.bytes += result.scan.byte_count
            summary.states_stored += result.states_stored
            if result.states_stored:
                summary.final_state = result.last_stored
            summary.add_counts("extracted", result.extracted)
            summary.add_counts("loaded", result.loaded)
            error = result.error
        except DativoError as exc:
            error = exc
        if error is None:
            summary.error = None
            summary.status = "succeeded"
            return
        summary.fail(error)
        if not error.retriable or attempt == job.retries.attempts or stop.requested:
            return
        delay = _backoff(job, attempt)
        log.warning(
            "attempt %d of %s failed (%s); retrying in %.1fs",
            attempt,
            job.name,
            error.message.splitlines()[0],
            delay,
        )
        if stop.event.wait(delay):
            summary.fail(Interrupted("stopped by a signal while waiting to retry"))
            return


def run_jobs(
    jobs: Sequence[Job],
    *,
    parallel: int = 1,
    full_refresh: bool = False,
    registry: Registry | None = None,
    stop: StopRequest | None = None,
    redactor: Redactor | None = None,
    echo: Callable[[str], None] | None = None,
    on_progress: ProgressCallback | None = None,
) -> list[RunSummary]:
    """Run several jobs, at most ``parallel`` at a time; summaries in the order of ``jobs``."""
    stop = stop or StopRequest()
    registry = registry or Registry.load()
    redactor = redactor if redactor is not None else Redactor()

    def one(job: Job) -> RunSummary:
        if stop.requested:
            summary = RunSummary(
                job=job.name, state_id=job.state_id, state_backend=job.state_backend
            )
            summary.fail(Interrupted("not started: stopped by a signal"))
            return summary
        return run_job(
            job,
            full_refresh=full_refresh,
            registry=registry,
            stop=stop,
            redactor=redactor,
            echo=echo,
            on_progress=on_progress,
        )

    if parallel <= 1 or len(jobs) <= 1:
        return [one(job) for job in jobs]
    with ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="dativo-job") as pool:
        return list(pool.map(one, jobs))
