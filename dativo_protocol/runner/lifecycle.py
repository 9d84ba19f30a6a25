"""Uniform spec / check / discover for every engine (see docs/connectors.md).

- spec: the connector's ``--spec`` (Dativo connectors), else the ``settings`` of
  ``--about --format json`` (singer-sdk connectors), else the registry's ``config_schema``;
  always returned as an Airbyte-style SPEC with ``airbyte_secret`` on secret fields.
- check: ``--check`` (Dativo), else singer-sdk's ``--test`` when declared, else a discovery run
  (sources); a target without a check gets its config validated against its spec. Expected
  failures come back as ``CheckResult(ok=False, message=<one redacted line>)``.
- discover: ``--discover``, parsed and validated as a Singer catalog.

Every run gets a private temp dir (config files mode 0600, ``TMPDIR`` pointed there) that is
wiped afterwards; everything a connector prints is redacted before it reaches a message.
"""

from __future__ import annotations

import contextlib
import copy
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dativo_protocol import codec
from dativo_protocol.errors import ConfigError, ConnectorError, ProtocolError
from dativo_protocol.redact import Redactor, is_marked_secret, redactor_for, walk_properties
from dativo_protocol.runner.catalog_check import validate_catalog
from dativo_protocol.runner.launch import Action, Invocation, invocation
from dativo_protocol.runner.reason import one_line_reason
from dativo_protocol.runner.registry import ConnectorEntry

SPEC_TIMEOUT = 120.0
CHECK_TIMEOUT = 180.0
DISCOVER_TIMEOUT = 900.0


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    message: str

    def to_dict(self) -> dict[str, Any]:
        """The Airbyte CONNECTION_STATUS shape."""
        return {"status": "SUCCEEDED" if self.ok else "FAILED", "message": self.message}


@dataclass(frozen=True)
class Completed:
    returncode: int
    stdout: str
    stderr: str


