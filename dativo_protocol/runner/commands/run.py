"""``dativo run``: run job files (or an inline tap/target pair) and keep their state."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from dativo_protocol.errors import UsageError
from dativo_protocol.runner.context import AppContext
from dativo_protocol.runner.output import Output


@click.command("run")
@click.argument("jobs", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--tap", help="Inline form: the tap, a registry name[@version] or a command.")
@click.option(
    "--tap-config", type=click.Path(dir_okay=False, path_type=Path), help="Config file of --tap."
)
@click.option("--target", help="Inline form: the target, a registry name[@version] or a command.")
@click.option(
    "--target-config",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Config file of --target.",
)
@click.option("--select", multiple=True, help="Inline form: stream selection pattern (repeatable).")
@click.option(
    "--state-backend", help="State backend URL (overrides the job's); default .dativo/state."
)
@click.option("--state-id", help="Inline form: the state id (default dativo:<tap>-to-<target>).")
@click.option(
    "--parallel", default=1, show_default=True, type=click.IntRange(1, 64), help="Jobs run at once."
)
@click.option("--full-refresh", is_flag=True, help="Ignore stored state: extract everything again.")
@click.option("--json", "json_output", is_flag=True, help="Print the run summary as JSON.")
@click.pass_obj
def command(
    app: AppContext,
    jobs: tuple[Path, ...],
    tap: str | None,
    tap_config: Path | None,
    target: str | None,
    target_config: Path | None,
    select: tuple[str, ...],
    state_backend: str | None,
    state_id: str | None,
    parallel: int,
    full_refresh: bool,
    json_output: bool,
) -> None:
    """Run JOBS (YAML job files), or one inline tap -> target pair.

    The tap's output goes to the target through an OS pipe; each STATE the target
    acknowledges is stored as it arrives, and the next run resumes from it. A run succeeds only
    when both sides exit cleanly and the target acknowledged the tap's last STATE.

    \b
    Examples:
      dativo run examples/demo/job.yaml
      dativo run a.yaml b.yaml --parallel 2 --json
      dativo run --tap tap-csv --tap-config tap.json --target target-parquet --target-config t.json
    """
    from dativo_protocol.runner import api
    from dativo_protocol.runner.progress import ProgressLine

    app.json_output = app.json_output or json_output
    inline = tap is not None or target is not None
    if inline and jobs:
        raise UsageError("give job files or --tap/--target, not both")
    if inline and (tap is None or target is None):
        raise UsageError("the inline form needs both --tap and --target")
    if not inline and not jobs:
        raise UsageError("give at least one job file, or --tap and --target")
    if not inline and (tap_config or target_config or select or state_id):
        raise UsageError(
            "--tap-config, --target-config, --select and --state-id belong to the inline form"
        )

    if tap is not None and target is not None:
        loaded = [
            api.inline_job(
                tap,
                target,
                tap_config=tap_config,
                target_config=target_config,
                state_backend=state_backend,
                state_id=state_id,
                select=select,
            )
        ]
    else:
        loaded = [api.load_job(path) for path in jobs]
        if state_backend:
            loaded = [
                j.model_copy(
                    update={"state": j.state.model_copy(update={"backend": state_backend})}
                )
                for j in loaded
            ]

    output = Output(as_json=app.json_output, redactor=app.redactor)
    progress = ProgressLine()
    progress.enabled = progress.enabled and not app.json_output
    echo = output.info if app.verbose else None
    stop = api.StopRequest()
    with api.handle_signals(stop):
        summaries = api.run_jobs(
            loaded,
            parallel=parallel,
            full_refresh=full_refresh,
            stop=stop,
            redactor=app.redactor,
            echo=echo,
            on_progress=progress,
        )
    progress.done()
    data: dict[str, Any] = {
        "ok": all(s.ok for s in summaries),
        "runs": [s.to_dict() for s in summaries],
    }
    output.result(data, lambda _: "\n".join(s.render_text() for s in summaries))
    for summary in summaries:
        summary.raise_for_status()
