"""The four things tap-airbyte does with a connector: spec, check, discover, read.

``read`` streams the connector's stdout through the core's
:class:`~dativo_protocol.airbyte.to_singer.AirbyteToSinger` (orjson, one dict per record, no
pydantic per record) onto our stdout. A STATE goes out exactly where the connector put it, after
the records before it, and stdout is flushed at every STATE; whatever fails (the connector dies,
reports a TRACE ERROR, writes a malformed message), nothing after the failure is emitted.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from dativo_adapters.airbyte.child import Connector, Workspace, run_to_end, workspace
from dativo_adapters.airbyte.settings import Settings
from dativo_protocol import codec
from dativo_protocol.airbyte.state import airbyte_states_from_file_value
from dativo_protocol.catalog.airbyte import (
    AirbyteCatalog,
    ConfiguredAirbyteCatalog,
    load_airbyte_catalog,
)
from dativo_protocol.catalog.convert import configured_from_singer, singer_from_airbyte
from dativo_protocol.catalog.select import select
from dativo_protocol.catalog.singer import load_singer_catalog
from dativo_protocol.errors import (
    ConfigError,
    ConnectorError,
    DativoError,
    Interrupted,
    ProtocolError,
)
from dativo_protocol.redact import Redactor, collect_secrets

log = logging.getLogger("dativo.airbyte")


def _messages(stdout: bytes) -> Iterator[dict[str, Any]]:
    """The Airbyte messages of a short command's output (other lines are ignored)."""
    for line in stdout.splitlines():
        if not line.startswith(b"{"):
            continue
        try:
            doc = codec.loads(line)
        except codec.JSONDecodeError:
            continue
        if isinstance(doc, dict) and isinstance(doc.get("type"), str):
            yield doc


def _command(settings: Settings, redactor: Redactor, action: str) -> dict[str, Any]:
    """Run ``action`` (spec/check/discover) and return the one message it answers with."""
    wanted = {"spec": "SPEC", "check": "CONNECTION_STATUS", "discover": "CATALOG"}[action]
    with workspace() as ws:
        args = [action]
        if action != "spec":
            args += ["--config", str(ws.write("config.json", settings.connector_config))]
        stdout, failure = run_to_end([*settings.argv, *args], ws, redactor, settings.name)
    answer: dict[str, Any] | None = None
    errors: list[str] = []
    for message in _messages(stdout):
        if message["type"] == wanted:
            answer = message
        elif message["type"] == "LOG" and isinstance(message.get("log"), dict):
            log.debug("%s: %s", settings.name, message["log"].get("message"))
        elif message["type"] == "TRACE" and (message.get("trace") or {}).get("type") == "ERROR":
            error = message["trace"].get("error") or {}
            errors.append(str(error.get("message") or "no message"))
    if errors:  # never internal_message or the stack trace: they may hold secrets
        raise ConnectorError(f"{settings.name} {action} failed: {errors[0]}")
    if failure is not None:
        raise failure
    if answer is None:
        raise ProtocolError(f"{settings.name} {action} printed no {wanted} message")
    return answer


def spec(settings: Settings, redactor: Redactor) -> dict[str, Any]:
    """The connector's Airbyte SPEC (``connectionSpecification`` and friends)."""
    payload = _command(settings, redactor, "spec").get("spec")
    if not isinstance(payload, dict):
        raise ProtocolError(f"the SPEC of {settings.name} has no 'spec' object")
    return payload


def check(settings: Settings, redactor: Redactor) -> dict[str, Any]:
    """The connector's CONNECTION_STATUS message (``{"status": ..., "message": ...}`` inside)."""
    message = _command(settings, redactor, "check")
    status = message.get("connectionStatus")
    if not isinstance(status, dict) or status.get("status") not in ("SUCCEEDED", "FAILED"):
        raise ProtocolError(f"the CONNECTION_STATUS of {settings.name} has no valid status")
    return message