# ------------------------------------------------------------------------------ processes
@contextlib.contextmanager
def private_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="dativo-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def run_invocation(
    entry: ConnectorEntry, inv: Invocation, *, workdir: Path, timeout: float
) -> Completed:
    """Run to completion in its own process group; on timeout the whole group is killed."""
    env = {**inv.env, "TMPDIR": str(workdir)}
    try:
        proc = subprocess.Popen(
            list(inv.argv),
            env=env,
            cwd=inv.cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except FileNotFoundError:
        raise ConfigError(f"cannot start {entry.ref}: program not found: {inv.argv[0]}") from None
    except PermissionError:
        raise ConfigError(f"cannot start {entry.ref}: not executable: {inv.argv[0]}") from None
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        raise ConnectorError(f"{entry.ref} did not finish within {timeout:g}s") from None
    except BaseException:  # interrupted: leave no process behind
        _kill_group(proc)
        raise
    finally:
        _kill_group(proc, only_children=True)
    return Completed(
        proc.returncode,
        stdout.decode("utf-8", "replace"),
        stderr.decode("utf-8", "replace"),
    )


def _kill_group(proc: subprocess.Popen[bytes], *, only_children: bool = False) -> None:
    """SIGKILL the process group of ``proc`` (its leftovers when it already exited)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    if not only_children:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.communicate(timeout=5)


def _run_action(
    entry: ConnectorEntry,
    action: Action,
    *,
    config: Mapping[str, Any] | None,
    state: Mapping[str, Any] | None = None,
    timeout: float,
) -> Completed:
    with private_dir() as workdir:
        config_path = (
            codec.write_private(workdir / "config.json", config) if config is not None else None
        )
        state_path = (
            codec.write_private(workdir / "state.json", state) if state is not None else None
        )
        inv = invocation(entry, action, config=config_path, state=state_path)
        return run_invocation(entry, inv, workdir=workdir, timeout=timeout)


def redactor_for_entry(entry: ConnectorEntry, config: Mapping[str, Any] | None) -> Redactor:
    return redactor_for([config or {}], None, entry.secret_fields)


def _failure(
    entry: ConnectorEntry, what: str, done: Completed, redactor: Redactor
) -> ConnectorError:
    reason = redactor.redact(one_line_reason(done.stderr, done.stdout))
    return ConnectorError(
        f"{what} of {entry.ref} failed (exit code {done.returncode}): {reason}",
        detail=redactor.redact(done.stderr[-4000:]),
    )


def _parse_json(entry: ConnectorEntry, what: str, text: str) -> Any:
    try:
        return codec.loads(text)
    except codec.JSONDecodeError as exc:
        pass_exc = exc
    # tolerate log lines on stdout: take the last line that is a JSON object
    for line in reversed(text.splitlines()):
        if line.lstrip().startswith("{"):
            try:
                return codec.loads(line)
            except codec.JSONDecodeError:
                continue
    raise ProtocolError(
        f"{what} output of {entry.ref} is not JSON: {codec.describe_decode_error(pass_exc)}"
    )


# ----------------------------------------------------------------------------------- spec
def config_schema(entry: ConnectorEntry) -> tuple[dict[str, Any], str]:
    """The connector's config JSON Schema and where it came from (spec, about, registry)."""
    if entry.has("spec"):
        done = _run_action(entry, "spec", config=None, timeout=SPEC_TIMEOUT)
        if done.returncode != 0:
            raise _failure(entry, "--spec", done, Redactor())
        return _schema_from_spec_output(entry, _parse_json(entry, "--spec", done.stdout)), "spec"
    if entry.has("about"):
        done = _run_action(entry, "about", config=None, timeout=SPEC_TIMEOUT)
        if done.returncode != 0:
            raise _failure(entry, "--about", done, Redactor())
        about = _parse_json(entry, "--about", done.stdout)
        settings = about.get("settings") if isinstance(about, Mapping) else None
        if isinstance(settings, Mapping):
            return dict(settings), "about"
        if not entry.config_schema:
            raise ProtocolError(f"--about output of {entry.ref} has no 'settings' schema")
    if entry.config_schema:
        return load_schema_file(entry, entry.config_schema), "registry"
    if entry.engine == "command" and not entry.has("about"):
        # an ad-hoc command declares nothing: many Singer connectors answer --about anyway
        done = _run_action(entry, "about", config=None, timeout=SPEC_TIMEOUT)
        about = _parse_json_or_none(done.stdout) if done.returncode == 0 else None
        settings = about.get("settings") if isinstance(about, Mapping) else None
        if isinstance(settings, Mapping):
            return dict(settings), "about"
    raise ConfigError(
        f"no config schema for {entry.ref}: it declares neither 'spec' nor 'about' and its "
        "registry entry has no config_schema",
        hint="add config_schema to the registry entry",
    )


def _parse_json_or_none(text: str) -> Any:
    try:
        return codec.loads(text)
    except codec.JSONDecodeError:
        return None


def _schema_from_spec_output(entry: ConnectorEntry, doc: Any) -> dict[str, Any]:
    if (
        isinstance(doc, Mapping)
        and doc.get("type") == "SPEC"
        and isinstance(doc.get("spec"), Mapping)
    ):
        doc = doc["spec"]
    if isinstance(doc, Mapping) and isinstance(doc.get("connectionSpecification"), Mapping):
        return dict(doc["connectionSpecification"])
    if isinstance(doc, Mapping) and ("properties" in doc or doc.get("type") == "object"):
        return dict(doc)
    raise ProtocolError(
        f"--spec output of {entry.ref} is neither a JSON Schema nor an Airbyte SPEC"
    )


def load_schema_file(entry: ConnectorEntry, ref: str) -> dict[str, Any]:
    path = Path(ref.removeprefix("file://"))
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"config_schema of {entry.ref} cannot be read: {exc.strerror}: {path}"
        ) from None
    try:
        if path.suffix in (".yaml", ".yml"):
            import yaml

            doc = yaml.safe_load(text)
        else:
            doc = codec.loads(text)
    except Exception as exc:  # noqa: BLE001 - any parse error is a config error here
        raise ConfigError(
            f"config_schema of {entry.ref} is not valid JSON/YAML: {type(exc).__name__}"
        ) from None
    if not isinstance(doc, Mapping):
        raise ConfigError(f"config_schema of {entry.ref} is not a JSON Schema object")
    return dict(doc)


def mark_secrets(schema: Mapping[str, Any], secret_fields: tuple[str, ...]) -> dict[str, Any]:
    """A copy of ``schema`` with ``airbyte_secret: true`` on every secret property."""
    out = copy.deepcopy(dict(schema))
    wanted = set(secret_fields)
    for name, sub in walk_properties(out):
        if isinstance(sub, dict) and (name in wanted or is_marked_secret(sub)):
            sub["airbyte_secret"] = True
    return out


