"""``dativo state show|set|clear|list``: read and change the stored state of a job."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from dativo_protocol import codec
from dativo_protocol.errors import UsageError
from dativo_protocol.runner.context import AppContext
from dativo_protocol.runner.output import Output

_BACKEND = click.option(
    "--backend", help="State backend URL (default: the job's, or .dativo/state)."
)
_JSON = click.option("--json", "json_output", is_flag=True, help="Machine-readable JSON output.")


def _job(target: str, backend: str | None) -> Any:
    """A job file, or a bare state id (then --backend or the default local folder)."""
    from dativo_protocol.runner import api
    from dativo_protocol.runner.jobs import job_from_dict

    path = Path(target)
    if path.suffix in (".yaml", ".yml"):
        job = api.load_job(path)
        if backend:
            job = job.model_copy(
                update={"state": job.state.model_copy(update={"backend": backend})}
            )
        return job
    return job_from_dict(
        {
            "source": {"command": "none"},
            "target": {"command": "none"},
            "state": {"backend": backend, "id": target},
        },
        source="command line",
        base_dir=Path.cwd(),
        name=target,
    )


@click.group("state")
def command() -> None:
    """Read and change stored state (Meltano's {"singer_state": ...} shape).

    JOB is a job file (its state backend and id) or a state id (with --backend).
    """


@command.command("show")
@click.argument("job")
@_BACKEND
@_JSON
@click.pass_obj
def show(app: AppContext, job: str, backend: str | None, json_output: bool) -> None:
    """Print the stored state of JOB as {"singer_state": ...}."""
    from dativo_protocol.runner import api

    loaded = _job(job, backend)
    value = api.get_state(loaded)
    output = Output(as_json=True, redactor=app.redactor)
    output.result({"singer_state": value} if value is not None else {}, codec.dumps_pretty)
    if value is None:
        output.info(f"no state stored for {loaded.state_id!r}")


@command.command("set")
@click.argument("job")
@click.argument("state", required=False)
@click.option(
    "--file", "state_file", type=click.File("rb"), help="Read the state from a file ('-': stdin)."
)
@_BACKEND
@_JSON
@click.pass_obj
def set_(
    app: AppContext,
    job: str,
    state: str | None,
    state_file: Any,
    backend: str | None,
    json_output: bool,
) -> None:
    """Store STATE (JSON: {"singer_state": ...}, Meltano's document, or a bare value) for JOB."""
    from dativo_protocol.runner import api
    from dativo_protocol.runner.state_store import parse_state_input

    if (state is None) == (state_file is None):
        raise UsageError("give the state as an argument or with --file")
    raw = state.encode() if state is not None else state_file.read()
    value = parse_state_input(raw, "state")
    loaded = _job(job, backend)
    api.set_state(loaded, value)
    Output(as_json=app.json_output or json_output, redactor=app.redactor).result(
        {"state_id": loaded.state_id, "stored": True},
        lambda d: f"stored state for {d['state_id']!r}",
    )


@command.command("clear")
@click.argument("job")
@_BACKEND
@_JSON
@click.pass_obj
def clear(app: AppContext, job: str, backend: str | None, json_output: bool) -> None:
    """Forget the stored state of JOB (its next run starts from scratch)."""
    from dativo_protocol.runner import api

    loaded = _job(job, backend)
    cleared = api.clear_state(loaded)
    Output(as_json=app.json_output or json_output, redactor=app.redactor).result(
        {"state_id": loaded.state_id, "cleared": cleared},
        lambda d: (
            f"cleared state {d['state_id']!r}"
            if d["cleared"]
            else f"no state for {d['state_id']!r}"
        ),
    )


@command.command("list")
@_BACKEND
@_JSON
@click.pass_obj
def list_(app: AppContext, backend: str | None, json_output: bool) -> None:
    """List the state ids stored in a backend."""
    from dativo_protocol.runner.state_store import open_store

    store = open_store(backend)
    try:
        ids = store.ids()
    finally:
        store.close()
    Output(as_json=app.json_output or json_output, redactor=app.redactor).result(
        {"backend": store.url, "state_ids": ids}, lambda d: "\n".join(d["state_ids"])
    )