def airbyte_catalog(settings: Settings, redactor: Redactor) -> AirbyteCatalog:
    found = load_airbyte_catalog(_command(settings, redactor, "discover").get("catalog"))
    if not isinstance(found, AirbyteCatalog):
        raise ProtocolError(f"{settings.name} discover returned a configured catalog")
    return found


def discover(settings: Settings, redactor: Redactor) -> dict[str, Any]:
    """The Singer catalog of the connector's streams (nothing selected)."""
    return singer_from_airbyte(airbyte_catalog(settings, redactor)).to_dict()


def configured_catalog(
    settings: Settings, redactor: Redactor, catalog: Path | None
) -> ConfiguredAirbyteCatalog:
    """The selected streams of a Singer catalog file, or every discovered stream without one."""
    if catalog is None:
        singer = select(singer_from_airbyte(airbyte_catalog(settings, redactor)), ["*"])
    else:
        singer = load_singer_catalog(codec.load_object_file(catalog, "catalog"))
    configured = configured_from_singer(singer)
    if not configured.streams:
        raise ConfigError(
            f"the catalog {catalog} selects no stream",
            hint='mark streams with "selected": true in their metadata',
        )
    return configured


def initial_state(state: Path | None) -> list[dict[str, Any]]:
    """The Airbyte ``--state`` list from a Singer state file (empty for none or ``{}``)."""
    if state is None:
        return []
    try:
        value = codec.loads(state.read_bytes())
    except (OSError, codec.JSONDecodeError) as exc:
        raise ConfigError(f"state file {state} cannot be read as JSON ({exc})") from None
    if not value:
        return []
    return airbyte_states_from_file_value(value)


def read(
    settings: Settings,
    redactor: Redactor,
    sink: BinaryIO,
    *,
    catalog: Path | None,
    state: Path | None,
) -> None:
    """Run the connector's ``read`` and write its messages as Singer to ``sink``."""
    from dativo_protocol.airbyte.pipe import airbyte_to_singer
    from dativo_protocol.airbyte.to_singer import AirbyteToSinger

    configured = configured_catalog(settings, redactor, catalog)
    states = initial_state(state)

    def on_control(config: dict[str, Any]) -> None:
        # a rotated token is a secret from now on
        redactor.add(collect_secrets(config, extra_keys=settings.secret_fields))
        log.warning(
            "%s sent an updated config (CONTROL CONNECTOR_CONFIG); tap-airbyte does not "
            "persist it: update connector_config yourself",
            settings.name,
        )

    converter = AirbyteToSinger(configured, initial_state=states, on_control=on_control)
    with workspace() as ws:
        connector = _start_read(settings, redactor, ws, configured, states)
        try:
            airbyte_to_singer(connector.stdout, sink, converter)
        except DativoError as exc:
            connector.stop()  # it may still be writing; its own exit status is not the news
            died = connector.close()
            raise _worse(died, exc) from None
        except BaseException:
            connector.stop()
            connector.close()
            raise
        died = connector.close()
        if died is not None:
            raise died


def _start_read(
    settings: Settings,
    redactor: Redactor,
    ws: Workspace,
    configured: ConfiguredAirbyteCatalog,
    states: list[dict[str, Any]],
) -> Connector:
    args = [
        "read",
        "--config",
        str(ws.write("config.json", settings.connector_config)),
        "--catalog",
        str(ws.write("catalog.json", configured.to_dict())),
    ]
    if states:
        args += ["--state", str(ws.write("state.json", states))]
    return Connector([*settings.argv, *args], ws, redactor, settings.name)


def _worse(died: ConnectorError | None, exc: DativoError) -> DativoError:
    """A connector that died explains a truncated or broken stream better than the symptom."""
    if died is None or isinstance(exc, Interrupted):
        return exc
    return ConnectorError(f"{died.message} (then: {exc.user_message()})")