def spec(entry: ConnectorEntry) -> dict[str, Any]:
    """The Airbyte-style SPEC of ``entry``: ``{documentationUrl?, connectionSpecification, ...}``."""
    schema, _source = config_schema(entry)
    connection = mark_secrets(schema, entry.secret_fields)
    connection.setdefault("$schema", "http://json-schema.org/draft-07/schema#")
    connection.setdefault("type", "object")
    out: dict[str, Any] = {"connectionSpecification": connection}
    if entry.documentation_url:
        out["documentationUrl"] = entry.documentation_url
    if entry.role == "source":
        out["supportsIncremental"] = entry.has("incremental") or entry.has("state")
    return out


# ---------------------------------------------------------------------------------- check
def check(
    entry: ConnectorEntry, config: Mapping[str, Any], *, timeout: float = CHECK_TIMEOUT
) -> CheckResult:
    """Can ``entry`` connect with ``config``? Expected failures return ``ok=False``.

    A check that does not finish within ``timeout`` seconds fails (the process is killed).
    """
    redactor = redactor_for_entry(entry, config)
    if not entry.has("check") and not entry.has("test") and entry.role == "target":
        return _validate_config_only(entry, config, redactor)
    try:
        done = _run_action(entry, "check", config=config, timeout=timeout)
    except ConnectorError as exc:  # timed out
        return CheckResult(False, redactor.redact(exc.message))
    status = connection_status(done.stdout)
    if status is not None:  # Dativo --check / Airbyte style: the status decides, with the exit code
        ok, message = status
        ok = ok and done.returncode == 0
        if not message:
            message = "connection succeeded" if ok else one_line_reason(done.stderr)
        return CheckResult(ok, redactor.redact(_one_line(message)))
    if done.returncode != 0:
        return CheckResult(False, redactor.redact(one_line_reason(done.stderr, done.stdout)))
    if entry.has("check"):
        message = "connection succeeded"
    elif entry.has("test"):
        message = "test sync succeeded (--test)"
    else:
        try:
            catalog = validate_catalog(
                _parse_json(entry, "--discover", done.stdout), source=entry.ref
            )
        except (ProtocolError, ConfigError) as exc:
            return CheckResult(False, redactor.redact(exc.message))
        message = f"discovery succeeded: {len(catalog['streams'])} streams"
    return CheckResult(True, redactor.redact(message))


def _one_line(text: str) -> str:
    one = " ".join(text.split())
    return one if len(one) <= 300 else one[:297] + "..."


def connection_status(stdout: str) -> tuple[bool, str] | None:
    """The last CONNECTION_STATUS on stdout (Airbyte message or bare ``{status, message}``)."""
    for line in reversed(stdout.splitlines()):
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            doc = codec.loads(line)
        except codec.JSONDecodeError:
            continue
        if not isinstance(doc, Mapping):
            continue
        status = doc.get("connectionStatus") if doc.get("type") == "CONNECTION_STATUS" else doc
        if isinstance(status, Mapping) and status.get("status") in ("SUCCEEDED", "FAILED"):
            return status["status"] == "SUCCEEDED", str(status.get("message") or "")
    return None


def _validate_config_only(
    entry: ConnectorEntry, config: Mapping[str, Any], redactor: Redactor
) -> CheckResult:
    import jsonschema

    schema, _ = config_schema(entry)
    validator_cls = jsonschema.validators.validator_for(schema)
    errors = sorted(validator_cls(schema).iter_errors(dict(config)), key=lambda e: list(e.path))
    if errors:
        first = errors[0]
        where = ".".join(str(p) for p in first.path) or "config"
        return CheckResult(
            False, redactor.redact(f"invalid config: {where}: {first.message}"[:300])
        )
    return CheckResult(
        True, f"config is valid ({entry.ref} offers no connection check; nothing was contacted)"
    )


# ------------------------------------------------------------------------------- discover
def discover(
    entry: ConnectorEntry,
    config: Mapping[str, Any],
    state: Mapping[str, Any] | None = None,
    *,
    timeout: float = DISCOVER_TIMEOUT,
) -> dict[str, Any]:
    """Run discovery and return the validated Singer catalog (ConnectorError after ``timeout``)."""
    redactor = redactor_for_entry(entry, config)
    done = _run_action(entry, "discover", config=config, state=state, timeout=timeout)
    if done.returncode != 0:
        raise _failure(entry, "discovery", done, redactor)
    return validate_catalog(_parse_json(entry, "--discover", done.stdout), source=entry.ref)
