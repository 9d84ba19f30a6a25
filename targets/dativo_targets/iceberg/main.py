"""The ``target-iceberg`` console script.

Loading is the kit's Singer target CLI. Two maintenance modes wrap it (the kit has no hook for
extra commands): ``--recover-state`` prints the last Singer state committed to the tables
(one JSON line; nothing if there is none), ``--expire-snapshots`` expires old snapshots of every
table in the namespace. Both take the same ``--config`` options.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any, BinaryIO, NoReturn, TextIO

from dativo_protocol import __version__, codec
from dativo_protocol.errors import DativoError, ExitCode, UsageError
from dativo_protocol.log import configure_logging
from dativo_protocol.redact import Redactor, redactor_for
from dativo_targets.iceberg.settings import IcebergSettings
from dativo_targets.kit.cli import TargetApp, target_main
from dativo_targets.kit.settings import build_settings, read_configs, secret_fields
from dativo_targets.kit.sink import Sink

ADMIN_FLAGS = ("--recover-state", "--expire-snapshots")


def _sink(settings: IcebergSettings, redactor: Redactor) -> Sink:
    from dativo_targets.iceberg.sink import IcebergSink

    return IcebergSink(settings)  # opens the catalog in the background while parsing starts


APP = TargetApp(
    name="target-iceberg",
    description="Writes Singer streams to Apache Iceberg tables (PyIceberg catalogs: SQLite, "
    "PostgreSQL, REST, Glue, Hive), one commit per checkpoint with the STATE in the snapshot. "
    "Also: --recover-state prints the last committed state, --expire-snapshots expires old "
    "snapshots.",
    version=__version__,
    settings_model=IcebergSettings,
    make_sink=_sink,
)

_load = target_main(APP)


def _configs(argv: Sequence[str]) -> list[str]:
    configs, rest = [], list(argv)
    while rest:
        arg = rest.pop(0)
        if arg == "--config" and rest:
            configs.append(rest.pop(0))
        elif arg.startswith("--config="):
            configs.append(arg.split("=", 1)[1])
        else:
            raise UsageError(f"unexpected argument {arg!r} (maintenance modes take --config only)")
    if not configs:
        raise UsageError("--config is required (a JSON file, or ENV)")
    return configs


def run_admin(
    flag: str, argv: Sequence[str], *, stdout: BinaryIO, stderr: TextIO, environ: Mapping[str, str]
) -> int:
    """``--recover-state`` / ``--expire-snapshots``; returns the exit code (errors reported here)."""
    redactor = Redactor()
    try:
        raw = read_configs(_configs(argv), IcebergSettings, APP.env_prefix, environ)
        redactor = redactor_for([raw], extra_keys=secret_fields(IcebergSettings))
        settings = build_settings(IcebergSettings, raw)
        configure_logging(redactor, level=settings.log_level, stream=stderr)
        from dativo_targets.iceberg import admin

        result: Any
        if flag == "--recover-state":
            result = admin.recovered_state(settings)
            if result is not None:
                stdout.write(codec.dumps_line(result))
        else:
            for expired in admin.expire_all(settings):
                stdout.write(
                    codec.dumps_line(
                        {
                            "table": expired.table,
                            "expired": expired.expired,
                            "kept": expired.kept,
                            "files_deleted": expired.files_deleted,
                        }
                    )
                )
        return int(ExitCode.OK)
    except DativoError as exc:
        stderr.write(redactor.redact(f"{APP.name}: error: {exc.user_message()}") + "\n")
        return int(exc.exit_code)
    except Exception as exc:  # noqa: BLE001 - the process edge: anything else is exit 1
        stderr.write(f"{APP.name}: error: internal error ({type(exc).__name__})\n")
        return int(ExitCode.INTERNAL)


def main() -> NoReturn:
    argv = sys.argv[1:]
    flag = next((a for a in argv if a in ADMIN_FLAGS), None)
    if flag is None:
        _load()
    rest = [a for a in argv if a != flag]
    code = run_admin(flag, rest, stdout=sys.stdout.buffer, stderr=sys.stderr, environ=os.environ)
    sys.stdout.flush()
    sys.exit(code)
