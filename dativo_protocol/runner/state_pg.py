"""PostgreSQL state backend: one row per state id, written by a single autocommitted upsert.

Columns follow Meltano's system-database ``state`` table (``state_id``, ``completed_state``,
``partial_state``, ``updated_at``). The table (default ``dativo_state``; ``?table=name`` or
``?table=schema.name`` in the URL) is created on first use. A run holds a session advisory lock
on its state id so two runs of one job cannot interleave.
"""

from __future__ import annotations

import contextlib
import zlib
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from dativo_protocol import codec
from dativo_protocol.errors import ConfigError, StateError
from dativo_protocol.runner.state_store import check_state_id, from_document, state_document


def _split_url(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    query = parse_qsl(parts.query)
    table = next((v for k, v in query if k == "table"), "dativo_state")
    rest = urlencode([(k, v) for k, v in query if k != "table"])
    return urlunsplit(("postgresql", parts.netloc, parts.path, rest, "")), table


class PostgresStateStore:
    def __init__(self, url: str, options: Mapping[str, Any]) -> None:
        try:
            import psycopg
            from psycopg import sql
        except ImportError:
            raise ConfigError(
                "the postgresql:// state backend needs psycopg",
                hint="install dativo-protocol[postgres]",
            ) from None
        dsn, table = _split_url(url)
        parts = urlsplit(url)
        self.url = urlunsplit((parts.scheme, parts.hostname or "", parts.path, "", ""))
        names = table.split(".")
        if not 1 <= len(names) <= 2 or not all(names):
            raise ConfigError(f"state backend: invalid table name {table!r}")
        ident = sql.Identifier(*names)
        self._sql: dict[str, sql.Composed | sql.SQL] = {
            "create": sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} (state_id TEXT PRIMARY KEY,"
                " completed_state JSONB NOT NULL DEFAULT '{{}}',"
                " partial_state JSONB NOT NULL DEFAULT '{{}}',"
                " updated_at TIMESTAMPTZ NOT NULL DEFAULT now())"
            ).format(ident),
            "get": sql.SQL(
                "SELECT completed_state, partial_state FROM {} WHERE state_id = %s"
            ).format(ident),
            "put": sql.SQL(
                "INSERT INTO {} (state_id, completed_state, partial_state, updated_at)"
                " VALUES (%s, %s::jsonb, '{{}}'::jsonb, now()) ON CONFLICT (state_id) DO UPDATE"
                " SET completed_state = excluded.completed_state, partial_state = '{{}}'::jsonb,"
                " updated_at = now()"
            ).format(ident),
            "clear": sql.SQL("DELETE FROM {} WHERE state_id = %s RETURNING state_id").format(ident),
            "ids": sql.SQL("SELECT state_id FROM {} ORDER BY state_id").format(ident),
            "lock": sql.SQL("SELECT pg_try_advisory_lock(%s)").format(),
            "unlock": sql.SQL("SELECT pg_advisory_unlock(%s)").format(),
        }
        try:
            self._conn = psycopg.connect(dsn, autocommit=True, connect_timeout=10, **dict(options))
        except psycopg.Error as exc:
            raise StateError(f"state backend {self.url}: {type(exc).__name__}: {exc}") from None
        self._run("create", ())

    def _run(self, name: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        import psycopg

        try:
            cur = self._conn.execute(self._sql[name], params)
            return cur.fetchall() if cur.description else []
        except psycopg.Error as exc:
            raise StateError(f"state backend {self.url}: {type(exc).__name__}: {exc}") from None

    def get(self, state_id: str) -> dict[str, Any] | None:
        rows = self._run("get", (check_state_id(state_id),))
        if not rows:
            return None
        completed, partial = rows[0]
        return from_document({"completed": completed, "partial": partial}, f"{self.url} {state_id}")

    def put(self, state_id: str, value: Mapping[str, Any]) -> None:
        doc = codec.dumps_str(state_document(value))
        self._run("put", (check_state_id(state_id), doc))

    def clear(self, state_id: str) -> bool:
        return bool(self._run("clear", (check_state_id(state_id),)))

    def ids(self) -> list[str]:
        return [str(r[0]) for r in self._run("ids", ())]

    @contextlib.contextmanager
    def lock(self, state_id: str) -> Iterator[None]:
        key = zlib.crc32(check_state_id(state_id).encode()) - 2**31
        rows = self._run("lock", (key,))
        if not rows or not rows[0][0]:
            raise StateError(f"state {state_id!r} is locked by another running job")
        try:
            yield
        finally:
            with contextlib.suppress(StateError):
                self._run("unlock", (key,))

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._conn.close()
